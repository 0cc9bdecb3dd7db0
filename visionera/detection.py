"""COCO object detection (NanoDet-m, ONNX) shared by the vehicle and body engines.

Framework-free on purpose: engines, workers, benchmarks and tests import it without Django.
Arrays in, dataclasses out; boxes are in pixels of the image the caller passed.

NanoDet-m is small (about 0.95 M parameters, ~60 ms per image on one core) and finds
people, vehicles and the other 78 COCO classes in one pass. Its scores are quality-aware
(they estimate IoU as well as class), so a good detection often scores only 0.4-0.6;
the upstream demo's 0.35 is our default threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from visionera.geometry import Box
from visionera.modelstore import load_onnx_session

MODEL_FILE = "nanodet-m-416.onnx"
INPUT_SIZE = 416
STRIDES = (8, 16, 32)
BINS_PER_SIDE = 11
# NanoDet's training normalisation, in BGR order.
BGR_MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
BGR_STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)

DEFAULT_MIN_CONFIDENCE = 0.35
# Upstream NanoDet's NMS threshold; two boxes of one class overlapping more are one object.
SAME_CLASS_IOU = 0.6
# Candidates kept before NMS: far more than a photo holds, and bounds the NMS cost.
MAX_CANDIDATES = 1000

COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Detection:
    """One object: its COCO label, the model's score in [0, 1] and its box in pixels."""

    label: str
    confidence: float
    box: Box


def as_rgb_array(image: np.ndarray) -> np.ndarray:
    """Check the engines' input contract: an HxWx3 uint8 RGB array (gray and RGBA accepted)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("image must be a uint8 numpy array (HxWx3 RGB)")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be HxWx3 RGB, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError("image is empty")
    return image


def non_max_suppression(corners: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Indices of the boxes to keep, best score first.

    ``corners`` is an (N, 4) array of (left, top, right, bottom); a box is dropped when it
    overlaps an already kept, higher-scoring box by more than ``iou_threshold``.
    """
    if len(corners) == 0:
        return []
    left, top, right, bottom = corners.T
    areas = np.maximum(right - left, 0) * np.maximum(bottom - top, 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        inter_w = np.maximum(
            0, np.minimum(right[best], right[rest]) - np.maximum(left[best], left[rest])
        )
        inter_h = np.maximum(
            0, np.minimum(bottom[best], bottom[rest]) - np.maximum(top[best], top[rest])
        )
        inter = inter_w * inter_h
        union = areas[best] + areas[rest] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)
        order = rest[iou <= iou_threshold]
    return keep


def _preprocess(rgb: np.ndarray) -> np.ndarray:
    # Stretch rather than letterbox: on our fixture photos stretching found more people.
    resized = cv2.resize(rgb, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    bgr = resized[:, :, ::-1].astype(np.float32)
    normalised = (bgr - BGR_MEAN) / BGR_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis])


def _expected_distances(bins: np.ndarray) -> np.ndarray:
    """(N, 44) bin logits -> (N, 4) expected distance in cells for left, top, right, bottom."""
    logits = bins.reshape(-1, 4, BINS_PER_SIDE)
    logits = logits - logits.max(axis=2, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=2, keepdims=True)
    return weights @ np.arange(BINS_PER_SIDE, dtype=np.float32)


def _class_indices(labels: Iterable[str] | None) -> np.ndarray:
    if labels is None:
        return np.arange(len(COCO_LABELS))
    wanted = set(labels)
    unknown = wanted - set(COCO_LABELS)
    if unknown:
        raise ValueError(f"not COCO labels: {', '.join(sorted(unknown))}")
    return np.array([i for i, label in enumerate(COCO_LABELS) if label in wanted])


def detect_objects(
    image: np.ndarray,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    *,
    labels: Iterable[str] | None = None,
) -> list[Detection]:
    """COCO objects in an HxWx3 uint8 RGB image, best first.

    ``labels`` restricts the search to some COCO classes (the rest are not even decoded).
    Overlapping boxes of the same class are merged by non-maximum suppression.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError("min_confidence must be in [0, 1]")
    rgb = as_rgb_array(image)
    height, width = rgb.shape[:2]
    classes = _class_indices(labels)
    session = load_onnx_session(MODEL_FILE)
    outputs = dict(
        zip(
            [output.name for output in session.get_outputs()],
            session.run(None, {"image": _preprocess(rgb)}),
            strict=True,
        )
    )

    all_corners, all_scores, all_classes = [], [], []
    for stride in STRIDES:
        cells_per_row = INPUT_SIZE // stride
        scores = outputs[f"scores_stride{stride}"][0][:, classes]
        cell_ids, class_ids = np.nonzero(scores >= max(min_confidence, 1e-6))
        if cell_ids.size == 0:
            continue
        distances = _expected_distances(outputs[f"box_bins_stride{stride}"][0][cell_ids]) * stride
        centre_x = (cell_ids % cells_per_row + 0.5) * stride
        centre_y = (cell_ids // cells_per_row + 0.5) * stride
        corners = np.stack(
            [
                centre_x - distances[:, 0],
                centre_y - distances[:, 1],
                centre_x + distances[:, 2],
                centre_y + distances[:, 3],
            ],
            axis=1,
        )
        all_corners.append(corners)
        all_scores.append(scores[cell_ids, class_ids])
        all_classes.append(classes[class_ids])
    if not all_corners:
        return []

    corners = (
        np.concatenate(all_corners)
        * np.array([width, height, width, height], dtype=np.float32)
        / INPUT_SIZE
    )
    corners = np.clip(corners, 0, [width, height, width, height])
    scores = np.concatenate(all_scores)
    class_ids = np.concatenate(all_classes)
    if len(scores) > MAX_CANDIDATES:
        top = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
        corners, scores, class_ids = corners[top], scores[top], class_ids[top]
    # Offsetting each class into its own region of the plane makes one NMS pass per-class.
    offsets = (class_ids * (max(width, height) + 1.0))[:, np.newaxis]
    keep = non_max_suppression(corners + offsets, scores, SAME_CLASS_IOU)

    detections = []
    for index in keep:
        box = Box.from_corners(*corners[index]).clipped(width, height)
        if box.width < 1 or box.height < 1:
            continue
        detections.append(
            Detection(
                label=COCO_LABELS[class_ids[index]],
                confidence=float(scores[index]),
                box=box,
            )
        )
    return detections
