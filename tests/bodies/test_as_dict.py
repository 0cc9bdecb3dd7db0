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


def test_one_rounding_rule_for_every_result():
    from vision import rounding

    assert rounding.pixel(10.5) == 10 and rounding.pixel(11.5) == 12  # half to even
    assert isinstance(rounding.pixel(3.7), int)
    assert rounding.score(0.876549) == 0.8765
    assert rounding.seconds(12.34567) == 12.346
    assert rounding.frame_rate(29.97002997) == 29.97
    # Boxes made from sub-pixel corners follow the same pixel rule.
    assert Box.from_corners(0.5, 1.5, 10.5, 11.49) == Box(0, 2, 10, 9)


def test_detected_object_leaves_out_its_per_class_scores():
    from vision.detection import DetectedObject

    found = DetectedObject(
        label="car",
        confidence=0.612345,
        box=Box(5, 6, 7, 8),
        class_scores={"car": 0.612345, "truck": 0.3},
    )
    assert found.as_dict() == {
        "label": "car",
        "confidence": 0.6123,
        "box": {"x": 5, "y": 6, "width": 7, "height": 8},
    }


def test_a_video_frame_detection_renders_as_a_results_item():
    from videos.pipeline import FrameFinding

    person = Person(box=Box(1, 2, 3, 4), confidence=0.5, keypoints=[])
    payload = {key: value for key, value in person.as_dict().items() if key != "box"}
    found = FrameFinding(timestamp_ms=1500, kind="body", box=person.box, payload=payload)
    assert found.as_dict() == {
        "timestamp_ms": 1500,
        "kind": "body",
        "box": {"x": 1, "y": 2, "width": 3, "height": 4},
        "confidence": 0.5,
        "keypoints": [],
    }
