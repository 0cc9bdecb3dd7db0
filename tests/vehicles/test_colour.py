"""Vehicle colour: a palette name and a confidence, on fixture vehicles of clear colour."""

import numpy as np
import pytest

from tests.helpers import fixture_rgb
from vehicles.engine import COLOURS, MIN_COLOUR_SIDE, detect_vehicles, vehicle_colour
from vision.geometry import Box


def vehicle_at(vehicles, box):
    return max(vehicles, key=lambda v: v.box.iou(box))


@pytest.mark.parametrize(
    ("photo", "box", "colour"),
    [
        ("objects/dog.jpg", Box(465, 86, 228, 80), "white"),  # the pickup
        ("crowd/vtest_060.jpg", Box(652, 43, 75, 55), "white"),  # the van
        ("crowd/vtest_135.jpg", Box(652, 43, 75, 55), "white"),
        ("crowd/vtest_060.jpg", Box(733, 52, 35, 43), "blue"),  # the light blue car
        ("crowd/vtest_195.jpg", Box(733, 52, 35, 43), "blue"),
    ],
)
def test_vehicles_of_a_clear_colour(photo, box, colour):
    vehicle = vehicle_at(detect_vehicles(fixture_rgb(photo)), box)
    assert vehicle.colour is not None
    assert vehicle.colour.name == colour
    assert 0.6 <= vehicle.colour.confidence <= 1.0


def test_the_silver_citigo_reads_as_a_light_grey_shade():
    """Silver in sunshine is half white: named silver or white, never a hue."""
    vehicles = detect_vehicles(fixture_rgb("objects/plate_car.png"))
    citigo = vehicle_at(vehicles, Box(37, 46, 416, 224))
    assert citigo.colour.name in {"silver", "white"}


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((200, 20, 20), "red"),
        ((20, 40, 190), "blue"),
        ((30, 150, 40), "green"),
        ((230, 200, 20), "yellow"),
        ((240, 240, 240), "white"),
        ((150, 150, 150), "silver"),
        ((90, 90, 90), "grey"),
        ((15, 15, 15), "black"),
    ],
)
def test_flat_paint_is_named_from_the_palette(rgb, name):
    crop = np.full((60, 100, 3), rgb, dtype=np.uint8)
    colour = vehicle_colour(crop)
    assert colour.name == name and colour.name in COLOURS
    assert colour.confidence == 1.0


def test_windows_and_tyres_do_not_outvote_a_red_body():
    crop = np.full((60, 100, 3), (190, 25, 25), dtype=np.uint8)
    crop[:25] = (40, 40, 45)  # dark glass
    crop[45:] = (10, 10, 10)  # tyres and shadow
    assert vehicle_colour(crop).name == "red"


def test_tiny_vehicles_have_no_colour():
    assert vehicle_colour(np.zeros((MIN_COLOUR_SIDE - 1, 80, 3), dtype=np.uint8)) is None


def test_bicycles_have_no_colour():
    (bicycle,) = [v for v in detect_vehicles(fixture_rgb("objects/dog.jpg")) if v.type == "bicycle"]
    assert bicycle.colour is None and "colour" not in bicycle.as_dict()
