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
from dataclasses import dataclass, field

import cv2
import numpy as np

from vision import rounding
from vision.geometry import Box
from vision.modelstore import load_onnx_session

MODEL_FILE = "nanodet-m-416.onnx"
INPUT_SIZE = 416
STRIDES = (8, 16, 32)
BINS_PER_SIDE = 11
# NanoDet's training normalisation, in BGR order.
BGR_MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
BGR_STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)

DEFAULT_MIN_CONFIDENCE = 0.35
# Grey that pads an image to a square when its proportions are kept (YOLO's convention).
PAD_VALUE = 114
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
class DetectedObject:
    """One object: its COCO label, the model's score in [0, 1] and its box in pixels."""

    label: str
    confidence: float
    box: Box
    # Every searched class's score at the cell that produced the box (the top one is
    # ``confidence``): the runner-up classes let callers settle look-alikes (car/truck).
    class_scores: dict[str, float] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        """Label, score and box with the one rounding (vision.rounding); the per-class
        scores are the engines' evidence, not a result, so they are left out."""
        return {
            "label": self.label,
            "confidence": rounding.score(self.confidence),
            "box": self.box.as_dict(),
        }


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


def _padded_input(rgb: np.ndarray) -> np.ndarray:
    """The detector's square input with the image's proportions kept: the image scaled so
    its longer side is INPUT_SIZE, on PAD_VALUE grey below or to the right of it.

    Scaled first and padded at the input's size: padding at full resolution made a square
    of the longer side, 3 bytes × max(w, h)² (1.2 GB for a 20000×2480 upload, 4.8 GB for
    40000×1250) however few pixels the image had. OpenCV is given the scale rather than a
    target size, so it samples at the very positions it used on the full-size square, and
    a box maps back by the same factor, max(w, h) / INPUT_SIZE.
    """
    height, width = rgb.shape[:2]
    scale = INPUT_SIZE / max(width, height)
    # A sliver whose shorter side would round to no pixel at all keeps one.
    fx, fy = max(scale, 1 / width), max(scale, 1 / height)
    resized = cv2.resize(rgb, None, fx=fx, fy=fy, interpolation=cv2.INTER_LINEAR)
    square = np.full((INPUT_SIZE, INPUT_SIZE, 3), PAD_VALUE, dtype=np.uint8)
    square[: resized.shape[0], : resized.shape[1]] = resized[:INPUT_SIZE, :INPUT_SIZE]
    return square


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


TILING_MODES = ("auto", "on", "off")
# Tiling (SAHI-style slicing): the detector sees a 416x416 stretch of the whole image, so
# on a 1352x900 photo a person 20 px tall shrinks to 6 px and is lost. Tiles are
# TILE_SIDE pixels of the original, overlapping by TILE_OVERLAP so that an object cut by
# one tile's edge lies whole in its neighbour; each tile runs at the model's full input.
TILE_SIDE = 640
TILE_OVERLAP = 0.25
# "auto" tiles when the tiles see the image at least AUTO_TILING_MIN_GAIN times finer
# than the whole-image pass (longer side >= 960 px): below that the extra passes (2-4,
# each ~60 ms on one core) buy too little. kite.jpg (1352 px, 2.1x finer, 6 tiles) finds
# 10 people tiled against 6 untiled, at about 7x the detector time.
AUTO_TILING_MIN_GAIN = 1.5
AUTO_TILING_MIN_SIDE = int(AUTO_TILING_MIN_GAIN * TILE_SIDE)  # 960 px
# Cost bound: at most this many tiles (each costs one more detector pass); larger images
# get proportionally larger tiles instead of more of them.
MAX_TILES = 12
# A tile's detection this close (in tile pixels) to an edge that is inside the image was
# cut by the tile: it is a fragment of a larger object, which the whole-image pass or the
# neighbouring tile reports whole.
CUT_EDGE_PIXELS = 3
# Below this size (longer side, in the whole-image pass's 416-px input) an object is
# small: the tiles' reading of it is trusted over the whole-image pass's, above it the
# whole-image pass's (NanoDet finds objects from ~20 input pixels up, reliably from ~50).
SMALL_OBJECT_INPUT_PIXELS = 48
# Intersection over the smaller box above which two boxes of one class from different
# passes are one object, and above which a tile's box lies inside a large object.
SAME_OBJECT_OVERLAP = 0.5
CONTAINED_OVERLAP = 0.8
# A box is a group box when at least two smaller boxes of its class each have this share
# of their area inside it (kite.jpg: a father and his child boxed together, 0.5 and 0.86).
GROUP_MEMBER_OVERLAP = 0.45
DISTINCT_MEMBERS_IOU = 0.3


def should_tile(width: int, height: int, tiling: str = "auto") -> bool:
    """Whether ``detect_objects`` slices an image of this size into tiles."""
    if tiling not in TILING_MODES:
        raise ValueError(f"tiling must be one of {', '.join(TILING_MODES)}")
    if tiling == "auto":
        return max(width, height) >= AUTO_TILING_MIN_SIDE
    return tiling == "on"


def tile_grid(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Overlapping (left, top, right, bottom) tiles covering the image, at most MAX_TILES."""
    side = TILE_SIDE
    while True:
        step = max(1, int(side * (1 - TILE_OVERLAP)))
        columns = 1 if width <= side else -(-(width - side) // step) + 1
        rows = 1 if height <= side else -(-(height - side) // step) + 1
        if columns * rows <= MAX_TILES:
            break
        side = int(side * 1.25)
    tiles = []
    for row in range(rows):
        top = min(row * step, max(height - side, 0))
        for column in range(columns):
            left = min(column * step, max(width - side, 0))
            tiles.append((left, top, min(left + side, width), min(top + side, height)))
    return tiles


def detect_objects(
    image: np.ndarray,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    *,
    labels: Iterable[str] | None = None,
    tiling: str = "auto",
    keep_aspect: bool = False,
) -> list[DetectedObject]:
    """COCO objects in an HxWx3 uint8 RGB image, best first.

    ``labels`` restricts the search to some COCO classes (the rest are not even decoded).
    Overlapping boxes of the same class are merged by non-maximum suppression.
    ``tiling`` ("auto", "on", "off"): besides the whole-image pass, also run the detector
    on overlapping tiles at full resolution, which finds small objects; "auto" does so
    when the image is at least AUTO_TILING_MIN_SIDE pixels on its longer side.
    ``keep_aspect`` pads the image to a square before the whole-image pass instead of
    stretching it: objects keep their proportions (see vehicles.engine for why).
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError("min_confidence must be in [0, 1]")
    rgb = as_rgb_array(image)
    height, width = rgb.shape[:2]
    classes = _class_indices(labels)
    if keep_aspect and width != height:
        corners, scores, class_ids, class_scores = _detect_pass(
            _padded_input(rgb), classes, min_confidence
        )
        corners = corners * np.float32(max(width, height) / INPUT_SIZE)
        corners = np.clip(corners, 0, [width, height, width, height]).astype(np.float32)
    else:
        corners, scores, class_ids, class_scores = _detect_pass(rgb, classes, min_confidence)
    if should_tile(width, height, tiling):
        corners, scores, class_ids, class_scores = _merge_tiles(
            rgb, classes, min_confidence, (corners, scores, class_ids, class_scores)
        )
    if len(scores) == 0:
        return []
    # Tiles add up to MAX_CANDIDATES each.
    corners, scores, class_ids, class_scores = _best_candidates(
        corners, scores, class_ids, class_scores
    )
    groups = _group_boxes(corners, class_ids)
    keep = [i for i in np.argsort(-scores, kind="stable") if i not in groups]

    detections = []
    for index in keep:
        box = Box.from_corners(*corners[index]).clipped(width, height)
        if box.width < 1 or box.height < 1:
            continue
        detections.append(
            DetectedObject(
                label=COCO_LABELS[class_ids[index]],
                confidence=float(scores[index]),
                box=box,
                class_scores={
                    COCO_LABELS[c]: float(s)
                    for c, s in zip(classes, class_scores[index], strict=True)
                },
            )
        )
    return detections


def _intersection_over_smaller(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(N, M) intersection area over the smaller box's area, for corner arrays."""
    if len(first) == 0 or len(second) == 0:
        return np.zeros((len(first), len(second)))
    left = np.maximum(first[:, None, 0], second[None, :, 0])
    top = np.maximum(first[:, None, 1], second[None, :, 1])
    right = np.minimum(first[:, None, 2], second[None, :, 2])
    bottom = np.minimum(first[:, None, 3], second[None, :, 3])
    inter = np.maximum(right - left, 0) * np.maximum(bottom - top, 0)
    area_first = np.prod(first[:, 2:] - first[:, :2], axis=1)
    area_second = np.prod(second[:, 2:] - second[:, :2], axis=1)
    smaller = np.minimum(area_first[:, None], area_second[None, :])
    return inter / np.maximum(smaller, 1e-9)


def _merge_tiles(rgb: np.ndarray, classes: np.ndarray, min_confidence: float, whole: tuple):
    """The whole-image candidates merged with the tiles' small-object candidates.

    Each pass is trusted where it sees well: the whole-image pass for objects at least
    SMALL_OBJECT_INPUT_PIXELS tall or wide at its scale, the (finer) tiles for the
    smaller ones. So a tile's candidate that is large at the whole-image scale is dropped
    (it is the whole pass's job, and on big people a tile finds fragments: a head, a
    torso), as is one lying inside a large whole-image object of its class; a small
    whole-image candidate is replaced by the tiles' sharper reading of the same object.
    """
    height, width = rgb.shape[:2]
    whole_scale = INPUT_SIZE / max(width, height)
    pieces = []
    for left, top, right, bottom in tile_grid(width, height):
        if (right - left, bottom - top) == (width, height):
            continue
        corners, scores, class_ids, class_scores = _detect_pass(
            rgb[top:bottom, left:right], classes, min_confidence
        )
        # Fragments: boxes touching a tile edge that lies inside the image.
        cut = np.zeros(len(corners), dtype=bool)
        if left > 0:
            cut |= corners[:, 0] <= CUT_EDGE_PIXELS
        if top > 0:
            cut |= corners[:, 1] <= CUT_EDGE_PIXELS
        if right < width:
            cut |= corners[:, 2] >= right - left - CUT_EDGE_PIXELS
        if bottom < height:
            cut |= corners[:, 3] >= bottom - top - CUT_EDGE_PIXELS
        corners = corners + np.array([left, top, left, top], dtype=np.float32)
        sides = np.max(corners[:, 2:] - corners[:, :2], axis=1) * whole_scale
        small = ~cut & (sides < SMALL_OBJECT_INPUT_PIXELS)
        pieces.append((corners[small], scores[small], class_ids[small], class_scores[small]))
    whole_corners, whole_scores, whole_ids, whole_class_scores = whole
    if not pieces:
        return whole
    tile_corners = np.concatenate([p[0] for p in pieces])
    tile_scores = np.concatenate([p[1] for p in pieces])
    tile_ids = np.concatenate([p[2] for p in pieces])
    tile_class_scores = np.concatenate([p[3] for p in pieces])
    # The same object seen by two overlapping tiles, once per tile.
    tile_corners, tile_scores, tile_ids, tile_class_scores = _same_class_nms(
        *_best_candidates(tile_corners, tile_scores, tile_ids, tile_class_scores),
        image_side=max(width, height),
    )

    same_class = whole_ids[:, None] == tile_ids[None, :]
    overlap = _intersection_over_smaller(whole_corners, tile_corners) * same_class
    whole_sides = np.max(whole_corners[:, 2:] - whole_corners[:, :2], axis=1) * whole_scale
    whole_small = whole_sides < SMALL_OBJECT_INPUT_PIXELS
    tile_inside_large = (overlap[~whole_small] > CONTAINED_OVERLAP).any(axis=0)
    tile_keep = ~tile_inside_large
    whole_keep = ~(whole_small & (overlap[:, tile_keep] > SAME_OBJECT_OVERLAP).any(axis=1))
    return (
        np.concatenate([whole_corners[whole_keep], tile_corners[tile_keep]]),
        np.concatenate([whole_scores[whole_keep], tile_scores[tile_keep]]),
        np.concatenate([whole_ids[whole_keep], tile_ids[tile_keep]]),
        np.concatenate([whole_class_scores[whole_keep], tile_class_scores[tile_keep]]),
    )


def _group_boxes(corners: np.ndarray, class_ids: np.ndarray) -> set[int]:
    """Boxes around a group: two distinct boxes of their class lie mostly inside them.

    NanoDet sometimes boxes a parent and child, or two surfers, together as well as each
    one; once the finer tiles have found the members, the group box is not an object.
    Members must be distinct from each other (IoU below DISTINCT_MEMBERS_IOU), so two or
    three duplicate boxes of one person never remove one another.
    """
    left = np.maximum(corners[:, None, 0], corners[None, :, 0])
    top = np.maximum(corners[:, None, 1], corners[None, :, 1])
    right = np.minimum(corners[:, None, 2], corners[None, :, 2])
    bottom = np.minimum(corners[:, None, 3], corners[None, :, 3])
    inter = np.maximum(right - left, 0) * np.maximum(bottom - top, 0)
    areas = np.maximum(np.prod(corners[:, 2:] - corners[:, :2], axis=1), 1e-9)
    iou = inter / (areas[:, None] + areas[None, :] - inter)
    # inside[i, j]: the share of box j's area that lies inside box i.
    inside = inter / areas[None, :]
    candidate = (inside >= GROUP_MEMBER_OVERLAP) & (class_ids[:, None] == class_ids[None, :])
    np.fill_diagonal(candidate, False)
    groups = set()
    for index in np.nonzero(candidate.sum(axis=1) >= 2)[0]:
        members = np.nonzero(candidate[index])[0]
        between = iou[np.ix_(members, members)]
        if (between[np.triu_indices(len(members), 1)] < DISTINCT_MEMBERS_IOU).any():
            groups.add(int(index))
    return groups


def _detect_pass(
    rgb: np.ndarray, classes: np.ndarray, min_confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One detector run on ``rgb``: candidates after per-class NMS, in its pixels.

    Returns corners (N, 4), scores (N,), COCO class ids (N,) and every wanted class's
    score at each candidate's cell (N, len(classes)).
    """
    height, width = rgb.shape[:2]
    session = load_onnx_session(MODEL_FILE)
    outputs = dict(
        zip(
            [output.name for output in session.get_outputs()],
            session.run(None, {"image": _preprocess(rgb)}),
            strict=True,
        )
    )

    all_corners, all_scores, all_classes, all_class_scores = [], [], [], []
    for stride in STRIDES:
        cells_per_row = INPUT_SIZE // stride
        scores = outputs[f"scores_stride{stride}"][0][:, classes]
        cell_ids, class_ids = np.nonzero(scores >= max(min_confidence, 1e-6))
        if cell_ids.size == 0:
            continue
        if cell_ids.size > MAX_CANDIDATES:  # a low threshold: decode only the best
            best = np.argpartition(-scores[cell_ids, class_ids], MAX_CANDIDATES)[:MAX_CANDIDATES]
            cell_ids, class_ids = cell_ids[best], class_ids[best]
        # One box per cell, however many of its classes passed.
        cells, per_cell = np.unique(cell_ids, return_inverse=True)
        box_bins = outputs[f"box_bins_stride{stride}"][0][cells]
        distances = _expected_distances(box_bins)[per_cell] * stride
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
        all_class_scores.append(scores[cell_ids])
    if not all_corners:
        return (
            np.zeros((0, 4), dtype=np.float32),
            np.zeros(0, dtype=np.float32),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, len(classes)), dtype=np.float32),
        )

    corners = (
        np.concatenate(all_corners)
        * np.array([width, height, width, height], dtype=np.float32)
        / INPUT_SIZE
    )
    corners = np.clip(corners, 0, [width, height, width, height]).astype(np.float32)
    scores = np.concatenate(all_scores)
    class_ids = np.concatenate(all_classes)
    class_scores = np.concatenate(all_class_scores)
    return _same_class_nms(
        *_best_candidates(corners, scores, class_ids, class_scores),
        image_side=max(width, height),
    )


def _best_candidates(
    corners: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, class_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """At most MAX_CANDIDATES candidates: the best-scoring ones, best first, when there are
    more (ties keep their order); otherwise all of them as they are. Bounds the cost of
    the NMS and group checks that follow."""
    if len(scores) <= MAX_CANDIDATES:
        return corners, scores, class_ids, class_scores
    top = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
    return corners[top], scores[top], class_ids[top], class_scores[top]


def _same_class_nms(
    corners: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    class_scores: np.ndarray,
    *,
    image_side: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The candidates left by non-maximum suppression within each class, best first.

    Each class's boxes are shifted by more than the image's side, so boxes of different
    classes never overlap and one NMS call settles every class at once.
    """
    offsets = (class_ids * (image_side + 1.0))[:, np.newaxis]
    keep = np.array(non_max_suppression(corners + offsets, scores, SAME_CLASS_IOU), dtype=np.int64)
    return corners[keep], scores[keep], class_ids[keep], class_scores[keep]
