"""One detector pass serves vehicles and bodies (per image and per video frame)."""

import cv2
import pytest

import vision.detection
from bodies.engine import analyze_bodies
from tests.helpers import fixture_path, fixture_rgb
from vehicles.engine import VEHICLE_TYPES, detect_vehicles
from videos import pipeline
from vision.detection import detect_objects


@pytest.fixture
def detector_passes(monkeypatch):
    passes = []
    real = vision.detection._detect_pass
    monkeypatch.setattr(
        vision.detection, "_detect_pass", lambda *args: passes.append(1) or real(*args)
    )
    return passes


def test_engines_fed_one_detection_result_agree_with_their_own_passes(detector_passes):
    image = fixture_rgb("objects/dog.jpg")
    image = image[:, : image.shape[0]]  # square: no type-settling pass either
    shared = detect_objects(image, labels=(*VEHICLE_TYPES, "person"))
    assert len(detector_passes) == 1
    vehicles = detect_vehicles(image, detections=shared)
    people = analyze_bodies(fixture_rgb("objects/person.jpg"), detections=[])
    assert len(detector_passes) == 1
    assert people == []
    assert vehicles == detect_vehicles(image)


def test_a_video_frame_costs_one_detector_pass_for_vehicles_and_bodies(tmp_path, detector_passes):
    still = cv2.imread(str(fixture_path("objects/person.jpg")))
    path = tmp_path / "still.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 2.0, (640, 480))
    for _ in range(4):
        writer.write(cv2.resize(still, (640, 480)))
    writer.release()
    batches = []
    result = pipeline.analyze(
        path, features=["vehicles", "bodies"], sample_fps=1, on_detections=batches.append
    )
    frames = result.summary["frames_analysed"]
    assert frames == 2
    assert len(detector_passes) == frames
    bodies = [d for batch in batches for d in batch if d.kind == "body"]
    assert len(bodies) == frames
    payload = bodies[0].payload
    assert set(payload) == {"confidence", "keypoints"}  # the box has its own columns
    assert len(payload["keypoints"]) == 17
    assert all(isinstance(p["x"], int) and isinstance(p["y"], int) for p in payload["keypoints"])
