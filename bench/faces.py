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
import threading
import time
from pathlib import Path

import cv2
import dlib
import numpy as np
from PIL import Image, ImageOps

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import faces.engine as engine_module  # noqa: E402
from faces.engine import (  # noqa: E402
    CHIP_PADDING,
    CHIP_SIZE,
    DEFAULT_THRESHOLD,
    DetectedFace,
    FaceEngine,
    confidence_band,
    face_distance,
    face_models_dir,
    get_face_engine,
    similarity,
)

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "faces"

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
    """What POST /api/faces/compare computes, one image after the other on one thread."""
    engine = get_face_engine()
    faces_a = engine.detect(image_a, max_faces=1, coarse_to_fine=True)
    faces_b = engine.detect(image_b, max_faces=1, coarse_to_fine=True)
    return _our_result(faces_a, faces_b)


def ours_threaded(image_a: np.ndarray, image_b: np.ndarray):
    """What the API really runs: both images at once (detect_many)."""
    faces_a, faces_b = get_face_engine().detect_many(
        [image_a, image_b], max_faces=1, coarse_to_fine=True
    )
    return _our_result(faces_a, faces_b)


_previous_engine: FaceEngine | None = None


def previous_engine() -> FaceEngine:
    """The engine before issue 13 (dlib's ResNet, full scan only), a same-run baseline."""
    global _previous_engine
    if _previous_engine is None:
        _previous_engine = FaceEngine(backend="dlib")
    return _previous_engine


def previous_sequential(image_a: np.ndarray, image_b: np.ndarray):
    engine = previous_engine()
    faces_a = engine.detect(image_a, max_faces=1, coarse_to_fine=True)  # ignored: no coarse
    faces_b = engine.detect(image_b, max_faces=1, coarse_to_fine=True)
    return _our_result(faces_a, faces_b)


def _our_result(faces_a: list[DetectedFace], faces_b: list[DetectedFace]):
    if not faces_a or not faces_b:
        return None
    return face_distance(faces_a[0].descriptor, faces_b[0].descriptor), len(faces_a), len(faces_b)


def timed(function, *args):
    """(wall seconds, CPU seconds of this process, result).

    CPU time is what a compare costs the server and, for a single-threaded run, barely
    moves when other processes share the cores; wall time is what the caller waits.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def bench_compare(repeats: int) -> None:
    baseline = FaceRecognitionBaseline()
    engine = get_face_engine()
    images = {name: load(name) for name in sorted(set(itertools.chain(*PAIRS)))}
    # Warm both pipelines (and the engine's second model set used by detect_many).
    engine.detect_many([images["obama.jpg"], images["obama2.jpg"]])
    baseline.compare(images["obama_small.jpg"], images["obama_small.jpg"])
    previous_sequential(images["obama_small.jpg"], images["obama_small.jpg"])

    print(
        "medians over repeats; wall ms (CPU ms); before = this engine before ONNX and"
        " coarse-to-fine; 2T = detect_many, both images at once"
    )
    print(
        f"{'pair':62s} {'baseline':>12s} {'before':>12s} {'ours':>12s} {'ours 2T':>8s}  decision"
    )
    medians: dict[str, list[float]] = {
        key: [] for key in ("base", "base_cpu", "prev", "prev_cpu", "ours", "ours_cpu", "threaded")
    }
    identical = 0
    for name_a, name_b in PAIRS:
        image_a, image_b = images[name_a], images[name_b]
        runs: dict[str, list[float]] = {key: [] for key in medians}
        for _ in range(repeats):
            wall, cpu, base = timed(baseline.compare, image_a, image_b)
            runs["base"].append(wall)
            runs["base_cpu"].append(cpu)
            wall, cpu, _ = timed(previous_sequential, image_a, image_b)
            runs["prev"].append(wall)
            runs["prev_cpu"].append(cpu)
            wall, cpu, ours = timed(ours_sequential, image_a, image_b)
            runs["ours"].append(wall)
            runs["ours_cpu"].append(cpu)
            wall, _, threaded = timed(ours_threaded, image_a, image_b)
            runs["threaded"].append(wall)
        assert threaded == ours, (name_a, name_b, threaded, ours)
        pair = {key: statistics.median(values) * 1000 for key, values in runs.items()}
        for key, value in pair.items():
            medians[key].append(value)
        base_match = base is not None and base[0] <= DEFAULT_THRESHOLD
        ours_match = ours is not None and ours[0] <= DEFAULT_THRESHOLD
        identical += base_match == ours_match
        print(
            f"{name_a + ' / ' + name_b:62s} {pair['base']:5.0f} ({pair['base_cpu']:4.0f})"
            f" {pair['prev']:5.0f} ({pair['prev_cpu']:4.0f})"
            f" {pair['ours']:5.0f} ({pair['ours_cpu']:4.0f}) {pair['threaded']:8.0f}"
            f"  {'match' if base_match else 'no   '} d={_describe(base)}"
            f" | {'match' if ours_match else 'no   '} d={_describe(ours)}"
            f"{'' if base_match == ours_match else '  <-- DIFFERENT'}"
        )
    print()
    print(f"identical match decisions, largest face of each photo: {identical}/{len(PAIRS)}")
    same, total = every_face_pair_agrees(baseline, images)
    print(f"identical match decisions, every face of A against every face of B: {same}/{total}")
    overall = {key: statistics.median(values) for key, values in medians.items()}
    ratios = [b / o for b, o in zip(medians["base_cpu"], medians["ours_cpu"], strict=True)]
    print()
    print(
        f"median over pairs, wall: baseline {overall['base']:.0f} ms, before"
        f" {overall['prev']:.0f} ms, ours {overall['ours']:.0f} ms"
        f" sequential, {overall['threaded']:.0f} ms with detect_many"
    )
    print(
        f"median over pairs, CPU:  baseline {overall['base_cpu']:.0f} ms, before"
        f" {overall['prev_cpu']:.0f} ms, ours {overall['ours_cpu']:.0f} ms"
    )
    print(
        f"ours vs before: {overall['prev'] / overall['ours']:.1f}x wall sequential,"
        f" {overall['prev_cpu'] / overall['ours_cpu']:.1f}x CPU"
    )
    print(
        f"speed-up: {overall['base'] / overall['ours']:.1f}x wall sequential,"
        f" {overall['base'] / overall['threaded']:.1f}x wall threaded,"
        f" {overall['base_cpu'] / overall['ours_cpu']:.1f}x CPU;"
        f" per-pair CPU ratios {min(ratios):.1f}x–{max(ratios):.1f}x"
    )
    print(f"threaded / sequential wall: {overall['threaded'] / overall['ours']:.0%}")
    gil_probe(images["obama.jpg"])
    bench_phone_sized_upload(baseline, images, repeats=min(repeats, 2))


def bench_phone_sized_upload(baseline: FaceRecognitionBaseline, images, repeats: int) -> None:
    """The fixtures are ~1 MP; phones upload 12 MP. obama3.jpg enlarged to 4000 px tall."""
    large = images["obama3.jpg"]
    height, width = large.shape[:2]
    factor = 4000 / max(height, width)
    large = cv2.resize(large, (round(width * factor), round(height * factor)), cv2.INTER_CUBIC)
    small = images["obama.jpg"]
    base_runs = [timed(baseline.compare, large, small) for _ in range(repeats)]
    ours_runs = [timed(ours_sequential, large, small) for _ in range(repeats)]
    base_wall, base_cpu = (statistics.median(run[i] for run in base_runs) for i in (0, 1))
    ours_wall, ours_cpu = (statistics.median(run[i] for run in ours_runs) for i in (0, 1))
    print(
        f"{large.shape[1]}x{large.shape[0]} obama3.jpg enlarged / obama.jpg:"
        f" baseline {base_wall * 1000:.0f} ms ({base_cpu * 1000:.0f} CPU),"
        f" ours {ours_wall * 1000:.0f} ms ({ours_cpu * 1000:.0f} CPU),"
        f" {base_cpu / ours_cpu:.1f}x CPU; d = {_describe(base_runs[0][2])}"
        f" | {_describe(ours_runs[0][2])}"
    )


def _on_one_core():
    """Pin this process to one core (restored by the caller) and return the old set."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {sorted(previous)[0]})
    return previous


def _fixture_chips() -> list[np.ndarray]:
    engine = get_face_engine()
    chips = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        image = load(str(path.relative_to(FIXTURES)))
        for face in engine.detect(image, descriptors=False):
            parts = [dlib.point(point.x, point.y) for point in face.landmarks]
            box = face.box
            shape = dlib.full_object_detection(
                dlib.rectangle(box.x, box.y, box.right - 1, box.bottom - 1), parts
            )
            chips.append(dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
    return chips


def bench_descriptor(repeats: int) -> None:
    """The descriptor alone, ms per face on one core: dlib's code, ONNX one chip and batched."""
    chips = _fixture_chips()
    dlib_encoder = previous_engine()._idle_models.get()
    previous_engine()._idle_models.put(dlib_encoder)
    engine = get_face_engine()
    previous = _on_one_core()
    try:
        engine.compute_descriptors(chips[:2])  # warm
        runs = {key: [] for key in ("dlib", "onnx", "onnx_batch")}
        cpu = {key: [] for key in runs}
        for _ in range(repeats):
            for chip in chips[:8]:
                wall, used, _ = timed(dlib_encoder.encoder.compute_face_descriptor, chip)
                runs["dlib"].append(wall)
                cpu["dlib"].append(used)
                wall, used, _ = timed(engine.compute_descriptors, [chip])
                runs["onnx"].append(wall)
                cpu["onnx"].append(used)
            wall, used, _ = timed(engine.compute_descriptors, chips)
            runs["onnx_batch"].append(wall / len(chips))
            cpu["onnx_batch"].append(used / len(chips))
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)
    for title, figures in (("wall", runs), ("CPU", cpu)):
        dlib_ms, onnx_ms, batch_ms = (
            statistics.median(figures[key]) * 1000 for key in ("dlib", "onnx", "onnx_batch")
        )
        print(
            f"descriptor, one core, median {title} ms per face ({len(chips)} fixture chips):"
            f" dlib {dlib_ms:.1f}, ONNX one chip {onnx_ms:.1f} ({dlib_ms / onnx_ms:.1f}x),"
            f" ONNX batch of {len(chips)} {batch_ms:.1f} ({dlib_ms / batch_ms:.1f}x)"
        )


def bench_stages(images: dict[str, np.ndarray], repeats: int) -> None:
    """Where a compare's time goes, per image, one core: median ms over the PAIRS' photos."""
    engine = get_face_engine()
    detector = dlib.get_frontal_face_detector()
    predictor = engine._shape_predictor
    names = sorted(set(itertools.chain(*PAIRS)))
    stages: dict[str, list[float]] = {
        key: [] for key in ("resize", "coarse pass", "full scan", "landmarks+chip", "descriptor")
    }
    coarse_settled = 0
    previous = _on_one_core()
    try:
        for name in names:
            image = images[name]
            height, width = image.shape[:2]
            factor = min(2.0, engine_module.DETECTION_SIDE / max(height, width))
            per = {key: [] for key in stages}
            for _ in range(repeats):
                clock = time.perf_counter()
                grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
                scan = cv2.resize(grey, (round(width * factor), round(height * factor)))
                per["resize"].append(time.perf_counter() - clock)
                clock = time.perf_counter()
                coarse = scan
                for _ in range(engine_module.COARSE_PYRAMID_LEVELS):
                    coarse = engine_module._PYRAMID(coarse)
                detector.run(coarse, 0, 0.0)
                per["coarse pass"].append(time.perf_counter() - clock)
                clock = time.perf_counter()
                rectangles, _, _ = detector.run(scan, 0, 0.0)
                per["full scan"].append(time.perf_counter() - clock)
                if not rectangles:
                    continue
                clock = time.perf_counter()
                rectangle = rectangles[0]
                rectangle = dlib.rectangle(
                    round(rectangle.left() / factor), round(rectangle.top() / factor),
                    round(rectangle.right() / factor), round(rectangle.bottom() / factor),
                )
                shape = predictor(image, rectangle)
                chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
                per["landmarks+chip"].append(time.perf_counter() - clock)
                clock = time.perf_counter()
                engine.compute_descriptors([chip])
                per["descriptor"].append(time.perf_counter() - clock)
            for key, values in per.items():
                if values:
                    stages[key].append(statistics.median(values) * 1000)
            settled = []
            original = engine_module._coarse_answer_is_decisive

            def recording(found, factor, settled=settled, original=original):
                settled.append(original(found, factor))
                return settled[-1]

            engine_module._coarse_answer_is_decisive = recording
            try:
                engine.detect(image, max_faces=1, coarse_to_fine=True)
            finally:
                engine_module._coarse_answer_is_decisive = original
            coarse_settled += bool(settled and settled[0])
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)
    print(
        f"stages of one image, one core, median ms over {len(names)} photos: "
        + ", ".join(f"{key} {statistics.median(values):.1f}" for key, values in stages.items())
    )
    print(f"coarse pass settled {coarse_settled} of {len(names)} photos (the rest: full scan too)")


def gil_probe(image: np.ndarray) -> None:
    """How much a pure-Python thread keeps running while dlib works in another.

    A share near 100 % (of the same thread's rate beside a sleep) means dlib released
    the GIL; near 0 % means it held it, so threads cannot overlap that step.
    """
    engine = get_face_engine()
    models_dir = face_models_dir()
    detector = dlib.get_frontal_face_detector()
    encoder = dlib.face_recognition_model_v1(
        str(models_dir / "dlib_face_recognition_resnet_model_v1.dat")
    )
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    face = engine.detect(image, descriptors=False)[0]
    chip = dlib.get_face_chip(
        image,
        dlib.full_object_detection(
            dlib.rectangle(face.box.x, face.box.y, face.box.right - 1, face.box.bottom - 1),
            [dlib.point(point.x, point.y) for point in face.landmarks],
        ),
        size=150,
        padding=0.25,
    )

    def spins_per_second(work) -> float:
        counter, stop = [0], threading.Event()

        def spin() -> None:
            while not stop.is_set():
                counter[0] += 1

        thread = threading.Thread(target=spin)
        thread.start()
        time.sleep(0.05)
        before, started = counter[0], time.perf_counter()
        work()
        rate = (counter[0] - before) / (time.perf_counter() - started)
        stop.set()
        thread.join()
        return rate

    idle = spins_per_second(lambda: time.sleep(0.3))
    hog = spins_per_second(lambda: detector(grey, 1))
    resnet = spins_per_second(lambda: [encoder.compute_face_descriptor(chip) for _ in range(4)])
    onnx = spins_per_second(lambda: [engine.compute_descriptors([chip]) for _ in range(20)])
    print(
        f"GIL: a Python thread keeps {hog / idle:.0%} of its speed during HOG detection,"
        f" {resnet / idle:.0%} during dlib's ResNet descriptor and {onnx / idle:.0%} during"
        " the ONNX Runtime one"
    )


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
    parser.add_argument(
        "--no-stages", action="store_true", help="skip the descriptor and per-stage timings"
    )
    arguments = parser.parse_args()
    if not FIXTURES.is_dir():
        sys.exit(f"{FIXTURES} is absent: the repository lost its fixture photos")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, dlib {dlib.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if not arguments.no_compare:
        bench_compare(arguments.repeats)
    if not arguments.no_stages:
        bench_descriptor(arguments.repeats)
        bench_stages({name: load(name) for name in set(itertools.chain(*PAIRS))}, arguments.repeats)
    if arguments.distances:
        print()
        bench_distances()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
