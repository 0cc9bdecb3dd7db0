"""People and vehicles: tiled vs untiled, one shared detector pass vs two, against HOG.

    .venv/bin/python bench/objects.py [--repeats 3]

Same run, same decoded RGB arrays, one thread each (OpenCV and ONNX Runtime), each
variant alternating with the others inside every repeat so background load hits all
alike; figures are medians over the repeats. Per image it reports:

- people found by OpenCV's HOG people detector (``HOGDescriptor`` with
  ``getDefaultPeopleDetector()``, ``detectMultiScale`` at its defaults, full resolution:
  what OpenCV offers without downloading weights) and by our detector untiled and tiled
  (``vision.detection.detect_objects(tiling="off"|"on")``), with their times;
- small people (under 40 px tall) found untiled and tiled;
- vehicles + bodies on one image as two engine calls (each runs the detector) against
  one shared ``detect_objects`` pass handed to both (``detections=``), untiled, as the
  video pipeline does per frame;
- pose cost per person: ``analyze_bodies`` given the detections (so MoveNet, the
  ownership checks and their retries only), divided by the people it returned.

Images: tests/fixtures/objects/ (darknet's samples and plate_car.png) and
tests/fixtures/crowd/ (OpenCV's samples), read through tests/helpers.py.
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
from tests.helpers import FIXTURES_DIR, fixture_rgb  # noqa: E402
from vehicles.engine import VEHICLE_TYPES, detect_vehicles  # noqa: E402
from vision.detection import detect_objects, should_tile, tile_grid  # noqa: E402

IMAGES = [
    "objects/dog.jpg",
    "objects/horses.jpg",
    "objects/kite.jpg",
    "objects/person.jpg",
    "objects/plate_car.png",
    "crowd/basketball1.png",
    "crowd/messi5.jpg",
    "crowd/vtest_060.jpg",
    "crowd/vtest_195.jpg",
]
# People a person counts in each photo. kite.jpg: two walking in front, five on the beach
# (a father with a child, a man with a child, a girl), three in the water and a kite-surfer;
# the specks far out not counted. vtest frames: pedestrians with a visible body.
PEOPLE_IN_PHOTO = {
    "objects/dog.jpg": 0,
    "objects/horses.jpg": 0,
    "objects/kite.jpg": 10,
    "objects/person.jpg": 1,
    "objects/plate_car.png": 0,
    "crowd/basketball1.png": 2,
    "crowd/messi5.jpg": 1,
}
SMALL_PERSON_PIXELS = 40
BOTH_LABELS = (*VEHICLE_TYPES, "person")


def hog_people(hog: cv2.HOGDescriptor, rgb: np.ndarray) -> int:
    boxes, _ = hog.detectMultiScale(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    return len(boxes)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def separate_passes(rgb):
    vehicles = detect_vehicles(rgb, tiling="off")
    people = analyze_bodies(rgb, tiling="off")
    return vehicles, people


def shared_pass(rgb):
    objects = detect_objects(rgb, labels=BOTH_LABELS, tiling="off")
    vehicles = detect_vehicles(rgb, tiling="off", detections=objects)
    people = analyze_bodies(rgb, tiling="off", detections=objects)
    return vehicles, people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cv2.setNumThreads(1)
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    images = {name: fixture_rgb(name) for name in IMAGES}

    # Warm-up: model loading, hash checks and first-run allocations are not per-image cost.
    for rgb in images.values():
        shared_pass(rgb)
        detect_objects(rgb, labels=("person",), tiling="on")

    columns = ("hog", "untiled", "tiled", "separate", "shared", "pose")
    times = {name: {c: [] for c in columns} for name in images}
    found: dict[str, dict] = {name: {} for name in images}
    for _ in range(args.repeats):
        for name, rgb in images.items():
            row = found[name]
            elapsed, row["hog"] = timed(hog_people, hog, rgb)
            times[name]["hog"].append(elapsed)
            for mode, column in (("off", "untiled"), ("on", "tiled")):
                elapsed, people = timed(detect_objects, rgb, labels=("person",), tiling=mode)
                times[name][column].append(elapsed)
                row[column] = people
            elapsed, separate = timed(separate_passes, rgb)
            times[name]["separate"].append(elapsed)
            elapsed, shared = timed(shared_pass, rgb)
            times[name]["shared"].append(elapsed)
            row["same_result"] = separate == shared
            people = row["untiled"]
            elapsed, posed = timed(analyze_bodies, rgb, detections=people)
            times[name]["pose"].append(elapsed / max(len(posed), 1))
            row["posed"] = len(posed)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{platform.machine()} {platform.python_version()}, {os.cpu_count()} cores, "
        f"load {load:.2f}, one thread each, median of {args.repeats} repeats, "
        f"images from {FIXTURES_DIR.relative_to(PROJECT_ROOT)}"
    )
    header = (
        f"{'image':<22} {'size':>9} {'tiles':>5} {'ppl':>3} | {'HOG':>3} {'ms':>6} | "
        f"{'untiled':>7} {'ms':>5} | {'tiled':>5} {'ms':>6} | {'small u/t':>9} | "
        f"{'2 pass ms':>9} {'shared':>6} {'ratio':>5} {'same':>4} | {'pose/person ms':>14}"
    )
    print(header)
    print("-" * len(header))
    totals = {"hog": 0, "untiled": 0, "tiled": 0, "small_untiled": 0, "small_tiled": 0}
    medians = {c: [] for c in columns}
    for name, rgb in images.items():
        ms = {c: statistics.median(times[name][c]) * 1000 for c in columns}
        for column, value in ms.items():
            medians[column].append(value)
        row = found[name]
        height, width = rgb.shape[:2]
        tiles = len(tile_grid(width, height)) if should_tile(width, height, "on") else 0
        small = [
            sum(d.box.height < SMALL_PERSON_PIXELS for d in row[mode])
            for mode in ("untiled", "tiled")
        ]
        totals["hog"] += row["hog"]
        totals["untiled"] += len(row["untiled"])
        totals["tiled"] += len(row["tiled"])
        totals["small_untiled"] += small[0]
        totals["small_tiled"] += small[1]
        print(
            f"{name:<22} {f'{width}x{height}':>9} {tiles:>5} "
            f"{PEOPLE_IN_PHOTO.get(name, '?'):>3} | {row['hog']:>3} {ms['hog']:>6.1f} | "
            f"{len(row['untiled']):>7} {ms['untiled']:>5.1f} | "
            f"{len(row['tiled']):>5} {ms['tiled']:>6.1f} | {f'{small[0]}/{small[1]}':>9} | "
            f"{ms['separate']:>9.1f} {ms['shared']:>6.1f} "
            f"{ms['separate'] / ms['shared']:>5.2f} {'yes' if row['same_result'] else 'NO':>4} | "
            f"{ms['pose']:>8.1f} ({row['posed']:>2})"
        )
    median = {c: statistics.median(v) for c, v in medians.items()}
    print(
        f"median per image: HOG {median['hog']:.1f} ms, detector untiled "
        f"{median['untiled']:.1f} ms, tiled {median['tiled']:.1f} ms "
        f"({median['tiled'] / median['untiled']:.2f}x); vehicles+bodies two passes "
        f"{median['separate']:.1f} ms vs shared {median['shared']:.1f} ms "
        f"({median['separate'] / median['shared']:.2f}x); pose {median['pose']:.1f} ms per person"
    )
    print(
        f"people found: HOG {totals['hog']}, untiled {totals['untiled']}, tiled "
        f"{totals['tiled']}; small (<{SMALL_PERSON_PIXELS} px) untiled "
        f"{totals['small_untiled']}, tiled {totals['small_tiled']}"
    )


if __name__ == "__main__":
    main()
