"""Video analysis speed: seconds of video analysed per second of wall time, per feature.

    .venv/bin/python bench/video.py [--sample-fps 2] [--repeats 3] [--all-cores]

Runs videos.pipeline.analyze (the worker's code path, minus database writes) on the
fixture clip tests/fixtures/video/short_hamilton_clip.mp4 (640×360, 29.97 fps, 9.2 s)
for faces, vehicles, bodies and all three. Models are loaded by a warm-up run first (a
worker loads them once per process), then each figure is the median of the repeats.
By default the process is pinned to one core (os.sched_setaffinity) and OpenCV to one
thread, which is the budget of one `rundramatiq --threads 1` worker per core.
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
    for name in args.only or RUNS:
        features = RUNS[name]
        pipeline.analyze(CLIP, features=features, sample_fps=args.sample_fps)  # warm-up
        walls = []
        frames = 0
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = pipeline.analyze(CLIP, features=features, sample_fps=args.sample_fps)
            walls.append(time.perf_counter() - started)
            frames = result.summary["frames_analysed"]
        wall = statistics.median(walls)
        factor = pipeline.realtime_factor(info.duration_seconds, wall)
        print(f"{name:<10} {frames:>6} {wall:>8.2f} {factor:>16.2f}× {1000 * wall / frames:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
