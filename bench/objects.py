"""People finding: our body engine against OpenCV's HOG people detector, same run.

    .venv/bin/python bench/objects.py [--repeats 5]

The baseline is what OpenCV offers without downloading weights:
``HOGDescriptor`` with ``HOGDescriptor_getDefaultPeopleDetector()`` and
``detectMultiScale`` at its defaults (scale 1.05, hit threshold 0, grouping 2), on the
full-resolution image. Ours is ``bodies.engine.analyze_bodies`` (NanoDet people +
MoveNet keypoints for each), and for reference the detection pass alone and
``vehicles.engine.detect_vehicles`` with and without plate reading. Everything runs on
one core (OpenCV and ONNX Runtime held to one thread), from the same decoded RGB arrays;
baseline and ours alternate within each repeat so background load hits both alike.
Figures are medians over the repeats.

Images: tests/fixtures/objects/*.jpg (darknet's sample photos), or skimage's packaged
astronaut and motorcycle photos where the fixtures are absent.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("VISIONERA_ONNX_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from bodies.engine import analyze_bodies  # noqa: E402
from vehicles.engine import detect_vehicles  # noqa: E402
from visionera.detection import detect_objects  # noqa: E402

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "objects"
# People a person counts in each fixture photo (kite.jpg: two walking in front, four on
# the beach, three in the shallows and one kite-surfer; the specks far out not counted).
PEOPLE_IN_PHOTO = {"dog.jpg": 0, "horses.jpg": 0, "kite.jpg": 10, "person.jpg": 1}


def load_images() -> dict[str, np.ndarray]:
    if FIXTURES.is_dir():
        return {
            path.name: cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            for path in sorted(FIXTURES.glob("*.jpg"))
        }
    import skimage.data

    print(f"{FIXTURES} is absent: using skimage's packaged photos instead")
    return {
        "astronaut": skimage.data.astronaut(),
        "stereo_motorcycle": skimage.data.stereo_motorcycle()[0],
    }


def hog_people(hog: cv2.HOGDescriptor, rgb: np.ndarray) -> int:
    boxes, _ = hog.detectMultiScale(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    return len(boxes)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    cv2.setNumThreads(1)
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    images = load_images()

    # Warm-up: model loading, hash checks and first-run allocations are not per-image cost.
    for rgb in images.values():
        analyze_bodies(rgb)
        detect_vehicles(rgb, plates=True)
        hog_people(hog, rgb)

    columns = ("hog", "ours", "detect", "vehicles", "plates")
    times: dict[str, dict[str, list[float]]] = {name: {c: [] for c in columns} for name in images}
    people: dict[str, dict[str, int]] = {name: {} for name in images}
    for _ in range(args.repeats):
        for name, rgb in images.items():
            elapsed, found = timed(hog_people, hog, rgb)
            times[name]["hog"].append(elapsed)
            people[name]["hog"] = found
            elapsed, found = timed(analyze_bodies, rgb)
            times[name]["ours"].append(elapsed)
            people[name]["ours"] = len(found)
            elapsed, _ = timed(detect_objects, rgb, labels=("person",))
            times[name]["detect"].append(elapsed)
            elapsed, _ = timed(detect_vehicles, rgb)
            times[name]["vehicles"].append(elapsed)
            elapsed, _ = timed(detect_vehicles, rgb, plates=True)
            times[name]["plates"].append(elapsed)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{platform.machine()} {platform.python_version()}, {os.cpu_count()} cores, "
        f"load {load:.2f}, one thread each, median of {args.repeats} repeats"
    )
    header = (
        f"{'image':<18} {'size':>9} {'people':>6} | {'HOG ms':>7} {'found':>5} | "
        f"{'ours ms':>7} {'found':>5} | {'detect':>6} {'vehicles':>8} {'+plates':>7}"
    )
    print(header)
    print("-" * len(header))
    medians = {c: [] for c in columns}
    for name, rgb in images.items():
        row = {c: statistics.median(times[name][c]) * 1000 for c in columns}
        for column, value in row.items():
            medians[column].append(value)
        expected = PEOPLE_IN_PHOTO.get(name, "?")
        size = f"{rgb.shape[1]}x{rgb.shape[0]}"
        print(
            f"{name:<18} {size:>9} {expected:>6} | {row['hog']:>7.1f} {people[name]['hog']:>5} | "
            f"{row['ours']:>7.1f} {people[name]['ours']:>5} | {row['detect']:>6.1f} "
            f"{row['vehicles']:>8.1f} {row['plates']:>7.1f}"
        )
    hog_median = statistics.median(medians["hog"])
    ours_median = statistics.median(medians["ours"])
    print(
        f"median per image: HOG {hog_median:.1f} ms, ours {ours_median:.1f} ms "
        f"(people + keypoints) -> ours is {hog_median / ours_median:.2f}x the HOG speed; "
        f"people found: HOG {sum(p['hog'] for p in people.values())}, "
        f"ours {sum(p['ours'] for p in people.values())}, "
        f"in the photos {sum(v for v in PEOPLE_IN_PHOTO.values()) if FIXTURES.is_dir() else '?'}"
    )


if __name__ == "__main__":
    main()
