"""Body engine on real photos: packaged ones always, tests/fixtures."""


import numpy as np
import pytest
import skimage.data

from bodies.engine import KEYPOINT_NAMES, Keypoint, Person, analyze_bodies
from tests.helpers import fixture_rgb
from vision.geometry import Box

COCO_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip


def fixture_image(name: str) -> np.ndarray:
    return fixture_rgb(f"objects/{name}")


def keypoint(person: Person, name: str) -> Keypoint:
    return next(point for point in person.keypoints if point.name == name)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def astronaut_people(astronaut) -> list[Person]:
    return analyze_bodies(astronaut)


def test_the_astronaut_is_one_person_with_17_named_keypoints(astronaut_people):
    assert len(astronaut_people) == 1
    person = astronaut_people[0]
    assert 0.5 <= person.confidence <= 1.0
    assert [point.name for point in person.keypoints] == COCO_KEYPOINTS
    assert list(KEYPOINT_NAMES) == COCO_KEYPOINTS
    assert all(0.0 <= point.score <= 1.0 for point in person.keypoints)


def test_keypoints_land_on_the_body_in_image_pixels(astronaut, astronaut_people):
    person = astronaut_people[0]
    height, width = astronaut.shape[:2]
    assert all(0 <= p.x < width and 0 <= p.y < height for p in person.keypoints)
    nose = keypoint(person, "nose")
    assert nose.score > 0.3
    assert 180 < nose.x < 260 and 90 < nose.y < 160  # her face
    left_shoulder = keypoint(person, "left_shoulder")
    right_shoulder = keypoint(person, "right_shoulder")
    # Her left shoulder is on the viewer's right.
    assert left_shoulder.x > nose.x > right_shoulder.x
    assert left_shoulder.y > nose.y and right_shoulder.y > nose.y


def test_keypoints_follow_the_person_when_the_photo_moves(astronaut, astronaut_people):
    canvas = np.zeros((712, 812, 3), dtype=np.uint8)
    canvas[150:662, 250:762] = astronaut
    (moved,) = analyze_bodies(canvas)
    original_nose, moved_nose = keypoint(astronaut_people[0], "nose"), keypoint(moved, "nose")
    assert abs(moved_nose.x - (original_nose.x + 250)) < 12
    assert abs(moved_nose.y - (original_nose.y + 150)) < 12
    box = astronaut_people[0].box
    assert moved.box.iou(Box(box.x + 250, box.y + 150, box.width, box.height)) > 0.8


def test_blank_image_has_no_people():
    assert analyze_bodies(np.full((240, 320, 3), 90, dtype=np.uint8)) == []


def test_min_confidence_filters(astronaut):
    assert analyze_bodies(astronaut, min_confidence=0.99) == []


def test_kite_beach_has_several_people():
    people = analyze_bodies(fixture_image("kite.jpg"))
    assert len(people) >= 3
    assert all(len(person.keypoints) == 17 for person in people)


def test_person_with_horse_and_dog_is_one_person_with_all_keypoints():
    image = fixture_image("person.jpg")
    people = analyze_bodies(image)
    assert len(people) == 1
    person = people[0]
    assert [point.name for point in person.keypoints] == COCO_KEYPOINTS
    # Standing left of centre, upright: head above hips above ankles.
    assert 150 < person.box.x and person.box.right < 320
    nose, hip, ankle = (keypoint(person, n) for n in ("nose", "left_hip", "left_ankle"))
    assert nose.y < hip.y < ankle.y
    assert all(person.box.x - 40 <= p.x <= person.box.right + 40 for p in person.keypoints)


def test_horses_photo_has_no_people():
    assert analyze_bodies(fixture_image("horses.jpg")) == []


@pytest.mark.parametrize(
    "photo, person",
    [
        # Two squares larger than the photo on every side, one crossing its bottom edge.
        ("faces/obama.jpg", Box(45, 13, 799, 1115)),
        ("faces/probes/obama1.jpg", Box(28, 47, 1341, 785)),
        ("objects/person.jpg", Box(187, 100, 92, 276)),
    ],
)
def test_a_square_shrunk_from_inside_the_image_is_the_full_resolution_cut(
    monkeypatch, photo, person
):
    """Squares wider than MAX_CUT_SIDE are shrunk from the part inside the image (a full
    resolution cut of a very tall person was a gigabyte): the same input as OpenCV's
    INTER_AREA on the cut, within one level, so the same keypoints. These squares are
    smaller than that, so the limit is lowered to compare both ways on them."""
    from bodies import engine

    rgb = fixture_rgb(photo)
    cut = engine.estimate_keypoints(rgb, person)
    left, top, side = engine._square(person)
    expected = engine._pose_input(rgb, left, top, side)
    monkeypatch.setattr(engine, "MAX_CUT_SIDE", 192)
    shrunk = engine._pose_input(rgb, left, top, side)
    assert np.abs(shrunk.astype(int) - expected.astype(int)).max() <= 1
    for before, after in zip(cut, engine.estimate_keypoints(rgb, person), strict=True):
        assert abs(before.x - after.x) < 0.01 and abs(before.y - after.y) < 0.01
        assert abs(before.score - after.score) < 0.001
