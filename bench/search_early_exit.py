"""Stopping early on easy queries: a quick HNSW walk first, the full one only when unsure.

    .venv/bin/python bench/search_early_exit.py --server postgres://postgres@127.0.0.1:54331 \\
        --size 1000000 --generator calibrated --faces ~/faces [--first 64 80 100] \\
        [--gaps 0.005 0.01 0.02 0.03] [--query-seed N]

The idea, measured here (docs/PERFORMANCE.md, "Stopping early on easy queries"): most of a
walk's breadth is spent on the few queries whose nearest face is hard to find, so search
first at a small ef_search, and search again at the default ("auto") breadth only when the
first answer looks unsure, i.e. when its two nearest faces are within GAP of each other
(a clear match stands apart from the crowd; a missed one leaves only the crowd).

It runs on the database bench/search.py loaded and indexed for that size and data (run
that first: the same seed gives the same rows and the same queries, or, with
--query-seed, as many fresh queries of the same kinds). Every query is asked through
faces.vector_store.search, the API's path, at each first breadth and at the default
breadth; a rule's latency for a query is its first search plus, if it re-asks, its
default one. Reported against the default breadth's single search in the same run: the
share of queries re-asked, recall@1 against the exact engine, and p50/p90/mean latency.
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
    SEED,
    TIE_DISTANCE,
    add_bench_database_arguments,
    bench_data,
    open_bench_database,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_bench_database_arguments(parser)
    parser.add_argument("--first", type=int, nargs="+", default=[64, 80, 100])
    parser.add_argument("--gaps", type=float, nargs="+",
                        default=[0.005, 0.0075, 0.01, 0.015, 0.02, 0.03])
    parser.add_argument("--query-seed", type=int, default=None,
                        help="fresh queries (same kinds, same rows) instead of bench/search.py's")
    arguments = parser.parse_args()
    url = open_bench_database(arguments)
    database = url.rsplit("/", 1)[1]
    from django.db import connection
    from django.test.utils import override_settings

    from faces import vector_store
    from faces.index import DescriptorIndex
    from faces.models import Collection

    data = bench_data(arguments.size, arguments.queries, arguments.generator, arguments.faces,
                      query_seed=arguments.query_seed)
    big = Collection.objects.get(owner__email="bench@example.com", name="big")
    exact = DescriptorIndex(np.arange(len(data.matrix)), data.matrix)
    truth = np.array([exact.search(query, 1, 99.0)[0].distance for query in data.queries])
    default_breadth = vector_store.ef_search_for(vector_store.table_rows(connection))

    def ask(breadth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query: the nearest and second-nearest distances found, and the ms it took."""
        nearest, gap, milliseconds = [], [], []
        with override_settings(VISIONERA_SEARCH_EF_SEARCH=breadth):
            for query in data.queries[:5]:  # warm the connection and the index pages
                vector_store.search(database="default", collection_id=big.pk,
                                    collection_size=big.face_count, queries=query[None],
                                    limit=2, threshold=99.0)
            for query in data.queries:
                started = time.perf_counter()
                found = vector_store.search(database="default", collection_id=big.pk,
                                            collection_size=big.face_count,
                                            queries=query[None], limit=2, threshold=99.0)[0]
                milliseconds.append((time.perf_counter() - started) * 1000)
                nearest.append(found[0].distance)
                gap.append(found[1].distance - found[0].distance)
        return np.array(nearest), np.array(gap), np.array(milliseconds)

    load = os.getloadavg()[0]
    full_nearest, _, full_ms = ask(default_breadth)
    full_hit = np.abs(full_nearest - truth) <= TIE_DISTANCE
    print(f"{arguments.size:,d} faces ({database}), {len(data.queries)} queries"
          f" (query seed {arguments.query_seed or SEED}), load average {load:.1f}\n"
          f"  default breadth {default_breadth}: p50 {np.percentile(full_ms, 50):.2f} ms,"
          f" p90 {np.percentile(full_ms, 90):.2f}, mean {full_ms.mean():.2f};"
          f" recall@1 {full_hit.mean():.3f}", flush=True)
    baseline = {"p50": np.percentile(full_ms, 50), "p90": np.percentile(full_ms, 90),
                "mean": full_ms.mean()}
    for breadth in arguments.first:
        nearest, gap, milliseconds = ask(breadth)
        hit = np.abs(nearest - truth) <= TIE_DISTANCE
        print(f"  first breadth {breadth} alone: p50 {np.percentile(milliseconds, 50):.2f} ms"
              f" ({np.percentile(milliseconds, 50) / baseline['p50']:.2f}× default),"
              f" recall@1 {hit.mean():.3f}; by query: " + ", ".join(
                  f"{kind} {hit[data.kinds == kind].mean():.3f}"
                  for kind in sorted(set(data.kinds))), flush=True)
        for threshold in arguments.gaps:
            again = gap < threshold
            latency = milliseconds + again * full_ms
            recall = np.where(again, full_hit | hit, hit)
            figures = {"p50": np.percentile(latency, 50), "p90": np.percentile(latency, 90),
                       "mean": latency.mean()}
            print(f"    re-ask when the two nearest are within {threshold:<6}:"
                  f" re-asked {again.mean():.2f}, recall@1 {recall.mean():.3f}, "
                  + ", ".join(f"{name} {value:.2f} ms ({value / baseline[name]:.2f}×)"
                              for name, value in figures.items())
                  + "; re-asked by query: " + ", ".join(
                      f"{kind} {again[data.kinds == kind].mean():.2f}"
                      for kind in sorted(set(data.kinds))), flush=True)

if __name__ == "__main__":
    main()
