"""Upload validation for every endpoint: decided by content, bounded, decoded once.

An image becomes one EXIF-upright RGB uint8 array; a video is streamed to MEDIA_ROOT and
probed before anything else happens to it.
"""

from __future__ import annotations

import io
import os
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from visionera.api.errors import (
    CorruptFile,
    FileTooLarge,
    ImageTooSmall,
    InsufficientStorage,
    MissingFile,
    UnsupportedFormat,
)

MIN_IMAGE_SIDE = 64
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
VIDEO_FORMATS = ("mp4", "mov", "webm", "avi")

# Truncated files are errors, never silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # H×W×3 uint8 RGB, EXIF orientation applied
    format: str
    byte_size: int
    filename: str

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class StoredVideo:
    path: Path
    container: str
    byte_size: int
    duration_seconds: float
    frame_count: int
    fps: float
    width: int
    height: int
    filename: str


def megabytes(byte_count: int) -> str:
    return f"{byte_count / 1_000_000:.1f} MB".replace(".0 MB", " MB")


def sniff_image_format(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def sniff_video_container(head: bytes) -> str | None:
    box_type = head[4:8]
    if box_type == b"ftyp":
        return "mov" if head[8:10] == b"qt" else "mp4"
    if box_type in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def _display_name(upload) -> str:
    name = os.path.basename(str(getattr(upload, "name", "") or "upload"))
    return name.encode("utf-8", "replace").decode("utf-8")[:200] or "upload"


def _too_large(field: str, size: int, max_bytes: int, plan_name: str | None) -> FileTooLarge:
    who = f"the {plan_name} plan allows" if plan_name else "the limit is"
    return FileTooLarge(f"{field} is {megabytes(size)}; {who} {megabytes(max_bytes)} per file")


def _to_rgb(image: Image.Image) -> Image.Image:
    """Normalise alpha, palette, greyscale, 16-bit and CMYK images to 8-bit RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        image = Image.fromarray((array * (255.0 / peak)).clip(0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        span = (array.max() - array.min()) or 1.0
        image = Image.fromarray(((array - array.min()) * 255.0 / span).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent pixels would be black after a plain convert; put them on white instead.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def decode_image(
    upload, *, field: str, max_bytes: int, plan_name: str | None = None
) -> DecodedImage:
    """Validate one uploaded image and decode it once into an upright RGB array."""
    if upload is None or isinstance(upload, str):
        raise MissingFile(f"{field} is required: send it as a multipart file")
    size = int(getattr(upload, "size", 0) or 0)
    if size == 0:
        raise CorruptFile(f"{field} is empty")
    if size > max_bytes:
        raise _too_large(field, size, max_bytes, plan_name)
    upload.seek(0)
    head = upload.read(16)
    declared = sniff_image_format(head)
    if declared is None:
        raise UnsupportedFormat(f"{field} is not a JPEG, PNG, WebP or GIF image")
    upload.seek(0)
    max_pixels = settings.VISIONERA_MAX_IMAGE_PIXELS
    previous_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1× and 2× its limit and raises beyond: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = max_pixels
            with Image.open(upload, formats=IMAGE_FORMATS) as image:
                width, height = image.size
                if width < MIN_IMAGE_SIDE or height < MIN_IMAGE_SIDE:
                    raise ImageTooSmall(
                        f"{field} is {width}×{height} px; at least "
                        f"{MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE} px is required"
                    )
                image.seek(0)  # GIF: the first frame only
                image.load()
                upright = ImageOps.exif_transpose(image)
                pixels = np.ascontiguousarray(np.asarray(_to_rgb(upright), dtype=np.uint8))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileTooLarge(
            f"{field} has too many pixels; the limit is {max_pixels / 1e6:.0f} megapixels"
        ) from None
    except UnidentifiedImageError:
        raise CorruptFile(f"{field} looks like {declared} but could not be decoded") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise CorruptFile(f"{field} is a damaged {declared} file ({type(exc).__name__})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit
    return DecodedImage(
        pixels=pixels, format=declared, byte_size=size, filename=_display_name(upload)
    )


def image_from_bytes(data: bytes, *, field: str = "image", max_bytes: int = 50_000_000):
    """Decode bytes already in memory with the same rules (used by the dashboard and tests)."""

    class _Buffer(io.BytesIO):
        size = len(data)
        name = field

    return decode_image(_Buffer(data), field=field, max_bytes=max_bytes)


def _probe_video(path: Path) -> tuple[float, int, float, int, int]:
    import cv2  # imported here: only video uploads need OpenCV in the web process

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return 0.0, 0, 0.0, 0, 0
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        ok, _ = capture.read()
        if not ok:
            return 0.0, 0, 0.0, 0, 0
        duration = frames / fps if fps > 0 else 0.0
        return duration, frames, fps, width, height
    finally:
        capture.release()


def store_video(upload, *, field: str = "video", directory: str = "videos") -> StoredVideo:
    """Stream a video upload into MEDIA_ROOT and check it is a playable, bounded video."""
    if upload is None or isinstance(upload, str):
        raise MissingFile(f"{field} is required: send it as a multipart file")
    size = int(getattr(upload, "size", 0) or 0)
    max_bytes = settings.VISIONERA_MAX_VIDEO_BYTES
    if size == 0:
        raise CorruptFile(f"{field} is empty")
    if size > max_bytes:
        raise _too_large(field, size, max_bytes, None)
    upload.seek(0)
    container = sniff_video_container(upload.read(16))
    if container is None:
        raise UnsupportedFormat(f"{field} is not an MP4, WebM, MOV or AVI video")
    upload.seek(0)
    target_dir = Path(settings.MEDIA_ROOT) / directory
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{uuid.uuid4().hex}.{container}"
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks(chunk_size=1024 * 1024):
                out.write(chunk)
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno == 28:  # ENOSPC
            raise InsufficientStorage("the server has no room for this video") from None
        raise
    duration, frames, fps, width, height = _probe_video(path)
    if frames <= 0 or fps <= 0:
        path.unlink(missing_ok=True)
        raise CorruptFile(f"{field} has no readable video stream")
    if duration > settings.VISIONERA_MAX_VIDEO_SECONDS:
        path.unlink(missing_ok=True)
        raise FileTooLarge(
            f"{field} lasts {duration:.0f} s; at most {settings.VISIONERA_MAX_VIDEO_SECONDS} s"
            " is accepted"
        )
    return StoredVideo(
        path=path,
        container=container,
        byte_size=size,
        duration_seconds=duration,
        frame_count=frames,
        fps=fps,
        width=width,
        height=height,
        filename=_display_name(upload),
    )


def remove_file(path) -> None:
    if path:
        Path(path).unlink(missing_ok=True)



