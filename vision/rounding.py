"""How every vision result is rounded for a client: the one rule the API, the stored video
detections and the video summaries share.

- Positions and sizes are whole pixels of the image the caller passed in: the models'
  sub-pixel output is not that precise, and integers are what a client draws with.
- Scores, confidences and descriptor distances keep 4 decimals: enough to rank and to
  compare with a threshold given to 2-3 decimals, without float noise (0.8765432101).
- Durations (seconds) and frame rates keep 3 decimals: a millisecond, the resolution of
  the timestamps, and enough for 29.97 fps.

Framework-free like the rest of vision/.
"""

from __future__ import annotations

SCORE_DIGITS = 4
TIME_DIGITS = 3


def pixel(value: float) -> int:
    """A coordinate or length in whole pixels (round half to even, as Python rounds)."""
    return int(round(value))


def score(value: float) -> float:
    """A score, confidence or distance to SCORE_DIGITS decimals."""
    return round(float(value), SCORE_DIGITS)


def seconds(value: float) -> float:
    """A duration in seconds to the millisecond."""
    return round(float(value), TIME_DIGITS)


def frame_rate(value: float) -> float:
    """Frames per second to TIME_DIGITS decimals (29.97 stays 29.97)."""
    return round(float(value), TIME_DIGITS)
