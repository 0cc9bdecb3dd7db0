"""Face compare: the face_recognition README pipeline against our engine, same run.

    .venv/bin/python bench/faces.py [--repeats 5] [--distances]

The baseline re-implements what ``face_recognition`` (1.3) does for its README's
"compare two photos" example, straight on dlib (the package itself is not a
dependency): ``face_encodings(image)`` runs the HOG detector with
``number_of_times_to_upsample=1`` on the full-resolution image, the 5-point landmark
model (``model="small"``, its default) and ``compute_face_descriptor(image, shape, 1)``
for every face found, and ``compare_faces`` / ``face_distance`` decide at 0.6. Both
sides start from the same decoded RGB arrays (decoding is identical work in both and
happens once per upload in the API). Baseline and ours alternate within each repeat so
background load hits both alike; figures are medians over the repeats.

``--distances`` also prints the same-person / different-person distance distribution
over the fixtures that docs/FACES.md uses to justify the threshold, similarity and
confidence bands.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import dlib
import numpy as np
from PIL import Image, ImageOps

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from faces.engine import (  # noqa: E402
    DEFAULT_THRESHOLD,
    DetectedFace,
    confidence_band,
    face_distance,
    face_models_dir,
    get_face_engine,
    similarity,
)

FIXTURES = PROJECT_ROOT.parent / "shared" / "fixtures" / "faces"

PAIRS = [
    ("obama.jpg", "obama2.jpg"),
    ("obama.jpg", "obama3.jpg"),
    ("obama.jpg", "biden.jpg"),
    ("obama2.jpg", "obama_small.jpg"),
    ("biden.jpg", "obama_small.jpg"),
    ("two_people.jpg", "obama.jpg"),
    ("two_people.jpg", "biden.jpg"),
    ("alex-lacamoire.png", "lin-manuel-miranda.png"),
    ("alex-lacamoire.png", "probes/alex_lacamoire1.jpg"),
    ("gallery/rose_leslie/img1.jpg", "gallery/rose_leslie/img2.jpg"),
    ("gallery/kit_harington/john1.jpeg", "probes/johnsnow_test1.jpg"),
    ("obama-240p.jpg", "obama3.jpg"),
]


def load(relative: str) -> np.ndarray:
    with Image.open(FIXTURES / relative) as image:
        return np.ascontiguousarray(ImageOps.exif_transpose(image).convert("RGB"))


class FaceRecognitionBaseline:
    """face_recognition.face_encodings + face_distance, as its README uses them."""

    def __init__(self) -> None:
        models = face_models_dir()
        self.detector = dlib.get_frontal_face_detector()
        self.pose_predictor = dlib.shape_predictor(
            str(models / "shape_predictor_5_face_landmarks.dat")
        )
        self.encoder = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat")
        )

    def face_encodings(self, image: np.ndarray) -> list[tuple[dlib.rectangle, np.ndarray]]:
        found = []
        for rectangle in self.detector(image, 1):
            shape = self.pose_predictor(image, rectangle)
            encoding = np.array(self.encoder.compute_face_descriptor(image, shape, 1))
            found.append((rectangle, encoding))
        return found

    def compare(self, image_a: np.ndarray, image_b: np.ndarray) -> tuple[float, int, int] | None:
        """Distance between the largest faces (the API's rule), with face counts."""
        faces_a, faces_b = self.face_encodings(image_a), self.face_encodings(image_b)
        if not faces_a or not faces_b:
            return None
        largest_a = max(faces_a, key=lambda item: item[0].area())[1]
        largest_b = max(faces_b, key=lambda item: item[0].area())[1]
        return face_distance(largest_a, largest_b), len(faces_a), len(faces_b)


def ours_sequential(image_a: np.ndarray, image_b: np.ndarray):
    engine = get_face_engine()
    faces_a = engine.detect(image_a, max_faces=1)
    faces_b = engine.detect(image_b, max_faces=1)
    return _our_result(faces_a, faces_b)


def ours_threaded(image_a: np.ndarray, image_b: np.ndarray):
    faces_a, faces_b = get_face_engine().detect_many([image_a, image_b], max_faces=1)
    return _our_result(faces_a, faces_b)


def _our_result(faces_a: list[DetectedFace], faces_b: list[DetectedFace]):
    if not faces_a or not faces_b:
        return None
    return face_distance(faces_a[0].descriptor, faces_b[0].descriptor), len(faces_a), len(faces_b)


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def bench_compare(repeats: int) -> None:
    baseline = FaceRecognitionBaseline()
    engine = get_face_engine()
    images = {name: load(name) for name in sorted(set(itertools.chain(*PAIRS)))}
    # Warm both pipelines (and the engine's second model set used by detect_many).
    engine.detect_many([images["obama.jpg"], images["obama2.jpg"]])
    baseline.compare(images["obama_small.jpg"], images["obama_small.jpg"])

    print(f"{'pair':58s} {'baseline':>9s} {'ours':>7s} {'ours 2T':>8s} {'x':>5s}  decision")
    base_medians, ours_medians, threaded_medians, identical = [], [], [], 0
    for name_a, name_b in PAIRS:
        image_a, image_b = images[name_a], images[name_b]
        base_times, ours_times, threaded_times = [], [], []
        for _ in range(repeats):
            seconds, base = timed(baseline.compare, image_a, image_b)
            base_times.append(seconds)
            seconds, ours = timed(ours_sequential, image_a, image_b)
            ours_times.append(seconds)
            seconds, threaded = timed(ours_threaded, image_a, image_b)
            threaded_times.append(seconds)
        assert threaded == ours, (name_a, name_b, threaded, ours)
        base_median, ours_median = statistics.median(base_times), statistics.median(ours_times)
        threaded_median = statistics.median(threaded_times)
        base_medians.append(base_median)
        ours_medians.append(ours_median)
        threaded_medians.append(threaded_median)
        base_match = base is not None and base[0] <= DEFAULT_THRESHOLD
        ours_match = ours is not None and ours[0] <= DEFAULT_THRESHOLD
        identical += base_match == ours_match
        print(
            f"{name_a + ' / ' + name_b:58s} {base_median * 1000:7.0f}ms {ours_median * 1000:5.0f}ms"
            f" {threaded_median * 1000:6.0f}ms {base_median / ours_median:5.1f}"
            f"  {'match' if base_match else 'no   '} d={_describe(base)}"
            f" | {'match' if ours_match else 'no   '} d={_describe(ours)}"
            f"{'' if base_match == ours_match else '  <-- DIFFERENT'}"
        )
    print()
    print(f"identical match decisions, largest face of each photo: {identical}/{len(PAIRS)}")
    same, total = every_face_pair_agrees(baseline, images)
    print(f"identical match decisions, every face of A against every face of B: {same}/{total}")
    base_all = statistics.median(base_medians)
    ours_all = statistics.median(ours_medians)
    threaded_all = statistics.median(threaded_medians)
    print()
    print(
        f"median per pair: baseline {base_all * 1000:.0f} ms, ours {ours_all * 1000:.0f} ms "
        f"sequential / {threaded_all * 1000:.0f} ms with detect_many (2 threads)"
    )
    print(
        f"speed-up: {base_all / ours_all:.1f}x sequential, {base_all / threaded_all:.1f}x threaded; "
        f"per-pair ratios {min(b / o for b, o in zip(base_medians, ours_medians, strict=True)):.1f}x"
        f"–{max(b / o for b, o in zip(base_medians, ours_medians, strict=True)):.1f}x"
    )
    print(f"threaded / sequential: {threaded_all / ours_all:.0%}")


def every_face_pair_agrees(baseline: FaceRecognitionBaseline, images) -> tuple[int, int]:
    """Decisions for the same two faces, found by both pipelines, taken from all faces.

    Picking "the largest" can differ when two faces are the same size (two_people.jpg:
    HOG boxes snap to pyramid scales), which says nothing about matching itself.
    """
    engine = get_face_engine()
    agree = total = 0
    for name_a, name_b in PAIRS:
        base_a = baseline.face_encodings(images[name_a])
        base_b = baseline.face_encodings(images[name_b])
        ours_a = _paired(engine.detect(images[name_a]), base_a)
        ours_b = _paired(engine.detect(images[name_b]), base_b)
        for (face_a, encoding_a), (face_b, encoding_b) in itertools.product(ours_a, ours_b):
            base_match = face_distance(encoding_a, encoding_b) <= DEFAULT_THRESHOLD
            ours_match = face_distance(face_a.descriptor, face_b.descriptor) <= DEFAULT_THRESHOLD
            agree += base_match == ours_match
            total += 1
    return agree, total


def _paired(ours: list[DetectedFace], base: list[tuple[dlib.rectangle, np.ndarray]]):
    """Our faces with the baseline encoding of the same face (nearest box centre)."""
    pairs = []
    for face in ours:
        centre = np.array([face.box.x + face.box.width / 2, face.box.y + face.box.height / 2])
        rectangle, encoding = min(
            base, key=lambda item: np.linalg.norm(np.array(_centre(item[0])) - centre)
        )
        assert np.linalg.norm(np.array(_centre(rectangle)) - centre) < face.box.width / 2
        pairs.append((face, encoding))
    return pairs


def _centre(rectangle: dlib.rectangle) -> tuple[float, float]:
    return ((rectangle.left() + rectangle.right()) / 2, (rectangle.top() + rectangle.bottom()) / 2)


def _describe(result) -> str:
    if result is None:
        return "no face"
    distance, count_a, count_b = result
    return f"{distance:.3f} ({count_a}+{count_b} faces)"


def bench_distances() -> None:
    """Fixture distances behind the threshold, similarity and confidence bands."""
    engine = get_face_engine()
    identities = {
        "obama.jpg": "obama",
        "obama2.jpg": "obama",
        "obama3.jpg": "obama",
        "obama_small.jpg": "obama",
        "obama-240p.jpg": "obama",
        "obama_partial_face.jpg": "obama",
        "biden.jpg": "biden",
        "alex-lacamoire.png": "alex_lacamoire",
        "lin-manuel-miranda.png": "lin_manuel_miranda",
        "probes/alex_lacamoire1.jpg": "alex_lacamoire",
        "probes/johnsnow_test1.jpg": "kit_harington",
        "probes/obama1.jpg": "obama",
    }
    for path in sorted((FIXTURES / "gallery").glob("*/*")):
        relative = str(path.relative_to(FIXTURES))
        # The gallery repeats obama.jpg, obama2.jpg and biden.jpg byte for byte.
        if path.name not in identities:
            identities[relative] = path.parent.name
    descriptors = {}
    for relative in identities:
        faces = engine.detect(load(relative), max_faces=1)
        assert len(faces) == 1, relative
        descriptors[relative] = faces[0].descriptor
    same, different = [], []
    for a, b in itertools.combinations(identities, 2):
        distance = face_distance(descriptors[a], descriptors[b])
        (same if identities[a] == identities[b] else different).append((distance, a, b))
    _summarise("same person", same)
    _summarise("different people", different)

    # How far a distance moves when only the capture changes: the same photo re-compressed
    # as JPEG quality 60, at full and at half size. Faces under ~80 px move much more.
    for title, scale in (("JPEG q60", 1.0), ("half size + JPEG q60", 0.5)):
        shifts: dict[bool, list[float]] = {True: [], False: []}
        for relative in identities:
            faces = engine.detect(_degraded(load(relative), scale), max_faces=1)
            if faces:
                distance = face_distance(faces[0].descriptor, descriptors[relative])
                shifts[faces[0].quality.size >= 80].append(distance)
        for large, values in shifts.items():
            if values:
                print(
                    f"same photo, {title}, faces {'>=' if large else '<'} 80 px: distance moves"
                    f" median {statistics.median(values):.3f}, max {max(values):.3f}"
                    f" ({len(values)} photos)"
                )
    print()
    print("distance  similarity  confidence")
    for distance in (0.0, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0):
        print(f"{distance:8.2f}  {similarity(distance):10.3f}  {confidence_band(distance)}")


def _degraded(image: np.ndarray, scale: float) -> np.ndarray:
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=60)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _summarise(title: str, pairs: list[tuple[float, str, str]]) -> None:
    values = np.array([distance for distance, _, _ in pairs])
    quantiles = np.percentile(values, [0, 10, 50, 90, 100])
    print(
        f"{title}: {len(values)} pairs, min/p10/median/p90/max = "
        + " / ".join(f"{value:.3f}" for value in quantiles)
    )
    closest = min(pairs) if title == "different people" else max(pairs)
    print(f"  worst case: {closest[0]:.3f} {closest[1]} vs {closest[2]}")
    bands = [confidence_band(distance) for distance in values]
    print(
        "  confidence bands: "
        + ", ".join(f"{band} {bands.count(band)}" for band in ("high", "medium", "low"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--distances", action="store_true")
    parser.add_argument("--no-compare", action="store_true", help="skip the timing part")
    arguments = parser.parse_args()
    if not FIXTURES.is_dir():
        sys.exit(f"{FIXTURES} is absent: this benchmark needs the shared fixture photos")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, dlib {dlib.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if not arguments.no_compare:
        bench_compare(arguments.repeats)
    if arguments.distances:
        print()
        bench_distances()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
