"""Engine dataclasses render themselves, with one rounding, for the API and the videos."""

from bodies.engine import Keypoint, Person
from vehicles.engine import Plate, Vehicle, VehicleColour
from vision.geometry import Box


def test_keypoint_and_person():
    point = Keypoint(name="nose", x=10.5, y=20.49, score=0.876543)
    assert point.as_dict() == {"name": "nose", "x": 10, "y": 20, "score": 0.8765}
    person = Person(box=Box(1, 2, 3, 4), confidence=0.123456, keypoints=[point])
    assert person.as_dict() == {
        "box": {"x": 1, "y": 2, "width": 3, "height": 4},
        "confidence": 0.1235,
        "keypoints": [point.as_dict()],
    }


def test_vehicle_with_and_without_plate_and_colour():
    bare = Vehicle(type="car", confidence=0.55556, box=Box(0, 0, 10, 10))
    assert bare.as_dict() == {
        "type": "car",
        "confidence": 0.5556,
        "box": {"x": 0, "y": 0, "width": 10, "height": 10},
    }
    full = Vehicle(
        type="truck",
        confidence=0.5,
        box=Box(0, 0, 10, 10),
        plate=Plate(text="AB123", confidence=0.987654, box=Box(2, 3, 4, 5)),
        colour=VehicleColour(name="white", confidence=0.83333),
    )
    assert full.as_dict()["plate"] == {
        "text": "AB123",
        "confidence": 0.9877,
        "box": {"x": 2, "y": 3, "width": 4, "height": 5},
    }
    assert full.as_dict()["colour"] == {"name": "white", "confidence": 0.8333}
