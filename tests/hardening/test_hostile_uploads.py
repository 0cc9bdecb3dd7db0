"""A hostile upload corpus, generated here: every file gets a clear 4xx or a correct answer,
and memory stays bounded on the bomb and the big animated GIF.

Everything goes through the real stack (key, plan, multipart parser, upload validation,
engine) with the test client.
"""

import io
import json
import resource
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest
from PIL import Image

from tests.helpers import fixture_path, image_bytes, upload

DETECT = "/api/faces/detect"
BATCH = "/api/faces/batch-match"
COLLECTIONS = "/api/faces/collections"
# Peak memory a single hostile request may add to the process (the decoded bomb would be
# 30000 × 30000 × 3 bytes = 2.7 GB; the GIF's 300 frames decoded would be ~140 MB).
MEMORY_BUDGET_BYTES = 120 * 1024 * 1024


def _error(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.content[:400])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["status"] == status
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


def _detect(client, name, data):
    return client.post(DETECT, {"image": upload(name, data)}, format="multipart")


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class PeakMemory:
    """Python-heap peak (tracemalloc: numpy buffers included) and process peak RSS growth."""

    def __enter__(self):
        self.rss_before = _maxrss_bytes()
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        _, self.heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        self.rss_growth = _maxrss_bytes() - self.rss_before
        print(f"peak heap {self.heap_peak / 1e6:.1f} MB, RSS growth {self.rss_growth / 1e6:.1f} MB")
        return False

    def assert_bounded(self, budget=MEMORY_BUDGET_BYTES):
        assert self.heap_peak < budget, f"heap peak {self.heap_peak / 1e6:.0f} MB"
        assert self.rss_growth < budget, f"peak RSS grew {self.rss_growth / 1e6:.0f} MB"


# --------------------------------------------------------------------------- generators


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header declares width × height (8-bit RGB): a bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # A few kilobytes of zero rows; the rest would come from decompressing "more".
    idat = zlib.compress(b"\x00" * (width * 3 + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def animated_gif(frames: int, side: int = 400) -> bytes:
    images = [
        Image.new("P", (side, side), color=index % 200) for index in range(frames)
    ]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=20, loop=0
    )
    return buffer.getvalue()


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload/readme.txt", "not an image " * 100)
        archive.writestr("../../evil.sh", "#!/bin/sh\necho pwned\n")
    return buffer.getvalue()


def multipart(parts, boundary="hostileboundary0123456789") -> tuple[bytes, str]:
    """Raw multipart/form-data from (name, filename-bytes-or-None, content) triples."""
    out = io.BytesIO()
    for name, filename, content in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'Content-Disposition: form-data; name="{name}"'.encode()
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        out.write(disposition + b"\r\n")
        if filename is not None:
            out.write(b"Content-Type: application/octet-stream\r\n")
        out.write(b"\r\n" + content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# --------------------------------------------------------------------------- broken files


def test_truncated_jpeg_is_corrupt_file(pro_client):
    data = image_bytes(640, 480, fmt="JPEG")
    _error(_detect(pro_client, "cut.jpg", data[: len(data) // 2]), 400, "corrupt_file")


def test_jpeg_header_only_is_corrupt_file(pro_client):
    _error(_detect(pro_client, "head.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 12), 400)


def test_zero_byte_file_is_a_clear_400(pro_client):
    body = _error(_detect(pro_client, "empty.jpg", b""), 400)
    assert body["error"]["code"] in ("corrupt_file", "missing_file")


def test_png_declaring_30000_square_is_refused_without_decoding(pro_client):
    bomb = png_declaring(30_000, 30_000)
    assert len(bomb) < 10_000
    with PeakMemory() as memory:
        body = _error(_detect(pro_client, "bomb.png", bomb), 413, "file_too_large")
    assert "megapixels" in body["error"]["message"]
    memory.assert_bounded()


def test_png_just_over_the_pixel_limit_is_refused(pro_client, settings):
    # Between Pillow's warning threshold and its hard limit: refused too, not decoded.
    settings.VISIONERA_MAX_IMAGE_PIXELS = 1_000_000
    _error(_detect(pro_client, "wide.png", png_declaring(1_500, 1_000)), 413, "file_too_large")


def test_animated_gif_of_hundreds_of_frames_uses_the_first_frame_only(pro_client):
    gif = animated_gif(300)
    with PeakMemory() as memory:
        response = _detect(pro_client, "many.gif", gif)
    assert response.status_code == 200, response.content[:300]
    assert response.json() == {"faces": [], "count": 0}
    memory.assert_bounded()


# --------------------------------------------------------------------------- names lie


def test_jpeg_named_png_is_decided_by_content(pro_client):
    response = _detect(pro_client, "photo.png", image_bytes(200, 200, fmt="JPEG"))
    assert response.status_code == 200, response.content[:300]


def test_png_named_jpeg_is_decided_by_content(pro_client):
    response = _detect(pro_client, "photo.jpg", image_bytes(200, 200, fmt="PNG"))
    assert response.status_code == 200, response.content[:300]


def test_real_face_jpeg_named_png_is_still_found(pro_client):
    data = fixture_path("faces/obama.jpg").read_bytes()
    response = _detect(pro_client, "obama.png", data)
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_zip_named_jpeg_is_unsupported_format(pro_client):
    _error(_detect(pro_client, "archive.jpg", zip_archive()), 400, "unsupported_format")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_polyglot_image_with_trailing_zip_is_read_as_the_image(pro_client, fmt):
    data = image_bytes(160, 120, fmt=fmt) + zip_archive()
    assert zipfile.is_zipfile(io.BytesIO(data))  # it really is both
    response = _detect(pro_client, f"polyglot.{fmt.lower()}", data)
    assert response.status_code == 200, response.content[:300]
    assert response.json()["count"] == 0


# --------------------------------------------------------------------------- CPU bombs


def progressive_jpeg_repeating_its_last_scan(copies: int, side: int = 2000) -> bytes:
    """A grey progressive JPEG whose last DHT + SOS pair (its AC refinement scan, a few
    bytes of a flat image) is repeated ``copies`` times before EOI: valid to libjpeg, which
    decodes each copy over the whole image (at 6000 px, 2500 copies took 63 s of CPU)."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, format="JPEG", progressive=True)
    data = buffer.getvalue()
    last_scan = data.rfind(b"\xff\xda")
    last_table = data.rfind(b"\xff\xc4", 0, last_scan)  # libjpeg writes one per scan
    assert 0 < last_table < last_scan and data.endswith(b"\xff\xd9")
    return data[:-2] + data[last_table:-2] * copies + b"\xff\xd9"


def _warm_up(client):
    # The test client's first request imports and builds what every request needs (~1 s).
    _error(_detect(client, "tiny.png", image_bytes(32, 32)), 400, "image_too_small")


def _refused_at_once(client, monkeypatch, name, bomb, because, within_seconds=2.0):
    """The bomb is 400 unsupported_format, for the reason given, and Pillow never opened it
    (its structure alone is what costs: the refusal comes from the walk before it). The
    time bound is loose, for a loaded CI machine: the walk itself takes milliseconds."""
    from visionera.api import uploads

    _warm_up(client)
    opened = []
    monkeypatch.setattr(uploads.Image, "open", lambda *args, **kwargs: opened.append(args))
    started = time.perf_counter()
    body = _error(_detect(client, name, bomb), 400, "unsupported_format")
    elapsed = time.perf_counter() - started
    assert because in body["error"]["message"]
    assert opened == []
    assert elapsed < within_seconds, f"{elapsed:.2f} s"


def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding(pro_client, monkeypatch):
    bomb = progressive_jpeg_repeating_its_last_scan(2500)
    assert len(bomb) < 400_000  # small enough for the free plan
    # Decoding it takes seconds (minutes at 36 MP).
    _refused_at_once(pro_client, monkeypatch, "scans.jpg", bomb, "more than 100 scans")


def test_a_jpeg_of_thousands_of_empty_segments_is_refused_at_once(pro_client, monkeypatch):
    bomb = image_bytes(160, 120, fmt="JPEG")
    bomb = bomb[:2] + b"\xff\xfe\x00\x02" * 500_000 + bomb[2:]  # 2 MB of empty comments
    _refused_at_once(pro_client, monkeypatch, "comments.jpg", bomb,
                     "more than 2000 marker segments")


@pytest.mark.parametrize(
    "options", [{"progressive": True}, {"progressive": True, "optimize": True}]
)
def test_an_ordinary_progressive_jpeg_is_still_read(pro_client, options):
    photo = Image.open(fixture_path("faces/obama.jpg")).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90, **options)
    response = _detect(pro_client, "progressive.jpg", buffer.getvalue())
    assert response.status_code == 200, response.content[:300]
    assert response.json()["count"] == 1


# --------------------------------------------------------------------------- PNG text


def png_with_compressed_text(chunks: int, inflated_bytes: int = 1 << 20) -> bytes:
    """A 64 × 64 PNG carrying ``chunks`` zTXt chunks, each a few hundred bytes that inflate
    to ``inflated_bytes`` (Pillow's per-chunk limit): 63 of them are a 66 KB file."""
    text = zlib.compress(b"a" * inflated_bytes, 9)
    return png_with_chunks(b"".join(
        _png_chunk(b"zTXt", b"note%d\x00\x00" % index + text) for index in range(chunks)
    ))


def png_with_chunks(chunks: bytes) -> bytes:
    """A 64 × 64 PNG with ``chunks`` inserted before its image data."""
    image = image_bytes(64, 64, fmt="PNG")
    first_idat = image.index(b"IDAT") - 4
    return image[:first_idat] + chunks + image[first_idat:]


def test_a_png_of_31_mb_of_compressed_text_is_refused_without_inflating_it(pro_client):
    bomb = png_with_compressed_text(31)  # under the chunk cap: Pillow's text limit refuses it
    assert len(bomb) < 100_000
    _warm_up(pro_client)
    with PeakMemory() as memory:
        response = _detect(pro_client, "text.png", bomb)
    _error(response, 400, "corrupt_file")
    assert memory.heap_peak < 16 * 1024 * 1024, memory.heap_peak / 1e6  # was 67 MB


@pytest.mark.parametrize("kind, payload", [
    (b"zTXt", b"\x00\x00"),  # an empty key: never counted against Pillow's text limit
    (b"iCCP", b"icc\x00\x00"),  # a profile: inflated, then replaced by the next one
])
def test_a_png_of_a_thousand_compressed_chunks_is_refused_before_inflating_any(
    pro_client, monkeypatch, kind, payload
):
    inflating = zlib.compress(b"a" * (1 << 20), 9)  # a megabyte each, Pillow's chunk limit
    bomb = png_with_chunks(
        b"".join(_png_chunk(kind, payload + inflating) for _ in range(1000)))
    assert len(bomb) < 1_200_000  # about a second of CPU to open, answered 200, before
    _refused_at_once(pro_client, monkeypatch, "chunks.png", bomb,
                     "more than 32 compressed metadata chunks")


def test_a_png_of_a_hundred_thousand_empty_chunks_is_refused_at_once(pro_client, monkeypatch):
    bomb = png_with_chunks(_png_chunk(b"tEXt", b"") * 100_000)
    _refused_at_once(pro_client, monkeypatch, "many.png", bomb, "more than 50000 chunks")


def test_a_png_with_ordinary_text_metadata_is_read(pro_client):
    # Kilobytes of XMP or generator parameters, as real PNGs carry: under the text limit.
    response = _detect(pro_client, "meta.png", png_with_compressed_text(3, 200_000))
    assert response.status_code == 200, response.content[:300]
    assert response.json()["count"] == 0


# --------------------------------------------------------------------------- EXIF rotation


def _jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


# orientation tag → how the stored pixels are turned from the upright picture
_STORED_AS = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # displayed = stored turned 90° clockwise
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", sorted(_STORED_AS))
def test_exif_rotated_photo_gives_the_upright_boxes(pro_client, orientation):
    upright = Image.open(fixture_path("faces/obama.jpg")).convert("RGB")
    reference = _detect(pro_client, "upright.jpg", _jpeg_with_orientation(upright, 1))
    assert reference.status_code == 200
    expected = reference.json()["faces"]
    assert len(expected) == 1

    stored = upright.transpose(_STORED_AS[orientation])
    response = _detect(pro_client, "rotated.jpg", _jpeg_with_orientation(stored, orientation))
    assert response.status_code == 200
    faces = response.json()["faces"]
    assert len(faces) == 1
    box, want = faces[0]["box"], expected[0]["box"]
    tolerance = max(4, want["width"] // 20)
    for key in ("x", "y", "width", "height"):
        assert abs(box[key] - want[key]) <= tolerance, (orientation, box, want)


# --------------------------------------------------------------------------- hostile names


@pytest.mark.parametrize(
    "filename",
    [
        b"../../../etc/passwd.png",
        b"..\\..\\windows\\win.ini.png",
        b"evil\x00.png",
        b"\xff\xfe\xfd-not-utf8.png",
        b"<script>alert(1)</script>.png",
        b"a" * 5000 + b".png",
    ],
    ids=["dotdot", "backslash", "nul", "non-utf8", "html", "long"],
)
def test_hostile_filenames_are_answered_and_never_echoed_as_paths(pro_client, filename):
    image = image_bytes(96, 96, fmt="PNG")
    body, content_type = multipart([("images", filename, image), ("images", b"b.png", image)])
    response = pro_client.generic("POST", BATCH, body, content_type=content_type)
    if response.status_code != 200:
        _error(response, 400)
        return
    images = response.json()["images"]
    assert len(images) == 2
    echoed = images[0]["filename"]
    assert "/" not in echoed and "\\" not in echoed and "\x00" not in echoed
    assert len(echoed) <= 200
    echoed.encode("utf-8")  # always valid text


# --------------------------------------------------------------------------- hostile text

HOSTILE_LABEL = "<script>alert('x')</script>' OR '1'='1'; DROP TABLE faces_face; --"
HOSTILE_METADATA = {
    "note": '<img src=x onerror="alert(1)">',
    "sql": "Robert'); DROP TABLE accounts_user;--",
    "nested": {"html": "</td></tr><b>bold</b>", "unicode": "ünï\u202ecode"},
}


def test_hostile_label_and_metadata_are_stored_verbatim_and_escaped_on_the_dashboard(
    pro_client,
):
    photo = fixture_path("faces/obama.jpg").read_bytes()
    created = pro_client.post(COLLECTIONS, {"name": "<b>Gallery</b> ' OR 1=1 --"}, format="json")
    assert created.status_code == 201, created.content
    collection = created.json()
    assert collection["name"] == "<b>Gallery</b> ' OR 1=1 --"

    enrolled = pro_client.post(
        f"{COLLECTIONS}/{collection['id']}/faces",
        {
            "image": upload("obama.jpg", photo),
            "label": HOSTILE_LABEL,
            "metadata": json.dumps(HOSTILE_METADATA),
        },
        format="multipart",
    )
    assert enrolled.status_code == 201, enrolled.content
    assert enrolled.json()["label"] == HOSTILE_LABEL

    listed = pro_client.get(f"{COLLECTIONS}/{collection['id']}/faces", {"label": HOSTILE_LABEL})
    assert listed.status_code == 200
    [face] = listed.json()["results"]
    assert face["label"] == HOSTILE_LABEL
    assert face["metadata"] == HOSTILE_METADATA
    # The SQL text did nothing: the tables are all still there.
    assert pro_client.get(COLLECTIONS).json()["count"] == 1

    from django.test import Client

    browser = Client()
    browser.force_login(pro_client.user)
    page = browser.get(f"/dashboard/collections/{collection['id']}/")
    assert page.status_code == 200
    html = page.content.decode()
    for raw in ("<script>alert(", '<img src=x onerror="alert(1)">', "<b>bold</b>", "<b>Gallery"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(" in html
    assert "&lt;img src=x onerror=" in html


# --------------------------------------------------------------------------- many parts


def test_thousands_of_form_fields_are_a_json_400(pro_client):
    parts = [(f"f{index}", None, b"x") for index in range(5_000)]
    body, content_type = multipart(parts)
    response = pro_client.generic("POST", DETECT, body, content_type=content_type)
    body = _error(response, 400, "invalid_request")
    assert "too many form fields" in body["error"]["message"]


def test_thousands_of_file_parts_are_a_json_4xx(pro_client):
    parts = [("images", f"{index}.png".encode(), b"\x89PNG") for index in range(2_000)]
    body, content_type = multipart(parts)
    response = pro_client.generic("POST", BATCH, body, content_type=content_type)
    body = _error(response, 400, "invalid_request")
    assert "too many form files" in body["error"]["message"]


def test_thousands_of_urlencoded_fields_are_a_json_400(pro_client):
    body = "&".join(f"k{index}=v" for index in range(5_000))
    response = pro_client.generic(
        "POST", COLLECTIONS, body, content_type="application/x-www-form-urlencoded"
    )
    _error(response, 400, "invalid_request")


def test_a_batch_of_too_many_images_for_the_plan_is_a_clear_400(pro_client):
    image = image_bytes(64, 64, fmt="PNG")
    parts = [("images", f"{index}.png".encode(), image) for index in range(60)]
    body, content_type = multipart(parts)
    response = pro_client.generic("POST", BATCH, body, content_type=content_type)
    _error(response, 400, "invalid_request")
