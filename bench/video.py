"""Video analysis speed: seconds of video analysed per second of wall time, per feature.

    .venv/bin/python bench/video.py [--sample-fps 2] [--repeats 3] [--all-cores] [--baseline]

Runs videos.pipeline.analyze (the worker's code path, minus database writes) on the
fixture clip tests/fixtures/video/short_hamilton_clip.mp4 (640×360, 29.97 fps, 9.2 s)
for faces, vehicles, bodies and all three. Models are loaded by a warm-up run first (a
worker loads them once per process), then each figure is the median of the repeats.
By default the process is pinned to one core (os.sched_setaffinity) and OpenCV to one
thread, which is the budget of one `rundramatiq --threads 1` worker per core. The CPU
time the pinned process used is printed too: on a shared machine it is what a core of
its own would need (video s / CPU s is the real-time factor on a dedicated core).

`--baseline` runs the faces runs on the pre-ONNX face engine as well (dlib's ResNet), the
two alternating in the same process.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

CLIP = PROJECT_ROOT / "tests" / "fixtures" / "video" / "short_hamilton_clip.mp4"
RUNS = {
    "faces": ["faces"],
    "vehicles": ["vehicles"],
    "bodies": ["bodies"],
    "all": ["faces", "vehicles", "bodies"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-fps", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    parser.add_argument("--only", choices=sorted(RUNS), action="append")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="runs with faces also run on the pre-ONNX face engine (dlib's ResNet), alternating",
    )
    args = parser.parse_args()
    if not CLIP.exists():
        print(f"skipped: {CLIP} is absent (the repository lost it)")
        return 0

    import cv2

    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        cv2.setNumThreads(1)
    from videos import pipeline

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = pipeline.probe(CLIP)
    print(f"clip: {CLIP.name}, {info.duration_seconds:.2f} s, {info.width}×{info.height},"
          f" {info.fps:.2f} fps; sample_fps {args.sample_fps}; {cores} core(s);"
          f" {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'features':<10} {'frames':>6} {'wall s':>8} {'video s / wall s':>17}"
          f" {'ms / frame':>11}")
    import faces.engine as face_engine

    engines = {"": face_engine.get_face_engine()}
    if args.baseline:
        # The pipeline asks faces.engine.get_face_engine() for its engine: swap it per run.
        engines = {" (before)": face_engine.FaceEngine(backend="dlib"), **engines}
    for name in args.only or RUNS:
        features = RUNS[name]
        variants = engines if "faces" in features else {"": engines[""]}
        walls: dict[str, list[float]] = {label: [] for label in variants}
        cpus: dict[str, list[float]] = {label: [] for label in variants}
        frames = 0
        for engine in variants.values():
            face_engine._engine = engine
            pipeline.analyze(CLIP, features=features, sample_fps=args.sample_fps)  # warm-up
        for _ in range(args.repeats):
            for label, engine in variants.items():
                face_engine._engine = engine
                started, cpu = time.perf_counter(), time.process_time()
                result = pipeline.analyze(CLIP, features=features, sample_fps=args.sample_fps)
                walls[label].append(time.perf_counter() - started)
                cpus[label].append(time.process_time() - cpu)
                frames = result.summary["frames_analysed"]
        face_engine._engine = engines[""]
        for label, runs in walls.items():
            wall = statistics.median(runs)
            factor = pipeline.realtime_factor(info.duration_seconds, wall)
            cpu = statistics.median(cpus[label])
            print(f"{name + label:<10} {frames:>6} {wall:>8.2f} {factor:>16.2f}×"
                  f" {1000 * wall / frames:>11.0f}   (CPU {cpu:.2f} s: video s / CPU s"
                  f" {info.duration_seconds / cpu:.2f}×, {1000 * cpu / frames:.0f} ms a frame)")
        if len(walls) > 1:
            before, ours = (statistics.median(runs) for runs in walls.values())
            print(f"{name}: {before / ours:.2f}x faster than the pre-ONNX engine (same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
