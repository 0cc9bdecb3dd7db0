"""Videos that are playable, or at least well formed, but unusual: an unknown codec, a
phone's rotated frames, a file cut short, time going backwards, a variable frame rate, a
live WebM with no length. Every input is built
here, from nothing or from the fixture clip."""

import fractions
import io
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from tests.helpers import error_message, fixture_path, upload
from tests.videos.conftest import FIXTURE_CLIP, media_files
from videos import jobs, pipeline
from videos.models import VideoDetection, VideoJob
from vision.geometry import Box

ANALYZE = "/api/videos/analyze"




def encoded_video(container: str, codec: str, *, frames: int, size=(160, 120),
                  options=None) -> bytes:
    """A small synthetic video of flat frames growing brighter, written by PyAV."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container, options=options or {}) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            picture = np.full((height, width, 3), index * 10, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def mpeg4_avi(frames=5, size=(160, 120)) -> bytes:
    """A small MPEG-4 Part 2 AVI; PyAV writes its codec as the fourcc `FMP4`."""
    return encoded_video("avi", "mpeg4", frames=frames, size=size)


def test_an_avi_in_a_codec_ffmpeg_does_not_know_is_unsupported_format(pro_client, media_root):
    data = mpeg4_avi()
    # The fourcc twice: the stream header (`strh`) and the format (`strf`).
    assert data.count(b"FMP4") == 2
    unknown = data.replace(b"FMP4", b"ZZZZ")

    response = pro_client.post(ANALYZE, {"video": upload("clip.avi", unknown)})

    message = error_message(response, 400, "unsupported_format")
    assert "codec" in message
    assert not VideoJob.objects.exists() and media_files(media_root) == []


def rotated_fixture(path: Path, *, rotation: int) -> Path:
    """The fixture clip stored the way a phone stores what it filmed on its side: every
    frame turned a quarter, 360 × 640, and the display matrix saying `rotation`
    counter-clockwise degrees show it upright again, 640 × 360."""
    with av.open(str(fixture_path(FIXTURE_CLIP))) as source, av.open(str(path), "w") as out:
        video = source.streams.video[0]
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.height, video.width, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        stream.set_display_rotation(rotation)
        for frame in source.decode(video):
            stored = np.rot90(frame.to_ndarray(format="rgb24"), k=-rotation // 90)
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(stored), format="rgb24")
            for packet in stream.encode(picture):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("rotation", [90, -90])
def test_a_rotated_phone_video_is_analysed_as_displayed(tmp_path, rotation):
    clip = rotated_fixture(tmp_path / "portrait.mp4", rotation=rotation)
    with av.open(str(clip)) as container:
        first = next(container.decode(video=0))
        assert (first.width, first.height, first.rotation) == (360, 640, rotation)
    upright = pipeline.analyze(fixture_path(FIXTURE_CLIP), features=["faces"], sample_fps=2)
    found = []

    turned = pipeline.analyze(clip, features=["faces"], sample_fps=2, on_detections=found.extend)

    faces = upright.summary["counts"]["faces"]
    assert faces >= 8
    assert abs(turned.summary["counts"]["faces"] - faces) <= 1
    video = turned.summary["video"]
    assert (video["width"], video["height"]) == (640, 360)  # as shown, not as stored
    for face in found:
        box = face.box
        assert 0 <= box.x and box.x + box.width <= 640 and 0 <= box.y and box.y + box.height <= 360


def looped_faststart_fixture(path: Path, *, loops: int) -> Path:
    """The fixture clip's packets `loops` times over (no re-encoding), in an MP4 whose
    header (`moov`) comes first, as a web-optimised ("faststart") file has it."""
    with av.open(str(fixture_path(FIXTURE_CLIP))) as source:
        video = source.streams.video[0]
        packets = [packet for packet in source.demux(video) if packet.size]
        span = video.duration
        with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
            stream = out.add_stream_from_template(video)
            for loop in range(loops):
                for packet in packets:
                    if loop:
                        packet.pts += span
                        packet.dts += span
                    packet.stream = stream
                    out.mux(packet)
    return path


def test_a_file_cut_short_of_its_declared_length_is_reported_truncated(tmp_path):
    whole = looped_faststart_fixture(tmp_path / "whole.mp4", loops=3)
    data = whole.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 5])
    assert pipeline.probe(cut).duration_seconds == pytest.approx(27.5, abs=0.1)

    summary = pipeline.analyze(cut, features=["faces"], sample_fps=0.5).summary

    assert summary["truncated"] is True
    assert summary["analysed_seconds"] < 15 < summary["duration_seconds"]
    # The whole file, decoded to its end, is not.
    whole_summary = pipeline.analyze(whole, features=["faces"], sample_fps=0.5).summary
    assert whole_summary["truncated"] is False


def mkv_whose_first_frame_is_late(path: Path, *, frames=30) -> Path:
    """MJPEG in Matroska, frame 0 stamped 10 s and the others counting from 1 ms: time
    goes backwards after the first frame."""
    width, height = 160, 120
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("mjpeg", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        stream.time_base = fractions.Fraction(1, 30)
        for index in range(frames):
            picture = np.full((height, width, 3), index * 8, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                packet.dts, packet.pts = index, 300 if index == 0 else index
                packet.time_base = stream.time_base
                out.mux(packet)
    return path


def test_timestamps_going_backwards_never_go_backwards_or_below_zero(
    pro_client, tmp_path, monkeypatch
):
    clip = mkv_whose_first_frame_is_late(tmp_path / "late.mkv")
    with av.open(str(clip)) as container:
        times = [frame.time for frame in container.decode(video=0)]
    assert times[0] == pytest.approx(10.0) and times[1] < 0.01  # as built

    stamps = [ms for _, ms, _ in pipeline.sampled_frames(clip, 30.0)]
    assert len(stamps) >= 2 and stamps[0] == 0 and stamps == sorted(stamps)

    # Through a job: each sampled frame yields one detection, stored with its timestamp.
    class OneFacePerFrame:
        def detect(self, rgb, descriptors=False):
            return [SimpleNamespace(box=Box(0, 0, 10, 10), descriptor=None)]

    monkeypatch.setattr(pipeline, "get_face_engine", lambda: OneFacePerFrame())
    response = pro_client.post(
        ANALYZE, {"video": upload("late.mkv", clip.read_bytes()), "features": "faces",
                  "sample_fps": "30"},
    )
    assert response.status_code == 202, response.content[:300]
    job_id = response.json()["job_id"]
    assert jobs.run_job(job_id=job_id) == "completed", VideoJob.objects.get(pk=job_id).error
    stored = VideoDetection.objects.filter(job_id=job_id).values_list("timestamp_ms", flat=True)
    assert sorted(stored) == stamps


def variable_rate_mkv(path: Path) -> Path:
    """10 distinct frames a second apart (10 s at 1 fps), then 600 frames 16 ms apart
    (9.6 s at ~60 fps): the header's average rate says nothing true about either part."""
    width, height = 160, 120
    timeline = [(index * 20, 1000) for index in range(10)] + [(250, 16)] * 600
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("mjpeg", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        stream.time_base = fractions.Fraction(1, 1000)
        pts = 0
        for level, duration in timeline:
            picture = np.full((height, width, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                packet.pts = packet.dts = pts
                packet.duration, packet.time_base = duration, stream.time_base
                out.mux(packet)
            pts += duration
    return path


def test_a_variable_frame_rate_video_is_sampled_by_time(tmp_path):
    clip = variable_rate_mkv(tmp_path / "vfr.mkv")

    samples = [(index, ms) for index, ms, _ in pipeline.sampled_frames(clip, 2.0)]

    # Every one of the first ten frames (one a second) is looked at, each at its own time…
    assert samples[:10] == [(index, index * 1000) for index in range(10)]
    # …and the fast part at two a second, on the half-second grid (9.6 s: 20 samples).
    fast = [ms for _, ms in samples[10:]]
    assert len(fast) == 20
    assert all(abs(later - earlier - 500) <= 16 for earlier, later in pairwise(fast))


def live_webm(frames=20) -> bytes:
    """A playable VP8 WebM written as a live stream (no Duration, no cues): the layout of
    what browsers' MediaRecorder uploads."""
    return encoded_video("webm", "libvpx", frames=frames, options={"live": "1"})


def test_a_live_webm_with_no_duration_is_accepted_and_analysed(pro_client):
    data = live_webm()
    with av.open(io.BytesIO(data)) as container:
        assert container.duration is None and container.streams.video[0].frames == 0

    response = pro_client.post(
        ANALYZE, {"video": upload("recording.webm", data), "features": "faces",
                  "sample_fps": "2"},
    )

    assert response.status_code == 202, response.content[:300]
    job_id = response.json()["job_id"]
    assert jobs.run_job(job_id=job_id) == "completed", VideoJob.objects.get(pk=job_id).error
    summary = VideoJob.objects.get(pk=job_id).summary
    assert summary["frames_analysed"] == 4  # 2 s at 2 samples a second
    assert summary["truncated"] is False
    assert summary["duration_seconds"] == pytest.approx(1.9, abs=0.11)


def test_a_video_whose_header_declares_no_frames_is_still_refused(tmp_path, monkeypatch):
    """Unknown is not empty: a header that states a length of nothing stays refused."""
    from videos import uploads
    from visionera.api.errors import CorruptFile

    empty = pipeline.VideoInfo(fps=10.0, frame_count=0, width=160, height=120,
                               duration_seconds=0.0, length_declared=True)
    monkeypatch.setattr(uploads, "probe", lambda path: empty)
    with pytest.raises(CorruptFile):
        uploads._checked_video(tmp_path / "empty.mp4", "video")
