"""Vehicle engine on real photos: packaged ones always, tests/fixtures."""

import socket

import cv2
import numpy as np
import pytest
import skimage.data

import vehicles.engine
from tests.helpers import fixture_rgb
from vehicles.engine import (
    CROSS_TYPE_IOU,
    VEHICLE_TYPES,
    Plate,
    Vehicle,
    detect_objects,
    detect_vehicles,
    plate_text,
    read_plate,
)
from vision.detection import COCO_LABELS
from vision.geometry import Box

PLATE_AREA = Box(x=300, y=330, width=190, height=56)


def fixture_image(name: str) -> np.ndarray:
    return fixture_rgb(f"objects/{name}")


def with_plate(image: np.ndarray, text: str) -> np.ndarray:
    """The photo with a plate-like white sign bearing ``text`` drawn over PLATE_AREA."""
    out = image.copy()
    box = PLATE_AREA
    plate = np.full((box.height, box.width, 3), 245, dtype=np.uint8)
    cv2.rectangle(plate, (1, 1), (box.width - 2, box.height - 2), (20, 20, 20), 2)
    font = cv2.FONT_HERSHEY_DUPLEX
    (text_width, text_height), _ = cv2.getTextSize(text, font, 1.2, 2)
    origin = ((box.width - text_width) // 2, (box.height + text_height) // 2)
    cv2.putText(plate, text, origin, font, 1.2, (10, 10, 10), 2, cv2.LINE_AA)
    out[box.y : box.bottom, box.x : box.right] = plate
    return out


@pytest.fixture(scope="module")
def motorcycle() -> np.ndarray:
    return skimage.data.stereo_motorcycle()[0]


@pytest.fixture(scope="module")
def motorcycle_vehicles(motorcycle) -> list[Vehicle]:
    return detect_vehicles(motorcycle)


def test_finds_the_motorcycle_in_skimages_photo(motorcycle, motorcycle_vehicles):
    assert [v.type for v in motorcycle_vehicles] == ["motorcycle"]
    bike = motorcycle_vehicles[0]
    assert 0.5 <= bike.confidence <= 1.0
    height, width = motorcycle.shape[:2]
    assert bike.box.clipped(width, height) == bike.box
    assert bike.box.area > 0.4 * width * height
    assert bike.plate is None


def test_one_vehicle_is_reported_once_even_when_two_types_fit(motorcycle):
    """NanoDet also scores this motorbike as a bicycle with almost the same box."""
    bicycle_readings = detect_objects(motorcycle, labels=["bicycle", "motorcycle"])
    assert {d.label for d in bicycle_readings} >= {"motorcycle"}
    vehicles = detect_vehicles(motorcycle, min_confidence=0.2)
    for i, first in enumerate(vehicles):
        for second in vehicles[i + 1 :]:
            assert first.box.iou(second.box) <= CROSS_TYPE_IOU


def test_generic_detection_names_coco_objects(motorcycle):
    detections = detect_objects(motorcycle, 0.3)
    assert detections[0].label == "motorcycle"
    assert all(d.label in COCO_LABELS for d in detections)
    assert [d.confidence for d in detections] == sorted(
        (d.confidence for d in detections), reverse=True
    )


def test_min_confidence_filters(motorcycle):
    assert detect_vehicles(motorcycle, min_confidence=0.99) == []
    with pytest.raises(ValueError):
        detect_vehicles(motorcycle, min_confidence=1.5)


def test_blank_image_has_no_vehicles():
    assert detect_vehicles(np.full((240, 320, 3), 127, dtype=np.uint8)) == []


def test_rejects_arrays_that_are_not_rgb_images():
    with pytest.raises(ValueError):
        detect_vehicles(np.zeros((64, 64, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        detect_vehicles(np.zeros((64, 64, 2), dtype=np.uint8))


def test_reads_a_plate_on_the_vehicle_in_image_pixels(motorcycle):
    vehicles = detect_vehicles(with_plate(motorcycle, "AB123CD"), plates=True)
    plate = vehicles[0].plate
    assert isinstance(plate, Plate)
    assert plate.text == "AB123CD"
    assert 0.5 <= plate.confidence <= 1.0
    assert plate.box.iou(PLATE_AREA) > 0.6


def test_plates_only_when_asked(motorcycle):
    assert detect_vehicles(with_plate(motorcycle, "AB123CD"))[0].plate is None


def test_read_plate_gives_crop_coordinates(motorcycle):
    image = with_plate(motorcycle, "KX 4821")
    crop = image[PLATE_AREA.y - 40 : PLATE_AREA.bottom + 40, PLATE_AREA.x - 60 : PLATE_AREA.right]
    plate = read_plate(crop)
    assert plate is not None and plate.text == "KX4821"
    assert plate.box.iou(Box(60, 40, PLATE_AREA.width, PLATE_AREA.height)) > 0.6


def test_plate_reader_starts_without_network(motorcycle, monkeypatch):
    """RapidOCR fetches models it cannot find; ours must come from the installed wheel."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(vehicles.engine, "_ocr_instance", None)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    image = with_plate(motorcycle, "AB123CD")
    crop = image[PLATE_AREA.y - 20 : PLATE_AREA.bottom + 20, PLATE_AREA.x - 20 : PLATE_AREA.right]
    assert read_plate(crop) is not None


def test_no_plate_where_no_text(motorcycle):
    assert read_plate(np.full((120, 200, 3), 200, dtype=np.uint8)) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab-123 cd", "AB123CD"),
        ("KX 4821", "KX4821"),
        ("YAMAHA", None),
        ("12", None),
        ("1234567890123", None),
        ("", None),
    ],
)
def test_only_plate_like_text_counts_as_a_plate(raw, expected):
    assert plate_text(raw) == expected


def test_dog_photo_has_the_bicycle_and_the_pickup_but_no_bus():
    vehicles = detect_vehicles(fixture_image("dog.jpg"))
    types = [v.type for v in vehicles]
    assert "bicycle" in types
    assert "bus" not in types
    pickups = [v for v in vehicles if v.type in ("truck", "car")]
    assert len(pickups) == 1
    # The pickup is parked top right, behind the bicycle.
    assert pickups[0].box.x > 400 and pickups[0].box.bottom < 250
    assert set(types) <= set(VEHICLE_TYPES)


def test_horses_photo_has_no_vehicles():
    assert detect_vehicles(fixture_image("horses.jpg")) == []
