"""People and their pose: 17 COCO keypoints per person.

Framework-free on purpose: services, video workers, benchmarks and tests import it
without Django. Arrays in, dataclasses out; boxes and keypoints are in pixels of the image
passed in.

Two stages: the shared COCO detector (visionera.detection, NanoDet-m) finds the people,
then MoveNet SinglePose Lightning places the keypoints on a square crop around each one.
A single-pose model per crop is slower than one multi-pose pass on crowded scenes but
much more accurate on small people, whom a whole-image pass sees only a few pixels tall.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from visionera.detection import DEFAULT_MIN_CONFIDENCE, as_rgb_array, detect_objects
from visionera.geometry import Box
from visionera.modelstore import load_onnx_session

POSE_MODEL_FILE = "movenet-lightning.onnx"
POSE_INPUT_SIZE = 192
KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
# Detector boxes are tight and sometimes clip a hand or foot; MoveNet also expects the
# person centred with some background around, as in its training crops.
CROP_MARGIN = 0.2
# Each person costs one MoveNet run (~10 ms); beyond this the smallest are left out.
MAX_PEOPLE = 50


@dataclass(frozen=True, slots=True)
class Keypoint:
    """A named COCO keypoint in image pixels; ``score`` in [0, 1] is MoveNet's confidence."""

    name: str
    x: float
    y: float
    score: float


@dataclass(frozen=True, slots=True)
class Person:
    """A person's box, the detector's confidence and the 17 keypoints in KEYPOINT_NAMES order."""

    box: Box
    confidence: float
    keypoints: list[Keypoint]


def analyze_bodies(
    image: np.ndarray, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> list[Person]:
    """People in an HxWx3 uint8 RGB image with their keypoints, most confident first."""
    rgb = as_rgb_array(image)
    people = detect_objects(rgb, min_confidence, labels=("person",))
    if len(people) > MAX_PEOPLE:
        people = sorted(people, key=lambda d: d.box.area, reverse=True)[:MAX_PEOPLE]
        people.sort(key=lambda d: d.confidence, reverse=True)
    return [
        Person(box=d.box, confidence=d.confidence, keypoints=estimate_keypoints(rgb, d.box))
        for d in people
    ]


def estimate_keypoints(image: np.ndarray, box: Box) -> list[Keypoint]:
    """MoveNet's 17 keypoints for the person in ``box``, in pixels of ``image``."""
    rgb = as_rgb_array(image)
    crop, left, top, side = _square_crop(rgb, box)
    session = load_onnx_session(POSE_MODEL_FILE)
    shrinking = crop.shape[0] > POSE_INPUT_SIZE
    resized = cv2.resize(
        crop,
        (POSE_INPUT_SIZE, POSE_INPUT_SIZE),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    (output,) = session.run(None, {"image": resized[np.newaxis].astype(np.int32)})
    height, width = rgb.shape[:2]
    keypoints = []
    for name, (y, x, score) in zip(KEYPOINT_NAMES, output[0, 0], strict=True):
        keypoints.append(
            Keypoint(
                name=name,
                x=float(np.clip(left + x * side, 0, width - 1)),
                y=float(np.clip(top + y * side, 0, height - 1)),
                score=float(score),
            )
        )
    return keypoints


def _square_crop(rgb: np.ndarray, box: Box) -> tuple[np.ndarray, int, int, int]:
    """A square around ``box`` (plus margin), padded with black where it leaves the image.

    Square so that MoveNet's 192x192 input does not stretch the person. Returns the crop
    and its top-left corner and side in image pixels.
    """
    side = max(2, int(round(max(box.width, box.height) * (1 + 2 * CROP_MARGIN))))
    left = int(round(box.x + box.width / 2 - side / 2))
    top = int(round(box.y + box.height / 2 - side / 2))
    height, width = rgb.shape[:2]
    crop = np.zeros((side, side, 3), dtype=np.uint8)
    src_left, src_top = max(left, 0), max(top, 0)
    src_right, src_bottom = min(left + side, width), min(top + side, height)
    if src_right > src_left and src_bottom > src_top:
        crop[src_top - top : src_bottom - top, src_left - left : src_right - left] = rgb[
            src_top:src_bottom, src_left:src_right
        ]
    return crop, left, top, side
