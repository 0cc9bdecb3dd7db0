"""The face engine on real photos, without Django."""

from functools import cache

import numpy as np
import pytest
from PIL import Image
from skimage import data

from faces.engine import (
    DEFAULT_THRESHOLD,
    LANDMARK_NAMES,
    FaceEngine,
    confidence_band,
    face_distance,
    get_face_engine,
    similarity,
)
from faces.index import DescriptorIndex
from tests.helpers import FIXTURES_DIR, fixture_rgb
from vision.geometry import Box


@cache
def photo(relative: str) -> np.ndarray:
    return fixture_rgb(relative)


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return get_face_engine()


@cache
def face_list(relative: str):
    return get_face_engine().detect(photo(relative))


def only_face(relative: str):
    faces = face_list(relative)
    assert len(faces) == 1, f"{relative}: {len(faces)} faces"
    return faces[0]


# --- astronaut (always available: scikit-image ships it) -------------------------


@pytest.fixture(scope="module")
def astronaut_faces(engine):
    return engine.detect(data.astronaut())


def test_astronaut_has_one_face_with_a_sane_box(astronaut_faces):
    assert len(astronaut_faces) == 1
    box = astronaut_faces[0].box
    # Eileen Collins' face sits left of centre in the upper half of the 512×512 photo.
    assert 150 <= box.x <= 210 and 50 <= box.y <= 110
    assert 70 <= box.width <= 130 and abs(box.width - box.height) <= 3
    assert astronaut_faces[0].detection_score > 0.5


def test_landmarks_are_named_and_placed_like_a_face(astronaut_faces):
    face = astronaut_faces[0]
    assert [point.name for point in face.landmarks] == list(LANDMARK_NAMES)
    box = face.box
    for point in face.landmarks:
        assert box.x <= point.x <= box.right and box.y <= point.y <= box.bottom
    left_eye, right_eye = face.landmark("left_eye_outer"), face.landmark("right_eye_outer")
    nose = face.landmark("nose_base")
    # The subject's left eye appears on the right of the image.
    assert left_eye.x > right_eye.x
    assert nose.y > max(left_eye.y, right_eye.y)
    assert right_eye.x < nose.x < left_eye.x


def test_descriptor_is_128_float32_values(astronaut_faces):
    descriptor = astronaut_faces[0].descriptor
    assert descriptor.shape == (128,) and descriptor.dtype == np.float32
    assert 0.8 < np.linalg.norm(descriptor) < 2.0


def test_quality_reports_size_and_sharpness_in_unit_range(engine, astronaut_faces):
    quality = astronaut_faces[0].quality
    assert quality.size == min(astronaut_faces[0].box.width, astronaut_faces[0].box.height)
    assert 0.0 < quality.sharpness < 1.0 and quality.sharpness_raw > 0
    blurred = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)).resize((512, 512)))
    softer = engine.detect(blurred, descriptors=False)[0].quality
    assert softer.sharpness < quality.sharpness


def test_boxes_map_back_to_the_original_pixels_of_a_large_image(engine, astronaut_faces):
    """A 3000 px canvas is scanned shrunk; boxes and landmarks must still be in its pixels."""
    # Only the head and shoulders: at some scales HOG takes the mission patch on her suit
    # for a weak face, which is not what this test is about.
    head = Image.fromarray(data.astronaut()[:256])
    canvas = np.full((2400, 3000, 3), 127, dtype=np.uint8)
    canvas[900:1412, 1500:2524] = np.asarray(head.resize((1024, 512)))
    (face,) = engine.detect(canvas)
    expected = astronaut_faces[0]
    # HOG boxes snap to its pyramid's scales, so they only roughly scale with the image;
    # landmarks are fitted on the original pixels and must land where they should.
    placed = Box(
        1500 + 2 * expected.box.x,
        900 + 2 * expected.box.y,
        2 * expected.box.width,
        2 * expected.box.height,
    )
    assert face.box.iou(placed) > 0.7
    for point, expected_point in zip(face.landmarks, expected.landmarks, strict=True):
        assert abs(point.x - (1500 + 2 * expected_point.x)) <= 6
        assert abs(point.y - (900 + 2 * expected_point.y)) <= 6
    assert face_distance(face.descriptor, expected.descriptor) < 0.2


def test_descriptors_can_be_skipped(engine):
    (face,) = engine.detect(data.astronaut(), descriptors=False)
    assert face.descriptor is None and len(face.landmarks) == 5


def test_faces_without_a_face_are_empty(engine):
    assert engine.detect(np.zeros((200, 300, 3), dtype=np.uint8)) == []
    assert engine.largest_face(np.zeros((200, 300, 3), dtype=np.uint8)) is None


@pytest.mark.parametrize(
    "bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8), np.zeros((64, 64, 3))]
)
def test_rejects_anything_but_rgb_uint8(engine, bad):
    with pytest.raises(ValueError, match="RGB"):
        engine.detect(bad)


def test_detect_many_equals_detect_one_by_one(engine, astronaut_faces):
    flipped = np.ascontiguousarray(data.astronaut()[:, ::-1])
    together = engine.detect_many([data.astronaut(), flipped, data.astronaut()])
    assert [len(faces) for faces in together] == [1, 1, 1]
    assert together[0][0].box == astronaut_faces[0].box
    np.testing.assert_array_equal(together[2][0].descriptor, astronaut_faces[0].descriptor)
    assert together[1][0].box.x == 512 - astronaut_faces[0].box.right


# --- pure functions ---------------------------------------------------------------


def test_similarity_falls_monotonically_from_one_and_is_one_half_at_the_threshold():
    distances = np.linspace(0.0, 2.0, 401)
    values = [similarity(float(distance)) for distance in distances]
    assert values[0] == 1.0
    assert all(0.0 <= value <= 1.0 for value in values)
    assert np.all(np.diff(values) < 0)
    assert similarity(DEFAULT_THRESHOLD) == pytest.approx(0.5, abs=0.01)
    assert similarity(0.35) > 0.9 and similarity(0.85) < 0.1


@pytest.mark.parametrize(
    ("distance", "band"),
    [
        (0.30, "high"),
        (0.48, "high"),
        (0.52, "medium"),
        (0.58, "low"),
        (0.6, "low"),
        (0.63, "low"),
        (0.67, "medium"),
        (0.72, "high"),
        (1.1, "high"),
    ],
)
def test_confidence_grades_the_decision_by_distance_from_the_threshold(distance, band):
    assert confidence_band(distance, DEFAULT_THRESHOLD) == band


def test_confidence_follows_a_custom_threshold():
    assert confidence_band(0.5, 0.5) == "low"
    assert confidence_band(0.3, 0.5) == "high"


def test_face_distance_is_euclidean():
    assert face_distance(np.zeros(128), np.full(128, 0.5)) == pytest.approx(np.sqrt(32))


# --- real photos --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "count"),
    [
        ("faces/two_people.jpg", 2),
        ("faces/probes/kit_with_rose.jpg", 2),
        ("faces/probes/obama_and_biden.jpg", 3),
        ("faces/obama_small.jpg", 1),
        ("faces/obama-240p.jpg", 1),
        ("faces/obama_partial_face.jpg", 1),
        ("faces/biden.jpg", 1),
        ("objects/horses.jpg", 0),
        ("objects/kite.jpg", 0),
    ],
)
def test_face_counts_match_the_fixture_readme(relative, count):
    faces = face_list(relative)
    assert len(faces) == count
    height, width = photo(relative).shape[:2]
    for face in faces:
        assert face.box.right <= width and face.box.bottom <= height and face.box.area > 0
    assert [face.box.area for face in faces] == sorted((f.box.area for f in faces), reverse=True)


class TestRealPhotos:
    def test_same_person_is_within_the_threshold(self):
        obama, obama2 = only_face("faces/obama.jpg"), only_face("faces/obama2.jpg")
        assert face_distance(obama.descriptor, obama2.descriptor) < DEFAULT_THRESHOLD

    def test_different_people_are_beyond_the_threshold(self):
        obama, biden = only_face("faces/obama.jpg"), only_face("faces/biden.jpg")
        assert face_distance(obama.descriptor, biden.descriptor) > DEFAULT_THRESHOLD

    def test_small_photo_still_matches(self):
        small = only_face("faces/obama_small.jpg")
        assert small.quality.size < 150
        assert face_distance(small.descriptor, only_face("faces/obama.jpg").descriptor) < 0.6

    def test_max_faces_limits_descriptors_but_not_the_count(self, engine):
        faces = engine.detect(photo("faces/two_people.jpg"), max_faces=1)
        assert len(faces) == 2
        assert faces[0].descriptor is not None and faces[1].descriptor is None
        assert faces[0].box.area >= faces[1].box.area

    def test_rgba_png_after_conversion_matches_its_jpeg(self):
        png, jpeg = only_face("faces/32bit.png"), only_face("faces/obama2.jpg")
        assert face_distance(png.descriptor, jpeg.descriptor) < 0.1

    def test_gallery_search_labels_every_probe_face(self):
        labels, descriptors = [], []
        for path in sorted((FIXTURES_DIR / "faces" / "gallery").glob("*/*")):
            relative = str(path.relative_to(FIXTURES_DIR))
            labels.append(path.parent.name)
            descriptors.append(only_face(relative).descriptor)
        index = DescriptorIndex(labels, np.stack(descriptors))

        def best_labels(relative):
            found = []
            for face in face_list(relative):
                matches = index.search(face.descriptor, limit=5, threshold=DEFAULT_THRESHOLD)
                found.append(index.ids[matches[0].row] if matches else None)
            return found

        assert best_labels("faces/probes/alex_lacamoire1.jpg") == ["alex_lacamoire"]
        assert best_labels("faces/probes/johnsnow_test1.jpg") == ["kit_harington"]
        assert best_labels("faces/probes/obama1.jpg") == ["obama"]
        assert sorted(best_labels("faces/probes/kit_with_rose.jpg")) == [
            "kit_harington",
            "rose_leslie",
        ]
        three = best_labels("faces/probes/obama_and_biden.jpg")
        assert len(three) == 3
        assert sorted(three, key=str) == sorted(["obama", "biden", None], key=str)


# --- descriptor backend and threads ------------------------------------------------


def test_the_descriptor_backend_is_onnx_unless_the_baseline_is_asked_for(monkeypatch):
    from faces.engine import DESCRIPTOR_BACKEND_ENV_VAR, descriptor_backend

    monkeypatch.delenv(DESCRIPTOR_BACKEND_ENV_VAR, raising=False)
    assert descriptor_backend() == "onnx"
    monkeypatch.setenv(DESCRIPTOR_BACKEND_ENV_VAR, " DLIB ")
    assert descriptor_backend() == "dlib"
    monkeypatch.setenv(DESCRIPTOR_BACKEND_ENV_VAR, "tensorflow")
    with pytest.raises(ValueError, match="VISIONERA_DESCRIPTOR_BACKEND must be one of onnx, dlib"):
        descriptor_backend()


def test_the_descriptor_session_uses_visionera_onnx_threads(monkeypatch):
    from vision import modelstore

    monkeypatch.setenv(modelstore.THREADS_ENV_VAR, "3")
    threaded = FaceEngine(backend="onnx")
    assert threaded._session.get_session_options().intra_op_num_threads == 3
    monkeypatch.delenv(modelstore.THREADS_ENV_VAR)
    assert get_face_engine()._session.get_session_options().intra_op_num_threads == 1
    # An explicit count (a video worker's own engine) wins over the environment.
    explicit = FaceEngine(backend="onnx", descriptor_threads=2)
    assert explicit._session.get_session_options().intra_op_num_threads == 2


def test_the_pre_onnx_baseline_engine_gives_the_same_descriptors(engine):
    baseline = FaceEngine(backend="dlib")
    image = photo("faces/two_people.jpg")
    ours, theirs = engine.detect(image), baseline.detect(image, coarse_to_fine=True)
    assert [face.box for face in ours] == [face.box for face in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        assert face_distance(mine.descriptor, reference.descriptor) < 0.002
