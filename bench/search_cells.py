"""Coarse cells over HNSW: the big collection split into k-means cells, each cell with its
own HNSW graph, and each query walking only the graphs of its nearest cells.

    .venv/bin/python bench/search_cells.py --server postgres://postgres@127.0.0.1:54331 \\
        --size 1000000 --generator calibrated --faces ~/faces --cells 16 --build \\
        [--probes 1 2 3 4] [--ef-search 40 70 100]

A single graph over 1M faces needs a long walk (ef_search 350 for recall@1 0.99 with
m 48) because a query's nearest face hides in a crowd of near-equidistant ones. A walk
inside a cell of 1/C of the faces is the walk of a C-times smaller gallery (70 at 100k).
If the nearest face nearly always lies in one of the query's few nearest cells, a few
short walks cost less than one long one. Whether it does is a property of the data: the
script first prints, for each probe count, the share of queries whose exact nearest face
lies in the probed cells (numpy, no database), which bounds the recall any walk can reach.

It draws the rows and queries of bench/search.py (same seed, ``bench_data``), fits
k-means (``--cells`` centroids on a 100,000-row sample), and with ``--build`` loads each
cell into its own table ``bench_cell_<n>`` of a database of its own and builds the
model's HNSW graph on every cell, all at once. Then every query is asked, on one
connection, of its ``--probes`` nearest cells in one statement (a UNION ALL of one index
scan per cell); the candidates are re-ranked exactly with faces.index.DescriptorIndex, as
faces.vector_store does. The baseline of the same run is the exact in-process search over
all rows. Reported: p50/p90 wall time per query, CPU per query (this process + the
PostgreSQL backend), recall@1 against exact. SQL-level: no Django request around it.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import (  # noqa: E402
    TIE_DISTANCE,
    _cpu_seconds,
    add_bench_database_arguments,
    bench_data,
    build_graphs_at_once,
    copy_binary,
)

CANDIDATES_PER_CELL = 10  # recall@1 and the API's default limit of 5 need no more
SAMPLE = 100_000
KMEANS_ITERATIONS = 20
KMEANS_SEED = 7


def fit_cells(matrix: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on a sample; returns (centroids, every row's cell)."""
    rng = np.random.default_rng(KMEANS_SEED)
    sample = matrix[rng.choice(len(matrix), min(SAMPLE, len(matrix)), replace=False)]
    centroids = sample[rng.choice(len(sample), cells, replace=False)].copy()
    for _ in range(KMEANS_ITERATIONS):
        nearest = nearest_cells(sample, centroids)
        for cell in range(cells):
            members = sample[nearest == cell]
            if len(members):
                centroids[cell] = members.mean(0)
    return centroids, nearest_cells(matrix, centroids)


def nearest_cells(rows: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    cells = np.empty(len(rows), np.int32)
    squared = (centroids.astype(np.float64) ** 2).sum(1)
    for start in range(0, len(rows), SAMPLE):
        block = rows[start : start + SAMPLE]
        cells[start : start + len(block)] = (squared - 2 * block @ centroids.T).argmin(1)
    return cells


def probe_order(query: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.argsort(((centroids - query) ** 2).sum(1))


def load_cells(url: str, matrix: np.ndarray, assignment: np.ndarray, cells: int,
               maintenance_work_mem: str) -> None:
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        for cell in range(cells):
            table = f"bench_cell_{cell}"
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} (row_number integer, embedding vector(128))")
            rows = np.nonzero(assignment == cell)[0]
            record = np.dtype([("fields", ">i2"), ("row_len", ">i4"), ("row", ">i4"),
                               ("embedding_len", ">i4"), ("dim", ">i2"), ("unused", ">i2"),
                               ("embedding", ">f4", (128,))])
            records = np.zeros(len(rows), dtype=record)
            records["fields"], records["row_len"], records["row"] = 2, 4, rows
            records["embedding_len"], records["dim"] = 4 + 512, 128
            records["embedding"] = matrix[rows]
            copy_binary(cursor, f"{table} (row_number, embedding)", records)
    build_graphs_at_once(url, [f"bench_cell_{cell}" for cell in range(cells)],
                         maintenance_work_mem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_bench_database_arguments(parser)
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--probes", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 70, 100])
    parser.add_argument("--build", action="store_true",
                        help="(re)create the cell tables and their graphs first")
    parser.add_argument("--coverage-only", action="store_true",
                        help="print the cells' coverage of the exact answers and stop")
    parser.add_argument("--maintenance-work-mem", default="512MB", help="per cell's build")
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionera.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from faces.index import DescriptorIndex

    data = bench_data(arguments.size, arguments.queries, arguments.generator, arguments.faces)
    exact = DescriptorIndex(np.arange(len(data.matrix)), data.matrix)
    exact_ms, truth, truth_rows = [], [], []
    for query in data.queries:
        started = time.perf_counter()
        best = exact.search(query, 1, 99.0)[0].distance
        exact_ms.append((time.perf_counter() - started) * 1000)
        truth.append(best)
    truth = np.array(truth)
    squared = (data.matrix.astype(np.float64) ** 2).sum(1)
    for query, best in zip(data.queries, truth, strict=True):
        distances = np.sqrt(np.maximum(squared - 2 * (data.matrix @ query)
                                       + float(query @ query), 0))
        truth_rows.append(np.nonzero(distances <= best + 1e-4)[0])
    exact_p50 = float(np.percentile(exact_ms, 50))
    print(f"{len(data.queries)} queries, {len(data.matrix):,d} rows; exact in-process"
          f" search p50 {exact_p50:.2f} ms (load average {os.getloadavg()[0]:.1f})", flush=True)

    started = time.perf_counter()
    centroids, assignment = fit_cells(data.matrix, arguments.cells)
    sizes = np.bincount(assignment, minlength=arguments.cells)
    print(f"k-means: {arguments.cells} cells of {sizes.min():,d}–{sizes.max():,d} faces"
          f" ({time.perf_counter() - started:.0f} s)", flush=True)
    ranks = np.array([
        min(int(np.nonzero(probe_order(query, centroids) == cell)[0][0])
            for cell in set(assignment[rows]))
        for query, rows in zip(data.queries, truth_rows, strict=True)])
    for probes in sorted(set(arguments.probes) | {1, 2, 4, 8}):
        if probes <= arguments.cells:
            by_kind = ", ".join(f"{kind} {np.mean(ranks[data.kinds == kind] < probes):.3f}"
                                for kind in np.unique(data.kinds))
            print(f"  nearest face in the {probes} nearest cells: {np.mean(ranks < probes):.3f}"
                  f" ({by_kind})", flush=True)
    if arguments.coverage_only:
        return

    import psycopg2

    database = f"visionera_bench_cells_{arguments.generator}_{arguments.size}_{arguments.cells}"
    url = f"{arguments.server}/{database}"
    if arguments.build:
        subprocess.run(["dropdb", "--if-exists", "-f", f"--maintenance-db={arguments.server}/postgres",
                        database], check=True)
        subprocess.run(["createdb", f"--maintenance-db={arguments.server}/postgres", database],
                       check=True)
        load_cells(url, data.matrix, assignment, arguments.cells,
                   arguments.maintenance_work_mem)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SET hnsw.iterative_scan = off; SELECT pg_backend_pid()")
        backend = Path(f"/proc/{cursor.fetchone()[0]}/stat")

    def ask(query: np.ndarray, probes: int) -> float:
        literal = "[" + ",".join(repr(float(value)) for value in query) + "]"
        cells = probe_order(query, centroids)[:probes]
        statement = " UNION ALL ".join(
            f"(SELECT row_number FROM bench_cell_{cell} ORDER BY embedding <-> %s::vector"  # noqa: S608
            f" LIMIT {CANDIDATES_PER_CELL})" for cell in cells)
        with conn.cursor() as cursor:
            cursor.execute(statement, [literal] * probes)
            rows = [row for (row,) in cursor.fetchall()]
        return DescriptorIndex(np.array(rows), data.matrix[rows]).search(query, 1, 99.0)[0].distance

    for breadth in arguments.ef_search:
        with conn.cursor() as cursor:
            cursor.execute(f"SET hnsw.ef_search = {breadth}")
        for probes in arguments.probes:
            for query in data.queries[:5]:
                ask(query, probes)
            cpu = time.process_time(), _cpu_seconds(backend)
            found, milliseconds = [], []
            for query in data.queries:
                started = time.perf_counter()
                found.append(ask(query, probes))
                milliseconds.append((time.perf_counter() - started) * 1000)
            cpu_ms = ((time.process_time() - cpu[0]) + _cpu_seconds(backend) - cpu[1]) \
                * 1000 / len(data.queries)
            hit = np.abs(np.array(found) - truth) <= TIE_DISTANCE
            p50 = np.percentile(milliseconds, 50)
            print(f"  {probes} cells, ef_search {breadth:4d}: p50 {p50:6.2f} ms"
                  f" ({p50 / exact_p50:.2f}× exact)  p90 {np.percentile(milliseconds, 90):6.2f} ms"
                  f"  CPU {cpu_ms:6.2f} ms a query  recall@1 {hit.mean():.3f}"
                  f"  (load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
