"""Helpers the tests share: the project's own fixture photos, generated images, uploads.

Fixtures live in tests/fixtures/ (copied once from ../shared/fixtures with their provenance,
see tests/fixtures/README.md), so a clone tests itself: a missing photo is an error, never a
skip.
"""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def fixture_path(relative: str) -> Path:
    """A file under tests/fixtures/; raises if the repository lost it."""
    path = FIXTURES_DIR / relative
    if not path.exists():
        raise FileNotFoundError(f"tests/fixtures/{relative} is missing from the repository")
    return path


def fixture_rgb(relative: str) -> np.ndarray:
    """A fixture photo as an EXIF-upright RGB array, the way the upload validator decodes it."""
    with Image.open(fixture_path(relative)) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def image_bytes(width=128, height=128, fmt="PNG", mode="RGB", color=(200, 120, 40), **save):
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def noise_image_bytes(width, height, fmt="PNG", seed=0):
    """Incompressible pixels, for building an image of a chosen byte size."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)
