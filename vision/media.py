"""The decoded media the engines and services take: no Django, so a bench or a worker
builds them as easily as the upload layer (visionera.api.uploads) does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # H×W×3 uint8 RGB, EXIF orientation applied
    format: str
    byte_size: int
    filename: str
    scale: float = 1.0
    """Pixels of the uploaded image per pixel of ``pixels``: 1 unless a large JPEG was
    decoded reduced (``reduce_to_side``); multiply coordinates by it to report them in the
    uploaded image's pixels."""

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
