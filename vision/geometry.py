"""Pixel boxes shared by every vision engine.

Framework-free on purpose: engines, workers and benchmarks import it without Django.
"""

from __future__ import annotations

from dataclasses import dataclass

from vision import rounding


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in integer pixels of the image the caller handed in."""

    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @classmethod
    def from_corners(cls, left: float, top: float, right: float, bottom: float) -> Box:
        left, top = rounding.pixel(left), rounding.pixel(top)
        width, height = rounding.pixel(right) - left, rounding.pixel(bottom) - top
        return cls(left, top, max(0, width), max(0, height))

    def scaled(self, factor: float) -> Box:
        """Map a box found on a resized copy back by dividing by the resize factor."""
        return Box.from_corners(
            self.x / factor, self.y / factor, self.right / factor, self.bottom / factor
        )

    def clipped(self, width: int, height: int) -> Box:
        return Box.from_corners(
            min(max(self.x, 0), width),
            min(max(self.y, 0), height),
            min(max(self.right, 0), width),
            min(max(self.bottom, 0), height),
        )

    def iou(self, other: Box) -> float:
        inter_w = min(self.right, other.right) - max(self.x, other.x)
        inter_h = min(self.bottom, other.bottom) - max(self.y, other.y)
        if inter_w <= 0 or inter_h <= 0:
            return 0.0
        inter = inter_w * inter_h
        return inter / float(self.area + other.area - inter)

    def as_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}
