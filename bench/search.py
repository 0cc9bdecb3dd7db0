"""1:N search latency of DescriptorIndex on one core, at 10k, 100k and 1M faces.

    .venv/bin/python bench/search.py [--sizes 10000 100000 1000000] [--queries 300]

Synthetic descriptors at the scale of real ones (dlib descriptors of the fixture photos
have norms 1.31–1.53; these are random directions of norm 1.4). Half of the queries
are a perturbed enrolled face, so results exist to be filtered and sorted, half are
strangers. Single query, top 5, threshold 0.6, as ``POST /api/faces/search`` does.
BLAS is held to one thread so the figure is per core; a server answering several
searches at once gets one such core per request.
"""

import os

# Before numpy is imported, or the BLAS thread pool is already sized.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faces.index import DescriptorIndex, descriptor_to_bytes  # noqa: E402

DESCRIPTOR_NORM = 1.4
CHUNK = 100_000


def synthetic_descriptors(count: int, rng: np.random.Generator) -> np.ndarray:
    matrix = np.empty((count, 128), dtype=np.float32)
    for start in range(0, count, CHUNK):
        block = rng.standard_normal((min(CHUNK, count - start), 128), dtype=np.float32)
        block *= DESCRIPTOR_NORM / np.linalg.norm(block, axis=1, keepdims=True)
        matrix[start : start + len(block)] = block
    return matrix


def queries_for(matrix: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    known = matrix[rng.integers(0, len(matrix), count // 2)]
    known = known + rng.normal(scale=0.03, size=known.shape).astype(np.float32)
    strangers = synthetic_descriptors(count - len(known), rng)
    queries = np.concatenate([known, strangers])
    return queries[rng.permutation(len(queries))]


def bench_size(size: int, query_count: int, rng: np.random.Generator) -> None:
    matrix = synthetic_descriptors(size, rng)
    blobs = [descriptor_to_bytes(row) for row in matrix[: min(size, 100_000)]]
    started = time.perf_counter()
    DescriptorIndex.from_rows(range(len(blobs)), blobs)
    build_per_100k = (time.perf_counter() - started) * 100_000 / len(blobs)
    del blobs
    index = DescriptorIndex(np.arange(size), matrix)
    queries = queries_for(matrix, query_count, rng)
    for query in queries[:5]:
        index.search(query, limit=5, threshold=0.6)
    latencies, matched = [], 0
    for query in queries:
        started = time.perf_counter()
        matches = index.search(query, limit=5, threshold=0.6)
        latencies.append(time.perf_counter() - started)
        matched += bool(matches)
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    print(
        f"{size:>9,d} faces  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  "
        f"({query_count} queries, {matched} with a match; matrix {matrix.nbytes / 2**20:,.0f} MiB;"
        f" from_rows {build_per_100k * 1000:.0f} ms per 100k blobs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    arguments = parser.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores (BLAS on 1 thread), "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rng = np.random.default_rng(20240601)
    for size in arguments.sizes:
        bench_size(size, arguments.queries, rng)


if __name__ == "__main__":
    main()
