"""Does the order rows are written in, and so where HNSW puts each graph node on disk,
change what a pgvector search costs? The same rows, two tables, same run.

    .venv/bin/python bench/search_layout.py --server postgres://postgres@127.0.0.1:54331 \\
        --size 1000000 --generator calibrated --faces ~/faces --build [--clusters 3000] \\
        [--ef-search 64 100 160 256]

pgvector's HNSW build inserts rows in the table's physical order and writes each graph
node to the index pages in that order. In arrival order (as enrolments come), a node's
neighbours in the graph are scattered over the whole index, and every step of a search
reads another page from shared buffers (a buffer-mapping lookup, a pin, a lock, and a
cache miss on the page): the profile in docs/PERFORMANCE.md puts most of a search there.
Written in an order where faces near each other are near each other on disk, a walk's
last steps, which stay in one neighbourhood, touch fewer pages.

--build creates its own database (bench/search.py's name with ``layout_`` in it) with the
rows bench/search.py loads for that size and data (bench_data: same seed, same rows and
queries) in two tables, each with the model's HNSW index, both built at once, one core
each:
- ``layout_arrival``: the rows in the order they were drawn, i.e. arrival order;
- ``layout_clustered``: the rows sorted by k-means cluster, the clusters chained so that
  each is followed by its nearest unvisited one.
Then every query is asked of both tables, interleaved, at each --ef-search: p50/p90 wall
time, the PostgreSQL backend's CPU per query, recall@1 against the exact engine (the 40
candidates re-ranked exactly), and clustered ÷ arrival. SQL-level: no Django request
around it.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import (  # noqa: E402
    TIE_DISTANCE,
    _cpu_seconds,
    bench_data,
    build_graphs_at_once,
    copy_binary,
    database_name,
)

CANDIDATES = 40
TABLES = ("layout_arrival", "layout_clustered")
KMEANS_SAMPLE = 100_000
KMEANS_ROUNDS = 8


def cluster_order(matrix: np.ndarray, clusters: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of the rows: by k-means cluster, each cluster followed by its nearest
    unvisited neighbour (centroids from a sample; a few Lloyd rounds are enough for a
    layout, which needs neighbourhoods, not optimal clusters)."""
    sample = matrix[rng.choice(len(matrix), min(len(matrix), KMEANS_SAMPLE), replace=False)]
    centroids = sample[rng.choice(len(sample), clusters, replace=False)].astype(np.float32)

    def assign(points: np.ndarray) -> np.ndarray:
        owner = np.empty(len(points), np.int64)
        for start in range(0, len(points), 20_000):
            block = points[start : start + 20_000]
            owner[start : start + len(block)] = np.argmin(
                (centroids ** 2).sum(1)[None] - 2 * block @ centroids.T, axis=1)
        return owner

    for _ in range(KMEANS_ROUNDS):
        owner = assign(sample)
        sums = np.zeros_like(centroids)
        np.add.at(sums, owner, sample)
        counts = np.bincount(owner, minlength=clusters)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
    chain, unvisited = [0], np.ones(clusters, bool)
    unvisited[0] = False
    for _ in range(clusters - 1):
        distance = ((centroids - centroids[chain[-1]]) ** 2).sum(1)
        distance[~unvisited] = np.inf
        chain.append(int(np.argmin(distance)))
        unvisited[chain[-1]] = False
    rank = np.empty(clusters, np.int64)
    rank[chain] = np.arange(clusters)
    return np.argsort(rank[assign(matrix)], kind="stable")


def copy_vectors(cursor, table: str, rows: np.ndarray, matrix: np.ndarray) -> None:
    """COPY (id int, embedding vector) rows in the given order (pgvector's binary vector:
    int16 dimensions, int16 0, then the float4s)."""
    dimensions = matrix.shape[1]
    record = np.dtype([("fields", ">i2"), ("id_length", ">i4"), ("id", ">i4"),
                       ("vector_length", ">i4"), ("dimensions", ">i2"), ("unused", ">i2"),
                       ("vector", ">f4", (dimensions,))])
    for start in range(0, len(rows), 100_000):
        chunk = rows[start : start + 100_000]
        block = np.zeros(len(chunk), record)
        block["fields"], block["id_length"], block["id"] = 2, 4, chunk
        block["vector_length"], block["dimensions"] = 4 + 4 * dimensions, dimensions
        block["vector"] = matrix[chunk]
        copy_binary(cursor, table, block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="postgres://user@host:port")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--generator", choices=["random", "calibrated"], default="calibrated")
    parser.add_argument("--faces", default="")
    parser.add_argument("--build", action="store_true", help="(re)create both tables first")
    parser.add_argument("--clusters", type=int, default=0,
                        help="k-means clusters for the clustered order (default: size ÷ 300)")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[64, 100, 160, 256])
    parser.add_argument("--maintenance-work-mem", default="4GB")
    arguments = parser.parse_args()
    database = database_name(arguments.size, arguments.generator, arguments.faces).replace(
        "visionera_bench_", "visionera_bench_layout_")
    url = f"{arguments.server}/{database}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionera.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import psycopg2

    from faces.index import DescriptorIndex

    data = bench_data(arguments.size, arguments.queries, arguments.generator, arguments.faces)
    matrix = data.matrix
    if arguments.build:
        clusters = arguments.clusters or max(16, len(matrix) // 300)
        started = time.perf_counter()
        order = cluster_order(matrix, clusters, np.random.default_rng(3))
        print(f"clustered order: {clusters} clusters in {time.perf_counter() - started:.0f} s",
              flush=True)
        admin = psycopg2.connect(f"{arguments.server}/postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {database}")
        with psycopg2.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute("CREATE EXTENSION vector")
            for table, rows in zip(TABLES, (np.arange(len(matrix)), order), strict=True):
                cursor.execute(f"CREATE TABLE {table} (id int, embedding vector(128))")
                copy_vectors(cursor, table, rows, matrix)
        build_graphs_at_once(url, list(TABLES), arguments.maintenance_work_mem)

    exact = DescriptorIndex(np.arange(len(matrix)), matrix)
    truth = np.array([exact.search(query, 1, 99.0)[0].distance for query in data.queries])
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for table in TABLES:
            cursor.execute("SELECT pg_prewarm(indexrelid::regclass) FROM pg_index"
                           " WHERE indrelid = %s::regclass", [table])
        cursor.execute("SELECT pg_backend_pid()")
        backend = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    literals = ["[" + ",".join(repr(float(value)) for value in query) + "]"
                for query in data.queries]
    print(f"{len(data.queries)} queries, {len(matrix):,d} faces; SQL-level,"
          f" {CANDIDATES} candidates re-ranked exactly", flush=True)
    for breadth in arguments.ef_search:
        with conn.cursor() as cursor:
            cursor.execute(f"SET hnsw.ef_search = {breadth}")
        wall = {table: [] for table in TABLES}
        cpu = dict.fromkeys(TABLES, 0.0)
        found = {table: [] for table in TABLES}
        for number, (query, literal) in enumerate(zip(data.queries, literals, strict=True)):
            for table in TABLES if number % 2 else TABLES[::-1]:  # neither always goes first
                before = _cpu_seconds(backend)
                started = time.perf_counter()
                with conn.cursor() as cursor:
                    cursor.execute(f"SELECT id FROM {table} ORDER BY embedding <-> %s::vector"  # noqa: S608
                                   f" LIMIT {CANDIDATES}", [literal])
                    ids = np.array([row[0] for row in cursor.fetchall()])
                wall[table].append((time.perf_counter() - started) * 1000)
                cpu[table] += _cpu_seconds(backend) - before
                found[table].append(  # the candidates re-ranked as the exact engine ranks
                    DescriptorIndex(ids, matrix[ids]).search(query, 1, 99.0)[0].distance)
        line = [f"  ef_search {breadth:4d}"]
        for table in TABLES:
            hit = np.abs(np.array(found[table]) - truth) <= TIE_DISTANCE
            line.append(f"{table.removeprefix('layout_')}: p50 {np.median(wall[table]):6.2f} ms"
                        f" p90 {np.percentile(wall[table], 90):6.2f} ms CPU"
                        f" {cpu[table] * 1000 / len(literals):6.2f} ms recall@1 {hit.mean():.3f}")
        ratio = np.median(wall[TABLES[1]]) / np.median(wall[TABLES[0]])
        print(" | ".join(line) + f" | clustered ÷ arrival p50 {ratio:.2f}"
              f" (load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
