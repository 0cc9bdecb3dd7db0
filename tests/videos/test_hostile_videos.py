"""Videos that are playable, or at least well formed, but unusual: an unknown codec. Every
input is built here, from nothing or from the fixture clip."""

import io

import av
import numpy as np

from tests.helpers import upload
from tests.videos.conftest import media_files
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
