"""Steady-concurrency load on face compare and 1:N search, loopback only, bounded.

    .venv/bin/python bench/load.py                       # gunicorn it starts, 60 s, 4 clients
    .venv/bin/python bench/load.py --duration 60 --concurrency 4 --workers 2 --threads 2 \
        --database postgres --cache redis
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --key ve_live_…   # a running one

Without --url it starts gunicorn (tools/liveserver.py: its own database, migrated, and an
enterprise key whose rate limits are lifted so the figure is the server's, not the plan's),
enrols the fixture gallery (tests/fixtures/faces/gallery) into one collection, then runs
`--concurrency` client threads, each sending compare (obama.jpg vs obama2.jpg) and search
(probes/obama1.jpg) alternately (`--ops` picks others), for `--duration` seconds (at most
600 s and 200 000 requests). It prints, per operation and overall: requests, status counts,
p50/p99 latency, throughput, and the zero-5xx check (exit status 1 when any 5xx or
transport error was seen).

`--baseline` measures the face engine as it was before ONNX (VISIONERA_DESCRIPTOR_BACKEND
=dlib: dlib's ResNet, no coarse-to-fine) in the same run, before and after ours, with the
same server settings, and prints throughput ratios:

    .venv/bin/python bench/load.py --baseline --ops compare --duration 60 --workers 2 \
        --threads 1 --concurrency 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tools.liveserver import LiveServer, flush_redis_db  # noqa: E402

FACES = PROJECT_ROOT / "tests" / "fixtures" / "faces"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DURATION = 600
MAX_REQUESTS = 200_000
REDIS_DB = 12
UNLIMITED = {
    group: {"per_minute": 10_000_000, "per_second": 1_000_000}
    for group in ("compare", "search", "batch", "analyze", "video", "video_status")
}


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[tuple[str, float, int, float]] = []  # op, started, status, seconds
        self.transport_errors: Counter = Counter()

    def add(self, op: str, started: float, status: int, seconds: float) -> None:
        with self.lock:
            self.rows.append((op, started, status, seconds))

    def __len__(self) -> int:
        return len(self.rows)


def _files():
    compare = {
        "source": ("obama.jpg", (FACES / "obama.jpg").read_bytes(), "image/jpeg"),
        "target": ("obama2.jpg", (FACES / "obama2.jpg").read_bytes(), "image/jpeg"),
    }
    probe = ("obama1.jpg", (FACES / "probes" / "obama1.jpg").read_bytes(), "image/jpeg")
    return compare, probe


def enrol_gallery(url: str, key: str) -> str:
    headers = {"X-API-Key": key}
    name = f"load-{int(time.time())}"
    response = requests.post(
        f"{url}/api/faces/collections", json={"name": name}, headers=headers, timeout=60
    )
    response.raise_for_status()
    collection = response.json()["id"]
    for person in sorted((FACES / "gallery").iterdir()):
        for photo in sorted(person.iterdir()):
            enrolled = requests.post(
                f"{url}/api/faces/collections/{collection}/faces",
                files={"image": (photo.name, photo.read_bytes(), "image/jpeg")},
                data={"label": person.name},
                headers=headers,
                timeout=120,
            )
            if enrolled.status_code != 201:
                print(f"  (not enrolled: {photo.name}: {enrolled.status_code})")
    return collection


def run_load(
    url: str, key: str, collection: str, *, duration: float, concurrency: int,
    recorder: Recorder | None = None, stop: threading.Event | None = None,
    ops: tuple[str, ...] = ("compare", "search"), timeout: float = 60.0,
) -> Recorder:
    """Client threads hammer the server until `duration` passes (or `stop` is set)."""
    recorder = recorder or Recorder()
    stop = stop or threading.Event()
    compare_files, probe = _files()
    deadline = time.monotonic() + min(duration, MAX_DURATION)

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["X-API-Key"] = key
        turn = index
        while not stop.is_set() and time.monotonic() < deadline and len(recorder) < MAX_REQUESTS:
            op = ops[turn % len(ops)]
            turn += 1
            started = time.time()
            clock = time.perf_counter()
            try:
                if op == "compare":
                    response = session.post(
                        f"{url}/api/faces/compare", files=compare_files, timeout=timeout
                    )
                elif op == "search":
                    response = session.post(
                        f"{url}/api/faces/search", files={"image": probe},
                        data={"collection": collection}, timeout=timeout,
                    )
                else:  # "list": a request with no vision work (database + cache only)
                    response = session.get(f"{url}/api/faces/collections", timeout=timeout)
                status = response.status_code
            except requests.RequestException as error:
                status = 0  # transport error: refused, reset or timed out
                with recorder.lock:
                    recorder.transport_errors[f"{type(error).__name__}: {error}"[:160]] += 1
            recorder.add(op, started, status, time.perf_counter() - clock)
            if status == 0:
                time.sleep(0.2)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorder


def summarise(rows, wall_seconds: float) -> dict:
    by_op: dict[str, list] = defaultdict(list)
    for row in rows:
        by_op[row[0]].append(row)
    by_op["all"] = list(rows)
    summary = {}
    for op, op_rows in by_op.items():
        latencies = [seconds * 1000 for _, _, status, seconds in op_rows if 200 <= status < 300]
        statuses = Counter(status for _, _, status, _ in op_rows)
        summary[op] = {
            "requests": len(op_rows),
            "statuses": dict(sorted(statuses.items())),
            "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "transport_errors": statuses.get(0, 0),
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
            "throughput_rps": round(len(op_rows) / wall_seconds, 2),
        }
    return summary


def print_summary(summary: dict, *, wall: float, label: str) -> None:
    print(f"\n{label}: {wall:.1f} s")
    print(f"{'op':<8} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for op in sorted(summary, key=lambda name: (name == "all", name)):
        row = summary[op]
        print(
            f"{op:<8} {row['requests']:>8} {row['throughput_rps']:>7} {row['p50_ms']:>8} "
            f"{row['p99_ms']:>8}  {row['statuses']}"
        )
    bad = summary["all"]["server_errors"] + summary["all"]["transport_errors"]
    print(f"zero-5xx check: {'PASS' if bad == 0 else 'FAIL'} "
          f"({summary['all']['server_errors']} 5xx, {summary['all']['transport_errors']} "
          "transport errors)")


BASELINE_ENV = {"VISIONERA_DESCRIPTOR_BACKEND": "dlib"}
"""The face engine as it was before issue 13 (dlib's ResNet, no coarse pass): baseline only."""


def serve_and_measure(args, duration: float, ops: tuple[str, ...], extra_env: dict | None,
                      label: str) -> tuple[dict, float, bool]:
    """Start a server (or use --url), warm it, run the load; (summary, wall, log clean)."""
    server = None
    if args.url:
        url, key = args.url.rstrip("/"), args.key
    else:
        cache_url = "locmemcache://"
        if args.cache == "redis":
            flush_redis_db(REDIS_DB)
            cache_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
        server = LiveServer(
            cache_url=cache_url, database=args.database, workers=args.workers,
            threads=args.threads, extra_env=extra_env,
        )
        server.__enter__()
        server.set_rate_limits("enterprise", UNLIMITED)
        url, key = server.url, server.create_api_key("enterprise")
    try:
        collection = args.collection or enrol_gallery(url, key)
        # One request of each kind first, so every worker's model loading is not the figure.
        run_load(url, key, collection, duration=min(10.0, duration),
                 concurrency=max(args.workers * args.threads, 2), ops=ops)
        started = time.monotonic()
        recorder = run_load(url, key, collection, duration=duration,
                            concurrency=args.concurrency, ops=ops)
        wall = time.monotonic() - started
        summary = summarise(recorder.rows, wall)
        print_summary(summary, wall=wall, label=label)
        clean = True
        if server is not None and "Traceback" in server.log():
            print("server log has tracebacks:\n" + server.log()[-3000:])
            clean = False
        return summary, wall, clean
    finally:
        if server is not None:
            server.__exit__(None, None, None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (loopback only); default: start one")
    parser.add_argument("--key", help="API key for --url (its plan's limits apply)")
    parser.add_argument("--collection", help="collection id for search with --url")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--cache", choices=("locmem", "redis"), default="locmem")
    parser.add_argument("--ops", default="compare,search",
                        help="comma list of compare, search, list (default compare,search)")
    parser.add_argument("--baseline", action="store_true",
                        help="also measure the pre-ONNX face engine (VISIONERA_DESCRIPTOR_BACKEND"
                             "=dlib) in the same run, before and after ours, and print ratios")
    parser.add_argument("--json", help="also write the summary here")
    args = parser.parse_args(argv)
    if not (FACES / "obama.jpg").exists():
        print(f"needs the fixture photos in {FACES}", file=sys.stderr)
        return 2
    duration = min(args.duration, MAX_DURATION)
    ops = tuple(op.strip() for op in args.ops.split(",") if op.strip())
    if args.url:
        if urlparse(args.url).hostname not in LOOPBACK:
            print("refusing: --url must be a loopback address", file=sys.stderr)
            return 2
        if not args.key:
            print("--url needs --key", file=sys.stderr)
            return 2
        if args.baseline:
            print("--baseline starts its own servers; it cannot be used with --url",
                  file=sys.stderr)
            return 2
        served_by = "an existing server (workers/threads: see its command line)"
    else:
        served_by = (
            f"gunicorn --workers {args.workers} --threads {args.threads} "
            f"(database {args.database}, cache {args.cache})"
        )
    print(f"load: {args.concurrency} clients, {duration:.0f} s, {' + '.join(ops)}, "
          f"served by {served_by}")
    results = {}
    clean = True
    # Baseline before and after ours, so a change in background load shows as a gap
    # between the two baseline runs instead of skewing the ratio unseen.
    plan = [("baseline", BASELINE_ENV), ("ours", None), ("baseline again", BASELINE_ENV)]
    for label, extra_env in plan if args.baseline else [("measured", None)]:
        summary, wall, log_clean = serve_and_measure(args, duration, ops, extra_env, label)
        results[label] = {"summary": summary, "wall_s": wall}
        clean = clean and log_clean
    if args.baseline:
        print("\nthroughput, ours / pre-ONNX engine (same run, same settings):")
        for op in (*ops, "all"):
            ours = results["ours"]["summary"][op]["throughput_rps"]
            bases = [results[name]["summary"][op]["throughput_rps"]
                     for name in ("baseline", "baseline again")]
            base = statistics.fmean(bases)
            print(f"  {op:<8} {ours:6.2f} req/s vs {bases[0]:.2f} / {bases[1]:.2f} req/s:"
                  f" {ours / base:.2f}x;  p50 {results['ours']['summary'][op]['p50_ms']} ms vs"
                  f" {results['baseline']['summary'][op]['p50_ms']} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"served_by": served_by, "concurrency": args.concurrency, "ops": ops,
             "results": results}, indent=2))
    bad = sum(
        result["summary"]["all"]["server_errors"] + result["summary"]["all"]["transport_errors"]
        for result in results.values()
    )
    return 1 if bad or not clean else 0


if __name__ == "__main__":
    sys.exit(main())
