"""Videos that are playable, or at least well formed, but unusual: an unknown codec, a
phone's rotated frames, a file cut short. Every input is built here, from nothing or from
the fixture clip."""

import io
from pathlib import Path

import av
import numpy as np
import pytest

from tests.helpers import fixture_path, upload
from tests.videos.conftest import FIXTURE_CLIP, media_files
from videos import pipeline
from videos.models import VideoJob

ANALYZE = "/api/videos/analyze"


def _error(response, status, code):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]["message"]


def mpeg4_avi(frames=5, size=(160, 120)) -> bytes:
    """A small MPEG-4 Part 2 AVI; PyAV writes its codec as the fourcc `FMP4`."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="avi") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            picture = np.full((height, width, 3), index * 20, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def test_an_avi_in_a_codec_ffmpeg_does_not_know_is_unsupported_format(pro_client, media_root):
    data = mpeg4_avi()
    # The fourcc twice: the stream header (`strh`) and the format (`strf`).
    assert data.count(b"FMP4") == 2
    unknown = data.replace(b"FMP4", b"ZZZZ")

    response = pro_client.post(ANALYZE, {"video": upload("clip.avi", unknown)})

    message = _error(response, 400, "unsupported_format")
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
