"""Splitting the face table into hash partitions, each with its own HNSW graph, searched at
the same time on one connection each: latency and recall against the single graph.

    .venv/bin/python bench/search_partitions.py --server postgres://postgres@127.0.0.1:54331 \\
        --size 1000000 --generator calibrated --faces ~/faces [--partitions 2] \\
        [--ef-search 128 160 200 256] [--build]

It runs on the database bench/search.py loaded and indexed for that size and data (the
same seed gives the same rows and queries). --build copies the big collection's rows into
``bench_partition_<i>`` tables by a hash of their id and builds each one's HNSW graph with
the model's parameters, all partitions at once, one core each. Then every query is asked:
- of faces_face's graph at the default breadth (auto), the baseline of the same run;
- of every partition at once (a thread and a connection each), at each --ef-search; the
  partitions' candidates are merged and re-ranked exactly, as faces.vector_store does.
Reported: p50/p90 wall time per query, CPU per query (PostgreSQL backends + this
process), and recall@1 against the exact engine. SQL-level: no Django request around it.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import (  # noqa: E402
    TIE_DISTANCE,
    _cpu_seconds,
    add_bench_database_arguments,
    bench_data,
    build_graphs_at_once,
    open_bench_database,
)

CANDIDATES = 40
_SEARCH = ("SELECT id, descriptor, created_at FROM {table} WHERE {filter}"
           " ORDER BY embedding <-> %s::vector LIMIT %s")


def _literal(query: np.ndarray) -> str:
    return "[" + ",".join(repr(float(value)) for value in query) + "]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_bench_database_arguments(parser)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[128, 160, 200, 256])
    parser.add_argument("--build", action="store_true",
                        help="(re)create the partition tables and their graphs first")
    parser.add_argument("--maintenance-work-mem", default="3GB")
    arguments = parser.parse_args()
    url = open_bench_database(arguments)
    import psycopg2
    from django.db import connection

    from faces import vector_store
    from faces.index import DescriptorIndex
    from faces.models import Collection

    big = Collection.objects.get(owner__email="bench@example.com", name="big")
    parts = [f"bench_partition_{number}" for number in range(arguments.partitions)]
    if arguments.build:
        with psycopg2.connect(url) as conn, conn.cursor() as cursor:
            for number, table in enumerate(parts):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                cursor.execute(
                    f"CREATE TABLE {table} AS SELECT id, descriptor, created_at,"  # noqa: S608
                    f" embedding FROM faces_face WHERE collection_id = %s"
                    f" AND mod(hashtext(id::text) & 2147483647, {arguments.partitions}) = {number}",
                    [str(big.pk)])
        build_graphs_at_once(url, parts, arguments.maintenance_work_mem)

    data = bench_data(arguments.size, arguments.queries, arguments.generator, arguments.faces)
    exact = DescriptorIndex(np.arange(len(data.matrix)), data.matrix)
    truth = np.array([exact.search(query, 1, 99.0)[0].distance for query in data.queries])
    default_breadth = vector_store.ef_search_for(vector_store.table_rows(connection))
    connections = [psycopg2.connect(url) for _ in range(arguments.partitions + 1)]
    for conn in connections:
        conn.autocommit = True
    backends = []
    for conn in connections:
        with conn.cursor() as cursor:
            cursor.execute("SET hnsw.iterative_scan = relaxed_order;"
                           " SET hnsw.max_scan_tuples = 1000000; SELECT pg_backend_pid()")
            backends.append(Path(f"/proc/{cursor.fetchone()[0]}/stat"))

    def fetch(conn, table: str, where: str, query: np.ndarray, parameters: list) -> list:
        with conn.cursor() as cursor:
            cursor.execute(_SEARCH.format(table=table, filter=where),
                           [*parameters, _literal(query), CANDIDATES])
            return cursor.fetchall()

    def nearest(rows: list, query: np.ndarray) -> float:
        rows = sorted(rows, key=lambda row: (row[2], str(row[0])))
        index = DescriptorIndex.from_rows([row[0] for row in rows],
                                          (bytes(row[1]) for row in rows))
        return index.search(query, 1, 99.0)[0].distance

    def measure(label: str, ask) -> None:
        for query in data.queries[:5]:
            ask(query)
        cpu = time.process_time(), sum(map(_cpu_seconds, backends))
        found, milliseconds = [], []
        for query in data.queries:
            started = time.perf_counter()
            found.append(ask(query))
            milliseconds.append((time.perf_counter() - started) * 1000)
        cpu_ms = ((time.process_time() - cpu[0]) + sum(map(_cpu_seconds, backends))
                  - cpu[1]) * 1000 / len(data.queries)
        hit = np.abs(np.array(found) - truth) <= TIE_DISTANCE
        milliseconds = np.array(milliseconds)
        print(f"  {label:42s} p50 {np.percentile(milliseconds, 50):6.2f} ms"
              f"  p90 {np.percentile(milliseconds, 90):6.2f} ms  CPU {cpu_ms:6.2f} ms a query"
              f"  recall@1 {hit.mean():.3f}  (load average {os.getloadavg()[0]:.1f})",
              flush=True)

    single = connections[-1]
    with single.cursor() as cursor:
        cursor.execute(f"SET hnsw.ef_search = {default_breadth}")
    print(f"{len(data.queries)} queries, {arguments.size:,d} faces,"
          f" {arguments.partitions} partitions", flush=True)
    measure(f"one graph, ef_search auto ({default_breadth})", lambda query: nearest(
        fetch(single, "faces_face", "(collection_id = %s) IS TRUE", query, [str(big.pk)]),
        query))
    with ThreadPoolExecutor(arguments.partitions) as pool:
        for breadth in arguments.ef_search:
            for conn in connections[:-1]:
                with conn.cursor() as cursor:
                    cursor.execute(f"SET hnsw.ef_search = {breadth}")

            def ask(query):
                answers = pool.map(lambda pair: fetch(pair[0], pair[1], "TRUE", query, []),
                                   zip(connections[:-1], parts, strict=True))
                return nearest([row for rows in answers for row in rows], query)

            measure(f"{arguments.partitions} graphs at once, ef_search {breadth}", ask)


if __name__ == "__main__":
    main()
