"""Upload validation for every endpoint: decided by content, bounded, decoded once.

An image becomes one EXIF-upright RGB uint8 array; a video is streamed to MEDIA_ROOT and
probed before anything else happens to it.

Memory (docs/HARDENING.md → "Bounded memory"): an image's pixel count is checked from its
header before a byte of pixels is decoded, and the decoded picture is converted to RGB in
strips, so one decode peaks at about the decoder's own image (at most 4 bytes a pixel)
plus the 3-byte RGB array — never float64 copies or whole-image intermediates.
"""

from __future__ import annotations

import io
import math
import os
import re
from contextlib import contextmanager

import numpy as np
from django.conf import settings
from PIL import Image, ImageFile, PngImagePlugin, UnidentifiedImageError

from vision.media import DecodedImage
from visionera.api.errors import (
    CorruptFile,
    FileTooLarge,
    ImageTooSmall,
    MissingFile,
    UnsupportedFormat,
)
from visionera.units import megabytes, megabytes_over

MIN_IMAGE_SIDE = 64
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
VIDEO_FORMATS = ("mp4", "mov", "webm", "avi")

STRIP_PIXELS = 1 << 20
"""Pixels converted to RGB at a time: strips keep every mode conversion's temporaries at a
few megabytes whatever the image's size."""

EXIF_ORIENTATION = 0x0112

PEAK_BYTES_PER_PIXEL = 8
PEAK_OVERHEAD_BYTES = 48 * 1024 * 1024
"""The documented bound on one image request's memory (docs/HARDENING.md): decoding and
analysing an image of P pixels raises the process's peak RSS by at most
8 × P + 48 MB — the decoder's own image (≤ 4 bytes a pixel: RGB, RGBA, CMYK, 32-bit),
the 3-byte RGB array, and strip-sized temporaries; P is `memory_pixels`, which also counts
a progressive JPEG's coefficients and a WebP decoder's canvases. At the default 50 MP cap:
≤ 448 MB.
tests/hardening/test_memory_bounds.py measures it on hostile images."""


def request_memory_bound(pixels: int) -> int:
    return PEAK_BYTES_PER_PIXEL * pixels + PEAK_OVERHEAD_BYTES


JPEG_COEFFICIENT_BYTES = 2
"""A progressive JPEG's decoder (libjpeg) holds every DCT coefficient of the image, two bytes
a sample of each component at its own sampling, from the first scan to the last."""

WEBP_DECODER_BYTES_PER_PIXEL = 12
"""Pillow (12) decodes every WebP, still or animated, through libwebp's animation decoder,
which keeps two RGBA canvases (the frame and the previous one: 8 bytes a pixel) while the
image is open and hands the frame to Pillow as a 4-byte-a-pixel copy, all beside Pillow's
own image. Measured through detection: 15 to 16.4 bytes a pixel in all, lossless or lossy,
RGB or RGBA, where the bound allows 8; a 49.7 MP WebP of 2 KB grew a server by 761 MB."""


def _decoder_extra_bytes(image: Image.Image) -> float:
    """What decoding an opened image holds beyond the bound's usual 4-byte decoded image."""
    width, height = image.size
    if image.format == "WEBP":
        return WEBP_DECODER_BYTES_PER_PIXEL * width * height
    if image.format != "JPEG" or not image.info.get("progressive"):
        return 0
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
    widest = max(h for _, h, _, _ in layers) or 1
    tallest = max(v for _, _, v, _ in layers) or 1
    samples_per_pixel = sum(h * v for _, h, v, _ in layers) / (widest * tallest)
    return JPEG_COEFFICIENT_BYTES * samples_per_pixel * width * height


def memory_pixels(image: Image.Image) -> int:
    """The pixels an opened image's decoding is counted as, against the pixel cap and in
    request_memory_bound: its own, plus what its decoder holds beyond them in pixels' worth
    of bytes — a progressive JPEG's coefficients (CMYK at full sampling doubles the count;
    the usual 4:2:0 YCbCr adds 3/8), a WebP's canvases (× 2.5)."""
    width, height = image.size
    return width * height + math.ceil(_decoder_extra_bytes(image) / PEAK_BYTES_PER_PIXEL)


_COSTLIER_THAN_ITS_PIXELS = {
    "JPEG": ("a progressive JPEG", "a baseline JPEG"),
    "WEBP": ("a WebP image", "a JPEG or PNG"),
}
"""How the pixel cap's refusal names a format that memory_pixels counts above its pixels,
and a format of the same size that would fit."""


JPEG_MAX_SCANS = 100
"""Scans a JPEG may hold. libjpeg decodes every scan over the whole image however little it
carries (~24 ms per scan at 36 MP), so a 346 KB file repeating one scan 2500 times took
63 s of CPU. Real encoders write far fewer: baseline 1 (or one per component), libjpeg's
progressive mode 10 for colour, 6 for grey, 18 for CMYK (2 + 4 a component); the
fixtures' photos at most 14. 100 leaves a wide margin and bounds the decode."""

JPEG_MAX_SEGMENTS = 2000
"""Marker segments a JPEG may hold, scans and their tables included. Real files have tens
(a 1 MB ICC profile split into 64 KB APP2 segments is 16); without a cap, 20 MB of empty
4-byte comments would keep the marker walk, and Pillow's own, busy for seconds each."""

_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
"""The next marker: in entropy-coded data FF 00 is a stuffed FF byte, FF D0–D7 a restart
marker and FF FF fill before a marker, so none of them ends a scan."""

_JPEG_UNSIZED_MARKERS = frozenset((0x01, 0xD8))  # TEM, SOI: no length follows
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9


def jpeg_structure(data: bytes) -> tuple[int, int]:
    """(scans, segments) of a JPEG, read the way libjpeg reads its markers: each segment
    is skipped by its length, a scan's entropy-coded data by searching for the next marker
    (in C: the walk costs milliseconds where decoding one scan costs tens). Stops at EOI,
    or once past either cap, so its own cost is bounded too."""
    scans = segments = 0
    position = 2  # after SOI
    while scans <= JPEG_MAX_SCANS and segments <= JPEG_MAX_SEGMENTS:
        marker = _JPEG_MARKER.search(data, position)
        if marker is None:
            break
        kind, position = data[marker.start() + 1], marker.end()
        if kind == _JPEG_EOI:
            break
        segments += 1
        if kind in _JPEG_UNSIZED_MARKERS:
            continue
        scans += kind == _JPEG_SOS
        position += int.from_bytes(data[position:position + 2], "big")
    return scans, segments


PNG_MAX_COMPRESSED_CHUNKS = 32
"""iCCP, zTXt and iTXt chunks a PNG may hold. Pillow inflates each one (up to 1 MB) when it
opens the file and keeps nothing of a zTXt with an empty key, so a 1 MB file of 1,000 of
them cost about a second of CPU and was answered 200 (a 20 MB upload: ~20 s). A real file
has at most one ICC profile and a few text chunks (XMP, the generator's parameters)."""

PNG_MAX_CHUNKS = 50_000
"""Chunks a PNG may hold: Pillow reads each in Python. Encoders write image data in 8 KB
to 1 MB chunks, so even a 20 MB file has a few thousand."""

_PNG_COMPRESSED_CHUNKS = frozenset((b"iCCP", b"zTXt", b"iTXt"))
_PNG_SIGNATURE_BYTES = 8


def png_structure(data: bytes) -> tuple[int, int]:
    """(compressed ancillary chunks, chunks) of a PNG, each chunk skipped by its length.
    Stops at IEND, at the end of the data, or once past either cap."""
    compressed = chunks = 0
    position = _PNG_SIGNATURE_BYTES
    while (position + 8 <= len(data) and chunks <= PNG_MAX_CHUNKS
           and compressed <= PNG_MAX_COMPRESSED_CHUNKS):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        chunks += 1
        compressed += kind in _PNG_COMPRESSED_CHUNKS
        if kind == b"IEND":
            break
        position += 12 + length  # length, type, data, CRC
    return compressed, chunks


# The structures that cost far more CPU to read than their bytes suggest: per format, the
# walk that counts them and (what is counted, the most a real encoder comes near) for each
# of its counts.
_COSTLY_STRUCTURES = {
    "JPEG": (jpeg_structure, (("scans", JPEG_MAX_SCANS),
                              ("marker segments", JPEG_MAX_SEGMENTS))),
    "PNG": (png_structure, (("compressed metadata chunks (ICC profiles and text)",
                             PNG_MAX_COMPRESSED_CHUNKS),
                            ("chunks", PNG_MAX_CHUNKS))),
}


def _refuse_costly_structure(upload, field: str, declared: str) -> None:
    """A file whose structure would take seconds to minutes of CPU to read is refused
    before Pillow parses or decodes it (its bytes are at most the plan's file size, and
    are freed before Pillow reads them)."""
    if declared not in _COSTLY_STRUCTURES:
        return
    walk, caps = _COSTLY_STRUCTURES[declared]
    upload.seek(0)
    for count, (parts, cap) in zip(walk(upload.read()), caps, strict=True):
        if count > cap:
            raise UnsupportedFormat(
                f"{field} is a {declared} of more than {cap} {parts}, which no encoder"
                f" writes; at most {cap} are supported"
            )


# Truncated files are errors, never silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# PNG text chunks are decoded into image.info at open(), outside the pixel cap, and the app
# never reads them: Pillow's default allowed 64 MB of them (a 66 KB file of 63 zTXt chunks
# inflating to 1 MB each grew the process by 64 MB). 4 MB is ample for real metadata (XMP,
# generator parameters are kilobytes); past it Pillow raises ValueError, a 400
# corrupt_file. Each chunk stays at 1 MB (MAX_TEXT_CHUNK): embedded ICC profiles share it.
PngImagePlugin.MAX_TEXT_MEMORY = 4 * 1024 * 1024
# Pillow's own bomb guard is a process-wide number compared at open(): changing it per
# request races between gthread threads, and between its warning and error thresholds it
# only warns. decode_image checks settings.VISIONERA_MAX_IMAGE_PIXELS itself, from the
# header, before anything is decoded, and every image the server decodes goes through it.
Image.MAX_IMAGE_PIXELS = None


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


def display_name(upload) -> str:
    name = os.path.basename(str(getattr(upload, "name", "") or "upload"))
    return name.encode("utf-8", "replace").decode("utf-8")[:200] or "upload"


def missing_file(field: str) -> MissingFile:
    """The answer to a required upload that was not sent as a file (absent, empty field or
    a plain text value), the same from the serializer field and from the checks here."""
    return MissingFile(f"{field} is required: send it as a multipart file")


def _too_large(field: str, size: int, max_bytes: int, plan_name: str | None) -> FileTooLarge:
    who = f"the {plan_name} plan allows" if plan_name else "the limit is"
    return FileTooLarge(
        f"{field} is {megabytes_over(size, max_bytes)}; {who} {megabytes(max_bytes)} per file")


def _grey_converter(image: Image.Image):
    """Strip → H×W uint8 for 16/32-bit integer and float images, scaled like a viewer would.

    Integer images map 0…max to 0…255 (max of the whole image), float images min…max; the
    extrema come from Pillow in one pass over its own buffer, and each strip is scaled with
    integer (or strip-sized float) arithmetic, so nothing image-sized is ever float64.
    """
    low, high = image.getextrema()
    if image.mode == "F":
        span = (high - low) or 1.0

        def convert(strip):
            values = np.asarray(strip, dtype=np.float64)
            return ((values - low) * (255.0 / span)).astype(np.uint8)

        return convert
    peak = int(high) if high > 0 else 1

    def convert(strip):
        values = np.asarray(strip).astype(np.int64)
        return np.clip(values * 255 // peak, 0, 255).astype(np.uint8)

    return convert


def _on_white(strip: Image.Image) -> Image.Image:
    # Transparent pixels would be black after a plain convert; put them on white instead.
    rgba = strip.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _strip_converter(image: Image.Image):
    """The function turning one strip of ``image`` into an RGB (or grey) uint8 array."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _grey_converter(image)
    if mode == "RGB":
        return np.asarray
    if mode in ("L", "1"):
        return lambda strip: np.asarray(strip.convert("L"))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in image.info
    ):
        return lambda strip: np.asarray(_on_white(strip))
    return lambda strip: np.asarray(strip.convert("RGB"))  # P, CMYK, YCbCr, LAB, HSV


def _rgb_array(image: Image.Image) -> np.ndarray:
    """A loaded image of any mode → H×W×3 uint8 RGB, converted strip by strip."""
    width, height = image.size
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    convert = _strip_converter(image)
    rows = max(1, STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        converted = convert(image.crop((0, top, width, bottom)))
        # A grey strip (H×W) is broadcast into the three channels.
        pixels[top:bottom] = converted if converted.ndim == 3 else converted[..., None]
    return pixels


def _upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to the array, as ImageOps.exif_transpose would.

    Done on the uint8 array after Pillow's image is released (decode_image drops it), so
    turning a photo costs one RGB copy instead of a second full Pillow image.
    """
    turned = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, k=1),
    }.get(orientation)
    return pixels if turned is None else np.ascontiguousarray(turned(pixels))


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(EXIF_ORIENTATION) or 1)
    except (TypeError, ValueError):
        return 1


def _draft(image: Image.Image, reduce_to_side: int | None) -> float:
    """Let libjpeg decode a large JPEG at 1/2, 1/4 or 1/8 scale, keeping the longest side
    at least ``reduce_to_side``; returns the scale (uploaded px per decoded px)."""
    if not reduce_to_side or image.format != "JPEG":
        return 1.0
    width, height = image.size
    longest = max(width, height)
    if longest < 2 * reduce_to_side:
        return 1.0
    wanted = (
        max(1, math.ceil(reduce_to_side * width / longest)),
        max(1, math.ceil(reduce_to_side * height / longest)),
    )
    image.draft(None, wanted)
    return width / image.size[0]


@contextmanager
def _opened_image(upload, *, field: str, max_bytes: int, plan_name: str | None):
    """Every check an image passes before its pixels are decoded; yields the opened
    (header-only) Pillow image and its format, and maps decoding failures in the body to
    the contract's errors."""
    if upload is None or isinstance(upload, str):
        raise missing_file(field)
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
    _refuse_costly_structure(upload, field, declared)
    upload.seek(0)
    max_pixels = settings.VISIONERA_MAX_IMAGE_PIXELS
    try:
        # open() reads the header only: the pixel cap is checked before any decoding.
        with Image.open(upload, formats=IMAGE_FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise FileTooLarge(
                    f"{field} is {width}×{height} px ({width * height / 1e6:.1f} megapixels);"
                    f" the limit is {max_pixels / 1e6:.0f} megapixels"
                )
            if (counted := memory_pixels(image)) > max_pixels:
                kind, would_fit = _COSTLIER_THAN_ITS_PIXELS[image.format]
                raise FileTooLarge(
                    f"{field} is {kind} of {width}×{height} px: decoding it takes"
                    f" the memory of {counted / 1e6:.1f} megapixels; the limit is"
                    f" {max_pixels / 1e6:.0f} megapixels ({would_fit} of this size fits)"
                )
            if width < MIN_IMAGE_SIDE or height < MIN_IMAGE_SIDE:
                raise ImageTooSmall(
                    f"{field} is {width}×{height} px; at least "
                    f"{MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE} px is required"
                )
            yield image, declared
    except UnidentifiedImageError:
        raise CorruptFile(f"{field} looks like {declared} but could not be decoded") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise CorruptFile(f"{field} is a damaged {declared} file ({type(exc).__name__})") from None
    finally:
        upload.seek(0)


def check_image_header(
    upload, *, field: str, max_bytes: int, plan_name: str | None = None
) -> int:
    """decode_image's checks that need only the header (bytes, format, pixel cap, minimum
    size), for refusing a bad image in a batch before decoding any of the others; returns
    the image's memory_pixels."""
    with _opened_image(
        upload, field=field, max_bytes=max_bytes, plan_name=plan_name
    ) as (image, _):
        return memory_pixels(image)


def decodable_together(*counted_pixels: int) -> bool:
    """Whether images of these memory_pixels may be decoded and held at once: only when
    together they are within the pixel cap, so one request holding several never exceeds
    the bound of the largest single image it could send (request_memory_bound at the cap).
    Otherwise each is decoded, analysed and dropped before the next."""
    return sum(counted_pixels) <= settings.VISIONERA_MAX_IMAGE_PIXELS


def decode_image(
    upload,
    *,
    field: str,
    max_bytes: int,
    plan_name: str | None = None,
    reduce_to_side: int | None = None,
) -> DecodedImage:
    """Validate one uploaded image and decode it once into an upright RGB array.

    ``reduce_to_side``: the caller only needs this many pixels on the longest side, so a
    JPEG at least twice that large may be decoded reduced (DecodedImage.scale says by how
    much). Other formats are always decoded at full size.
    """
    with _opened_image(
        upload, field=field, max_bytes=max_bytes, plan_name=plan_name
    ) as (image, declared):
        image.seek(0)  # GIF: the first frame only
        orientation = _orientation(image)
        scale = _draft(image, reduce_to_side)
        image.load()
        pixels = _rgb_array(image)
    # close() leaves Pillow's decoded image (up to 4 bytes a pixel) alive as long as a name
    # refers to it: dropped here, so turning the array never holds both (measured at
    # 49.7 MP with orientation 6: 483 MB with it, 334 MB without, as orientation 1).
    del image
    size = int(upload.size)
    return DecodedImage(
        pixels=_upright(pixels, orientation),
        format=declared,
        byte_size=size,
        filename=display_name(upload),
        scale=scale,
    )


def image_from_bytes(data: bytes, *, field: str = "image", max_bytes: int = 50_000_000):
    """Decode bytes already in memory with the same rules (used by the dashboard and tests)."""

    class _Buffer(io.BytesIO):
        size = len(data)
        name = field

    return decode_image(_Buffer(data), field=field, max_bytes=max_bytes)


def check_video_upload(upload, *, field: str = "video") -> str:
    """store_video's checks that need no disk write (present, size, container from the
    first bytes); returns the container. Lets a request refuse a bad video before its
    other parameters are checked, and store it only once they all passed."""
    if upload is None or isinstance(upload, str):
        raise missing_file(field)
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
    return container
