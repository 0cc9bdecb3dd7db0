"""People and their pose: 17 COCO keypoints per person.

Framework-free on purpose: services, video workers, benchmarks and tests import it
without Django. Arrays in, dataclasses out; boxes and keypoints are in pixels of the image
passed in.

Two stages: the shared COCO detector (vision.detection, NanoDet-m) finds the people,
then MoveNet SinglePose Lightning places the keypoints on a square crop around each one.
A single-pose model per crop is slower than one multi-pose pass on crowded scenes but
much more accurate on small people, whom a whole-image pass sees only a few pixels tall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vision import rounding
from vision.detection import DEFAULT_MIN_CONFIDENCE, DetectedObject, as_rgb_array, detect_objects
from vision.geometry import Box
from vision.modelstore import load_onnx_session

# The detector's (COCO) label of a person.
PERSON_LABEL = "person"
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
# A square around a person up to this side (12 MB) is cut at full resolution and shrunk
# to POSE_INPUT_SIZE by OpenCV; a larger one from the part of it inside the image (see
# _pose_input), so that a very tall or wide image costs no more than its pixels.
MAX_CUT_SIDE = 2048
# Each person costs one MoveNet run (~10 ms); beyond this the smallest are left out.
MAX_PEOPLE = 50
# A keypoint MoveNet is this sure of counts as placed (MoveNet's own demo threshold).
CONFIDENT_KEYPOINT = 0.3
# A skeleton is its person's when at least this share of its confident keypoints lies in
# the person's box, widened by OWN_BOX_SLACK of its size on each side (a detector box
# often clips a hand or a foot).
OWN_BOX_SHARE = 0.9
OWN_BOX_SLACK = 0.1
# Two skeletons are one when their nose and both shoulders (where confident in both) lie
# within this share of the smaller person's box width of each other: MoveNet, on two
# overlapping crops, locked onto the same, more prominent person.
SAME_SKELETON_SHARE = 0.25
# Where a person's skeleton cannot be told apart from another's, its keypoints keep their
# positions but their scores are capped here, below CONFIDENT_KEYPOINT.
UNOWNED_KEYPOINT_SCORE = 0.05
# Painting out another person's skeleton: a disc of this share of that person's box
# height around each of its confident keypoints, plus the polygon they span.
MASK_RADIUS_SHARE = 0.12


@dataclass(frozen=True, slots=True)
class Keypoint:
    """A named COCO keypoint in image pixels; ``score`` in [0, 1] is MoveNet's confidence."""

    name: str
    x: float
    y: float
    score: float

    def as_dict(self) -> dict:
        """The API's and the video pipeline's shape: whole pixels, score to 4 places."""
        return {
            "name": self.name,
            "x": rounding.pixel(self.x),
            "y": rounding.pixel(self.y),
            "score": rounding.score(self.score),
        }


@dataclass(frozen=True, slots=True)
class Person:
    """A person's box, the detector's confidence and the 17 keypoints in KEYPOINT_NAMES order.

    ``keypoints`` all score below CONFIDENT_KEYPOINT when the person's skeleton could not
    be told apart from a neighbour's (see ``analyze_bodies``).
    """

    box: Box
    confidence: float
    keypoints: list[Keypoint]

    def as_dict(self) -> dict:
        return {
            "box": self.box.as_dict(),
            "confidence": rounding.score(self.confidence),
            "keypoints": [point.as_dict() for point in self.keypoints],
        }


def analyze_bodies(
    image: np.ndarray,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    tiling: str = "auto",
    detections: Sequence[DetectedObject] | None = None,
) -> list[Person]:
    """People in an HxWx3 uint8 RGB image with their keypoints, most confident first.

    ``detections``: a ``detect_objects`` result for this image (any labels, including
    "person") to reuse instead of running the detector again; ``tiling`` is passed to
    the detector otherwise.

    Each person's skeleton is checked against the others' (see ``assign_skeletons``).
    """
    rgb = as_rgb_array(image)
    if detections is None:
        detections = detect_objects(rgb, min_confidence, labels=(PERSON_LABEL,), tiling=tiling)
    people = [d for d in detections if d.label == PERSON_LABEL and d.confidence >= min_confidence]
    if len(people) > MAX_PEOPLE:
        people = sorted(people, key=lambda d: d.box.area, reverse=True)[:MAX_PEOPLE]
    people.sort(key=lambda d: d.confidence, reverse=True)
    skeletons = assign_skeletons(rgb, [d.box for d in people])
    return [
        Person(box=d.box, confidence=d.confidence, keypoints=keypoints)
        for d, keypoints in zip(people, skeletons, strict=True)
    ]


def assign_skeletons(image: np.ndarray, boxes: Sequence[Box]) -> list[list[Keypoint]]:
    """One skeleton per box, each on its own person.

    MoveNet SinglePose, on a crop, places the most prominent person in it; where boxes
    overlap that can be the neighbour. So each skeleton is checked: it must lie in its
    own box (OWN_BOX_SHARE) and must not be another box's skeleton (SAME_SKELETON_SHARE).
    Of two coinciding skeletons, the one whose box fits it better keeps it. A failing
    person is estimated again with every accepted neighbour's skeleton painted out of
    the crop, so that MoveNet sees only what is left; if that fails too, its keypoints
    are kept with scores capped at UNOWNED_KEYPOINT_SCORE rather than handed someone
    else's body. Finally a keypoint outside its own box is capped the same way.
    """
    rgb = as_rgb_array(image)
    skeletons = [estimate_keypoints(rgb, box) for box in boxes]
    disowned = _disowned(skeletons, boxes)
    accepted = [i for i in range(len(boxes)) if i not in disowned]
    for index in sorted(disowned):
        retry = _estimate_without(rgb, boxes[index], [(skeletons[o], boxes[o]) for o in accepted])
        trial = [*skeletons]
        trial[index] = retry
        if index not in _disowned(trial, boxes, only=index, trusted=accepted):
            skeletons[index] = retry
            accepted.append(index)
        else:
            skeletons[index] = [
                replace(point, score=min(point.score, UNOWNED_KEYPOINT_SCORE))
                for point in skeletons[index]
            ]
    return [_within_box(skeleton, box) for skeleton, box in zip(skeletons, boxes, strict=True)]


def _estimate_without(
    rgb: np.ndarray, box: Box, others: Sequence[tuple[Sequence[Keypoint], Box]]
) -> list[Keypoint]:
    """MoveNet's keypoints for ``box`` with the other people's skeletons painted out.

    Only the region MoveNet's crop covers is copied and painted, not the whole image.
    """
    height, width = rgb.shape[:2]
    region = _crop_box(box).clipped(width, height)
    neighbours = [(skeleton, other) for skeleton, other in others if _overlap(region, other) > 0]
    view = np.ascontiguousarray(rgb[region.y : region.bottom, region.x : region.right])
    local = Box(box.x - region.x, box.y - region.y, box.width, box.height)
    shifted = [
        ([replace(p, x=p.x - region.x, y=p.y - region.y) for p in skeleton], other)
        for skeleton, other in neighbours
    ]
    points = estimate_keypoints(_paint_out(view, shifted), local)
    return [replace(p, x=p.x + region.x, y=p.y + region.y) for p in points]


def _within_box(skeleton: Sequence[Keypoint], box: Box) -> list[Keypoint]:
    """The skeleton with keypoints outside its person's box no longer confident.

    The box is the detector's evidence of where this person is; a joint MoveNet places
    outside it is, in a crowd, most often a neighbour's (or a guess at a clipped limb),
    so it keeps its place but not its confidence.
    """
    return [
        point
        if box.x <= point.x <= box.right and box.y <= point.y <= box.bottom
        else replace(point, score=min(point.score, UNOWNED_KEYPOINT_SCORE))
        for point in skeleton
    ]


def estimate_keypoints(image: np.ndarray, box: Box) -> list[Keypoint]:
    """MoveNet's 17 keypoints for the person in ``box``, in pixels of ``image``."""
    rgb = as_rgb_array(image)
    left, top, side = _square(box)
    session = load_onnx_session(POSE_MODEL_FILE)
    pose_input = _pose_input(rgb, left, top, side)
    (output,) = session.run(None, {"image": pose_input[np.newaxis].astype(np.int32)})
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


def _square(box: Box) -> tuple[int, int, int]:
    """Left, top and side in image pixels of the square MoveNet sees around ``box``: the
    box plus margin, square so that the input does not stretch the person."""
    side = max(2, int(round(max(box.width, box.height) * (1 + 2 * CROP_MARGIN))))
    left = int(round(box.x + box.width / 2 - side / 2))
    top = int(round(box.y + box.height / 2 - side / 2))
    return left, top, side


def _pose_input(rgb: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """The square at POSE_INPUT_SIZE px, black where it leaves the image.

    Cut at full resolution the square costs 3 bytes × side², and its side is the person
    box's longer side plus margin however few pixels the image has (a person 13014 px
    tall in a 2480 px wide image: a 1 GB cut). So a square wider than MAX_CUT_SIDE is shrunk from
    the part of it inside the image, by ``_shrink_rows``, which reproduces OpenCV's
    INTER_AREA on the whole square: OpenCV on the inside part alone lays its cells on
    that part's own grid, a fraction of an input pixel off, and MoveNet then moved
    keypoints of the fixture photos by up to 44 px.
    """
    if side <= MAX_CUT_SIDE:
        shrinking = side > POSE_INPUT_SIZE
        return cv2.resize(
            _square_crop(rgb, left, top, side),
            (POSE_INPUT_SIZE, POSE_INPUT_SIZE),
            interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
        )
    inside = rgb[_part_inside(rgb, left, top, side)]
    # Along the inside part's longer side first: the half-shrunk array is then the smaller.
    if inside.shape[0] >= inside.shape[1]:
        half = _shrink_rows(inside, top, side).transpose(1, 0, 2)
        shrunk = _shrink_rows(half, left, side).transpose(1, 0, 2)
    else:
        half = _shrink_rows(inside.transpose(1, 0, 2), left, side).transpose(1, 0, 2)
        shrunk = _shrink_rows(half, top, side)
    return np.clip(np.rint(shrunk), 0, 255).astype(np.uint8)


def _shrink_rows(pixels: np.ndarray, square_start: int, side: int) -> np.ndarray:
    """``pixels``, the rows of a square's side [square_start, square_start + side) that
    lie in the image, shrunk along rows to POSE_INPUT_SIZE as INTER_AREA shrinks the
    whole side (OpenCV's computeResizeAreaTab): each output row averages the rows its
    cell covers, partly covered ones by their share; rows outside the image are black.
    Returns floats, to be rounded once both directions are shrunk."""
    scale = side / POSE_INPUT_SIZE
    skipped = max(-square_start, 0)  # the square's rows above the image; pixels[0] is next
    sum_type = np.uint32 if pixels.dtype == np.uint8 else None

    def weighted_sum(start: int, stop: int, weight: float = 1.0) -> np.ndarray | float:
        start, stop = max(start - skipped, 0), min(stop - skipped, len(pixels))
        if stop <= start:
            return 0.0  # black
        return weight * pixels[start:stop].sum(axis=0, dtype=sum_type)

    shrunk = np.zeros((POSE_INPUT_SIZE, *pixels.shape[1:]))
    for row in range(POSE_INPUT_SIZE):
        cell_start, cell_stop = row * scale, (row + 1) * scale
        cell = min(scale, side - cell_start)
        whole_stop = min(math.floor(cell_stop), side - 1)
        whole_start = min(math.ceil(cell_start), whole_stop)
        value = weighted_sum(whole_start, whole_stop)
        # OpenCV leaves out slivers of a row under a thousandth.
        if whole_start - cell_start > 1e-3:
            value = value + weighted_sum(whole_start - 1, whole_start, whole_start - cell_start)
        if cell_stop - whole_stop > 1e-3:
            share = min(cell_stop - whole_stop, 1.0, cell)
            value = value + weighted_sum(whole_stop, whole_stop + 1, share)
        shrunk[row] = value / cell
    return shrunk


def _part_inside(rgb: np.ndarray, left: int, top: int, side: int) -> tuple[slice, slice]:
    """The rows and columns of the square that lie in the image (empty when none do)."""
    height, width = rgb.shape[:2]
    rows = slice(min(max(top, 0), height), max(min(top + side, height), 0))
    columns = slice(min(max(left, 0), width), max(min(left + side, width), 0))
    return rows, columns


def _square_crop(rgb: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """The square at full resolution, black where it leaves the image."""
    crop = np.zeros((side, side, 3), dtype=np.uint8)
    rows, columns = _part_inside(rgb, left, top, side)
    if rows.stop > rows.start and columns.stop > columns.start:
        crop[rows.start - top : rows.stop - top, columns.start - left : columns.stop - left] = (
            rgb[rows, columns]
        )
    return crop


def _confident(skeleton: Sequence[Keypoint]) -> list[Keypoint]:
    return [point for point in skeleton if point.score > CONFIDENT_KEYPOINT]


def _share_inside(skeleton: Sequence[Keypoint], box: Box, slack: float = OWN_BOX_SLACK) -> float:
    """Share of the skeleton's confident keypoints inside ``box`` widened by ``slack``."""
    points = _confident(skeleton)
    if not points:
        return 1.0
    dx, dy = box.width * slack, box.height * slack
    inside = sum(
        box.x - dx <= p.x <= box.right + dx and box.y - dy <= p.y <= box.bottom + dy for p in points
    )
    return inside / len(points)


def _fit(skeleton: Sequence[Keypoint], box: Box) -> float:
    """How well a box frames a skeleton: IoU of the box with the confident keypoints' extent."""
    points = _confident(skeleton)
    if len(points) < 2:
        return 0.0
    xs, ys = [p.x for p in points], [p.y for p in points]
    extent = Box.from_corners(min(xs), min(ys), max(xs) + 1, max(ys) + 1)
    return extent.iou(box)


def same_skeleton(first: Sequence[Keypoint], second: Sequence[Keypoint], tolerance: float) -> bool:
    """Whether two skeletons put the nose and shoulders (where both are confident) within
    ``tolerance`` pixels of each other: the same body read twice."""
    compared = 0
    for name in ("nose", "left_shoulder", "right_shoulder"):
        a = next(p for p in first if p.name == name)
        b = next(p for p in second if p.name == name)
        if a.score <= CONFIDENT_KEYPOINT or b.score <= CONFIDENT_KEYPOINT:
            continue
        if np.hypot(a.x - b.x, a.y - b.y) > tolerance:
            return False
        compared += 1
    return compared >= 2


def _disowned(
    skeletons: Sequence[Sequence[Keypoint]],
    boxes: Sequence[Box],
    *,
    only: int | None = None,
    trusted: Sequence[int] = (),
) -> set[int]:
    """Indices whose skeleton is not their own person's (see ``assign_skeletons``)."""
    candidates = range(len(boxes)) if only is None else (only,)
    disowned = set()
    for index in candidates:
        skeleton, box = skeletons[index], boxes[index]
        if _share_inside(skeleton, box) < OWN_BOX_SHARE:
            disowned.add(index)
            continue
        for other in range(len(boxes)):
            if other == index or (only is not None and other not in trusted):
                continue
            tolerance = SAME_SKELETON_SHARE * min(box.width, boxes[other].width)
            if not same_skeleton(skeleton, skeletons[other], tolerance):
                continue
            # Checking one retried skeleton against accepted ones: any match disowns it.
            # Between two first readings, the box that frames it worse gives it up
            # (on a tie, the less confident detection, which comes later).
            mine, theirs = _fit(skeleton, box), _fit(skeletons[other], boxes[other])
            if only is not None or mine < theirs or (mine == theirs and index > other):
                disowned.add(index)
                break
    return disowned


def _crop_box(box: Box) -> Box:
    side = max(box.width, box.height) * (1 + 2 * CROP_MARGIN)
    centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2
    return Box.from_corners(
        centre_x - side / 2, centre_y - side / 2, centre_x + side / 2, centre_y + side / 2
    )


def _overlap(first: Box, second: Box) -> int:
    width = min(first.right, second.right) - max(first.x, second.x)
    height = min(first.bottom, second.bottom) - max(first.y, second.y)
    return max(width, 0) * max(height, 0)


def _paint_out(rgb: np.ndarray, neighbours: Sequence[tuple[Sequence[Keypoint], Box]]) -> np.ndarray:
    """A copy of the image with each neighbour's skeleton covered in flat mid-grey."""
    if not neighbours:
        return rgb
    masked = rgb.copy()
    grey = (127, 127, 127)
    for skeleton, box in neighbours:
        points = _confident(skeleton)
        if not points:
            continue
        radius = max(2, int(round(MASK_RADIUS_SHARE * box.height)))
        coordinates = np.array([[p.x, p.y] for p in points], dtype=np.int32)
        if len(coordinates) >= 3:
            cv2.fillConvexPoly(masked, cv2.convexHull(coordinates), grey)
        for x, y in coordinates:
            cv2.circle(masked, (int(x), int(y)), radius, grey, thickness=-1)
    return masked
