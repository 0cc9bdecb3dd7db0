"""The ONNX descriptor network and coarse-to-fine detection change nothing that matters.

dlib's own ``compute_face_descriptor`` is the reference here, and only here: the engine
runs the converted network (models/dlib-face-recognition-resnet-v1.onnx).
"""

import hashlib
import importlib.util
import itertools
import sys
from functools import cache
from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

import faces.engine as engine_module
from faces.engine import (
    CHIP_PADDING,
    CHIP_SIZE,
    DEFAULT_THRESHOLD,
    DESCRIPTOR_MODEL,
    FaceEngine,
    face_distance,
    face_models_dir,
    get_face_engine,
)
from tests.helpers import FIXTURES_DIR, fixture_rgb
from vision import modelstore

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PARITY_TOLERANCE = 0.002
FACE_PHOTOS = sorted(
    str(path.relative_to(FIXTURES_DIR))
    for path in (FIXTURES_DIR / "faces").rglob("*")
    if path.suffix.lower() in {".jpg", ".jpeg", ".png"}
)
# Rescaled copies put the fixtures' faces at other pyramid levels and scan factors.
SCALES = (0.6, 0.8, 1.0, 1.2, 1.5)


@cache
def photo(relative: str, scale: float = 1.0) -> np.ndarray:
    image = fixture_rgb(relative)
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


@cache
def dlib_encoder() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(
        str(face_models_dir() / "dlib_face_recognition_resnet_model_v1.dat")
    )


def chip_of(image: np.ndarray, face) -> np.ndarray:
    """The aligned chip the engine cut for ``face`` (get_face_chip uses the 5 parts only)."""
    rectangle = dlib.rectangle(face.box.x, face.box.y, face.box.right - 1, face.box.bottom - 1)
    parts = [dlib.point(point.x, point.y) for point in face.landmarks]
    shape = dlib.full_object_detection(rectangle, parts)
    return dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)


def dlib_descriptor(chip: np.ndarray) -> np.ndarray:
    return np.asarray(dlib_encoder().compute_face_descriptor(chip), dtype=np.float64)


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    engine = get_face_engine()
    assert engine.backend == "onnx", "the default engine must run the ONNX network"
    return engine


@cache
def every_face(relative: str):
    return get_face_engine().detect(photo(relative))


def test_the_fixtures_hold_faces():
    assert len(FACE_PHOTOS) >= 20
    assert sum(len(every_face(relative)) for relative in FACE_PHOTOS) >= 25


@pytest.mark.parametrize("relative", FACE_PHOTOS)
def test_every_fixture_face_matches_dlibs_descriptor(engine, relative):
    image = photo(relative)
    faces = every_face(relative)
    for face in faces:
        assert face.descriptor is not None and face.descriptor.dtype == np.float32
        reference = dlib_descriptor(chip_of(image, face))
        assert face_distance(face.descriptor, reference) <= PARITY_TOLERANCE, relative


def test_a_batch_of_chips_equals_one_chip_at_a_time(engine):
    image = photo("faces/probes/obama_and_biden.jpg")
    chips = [chip_of(image, face) for face in every_face("faces/probes/obama_and_biden.jpg")]
    together = engine.compute_descriptors(chips)
    for chip, descriptor in zip(chips, together, strict=True):
        alone = engine.compute_descriptors([chip])[0]
        assert face_distance(alone, descriptor) < 1e-5
    assert engine.compute_descriptors([]).shape == (0, 128)


@cache
def reference_largest(relative: str) -> np.ndarray | None:
    """Today's pipeline before this change: full scan, dlib's network on the largest face."""
    faces = get_face_engine().detect(photo(relative), descriptors=False)
    return dlib_descriptor(chip_of(photo(relative), faces[0])) if faces else None


@cache
def compared_largest(relative: str) -> np.ndarray | None:
    """What compare and enrolment compute now: coarse-to-fine, the ONNX network."""
    face = get_face_engine().largest_face(photo(relative))
    return None if face is None else face.descriptor


def test_every_fixture_pair_gets_the_same_match_decision():
    with_face = [relative for relative in FACE_PHOTOS if reference_largest(relative) is not None]
    assert len(with_face) == len(FACE_PHOTOS)
    decisions = {True: 0, False: 0}
    for first, second in itertools.combinations(with_face, 2):
        reference = face_distance(reference_largest(first), reference_largest(second))
        ours = face_distance(compared_largest(first), compared_largest(second))
        assert (ours <= DEFAULT_THRESHOLD) == (reference <= DEFAULT_THRESHOLD), (first, second)
        assert abs(ours - reference) <= 2 * PARITY_TOLERANCE, (first, second)
        decisions[reference <= DEFAULT_THRESHOLD] += 1
    # Both outcomes occur, so the comparison covers matches and non-matches alike.
    assert decisions[True] >= 20 and decisions[False] >= 100


# --- coarse-to-fine detection -------------------------------------------------------


@pytest.fixture
def coarse_decisions(monkeypatch):
    """Records whether each coarse pass settled the answer (True) or sent it to the full scan."""
    decided = []
    original = engine_module._coarse_answer_is_decisive

    def recording(found, factor):
        verdict = original(found, factor)
        decided.append(verdict)
        return verdict

    monkeypatch.setattr(engine_module, "_coarse_answer_is_decisive", recording)
    return decided


def test_coarse_to_fine_picks_the_full_scans_largest_face_on_every_fixture(
    engine, coarse_decisions
):
    cases = 0
    for relative, scale in itertools.product(FACE_PHOTOS, SCALES):
        image = photo(relative, scale)
        full = engine.detect(image, max_faces=1)
        coarse = engine.detect(image, max_faces=1, coarse_to_fine=True)
        assert bool(full) == bool(coarse), (relative, scale)
        if not full:
            continue
        cases += 1
        assert coarse[0].box == full[0].box, (relative, scale)
        assert coarse[0].landmarks == full[0].landmarks, (relative, scale)
        assert face_distance(coarse[0].descriptor, full[0].descriptor) == 0.0
        # Faces the coarse pass returns are full-scan faces too; it may only miss small ones.
        assert {face.box for face in coarse} <= {face.box for face in full}, (relative, scale)
    assert cases >= 100
    # The coarse pass settles most photos, and falls back where it must.
    assert coarse_decisions.count(True) >= cases // 2
    assert coarse_decisions.count(False) >= 5


def test_a_photo_of_small_faces_falls_back_to_the_full_scan(engine, coarse_decisions):
    # obama_and_biden.jpg's largest face is a 195 px box in a 2000 px photo: too small
    # for the coarse pass to be sure, so the full scan runs and finds all three faces.
    image = photo("faces/probes/obama_and_biden.jpg")
    faces = engine.detect(image, max_faces=1, coarse_to_fine=True)
    assert coarse_decisions == [False]
    assert len(faces) == 3


def test_a_large_face_is_settled_by_the_coarse_pass(engine, coarse_decisions):
    image = photo("faces/gallery/obama/obama.jpg")
    face = engine.largest_face(image)
    assert coarse_decisions == [True]
    assert face.box == every_face("faces/gallery/obama/obama.jpg")[0].box


def test_detect_without_coarse_to_fine_never_takes_the_coarse_pass(engine, coarse_decisions):
    engine.detect(photo("faces/gallery/obama/obama.jpg"))
    engine.detect_many([photo("faces/obama.jpg"), photo("faces/biden.jpg")], max_faces=1)
    assert coarse_decisions == []


# --- the model file and its converter ----------------------------------------------


def test_the_model_is_listed_in_the_manifest_and_verified():
    modelstore.clear_caches()
    entry = modelstore.manifest_entry(DESCRIPTOR_MODEL)
    path = modelstore.model_path(DESCRIPTOR_MODEL)
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["upstream"]["license"] == "CC0-1.0"
    assert DESCRIPTOR_MODEL in (PROJECT_ROOT / "models" / "LICENSES.md").read_text()


def test_the_converter_reproduces_the_committed_model_byte_for_byte():
    spec = importlib.util.spec_from_file_location(
        "dlib_resnet_to_onnx", PROJECT_ROOT / "tools" / "dlib_resnet_to_onnx.py"
    )
    converter = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = converter
    spec.loader.exec_module(converter)
    source = converter.default_source()
    assert (
        hashlib.sha256(source.read_bytes()).hexdigest()
        == (modelstore.manifest_entry(DESCRIPTOR_MODEL)["source"]["sha256"])
    )
    built = converter.convert(source)
    assert (
        hashlib.sha256(built).hexdigest() == modelstore.manifest_entry(DESCRIPTOR_MODEL)["sha256"]
    )


def test_the_converter_refuses_a_file_that_is_not_the_network(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "dlib_resnet_to_onnx_refusal", PROJECT_ROOT / "tools" / "dlib_resnet_to_onnx.py"
    )
    converter = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = converter
    spec.loader.exec_module(converter)
    real = converter.default_source().read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(real[: len(real) // 2])
    with pytest.raises(converter.FormatError, match="end of file"):
        converter.convert(truncated)
    other = tmp_path / "shape_predictor.dat"
    other.write_bytes((face_models_dir() / "shape_predictor_5_face_landmarks.dat").read_bytes())
    with pytest.raises(converter.FormatError):
        converter.convert(other)
