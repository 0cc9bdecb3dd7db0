"""Upload validation: decided by content, bounded, decoded once into upright RGB."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.helpers import fixture_path, image_bytes, noise_image_bytes, upload
from visionera.api import errors
from visionera.api.uploads import decode_image, image_from_bytes, sniff_video_container

DETECT = "/api/faces/detect"


def _decode(data, name="x", max_bytes=10_000_000):
    return decode_image(upload(name, data), field="image", max_bytes=max_bytes)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_supported_format_decodes_to_rgb(fmt):
    decoded = _decode(image_bytes(100, 80, fmt=fmt))
    assert decoded.format == fmt
    assert decoded.pixels.shape == (80, 100, 3)
    assert decoded.pixels.dtype == np.uint8


def test_format_is_decided_by_content_not_name():
    decoded = _decode(image_bytes(fmt="JPEG"), name="photo.png")
    assert decoded.format == "JPEG"
    with pytest.raises(errors.UnsupportedFormat):
        _decode(b"hello, I am text " * 20, name="photo.jpg")


def test_other_image_formats_are_unsupported():
    with pytest.raises(errors.UnsupportedFormat):
        _decode(image_bytes(fmt="BMP"), name="x.bmp")
    with pytest.raises(errors.UnsupportedFormat):
        _decode(image_bytes(fmt="TIFF"), name="x.tif")


def test_too_small_is_refused():
    with pytest.raises(errors.ImageTooSmall, match="32×32"):
        _decode(image_bytes(32, 32))
    assert _decode(image_bytes(64, 64)).width == 64


def test_size_limit_names_the_plan():
    data = noise_image_bytes(400, 400)
    with pytest.raises(errors.FileTooLarge, match="free plan allows"):
        decode_image(upload("x.png", data), field="target", max_bytes=10_000, plan_name="free")


def test_decompression_bomb_is_refused(settings):
    settings.VISIONERA_MAX_IMAGE_PIXELS = 1_000_000
    bomb = image_bytes(3000, 3000, fmt="PNG", mode="L", color=0)  # a few KB, 9 megapixels
    assert len(bomb) < 100_000
    with pytest.raises(errors.FileTooLarge, match="megapixels"):
        _decode(bomb)


def test_truncated_and_empty_files_are_corrupt():
    whole = noise_image_bytes(200, 200, fmt="JPEG")
    with pytest.raises(errors.CorruptFile):
        _decode(whole[: len(whole) // 2])
    with pytest.raises(errors.CorruptFile):
        _decode(b"")
    with pytest.raises(errors.CorruptFile):
        _decode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)


def test_missing_file_is_its_own_error():
    with pytest.raises(errors.MissingFile):
        decode_image(None, field="image", max_bytes=100)


def test_exif_orientation_is_applied():
    buffer = io.BytesIO()
    image = Image.new("RGB", (120, 80), (255, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    image.save(buffer, format="JPEG", exif=exif)
    decoded = _decode(buffer.getvalue())
    assert (decoded.width, decoded.height) == (80, 120)


@pytest.mark.parametrize(
    "mode, color",
    [
        ("RGBA", (10, 20, 30, 0)),
        ("LA", (50, 0)),
        ("L", 128),
        ("P", 3),
        ("I;16", 40000),
        ("CMYK", (0, 0, 0, 0)),
    ],
)
def test_modes_are_normalised_to_rgb(mode, color):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    decoded = _decode(image_bytes(80, 80, fmt=fmt, mode=mode, color=color))
    assert decoded.pixels.shape == (80, 80, 3)
    if mode == "RGBA":  # fully transparent → white, not black
        assert decoded.pixels.min() == 255


def test_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (80, 80), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    pixels = _decode(buffer.getvalue()).pixels
    assert pixels[40, 40, 0] > 200 and pixels[40, 40, 2] < 50


def test_real_rgba_png_fixture_is_accepted():
    data = fixture_path("faces/32bit.png").read_bytes()
    assert image_from_bytes(data).pixels.shape[2] == 3


def test_video_containers_are_sniffed_by_content():
    assert sniff_video_container(b"\x00\x00\x00\x18ftypmp42") == "mp4"
    assert sniff_video_container(b"\x00\x00\x00\x14ftypqt  ") == "mov"
    assert sniff_video_container(b"\x1a\x45\xdf\xa3\x01\x00\x00\x00") == "webm"
    assert sniff_video_container(b"RIFF\x00\x00\x00\x00AVI LIST") == "avi"
    assert sniff_video_container(b"hello world, not a video") is None


# Through the API: the contract's codes reach the client in the envelope.

@pytest.mark.django_db
def test_api_text_file_as_image_is_unsupported_format(free_client):
    response = free_client.post(DETECT, {"image": upload("notes.jpg", b"just text\n" * 50)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_format"


@pytest.mark.django_db
def test_api_32px_png_is_image_too_small(free_client):
    response = free_client.post(DETECT, {"image": upload("tiny.png", image_bytes(32, 32))})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "image_too_small"


@pytest.mark.django_db
def test_api_3mb_image_on_free_is_413(free_client):
    data = noise_image_bytes(1000, 1000)
    assert 2_000_000 < len(data) < 3_500_000
    response = free_client.post(DETECT, {"image": upload("big.png", data)})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "file_too_large"
    assert "free plan allows 2 MB" in error["message"]



@pytest.mark.django_db
def test_a_file_just_over_the_limit_is_not_said_to_be_the_limit(free_client):
    data = image_bytes(128, 128)
    data += b"\x00" * (2_040_000 - len(data))  # 2.04 MB, which rounds to "2 MB"
    response = free_client.post(DETECT, {"image": upload("a.png", data)})
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith(
        "image is 2.04 MB; the free plan allows 2 MB per file")


@pytest.mark.parametrize("size, limit, shown", [
    (2_040_000, 2_000_000, "2.04 MB"), (2_000_001, 2_000_000, "2.000001 MB"),
    (2_500_000, 2_000_000, "2.5 MB"), (12_000_000, 10_000_000, "12 MB"),
])
def test_a_size_over_a_limit_reads_as_more_than_it(size, limit, shown):
    from visionera.units import megabytes_over

    assert megabytes_over(size, limit) == shown

@pytest.mark.django_db
def test_api_missing_file_is_missing_file(free_client):
    response = free_client.post(DETECT, {})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_file"
    response = free_client.post(DETECT, {"image": "a plain string, not a file"})
    assert response.json()["error"]["code"] == "missing_file"


@pytest.mark.django_db
def test_api_text_file_renamed_mp4_is_unsupported(pro_client, media_root):
    response = pro_client.post(
        "/api/videos/analyze", {"video": upload("clip.mp4", b"not a video at all " * 100)}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_format"
    assert not any(media_root.rglob("*.mp4")) if media_root.exists() else True


@pytest.mark.django_db
def test_api_mp4_header_with_garbage_is_corrupt_and_not_kept(pro_client, media_root):
    fake = b"\x00\x00\x00\x18ftypmp42" + b"\x00garbage" * 500
    response = pro_client.post("/api/videos/analyze", {"video": upload("clip.mp4", fake)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "corrupt_file"
    assert not list(media_root.rglob("*.*")) if media_root.exists() else True


# ------------------------------------------------------------ strip conversion, no float64


def _reference_rgb(data: bytes) -> np.ndarray:
    """What the decoder produced before strips: whole-image Pillow conversions."""
    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode == "I;16":
            array = np.asarray(image, dtype=np.float64)
            scaled = (array * (255.0 / (array.max() or 1.0))).clip(0, 255).astype(np.uint8)
            image = Image.fromarray(scaled, "L")
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        if image.mode in ("RGBA", "LA"):
            rgba = image.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        return np.asarray(image.convert("RGB"))


def _varied(mode: str, width=300, height=4000) -> bytes:
    """Content that differs from strip to strip (strips are ~1 MP; 4000 rows × 300 is 1.2 MP)."""
    rng = np.random.default_rng(7)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 50_000, (height, width), dtype=np.uint16))
    elif mode == "P":
        image = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8), "L")
        image = image.convert("RGB").quantize(64)
        image.info["transparency"] = 5
    else:
        channels = len(mode)
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        image = Image.fromarray(pixels.squeeze(), mode)
    buffer = io.BytesIO()
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    image.save(buffer, format=fmt, **({"transparency": 5} if mode == "P" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["I;16", "P", "RGBA", "LA", "L", "CMYK", "RGB"])
def test_strip_conversion_equals_whole_image_conversion(mode, monkeypatch):
    from visionera.api import uploads

    monkeypatch.setattr(uploads, "STRIP_PIXELS", 100_000)  # many strips, one odd-sized last
    data = _varied(mode)
    decoded = _decode(data, max_bytes=50_000_000)
    reference = _reference_rgb(data)
    if mode == "I;16":
        # value × 255 // peak in integers is exact; the float64 product sometimes landed a
        # hair below an integer and truncated one lower.
        difference = np.abs(decoded.pixels.astype(int) - reference)
        assert difference.max() <= 1 and (difference == 0).mean() > 0.99
    else:
        np.testing.assert_array_equal(decoded.pixels, reference)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillows_exif_transpose(orientation):
    rng = np.random.default_rng(orientation)
    image = Image.fromarray(rng.integers(0, 256, (70, 110, 3), dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", exif=exif)
    decoded = _decode(buffer.getvalue())
    np.testing.assert_array_equal(decoded.pixels, _reference_rgb(buffer.getvalue()))
    assert decoded.pixels.flags["C_CONTIGUOUS"]


def test_the_pixel_cap_is_never_written_into_pillow_per_request(settings):
    before = Image.MAX_IMAGE_PIXELS
    settings.VISIONERA_MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(errors.FileTooLarge, match="1500×1000 px"):
        _decode(image_bytes(1500, 1000, fmt="PNG", mode="L", color=0))
    assert _decode(image_bytes(1000, 1000, fmt="PNG", mode="L", color=0)).width == 1000
    assert Image.MAX_IMAGE_PIXELS == before


def test_a_large_jpeg_decodes_reduced_only_when_asked_and_reports_its_scale():
    data = image_bytes(6000, 4000, fmt="JPEG")
    full = _decode(data, max_bytes=50_000_000)
    assert (full.width, full.height, full.scale) == (6000, 4000, 1.0)
    reduced = decode_image(
        upload("big.jpg", data), field="image", max_bytes=50_000_000, reduce_to_side=2560
    )
    assert (reduced.width, reduced.height, reduced.scale) == (3000, 2000, 2.0)
    small = decode_image(
        upload("s.jpg", image_bytes(5000, 300, fmt="JPEG")), field="image",
        max_bytes=50_000_000, reduce_to_side=2560,
    )
    assert small.scale == 1.0  # under twice the side: never reduced



@pytest.mark.parametrize("mode, scans", [("L", 6), ("RGB", 10), ("CMYK", 18)])
@pytest.mark.parametrize("options", [{}, {"optimize": True}, {"subsampling": 0}])
def test_libjpegs_progressive_scans_are_counted_far_under_the_cap(mode, scans, options):
    """What libjpeg's progressive mode writes, read by the marker walk: EXIF and comment
    segments are skipped by their length, entropy-coded data (stuffed FF 00 bytes, restart
    markers) never ends a scan early."""
    from visionera.api.uploads import JPEG_MAX_SCANS, jpeg_structure

    buffer = io.BytesIO()
    noise = Image.effect_noise((400, 300), 80).convert(mode)
    exif = Image.Exif()
    exif[0x010E] = "\xff\xda" * 50  # an SOS marker's bytes inside a segment
    noise.save(buffer, format="JPEG", progressive=True, restart_marker_rows=1,
               comment=b"\xff\xda\xff\xd9", exif=exif, **options)
    counted, segments = jpeg_structure(buffer.getvalue())
    assert counted == scans and scans * 5 < JPEG_MAX_SCANS
    assert segments < 50
    decoded = _decode(buffer.getvalue())
    assert (decoded.width, decoded.height) == (400, 300)


def test_the_video_limit_is_the_500_mb_the_contract_states(settings):
    from visionera.units import megabytes

    assert megabytes(settings.VISIONERA_MAX_VIDEO_BYTES) == "500 MB"
