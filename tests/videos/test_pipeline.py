"""The framework-free pipeline on small synthetic clips (fast) and the real fixture clip."""

import pytest

from tests.videos.conftest import write_video
from videos import pipeline


def test_sampling_grabs_every_frame_but_decodes_only_sampled_ones(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=30, fps=10.0)
    samples = list(pipeline.sampled_frames(path, 2.0))
    assert [index for index, _, _ in samples] == [0, 5, 10, 15, 20, 25]
    assert [ms for _, ms, _ in samples] == [0, 500, 1000, 1500, 2000, 2500]
    _, _, rgb = samples[0]
    assert rgb.shape == (120, 160, 3)
    # BGR (40, 200, 240) was written, so RGB reads back red-heavy (codec noise aside).
    assert rgb[55, 15, 0] > rgb[55, 15, 2]


def test_sample_rate_above_the_video_rate_uses_every_frame(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=12, fps=6.0)
    assert len(list(pipeline.sampled_frames(path, 30.0))) == 12


def test_progress_rises_monotonically_and_stays_below_100(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=40, fps=10.0)
    seen = []
    result = pipeline.analyze(path, features=["faces"], sample_fps=4, on_progress=seen.append)
    assert seen == sorted(seen) and seen[-1] <= 99 and len(seen) == 16
    assert result.summary["frames_analysed"] == 16
    assert result.summary["counts"] == {"faces": 0}
    assert result.summary["face_tracks"] == [] and result.summary["identified"] == []
    assert result.summary["duration_seconds"] == pytest.approx(4.0, abs=0.15)


def test_a_progress_callback_can_cancel_between_frames(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=40, fps=10.0)
    calls = []

    def cancel_on_third(percent):
        calls.append(percent)
        if len(calls) == 3:
            raise pipeline.JobCancelled()

    with pytest.raises(pipeline.JobCancelled):
        pipeline.analyze(path, features=["faces"], sample_fps=4, on_progress=cancel_on_third)
    assert len(calls) == 3


def test_a_file_that_is_not_a_video_raises_a_decode_error(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video at all\n" * 100)
    with pytest.raises(pipeline.VideoDecodeError):
        pipeline.analyze(path, features=["faces"], sample_fps=2)


def test_unknown_features_are_refused(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=5)
    with pytest.raises(ValueError, match="unknown features"):
        pipeline.analyze(path, features=["cats"])


def test_fixture_clip_faces_are_tracked_and_identified_as_lin():
    from PIL import Image

    from faces.engine import get_face_engine
    from tests.helpers import fixture_path

    clip = fixture_path("video/short_hamilton_clip.mp4")
    photo = fixture_path("faces/lin-manuel-miranda.png")
    enrolled = get_face_engine().largest_face(
        __import__("numpy").asarray(Image.open(photo).convert("RGB"))
    )
    gallery = pipeline.LabelGallery.from_labelled_blobs(["lin"], [enrolled.descriptor.tobytes()])
    batches = []
    result = pipeline.analyze(
        clip, features=["faces"], sample_fps=2, gallery=gallery, on_detections=batches.append
    )
    summary = result.summary
    assert summary["frames_analysed"] == 19
    assert summary["counts"]["faces"] >= 8
    assert summary["face_tracks"], "no face tracks in the fixture clip"
    lin = next(item for item in summary["identified"] if item["label"] == "lin")
    assert 0 <= lin["first_ms"] <= lin["last_ms"] <= 9200
    assert lin["distance"] <= 0.6
    faces = [detection for batch in batches for detection in batch]
    assert len(faces) == summary["counts"]["faces"]
    assert all("track_id" in face.payload for face in faces)


def test_vehicles_and_bodies_are_found_in_frames_with_their_payloads(tmp_path):
    """A 4-frame clip of the dog photo (bicycle, truck) and the person photo."""
    import cv2

    from tests.helpers import fixture_path

    names = ("dog.jpg", "person.jpg")
    stills = [cv2.imread(str(fixture_path(f"objects/{name}"))) for name in names]
    path = tmp_path / "stills.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 2.0, (640, 480))
    for still in stills:
        for _ in range(2):
            writer.write(cv2.resize(still, (640, 480)))
    writer.release()

    batches = []
    result = pipeline.analyze(
        path, features=["vehicles", "bodies"], sample_fps=1, on_detections=batches.append
    )
    detections = [item for batch in batches for item in batch]
    summary = result.summary
    assert summary["frames_analysed"] == 2
    assert summary["counts"]["vehicles"] >= 1 and summary["counts"]["bodies"] >= 1
    assert set(summary["vehicle_types"]) & {"bicycle", "truck", "car"}
    vehicle = next(item for item in detections if item.kind == "vehicle")
    assert vehicle.timestamp_ms == 0 and 0 < vehicle.payload["confidence"] <= 1
    body = next(item for item in detections if item.kind == "body" and item.timestamp_ms == 1000)
    assert len(body.payload["keypoints"]) == 17
    assert {"name", "x", "y", "score"} == set(body.payload["keypoints"][0])
    assert "face_tracks" not in summary


def test_the_stored_kinds_are_the_pipelines():
    from videos.models import VideoDetection

    assert sorted(pipeline.KIND_BY_FEATURE.values()) == sorted(VideoDetection.Kind.values)
    assert set(pipeline.KIND_BY_FEATURE) == set(pipeline.FEATURES)
