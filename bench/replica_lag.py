"""How long after an enrolment a search on a streaming read replica finds the face.

    .venv/bin/python bench/replica_lag.py [--enrolments 200]

Starts a private primary (PostgreSQL 18 + pgvector, port 54331) and a streaming replica of
it (port 54332) with tools/pgvector_server.py, points Django at them (DATABASE_URL and
DATABASE_REPLICA_URL), then enrols faces one at a time on the primary — the enrolment
service's write and version bump — and searches for each through the pgvector engine,
whose reads go to the replica, until the face is found. Prints the visibility lag's
p50/p99/max and how many searches right after the commit missed the face. Both servers are
stopped at the end; their data directories are under var/ (git-ignored).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, str(PROJECT_ROOT / "tools" / "pgvector_server.py")]
PRIMARY, REPLICA = PROJECT_ROOT / "var" / "lag-primary", PROJECT_ROOT / "var" / "lag-replica"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=200)
    parser.add_argument("--child", action="store_true")
    arguments = parser.parse_args()
    if arguments.child:
        measure(arguments.enrolments)
        return
    try:
        subprocess.run([*SERVER, "start", "--data", str(PRIMARY), "--port", "54331"],
                       check=True, capture_output=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-p", "54331", "-U", "postgres",
                        "visionera_lag"], capture_output=True)
        subprocess.run([*SERVER, "start", "--data", str(REPLICA), "--port", "54332",
                        "--replica-of", "54331"], check=True, capture_output=True)
        env = {**os.environ, "LOG_LEVEL": "WARNING",
               "DATABASE_URL": "postgres://postgres@127.0.0.1:54331/visionera_lag",
               "DATABASE_REPLICA_URL": "postgres://postgres@127.0.0.1:54332/visionera_lag"}
        subprocess.run([sys.executable, __file__, "--child", "--enrolments",
                        str(arguments.enrolments)], check=True, env=env)
    finally:
        for data in (REPLICA, PRIMARY):
            subprocess.run([*SERVER, "stop", "--data", str(data)], capture_output=True)


def measure(enrolments: int) -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionera.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.services import get_or_create_user
    from faces.index import descriptor_to_bytes
    from faces.models import Collection, Face
    from faces.selectors import collection_gallery, search_engine

    call_command("migrate", verbosity=0)
    assert search_engine() == "pgvector"
    user, _ = get_or_create_user(email="lag@example.com", plan_name="pro")
    Collection.objects.filter(owner=user).delete()
    collection = Collection.objects.create(owner=user, name="lag")
    rng = np.random.default_rng(1)
    lags, missed = [], 0
    for number in range(enrolments):
        vector = rng.standard_normal(128).astype(np.float32)
        vector *= 1.4 / np.linalg.norm(vector)
        face = Face.objects.create(collection=collection, label=str(number), box={},
                                   descriptor=descriptor_to_bytes(vector))
        collection.bump(face_delta=1)  # committed (autocommit), as enrol_face's atomic block
        committed = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            gallery = collection_gallery(collection)
            found = gallery.index.search(vector, 1, 0.6)
            if found and gallery.face_ids[found[0].row] == str(face.pk):
                break
            if time.perf_counter() - committed > 10:
                raise SystemExit(f"face {number} not visible on the replica after 10 s")
        lags.append((time.perf_counter() - committed) * 1000)
        missed += attempts > 1
    p50, p99 = np.percentile(lags, [50, 99])
    print(f"{enrolments} enrolments on the primary, each searched for on the replica at once"
          f" (load average {os.getloadavg()[0]:.2f}):\n  visible after p50 {p50:.1f} ms,"
          f" p99 {p99:.1f} ms, max {max(lags):.1f} ms (including the search itself);"
          f" {missed} of {enrolments} first searches missed the new face")


if __name__ == "__main__":
    main()
