"""Car, truck or bus on real photos: settled on an undistorted view (vehicles.engine)."""

import pytest

from tests.helpers import fixture_rgb
from vehicles.engine import detect_vehicles, settle_types
from vision.detection import detect_objects
from vision.geometry import Box

CITIGO = Box(37, 46, 416, 224)  # plate_car.png: the Škoda Citigo seen from behind
PICKUP = Box(465, 86, 228, 80)  # dog.jpg: a white pickup truck
VAN = Box(652, 43, 75, 55)  # vtest frames: a white Ford Transit van
SMALL_CAR = Box(733, 52, 35, 43)  # vtest frames: a light blue car


def vehicle_at(vehicles, box):
    return max(vehicles, key=lambda v: v.box.iou(box))


@pytest.fixture(scope="module")
def plate_car():
    return detect_vehicles(fixture_rgb("objects/plate_car.png"), plates=True)


def test_the_citigo_is_a_car_with_its_plate_read(plate_car):
    citigo = vehicle_at(plate_car, CITIGO)
    assert citigo.box.iou(CITIGO) > 0.8
    assert citigo.type == "car"
    assert citigo.plate is not None and citigo.plate.text == "5AU5341"
    assert 0.8 <= citigo.plate.confidence <= 1.0
    plate = citigo.plate.box
    assert citigo.box.x <= plate.x and plate.right <= citigo.box.right
    assert citigo.box.y <= plate.y and plate.bottom <= citigo.box.bottom


def test_every_vehicle_on_the_car_park_is_a_car_and_only_one_has_a_plate(plate_car):
    assert {v.type for v in plate_car} == {"car"}
    assert [v.plate.text for v in plate_car if v.plate is not None] == ["5AU5341"]


def test_the_stretched_view_alone_calls_the_citigo_a_truck():
    """What this fixes: NanoDet on the stretched photo says truck."""
    found = detect_objects(fixture_rgb("objects/plate_car.png"), labels=("car", "truck"))
    assert max(found, key=lambda d: d.box.iou(CITIGO)).label == "truck"


def test_the_pickup_stays_a_truck():
    assert vehicle_at(detect_vehicles(fixture_rgb("objects/dog.jpg")), PICKUP).type == "truck"


@pytest.mark.parametrize(
    "frame", ["vtest_060.jpg", "vtest_075.jpg", "vtest_135.jpg", "vtest_195.jpg"]
)
def test_the_van_stays_a_truck_and_the_small_car_a_car(frame):
    vehicles = detect_vehicles(fixture_rgb(f"crowd/{frame}"))
    assert vehicle_at(vehicles, VAN).type == "truck"
    assert vehicle_at(vehicles, SMALL_CAR).type == "car"


def test_square_images_are_not_settled_again():
    image = fixture_rgb("objects/plate_car.png")[:300, :300]
    found = detect_objects(image, labels=("car", "truck", "bus"))
    assert settle_types(image, found) == found


@pytest.mark.parametrize("name", ["objects/dog.jpg", "objects/kite.jpg", "objects/horses.jpg"])
def test_no_plate_is_invented(name):
    assert all(v.plate is None for v in detect_vehicles(fixture_rgb(name), plates=True))
