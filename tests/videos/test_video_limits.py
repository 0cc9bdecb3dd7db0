"""Videos are bounded in size, frame rate, length and analysed frames, whatever their
headers say. Every hostile file is built here."""

import json
import os
import secrets
import struct
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import PROJECT_ROOT
from tests.hardening.test_memory_bounds import PEAK_RSS
from tests.helpers import error_message, upload
from tests.videos.conftest import media_files, write_video
from videos import jobs, pipeline
from videos.models import VideoJob
from videos.pipeline import VideoInfo, VideoLimits

URL = "/api/videos"
ANALYZE = "/api/videos/analyze"




def mjpeg_avi(path: Path, side: int) -> Path:
    """Two flat side × side MJPEG frames in an AVI. Built in a throwaway process: OpenCV's
    writer needs the whole frame, which is what the server must never allocate."""
    code = (
        "import sys, numpy as np, cv2\n"
        "side = int(sys.argv[2])\n"
        "out = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (side, side))\n"
        "assert out.isOpened()\n"
        "frame = np.full((side, side, 3), 60, np.uint8)\n"
        "out.write(frame); out.write(frame); out.release()\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path), str(side)], check=True, timeout=120)
    return path


def lying_mkv(path: Path, *, seconds: int, claimed_seconds: int, fps: int = 5) -> Path:
    """A real `seconds`-long Matroska video whose headers say it lasts `claimed_seconds`:
    written with PyAV, then the Segment's Duration and the track's DURATION tag patched."""
    width, height = 96, 64
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * fps):
            picture = np.full((height, width, 3), (index * 7) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = bytearray(path.read_bytes())
    duration = data.find(b"\x44\x89\x88")  # EBML Duration, 8-byte float, in milliseconds
    assert duration > 0
    data[duration + 3 : duration + 11] = struct.pack(">d", claimed_seconds * 1000.0)
    told = f"00:{seconds // 60:02d}:{seconds % 60:02d}.000000000".encode()
    lie = f"00:{claimed_seconds // 60:02d}:{claimed_seconds % 60:02d}.000000000".encode()
    assert data.count(told) == 1
    path.write_bytes(bytes(data).replace(told, lie))
    return path


# --------------------------------------------------------------------------- at upload


def test_a_12000_square_mjpeg_avi_is_refused_from_its_headers(pro_client, tmp_path, media_root):
    avi = mjpeg_avi(tmp_path / "huge.avi", 12_000)
    assert avi.stat().st_size < 3_000_000
    response = pro_client.post(ANALYZE, {"video": upload("huge.avi", avi.read_bytes())})
    message = error_message(response, 400, "unsupported_format")
    assert message == "video is 12000×12000 px; at most 4096×2160 (either orientation) is supported"
    assert media_files(media_root) == [] and VideoJob.objects.count() == 0


PEAK = PEAK_RSS + r"""
import json, sys
from videos import pipeline
pipeline.probe(sys.argv[2])  # warm: libraries loaded
before = reset_peak()
info = pipeline.probe(sys.argv[1])
grown = peak_growth(before)
print(json.dumps({"width": info.width, "height": info.height, "growth": grown}))
"""


def test_probing_the_12000_square_avi_decodes_no_frame(tmp_path):
    """OpenCV's probe decoded the first frame (the process grew by 1.17 GB); the headers
    are enough, measured as the peak RSS growth of a fresh process."""
    avi = mjpeg_avi(tmp_path / "huge.avi", 12_000)
    small = write_video(tmp_path / "small.mp4", frames=5)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "SECRET_KEY": secrets.token_urlsafe(40)}
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(avi), str(small)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"probe of a 12000×12000 MJPEG AVI grew the process by {result['growth'] / 1e6:.1f} MB")
    assert (result["width"], result["height"]) == (12_000, 12_000)
    assert result["growth"] < 20 * 1024 * 1024  # one decoded frame would be 216 MB (YUV)


def test_a_portrait_video_fits_the_landscape_limit_but_a_wider_one_does_not(
    pro_client, tmp_path, settings, media_root
):
    settings.VISIONERA_MAX_VIDEO_WIDTH, settings.VISIONERA_MAX_VIDEO_HEIGHT = 160, 120
    portrait = write_video(tmp_path / "portrait.mp4", frames=5, size=(120, 160))
    response = pro_client.post(ANALYZE, {"video": upload("p.mp4", portrait.read_bytes())})
    assert response.status_code == 202, response.content[:300]
    wide = write_video(tmp_path / "wide.mp4", frames=5, size=(200, 120))
    response = pro_client.post(ANALYZE, {"video": upload("w.mp4", wide.read_bytes())})
    message = error_message(response, 400, "unsupported_format")
    assert message == "video is 200×120 px; at most 160×120 (either orientation) is supported"


def test_a_frame_rate_above_the_limit_is_refused(pro_client, tmp_path, settings, media_root):
    settings.VISIONERA_MAX_VIDEO_FPS = 30
    fast = write_video(tmp_path / "fast.mp4", frames=60, fps=120.0)
    response = pro_client.post(ANALYZE, {"video": upload("fast.mp4", fast.read_bytes())})
    message = error_message(response, 400, "unsupported_format")
    assert message == "video declares 120 frames per second; at most 30 is supported"
    assert media_files(media_root) == []


def test_an_honest_header_over_the_length_limit_is_413(pro_client, tmp_path, settings):
    settings.VISIONERA_MAX_VIDEO_SECONDS = 3
    clip = write_video(tmp_path / "long.mp4", frames=50, fps=10.0)
    response = pro_client.post(ANALYZE, {"video": upload("l.mp4", clip.read_bytes())})
    message = error_message(response, 413, "file_too_large")
    assert message == "video lasts 5 s; at most 3 s is accepted"


# --------------------------------------------------------------------------- while decoding


def test_a_mkv_whose_header_says_1_s_is_accepted_but_cut_at_the_limit(
    pro_client, tmp_path, settings, media_root
):
    """60 s of video claiming to last 1 s, with a 10 s limit: the upload passes (its
    header is within bounds), and the job analyses exactly the first 10 s and says so."""
    settings.VISIONERA_MAX_VIDEO_SECONDS = 10
    liar = lying_mkv(tmp_path / "liar.mkv", seconds=60, claimed_seconds=1)
    info = pipeline.probe(liar)
    assert info.duration_seconds == pytest.approx(1.0) and info.fps == 5.0

    response = pro_client.post(
        ANALYZE, {"video": upload("liar.mkv", liar.read_bytes()), "features": "faces",
              "sample_fps": "1"},
    )
    assert response.status_code == 202, response.content[:300]
    job = VideoJob.objects.get(pk=response.json()["job_id"])
    # Inside the test's transaction nothing was sent to a worker: run the job's body here.
    assert jobs.run_job(job_id=job.pk) == "completed"
    job.refresh_from_db()
    assert job.status == "completed", job.error
    summary = job.summary
    assert summary["truncated"] is True
    assert summary["analysed_seconds"] == pytest.approx(10.0)
    assert summary["frames_analysed"] == 11  # 0 s, 1 s, … 10 s at one sample a second
    shown = pro_client.get(f"{URL}/{job.pk}").json()["summary"]
    assert shown["truncated"] is True and shown["analysed_seconds"] == pytest.approx(10.0)


def test_an_honest_video_is_not_marked_truncated(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=30, fps=10.0)
    summary = pipeline.analyze(clip, features=["faces"], sample_fps=2).summary
    assert summary["truncated"] is False
    assert summary["analysed_seconds"] == pytest.approx(2.9)
    assert summary["frames_analysed"] == 6


def test_a_header_claiming_a_low_frame_rate_is_cut_by_the_frame_count(tmp_path):
    """Frame count is the second fence: a header saying 2 fps over 30 frames of 10 fps
    video allows ceil(2 s × 2 fps) + 1 = 5 frames at a 2 s limit, whatever the timestamps.
    (Sampled by their own times, 0.1 s apart: only the first of the five is due.)"""
    clip = write_video(tmp_path / "clip.mp4", frames=30, fps=10.0)
    claimed = VideoInfo(fps=2.0, frame_count=4, width=160, height=120, duration_seconds=2.0)
    sampler = pipeline.FrameSampler(clip, 2.0, limits=VideoLimits(max_seconds=2), info=claimed)
    indexes = [index for index, _, _ in sampler]
    assert indexes == [0]
    assert sampler.truncated is True
    assert sampler.decoded_seconds == pytest.approx(0.4)


def test_sampled_frames_are_capped_and_spread_over_the_declared_length(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=40, fps=10.0)
    sampler = pipeline.FrameSampler(clip, 10.0, limits=VideoLimits(max_sampled_frames=4))
    assert [index for index, _, _ in sampler] == [0, 10, 20, 30]
    assert sampler.sample_fps == pytest.approx(1.0) and sampler.truncated is False
    # A header that under-states the frame count spreads the budget too thin: cut, and said.
    claimed = VideoInfo(fps=10.0, frame_count=8, width=160, height=120, duration_seconds=0.8)
    sampler = pipeline.FrameSampler(
        clip, 10.0, limits=VideoLimits(max_sampled_frames=4), info=claimed
    )
    assert [index for index, _, _ in sampler] == [0, 2, 4, 6]
    assert sampler.truncated is True


def test_the_decoder_refuses_frames_over_the_pixel_cap_even_past_the_header_check(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=5, size=(160, 120))
    small = VideoLimits(max_width=100, max_height=100)
    with pytest.raises(pipeline.VideoDecodeError):
        list(pipeline.FrameSampler(clip, 2.0, limits=small))
    with pytest.raises(pipeline.VideoOutOfBounds) as refused:
        pipeline.analyze(clip, features=["faces"], limits=small)
    assert refused.value.reason == "resolution"
