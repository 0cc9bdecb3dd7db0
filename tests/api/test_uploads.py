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
