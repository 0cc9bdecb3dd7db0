"""Vehicle detection and licence-plate reading.

Framework-free on purpose: services, video workers, benchmarks and tests import it
without Django. Arrays in, dataclasses out; boxes are in pixels of the image passed in.

Vehicles come from the shared COCO detector (vision.detection, NanoDet-m). Plates are
read with RapidOCR's bundled PP-OCR models on each vehicle's crop; they are returned only
where text that looks like a plate was read (see ``plate_text``). Each vehicle's dominant
colour is named from a fixed palette (see ``vehicle_colour``).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from vision import rounding
from vision.detection import (
    DEFAULT_MIN_CONFIDENCE,
    DetectedObject,
    as_rgb_array,
    detect_objects,
    non_max_suppression,
)
from vision.geometry import Box
from vision.modelstore import onnx_threads

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "VEHICLE_TYPES",
    "COLOURS",
    "DetectedObject",
    "Plate",
    "Vehicle",
    "detect_objects",
    "detect_vehicles",
    "read_plate",
    "vehicle_colour",
]

# COCO's vehicle classes that a street-facing API can name; airplanes are left out
# because a plane on a photo is almost never what a vehicle endpoint is asked about.
VEHICLE_TYPES: tuple[str, ...] = ("car", "truck", "bus", "motorcycle", "bicycle", "train", "boat")
# NanoDet often scores one pickup as both "car" and "truck" (or a motorbike also as a
# bicycle) with nearly the same box; above this overlap the weaker reading is dropped.
CROSS_TYPE_IOU = 0.7
# Types NanoDet confuses with one another, settled on an undistorted view (see
# ``settle_types``), and when: the image's proportions differ from the model's square
# input by more than this factor, and the undistorted view's box matches by this IoU.
LOOK_ALIKE_TYPES: tuple[str, ...] = ("car", "truck", "bus")
SETTLE_MIN_DISTORTION = 1.1
SETTLE_MIN_IOU = 0.5
SETTLE_MIN_SCORE = 0.2
# The undistorted view changes a type only when it prefers the other type by this much:
# on a van filmed from above (vtest.avi) the two views disagree by a few hundredths.
SETTLE_MARGIN = 0.1
# Plate reading costs ~0.1-0.5 s per vehicle, so only the largest vehicles are read.
MAX_PLATE_READS = 8
MIN_PLATE_CONFIDENCE = 0.5
# Crops are upscaled to at least this longer side: the recogniser needs characters a
# dozen pixels high, and the text detector ignores regions only a few pixels tall.
_MIN_OCR_SIDE = 320
# The text detector's own resize cap: larger crops are shrunk for finding text only;
# recognition still reads the text from the full-resolution crop.
_OCR_DETECT_LIMIT = 640
_PLATE_CHARACTERS = re.compile(r"[^A-Z0-9]")

# The colour palette: four achromatic names and six hues, what a person would say of a car.
COLOURS: tuple[str, ...] = (
    "white", "silver", "grey", "black", "red", "orange", "brown", "yellow", "green", "blue",
)  # fmt: skip
# Colour is read on the body panel band of the box (the middle of its width, between the
# windows and the wheels), where the least road, sky and glass shows.
_BODY_BAND_X = (0.15, 0.85)
_BODY_BAND_Y = (0.3, 0.8)
# Colour is named for vehicles whose box is mostly body; a bicycle's or motorcycle's box
# is mostly whatever is behind its frame (dog.jpg's bicycle "is" the yellow wall).
COLOURED_TYPES: tuple[str, ...] = ("car", "truck", "bus", "train")
# Below this many pixels on either side a vehicle's colour is not named.
MIN_COLOUR_SIDE = 16
# HSV (OpenCV: hue 0-179, saturation and value 0-255) boundaries of the palette.
_CHROMATIC_SATURATION = 50
_CHROMATIC_VALUE = 60
_WHITE_VALUE = 185
_SILVER_VALUE = 120
_BLACK_VALUE = 60
# Hue upper bounds, in order; hues from 160 on wrap round to red. Orange darker than
# _BROWN_VALUE is brown.
_HUES = ((8, "red"), (20, "orange"), (34, "yellow"), (85, "green"), (160, "blue"), (180, "red"))
_BROWN_VALUE = 140
# A coloured (chromatic) body needs at least this share of the band's pixels to be named
# by its hue: grey glass, tyres and shadows are achromatic on a car of any colour, so a
# smaller coloured share is a reflection or a sticker on a white, silver or black body.
_CHROMATIC_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Plate:
    """Plate text (upper-case letters and digits only), OCR confidence and box in pixels."""

    text: str
    confidence: float
    box: Box

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "confidence": rounding.score(self.confidence),
            "box": self.box.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class VehicleColour:
    """A palette name from COLOURS and the share of the body band's pixels behind it."""

    name: str
    confidence: float

    def as_dict(self) -> dict:
        return {"name": self.name, "confidence": rounding.score(self.confidence)}


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle: ``type`` is one of VEHICLE_TYPES; ``plate`` only when one was read;
    ``colour`` unless the vehicle is too small to tell."""

    type: str
    confidence: float
    box: Box
    plate: Plate | None = None
    colour: VehicleColour | None = None

    def as_dict(self) -> dict:
        """The API's and the video pipeline's shape (``plate`` only when one was read)."""
        item = {
            "type": self.type,
            "confidence": rounding.score(self.confidence),
            "box": self.box.as_dict(),
        }
        if self.colour is not None:
            item["colour"] = self.colour.as_dict()
        if self.plate is not None:
            item["plate"] = self.plate.as_dict()
        return item


def detect_vehicles(
    image: np.ndarray,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    plates: bool = False,
    tiling: str = "auto",
    detections: Sequence[DetectedObject] | None = None,
) -> list[Vehicle]:
    """Vehicles in an HxWx3 uint8 RGB image, best first; with ``plates`` also their plates.

    ``detections``: a ``detect_objects`` result for this image (any labels) to reuse
    instead of running the detector again; ``tiling`` is passed to the detector otherwise.
    """
    rgb = as_rgb_array(image)
    if detections is None:
        detections = detect_objects(rgb, min_confidence, labels=VEHICLE_TYPES, tiling=tiling)
    found = [d for d in detections if d.label in VEHICLE_TYPES and d.confidence >= min_confidence]
    if found:
        corners = np.array([[d.box.x, d.box.y, d.box.right, d.box.bottom] for d in found])
        scores = np.array([d.confidence for d in found])
        found = [found[i] for i in non_max_suppression(corners, scores, CROSS_TYPE_IOU)]
    found = settle_types(rgb, found)
    vehicles = [
        Vehicle(
            type=d.label,
            confidence=d.confidence,
            box=d.box,
            colour=vehicle_colour(rgb[d.box.y : d.box.bottom, d.box.x : d.box.right])
            if d.label in COLOURED_TYPES
            else None,
        )
        for d in found
    ]
    if not plates:
        return vehicles

    by_size = sorted(range(len(vehicles)), key=lambda i: vehicles[i].box.area, reverse=True)
    for index in by_size[:MAX_PLATE_READS]:
        vehicle = vehicles[index]
        box = vehicle.box
        crop = rgb[box.y : box.bottom, box.x : box.right]
        plate = read_plate(crop)
        if plate is not None:
            in_image = Box(
                plate.box.x + box.x, plate.box.y + box.y, plate.box.width, plate.box.height
            )
            vehicles[index] = replace(vehicle, plate=replace(plate, box=in_image))
    return vehicles


def settle_types(image: np.ndarray, found: Sequence[DetectedObject]) -> list[DetectedObject]:
    """Car, truck or bus decided on an undistorted view of the image.

    The detector stretches every image to its square input, so a 3:2 photo's cars come
    out a third taller than they are, and tall is what tells a truck or a van from a car:
    plate_car.png's Škoda Citigo scores truck 0.62 / car 0.28 stretched, but car 0.60 /
    truck 0.32 with its proportions kept. So where the image is not square and a look-
    alike was found, one more detector pass runs on the image padded to a square, and
    each car, truck or bus takes the type (and that type's score) of the matching box
    there when that view prefers it by SETTLE_MARGIN. Vehicles without a match, or of
    other types, keep their reading.
    """
    rgb = as_rgb_array(image)
    height, width = rgb.shape[:2]
    if max(width, height) < SETTLE_MIN_DISTORTION * min(width, height):
        return list(found)
    if not any(d.label in LOOK_ALIKE_TYPES for d in found):
        return list(found)
    undistorted = detect_objects(
        rgb, SETTLE_MIN_SCORE, labels=LOOK_ALIKE_TYPES, tiling="off", keep_aspect=True
    )
    settled = []
    for detection in found:
        matches = [u for u in undistorted if u.box.iou(detection.box) >= SETTLE_MIN_IOU]
        if detection.label not in LOOK_ALIKE_TYPES or not matches:
            settled.append(detection)
            continue
        # Each type's best score over the matching boxes: one cell's runner-up scores
        # alone flip with a few hundredths of noise.
        best = {t: max(u.class_scores.get(t, 0.0) for u in matches) for t in LOOK_ALIKE_TYPES}
        label = max(LOOK_ALIKE_TYPES, key=best.__getitem__)
        if best[label] - best[detection.label] < SETTLE_MARGIN:
            settled.append(detection)
            continue
        settled.append(replace(detection, label=label, confidence=best[label]))
    return settled


def vehicle_colour(crop: np.ndarray) -> VehicleColour | None:
    """The dominant palette colour of an RGB vehicle crop, or None when it is too small.

    Each pixel of the body band is named (achromatic by brightness, chromatic by hue).
    If coloured pixels make up at least _CHROMATIC_SHARE of the band, the most common hue
    wins and its confidence is its share of the coloured pixels; otherwise the most
    common of white, silver, grey and black wins, with its share of the others.
    """
    rgb = as_rgb_array(crop)
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_COLOUR_SIDE:
        return None
    band = rgb[
        int(height * _BODY_BAND_Y[0]) : int(height * _BODY_BAND_Y[1]),
        int(width * _BODY_BAND_X[0]) : int(width * _BODY_BAND_X[1]),
    ]
    hue, saturation, value = (
        channel.ravel().astype(np.int32)
        for channel in cv2.split(cv2.cvtColor(np.ascontiguousarray(band), cv2.COLOR_RGB2HSV))
    )
    chromatic = (saturation >= _CHROMATIC_SATURATION) & (value >= _CHROMATIC_VALUE)
    if chromatic.mean() >= _CHROMATIC_SHARE:
        names = Counter()
        lower = 0
        hues, values = hue[chromatic], value[chromatic]
        for upper, name in _HUES:
            in_range = (hues >= lower) & (hues < upper)
            if name == "orange":
                names["brown"] += int((in_range & (values < _BROWN_VALUE)).sum())
                in_range &= values >= _BROWN_VALUE
            names[name] += int(in_range.sum())
            lower = upper
        total = int(chromatic.sum())
    else:
        grey_values = value[~chromatic]
        names = Counter(
            {
                "white": int((grey_values >= _WHITE_VALUE).sum()),
                "silver": int(
                    ((grey_values >= _SILVER_VALUE) & (grey_values < _WHITE_VALUE)).sum()
                ),
                "grey": int(((grey_values >= _BLACK_VALUE) & (grey_values < _SILVER_VALUE)).sum()),
                "black": int((grey_values < _BLACK_VALUE).sum()),
            }
        )
        total = len(grey_values)
    name, count = names.most_common(1)[0]
    return VehicleColour(name=name, confidence=count / max(total, 1))


def plate_text(raw: str) -> str | None:
    """The plate reading of an OCR line, or None when it does not look like a plate.

    Keeps letters and digits (plates print separators inconsistently) and asks for 3-10 of
    them with at least one digit: that drops badges and brand names (``YAMAHA``, ``FORD``)
    that OCR reads on a vehicle just as well as the plate.
    """
    text = _PLATE_CHARACTERS.sub("", raw.upper())
    if not 3 <= len(text) <= 10 or not any(char.isdigit() for char in text):
        return None
    return text


def read_plate(crop: np.ndarray) -> Plate | None:
    """The most confident plate-like text in an RGB vehicle crop; box in crop pixels."""
    rgb = as_rgb_array(crop)
    height, width = rgb.shape[:2]
    if min(height, width) < 8:
        return None
    scale = max(1.0, _MIN_OCR_SIDE / max(height, width))
    if scale > 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    with _ocr_lock:
        result = _ocr_engine()(np.ascontiguousarray(rgb[:, :, ::-1]))  # RapidOCR wants BGR
    texts = result.txts or ()
    if not texts:
        return None
    best: Plate | None = None
    for raw, score, polygon in zip(texts, result.scores, result.boxes, strict=True):
        text = plate_text(raw)
        if text is None or score < MIN_PLATE_CONFIDENCE:
            continue
        if best is not None and score <= best.confidence:
            continue
        points = np.asarray(polygon, dtype=np.float32) / scale
        box = Box.from_corners(
            points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()
        ).clipped(width, height)
        best = Plate(text=text, confidence=float(score), box=box)
    return best


_ocr_lock = threading.Lock()
_ocr_instance = None


def _ocr_engine():
    """RapidOCR on its wheel-bundled models, built once; never downloads anything.

    Every model path is given explicitly: with a path set RapidOCR skips its
    fetch-if-missing logic, so a changed default in a future release cannot make it reach
    the network. Orientation classification is off since plates are photographed upright.
    """
    global _ocr_instance
    if _ocr_instance is None:
        import rapidocr
        from rapidocr import RapidOCR

        bundled = Path(rapidocr.__file__).resolve().parent / "models"
        threads = onnx_threads()
        _ocr_instance = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.log_level": "error",
                "Det.model_path": str(_bundled_model(bundled, "det")),
                "Rec.model_path": str(_bundled_model(bundled, "rec")),
                "Cls.model_path": str(_bundled_model(bundled, "cls")),
                "Det.limit_type": "max",
                "Det.limit_side_len": _OCR_DETECT_LIMIT,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
    return _ocr_instance


def _bundled_model(directory: Path, task: str) -> Path:
    # Looked up by task rather than by file name: each rapidocr release bundles the
    # PP-OCR generation of its day (v4 in 3.0, v6 in 3.10) under a different name.
    found = sorted(directory.glob(f"*_{task}_*.onnx"))
    if not found:
        raise RuntimeError(
            f"rapidocr has no bundled {task} model in {directory}; reinstall rapidocr"
        )
    return found[-1]
