"""1:N search: the exact in-process matrix against PostgreSQL + pgvector (HNSW), same run.

    .venv/bin/python bench/search.py [--sizes 100000 1000000] [--queries 1000] [--reuse]
        [--server postgres://postgres@127.0.0.1:54329]   # default: tools/pgvector_server.py

For each size N, one database on a PostgreSQL with pgvector holds N synthetic descriptors
plus the fixture gallery's real faces (tests/fixtures/faces/gallery, dlib descriptors) in
one collection, and a second, small collection (2,000 faces) in the same table. Then:

- exact: faces.index.DescriptorIndex over the same N rows in this process (the baseline);
- pgvector: faces.selectors → faces.vector_store through Django's connection, the path
  ``POST /api/faces/search`` takes, with its settings (40 candidates, ef_search auto,
  iterative scan, exact re-rank).
Queries: half perturbed enrolled faces (a "known" face, nearest within 0.6), the fixture
probes' faces, the rest strangers. Reported: p50/p99 latency, recall@1 and recall@10 of
pgvector's top 10 against exact's, the share of API answers (limit 5, threshold 0.6)
identical to exact's, the HNSW build time, and the resident memory of a fresh web process
after 20 searches on each engine (a child process per engine and size). The small
collection is searched through the default path (exact scan in PostgreSQL), through HNSW
with iterative scan forced, and through HNSW without it (the failure the iterative scan
fixes: fewer than k rows come back).

Synthetic descriptors (``--generator``):
- ``random`` (default): random directions of norm 1.4 (real ones: 1.27–1.53); strangers
  among them are nearly equidistant from everything, the hardest case for any ANN index;
- ``calibrated``: people drawn from a Gaussian fitted to the real faces of ``--faces``
  (mean, spectrum, between- and within-person spread: CalibratedPeople), each face a
  person plus a within-person draw; "known" queries are another draw of an enrolled person.

``--faces DIR`` (a local folder of photos, one folder per person, e.g. a copy of the ORL
and Yale face databases; nothing of it belongs in the repository) also enrols those real
faces in the big collection, all but one per person, and queries with the held-out one.
Recall counts a tie (a photo enrolled twice) as found. Every figure carries the load
average it was measured at: on a shared machine only ratios to the same-run exact
baseline carry over. BLAS is held to one thread so the exact figure is per core, like one
request's.

    .venv/bin/python bench/search.py --sizes 1000000 --generator calibrated \
        --faces ~/faces --maintenance-work-mem 6GB --ef-search auto 100 150 200 400
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

DESCRIPTOR_NORM = 1.4
CHUNK = 100_000
SMALL_COLLECTION = 2_000
SEED = 20240601
# Two faces this close to a query are a tie (a photo enrolled twice is found either way):
# every recall in these benches counts either as the nearest.
TIE_DISTANCE = 1e-6


def synthetic_descriptors(count: int, rng: np.random.Generator) -> np.ndarray:
    matrix = np.empty((count, 128), dtype=np.float32)
    for start in range(0, count, CHUNK):
        block = rng.standard_normal((min(CHUNK, count - start), 128), dtype=np.float32)
        block *= DESCRIPTOR_NORM / np.linalg.norm(block, axis=1, keepdims=True)
        matrix[start : start + len(block)] = block
    return matrix


def perturbed(matrix: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    known = matrix[rng.integers(0, len(matrix), count)]
    return (known + rng.normal(scale=0.03, size=known.shape)).astype(np.float32)


class RandomDirections:
    """Random directions of norm 1.4: the worst case for a graph index (see the docstring)."""

    name = "random"

    def faces(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(descriptors, their people): here each face is its own person."""
        matrix = synthetic_descriptors(count, rng)
        return matrix, matrix

    def same_people(self, people: np.ndarray, count: int, rng) -> np.ndarray:
        return perturbed(people, count, rng)

    def strangers(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return synthetic_descriptors(count, rng)


class CalibratedPeople:
    """Gaussian people fitted to real descriptors (``--faces``): a stand-in for a real gallery.

    Real descriptors sit in a narrow cone (their mean has norm ~1.3 of their ~1.38), two
    photos of one person are ~0.38 apart and two people ~0.74 (the 55 people of ORL +
    Yale, docs/PERFORMANCE.md). Here a person is the real faces' mean plus a Gaussian whose
    covariance has the spectrum of all real faces, scaled to the real between-person
    variance; each face of that person adds a draw of the real within-person covariance.
    The between-person spectrum is not fitted from the person means: 55 people span at
    most 54 directions, which would make the identity space (and the graph's task) look
    easier than a million real people are.
    """

    name = "calibrated"

    def __init__(self, labels: list[str], descriptors: np.ndarray):
        real = np.asarray(descriptors, np.float64)
        people = sorted(set(labels))
        owner = np.array(labels)
        residuals = np.concatenate([real[owner == person] - real[owner == person].mean(0)
                                    for person in people])
        within = residuals.T @ residuals / (len(residuals) - len(people))
        total = np.cov(real.T)
        between_scale = (np.trace(total) - np.trace(within)) / np.trace(total)
        self.mean = real.mean(0)
        self.between = np.linalg.cholesky(total * between_scale)
        self.within = np.linalg.cholesky(within)

    def _draw(self, factor: np.ndarray, count: int, rng) -> np.ndarray:
        matrix = np.empty((count, 128), dtype=np.float32)
        for start in range(0, count, CHUNK):
            block = rng.standard_normal((min(CHUNK, count - start), 128))
            matrix[start : start + len(block)] = block @ factor.T
        return matrix

    def faces(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        people = self._draw(self.between, count, rng) + self.mean.astype(np.float32)
        return people + self._draw(self.within, count, rng), people

    def same_people(self, people: np.ndarray, count: int, rng) -> np.ndarray:
        """Another photo of enrolled people: their centre plus a fresh within-person draw."""
        return people[rng.integers(0, len(people), count)] + self._draw(self.within, count, rng)

    def strangers(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return self.same_people(self.faces(count, rng)[1], count, rng)


def fixture_faces() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(labels, descriptors) of the fixture gallery, and descriptors of the probes' faces."""
    from faces.engine import get_face_engine
    from tests.helpers import fixture_path, fixture_rgb

    engine = get_face_engine()
    labels, gallery = [], []
    for photo in sorted(fixture_path("faces/gallery").glob("*/*")):
        found = engine.detect(fixture_rgb(f"faces/gallery/{photo.parent.name}/{photo.name}"),
                              max_faces=1)
        if found:
            labels.append(photo.parent.name)
            gallery.append(found[0].descriptor)
    probes = []
    for photo in sorted(fixture_path("faces/probes").glob("*")):
        probes.extend(face.descriptor for face in engine.detect(
            fixture_rgb(f"faces/probes/{photo.name}")))
    return labels, np.array(gallery, np.float32), np.array(probes, np.float32)


def photo_faces(directory: Path) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Real faces from ``directory/<person>/<photo>`` (any depth; the photo's folder names
    the person): per person the first photo is a probe, the rest are enrolled.

    Returns (enrolled labels, enrolled descriptors, probe labels, probe descriptors), all
    from the project's engine. Photos under 200 px on their shorter side (ORL's 92×112)
    are enlarged 2× first so the detector sees the face.
    """
    from PIL import Image, ImageOps

    from faces.engine import get_face_engine

    engine = get_face_engine()
    by_person: dict[str, list[np.ndarray]] = {}
    for photo in sorted(path for path in directory.rglob("*") if path.suffix.lower() in
                        (".jpg", ".jpeg", ".png", ".pgm", ".gif", ".bmp")):
        with Image.open(photo) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        if min(image.size) < 200:
            image = image.resize((image.width * 2, image.height * 2), Image.BICUBIC)
        found = engine.detect(np.asarray(image), max_faces=1)
        if found:
            person = f"{photo.parent.parent.name}/{photo.parent.name}"
            by_person.setdefault(person, []).append(found[0].descriptor)
    enrolled_labels, enrolled, probe_labels, probes = [], [], [], []
    for person, descriptors in by_person.items():
        if len(descriptors) < 2:
            continue
        probe_labels.append(person)
        probes.append(descriptors[0])
        enrolled_labels.extend([person] * (len(descriptors) - 1))
        enrolled.extend(descriptors[1:])
    return (enrolled_labels, np.array(enrolled, np.float32), probe_labels,
            np.array(probes, np.float32))


# --- loading: PostgreSQL's binary COPY, built with numpy ------------------------------------

_PG_EPOCH_MICROSECONDS = 946_684_800 * 1_000_000


def copy_rows(cursor, *, collection_id, labels, matrix: np.ndarray, first_created: int):
    """COPY rows into faces_face (embedding supplied, so the trigger only passes it on)."""
    count = len(matrix)
    label_bytes = max(len(label.encode()) for label in labels)
    box = b'\x01{"x": 0, "y": 0, "width": 100, "height": 100}'
    row = np.dtype([
        ("fields", ">i2"),
        ("id_len", ">i4"), ("id", "V16"),
        ("collection_len", ">i4"), ("collection", "V16"),
        ("label_len", ">i4"), ("label", f"S{label_bytes}"),
        ("metadata_len", ">i4"), ("metadata", "S3"),
        ("box_len", ">i4"), ("box", f"S{len(box)}"),
        ("descriptor_len", ">i4"), ("descriptor", "<f4", (128,)),
        ("image_len", ">i4"),
        ("created_len", ">i4"), ("created", ">i8"),
        ("embedding_len", ">i4"), ("dim", ">i2"), ("unused", ">i2"),
        ("embedding", ">f4", (128,)),
    ])
    if any(len(label.encode()) != label_bytes for label in labels):
        raise ValueError("bench labels must share one length (fixed-width COPY rows)")
    records = np.zeros(count, dtype=row)
    records["fields"] = 9
    records["id_len"] = records["collection_len"] = 16
    records["id"] = np.frombuffer(
        b"".join(uuid.uuid4().bytes for _ in range(count)), dtype="V16")
    records["collection"] = np.frombuffer(uuid.UUID(str(collection_id)).bytes, dtype="V16")[0]
    records["label_len"] = label_bytes
    records["label"] = np.array([label.encode() for label in labels])
    records["metadata_len"], records["metadata"] = 3, b"\x01{}"
    records["box_len"], records["box"] = len(box), box
    records["descriptor_len"], records["descriptor"] = 512, matrix
    records["created_len"] = 8
    now = int(time.time() * 1_000_000) - _PG_EPOCH_MICROSECONDS
    records["created"] = now - count + np.arange(first_created, first_created + count)
    records["embedding_len"], records["dim"], records["embedding"] = 4 + 512, 128, matrix
    copy_binary(cursor, "faces_face (id, collection_id, label, metadata, box, descriptor,"
                " image, created_at, embedding)", records)


def build_graphs_at_once(url: str, tables: list[str], maintenance_work_mem: str) -> list[float]:
    """Build the model's HNSW index (m, ef_construction) on each table, all at once, one
    core each (a connection per table); returns each build's seconds."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg2

    from faces import vector_store

    m, ef_construction = vector_store.HNSW_INDEX.m, vector_store.HNSW_INDEX.ef_construction

    def build(table: str) -> float:
        with psycopg2.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = %s", [maintenance_work_mem])
            cursor.execute("SET max_parallel_maintenance_workers = 0")  # one core each
            started = time.perf_counter()
            cursor.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)"
                           f" WITH (m = {m}, ef_construction = {ef_construction})")
            return time.perf_counter() - started

    with ThreadPoolExecutor(len(tables)) as pool:
        seconds = list(pool.map(build, tables))
    print(f"built {len(tables)} graphs (m {m}, ef_construction {ef_construction}) at once: "
          + ", ".join(f"{table} {s:.0f} s" for table, s in zip(tables, seconds, strict=True)),
          flush=True)
    return seconds


def copy_binary(cursor, target: str, records: np.ndarray) -> None:
    """COPY numpy records already laid out as PostgreSQL's binary rows (big-endian field
    count, then each field's length and bytes) into ``target`` ("table (columns)")."""
    import io

    payload = (b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + records.tobytes()
               + struct.pack(">h", -1))
    cursor.copy_expert(f"COPY {target} FROM STDIN WITH (FORMAT binary)", io.BytesIO(payload))



@dataclass
class BenchData:
    """The rows of one size and the queries asked of them (the same for a seed)."""

    generator: "RandomDirections | CalibratedPeople"
    rng: np.random.Generator  # where the queries left it: the small collection's draws go on
    matrix: np.ndarray  # the big collection: synthetic faces, fixture faces, real faces
    labels: list[str]
    label_width: int
    small_matrix: np.ndarray
    small_people: np.ndarray
    queries: np.ndarray
    kinds: np.ndarray  # per query: "same person", "stranger", "fixture probe", "real probe"
    real_gallery: np.ndarray
    real_probes: np.ndarray


def bench_data(size: int, query_count: int, generator_name: str = "random",
               faces_directory: str = "", query_seed: int | None = None) -> BenchData:
    """Everything drawn from SEED, in one order, so that every script that asks for a size
    gets the rows bench/search.py loaded and the queries it asked (--reuse relies on it).
    With ``query_seed``, the same rows and fresh queries of the same kinds."""
    rng = np.random.default_rng(SEED)
    fixture_labels, fixture_gallery, fixture_probes = fixture_faces()
    real_labels, real_gallery, real_probe_labels, real_probes = [], np.empty((0, 128)), [], \
        np.empty((0, 128), np.float32)
    if faces_directory:
        real_labels, real_gallery, real_probe_labels, real_probes = photo_faces(
            Path(faces_directory))
    generator = RandomDirections()
    if generator_name == "calibrated":
        generator = CalibratedPeople(real_labels + real_probe_labels,
                                     np.concatenate([real_gallery, real_probes]))
    synthetic, synthetic_people = generator.faces(size, rng)
    width = max(len(label) for label in fixture_labels)
    labels = [f"s{row:0{width - 1}d}"[-width:] for row in range(size)] + [
        label.ljust(width, "_") for label in fixture_labels
    ] + [f"r{row:0{width - 1}d}"[-width:] for row in range(len(real_gallery))]
    matrix = np.concatenate([synthetic, fixture_gallery, real_gallery]).astype(np.float32)
    small_matrix, small_people = generator.faces(SMALL_COLLECTION, rng)
    if query_seed is not None:
        rng = np.random.default_rng(query_seed)
    same_people = generator.same_people(synthetic_people, query_count // 2, rng)
    strangers = generator.strangers(
        max(query_count - query_count // 2 - len(fixture_probes) - len(real_probes), 0), rng)
    queries = np.concatenate([same_people, fixture_probes, strangers, real_probes])
    kinds = np.array(["same person"] * len(same_people) + ["fixture probe"] * len(fixture_probes)
                     + ["stranger"] * len(strangers) + ["real probe"] * len(real_probes))
    order = rng.permutation(len(queries))
    return BenchData(generator, rng, matrix, labels, width, small_matrix, small_people,
                     queries[order].astype(np.float32), kinds[order], real_gallery, real_probes)


# --- one size, in a child process with DATABASE_URL set -----------------------------------


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionera.settings")
    import django

    django.setup()


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_size(size: int, query_count: int, ef_searches: list[int | str], reuse: bool,
             maintenance_work_mem: str = "2GB", generator_name: str = "random",
             faces_directory: str = "", skip_memory: bool = False,
             niceness: int | None = None, candidates: int | None = None,
             hnsw: tuple[int | None, int | None] = (None, None)) -> dict:
    _django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    from faces import vector_store
    from faces.index import DescriptorIndex
    from faces.models import Collection
    from faces.selectors import collection_gallery, forget_search_engine, search_engine

    call_command("migrate", verbosity=0)
    data = bench_data(size, query_count, generator_name, faces_directory)
    generator, rng, matrix, labels, width = (data.generator, data.rng, data.matrix,
                                             data.labels, data.label_width)
    small_matrix, small_people = data.small_matrix, data.small_people
    queries, kinds = data.queries, data.kinds
    real_gallery, real_probes = data.real_gallery, data.real_probes

    from accounts.services import get_or_create_user

    user, _ = get_or_create_user(email="bench@example.com", plan_name="enterprise")
    reused = reuse and Collection.objects.filter(owner=user, name="big").exists()
    load_seconds = build_seconds = 0.0
    if reused:  # the same rows (same seed) were loaded and indexed by an earlier run
        big = Collection.objects.get(owner=user, name="big")
        small = Collection.objects.get(owner=user, name="small")
    else:
        Collection.objects.filter(owner=user).delete()
        big = Collection.objects.create(owner=user, name="big", face_count=len(matrix))
        small = Collection.objects.create(owner=user, name="small",
                                          face_count=SMALL_COLLECTION)
        vector_store.drop_index(connection)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for start in range(0, len(matrix), CHUNK):
                copy_rows(cursor, collection_id=big.pk, labels=labels[start : start + CHUNK],
                          matrix=matrix[start : start + CHUNK], first_created=start)
            copy_rows(cursor, collection_id=small.pk, labels=["small".ljust(width, "_")]
                      * SMALL_COLLECTION, matrix=small_matrix, first_created=len(matrix))
            cursor.execute("ANALYZE faces_face")
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        vector_store.create_index(connection, maintenance_work_mem=maintenance_work_mem,
                                  m=hnsw[0], ef_construction=hnsw[1])
        build_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s), pg_relation_size('faces_face')",
                       [vector_store.INDEX_NAME])
        index_bytes, table_bytes = cursor.fetchone()
    index_options = " ".join(vector_store.vector_support(connection).index_options)
    forget_search_engine()
    assert search_engine() == "pgvector", "the bench database must have pgvector ready"

    exact_index = DescriptorIndex(np.arange(len(matrix)), matrix)
    ids_by_row = _ids_by_row(big.pk)

    def exact(query, limit, threshold):
        return [ids_by_row[m.row] for m in exact_index.search(query, limit, threshold)]

    def ann(query, limit, threshold, collection=big):
        gallery = collection_gallery(collection)
        matches = gallery.index.search(query, limit, threshold)
        return [gallery.face_ids[m.row] for m in matches]

    row_of = {face_id: row for row, face_id in enumerate(ids_by_row)}

    def distances(query, face_ids) -> np.ndarray:
        return np.linalg.norm(matrix[[row_of[face_id] for face_id in face_ids]] - query, axis=1)

    def equivalent(query, found, expected) -> bool:
        """The same faces, or faces at the same distances: a photo enrolled twice (Yale
        has such pairs) is a tie that either engine may break either way."""
        return found == expected or (len(found) == len(expected) and bool(
            np.allclose(distances(query, found), distances(query, expected), atol=TIE_DISTANCE)))

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
        backend = Path(f"/proc/{backend_pid}/stat")
    if niceness is not None:  # the timed part only: this process and its PostgreSQL backend
        for pid in (os.getpid(), backend_pid):
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
    for query in queries[:5]:  # warm both: BLAS, the connection, the index pages
        exact(query, 5, 0.6)
        ann(query, 5, 0.6)
    exact_ms, answers, truths = [], [], []
    exact_load = os.getloadavg()[0]
    exact_cpu = time.process_time()
    for query in queries:
        started = time.perf_counter()
        answers.append(exact(query, 5, 0.6))
        exact_ms.append((time.perf_counter() - started) * 1000)
        truths.append(exact(query, 10, 99.0))
    exact_cpu_ms = (time.process_time() - exact_cpu) * 1000 / (2 * len(queries))
    exact_load = (exact_load + os.getloadavg()[0]) / 2
    sweep = {}
    for ef_search in ef_searches:
        overrides = {"VISIONERA_SEARCH_EF_SEARCH": ef_search}
        if candidates:
            overrides["VISIONERA_SEARCH_CANDIDATES"] = candidates
        with override_settings(**overrides):
            ann_ms, recall1, recall10, known1, known10, same_answer = [], [], [], [], [], 0
            load_before = os.getloadavg()[0]
            cpu_before = time.process_time(), _cpu_seconds(backend)
            for query, exact_answer, truth in zip(queries, answers, truths, strict=True):
                started = time.perf_counter()
                ann_answer = ann(query, 5, 0.6)
                ann_ms.append((time.perf_counter() - started) * 1000)
                same_answer += equivalent(query, ann_answer, exact_answer)
                found = ann(query, 10, 99.0)
                recall1.append(equivalent(query, found[:1], truth[:1]))
                recall10.append(len(set(found) & set(truth)) / 10)
                if exact_answer:
                    known1.append(recall1[-1])
                    known10.append(recall10[-1])
        searches = 2 * len(queries)
        label = ef_search
        if ef_search == "auto":  # the rule's breadth for this table (faces.vector_store)
            label = f"auto={vector_store.ef_search_for(vector_store.table_rows(connection))}"
        sweep[label] = {
            "cpu_django_ms": (time.process_time() - cpu_before[0]) * 1000 / searches,
            "cpu_postgres_ms": (_cpu_seconds(backend) - cpu_before[1]) * 1000 / searches,
            "p50": float(np.percentile(ann_ms, 50)), "p99": float(np.percentile(ann_ms, 99)),
            "recall1": float(np.mean(recall1)), "recall10": float(np.mean(recall10)),
            "known_recall1": float(np.mean(known1)), "known_recall10": float(np.mean(known10)),
            "same_answer": same_answer / len(queries),
            "recall1_by_kind": {kind: float(np.mean(np.array(recall1)[kinds == kind]))
                                for kind in sorted(set(kinds))},
            "load": (load_before + os.getloadavg()[0]) / 2,
        }

    if niceness is not None:
        for pid in (os.getpid(), backend_pid):
            os.setpriority(os.PRIO_PROCESS, pid, 0)
    print(json.dumps({"partial": True, "build_s": build_seconds, "sweep": sweep,
                      "exact_p50": float(np.percentile(exact_ms, 50))}), file=sys.stderr,
          flush=True)
    small_result = _small_collection(small, small_matrix, small_people, generator, rng, ann)
    memory = {} if skip_memory else {
        engine: [_memory_probe(engine, "big")] for engine in ("pgvector", "exact")}
    return {
        "size": size, "faces": len(matrix) + SMALL_COLLECTION, "queries": len(queries),
        "load_s": load_seconds, "build_s": build_seconds,
        "index_mib": index_bytes / 2**20, "table_mib": table_bytes / 2**20,
        "index_options": index_options,
        "exact_p50": float(np.percentile(exact_ms, 50)),
        "exact_p99": float(np.percentile(exact_ms, 99)),
        "known": sum(1 for answer in answers if answer), "sweep": sweep,
        "generator": generator.name, "exact_cpu_ms": exact_cpu_ms, "nice": niceness,
        "candidates": candidates or settings.VISIONERA_SEARCH_CANDIDATES, "real_faces": len(real_gallery) + len(real_probes),
        "real_people": len(real_probes), "exact_load": exact_load,
        "small": small_result, "memory": memory,
    }


def _cpu_seconds(stat: Path) -> float:
    """User + system CPU of a process on this machine (the PostgreSQL backend serving us);
    NaN where it is not readable (a remote server)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ids_by_row(collection_id) -> list[str]:
    from faces.models import Face

    return [
        str(face_id)
        for face_id in Face.objects.filter(collection_id=collection_id)
        .order_by("created_at", "id").values_list("id", flat=True)
    ]


def _small_collection(small, small_matrix, small_people, generator, rng, ann) -> dict:
    """Recall inside a 2,000-face collection of the big table, three ways."""
    from django.db import connection, transaction
    from django.test.utils import override_settings

    from faces.index import DescriptorIndex

    ids = _ids_by_row(small.pk)
    index = DescriptorIndex(np.arange(len(small_matrix)), small_matrix)
    queries = np.concatenate([generator.same_people(small_people, 50, rng),
                              generator.strangers(50, rng)])
    truth = [[ids[m.row] for m in index.search(q, 10, 99.0)] for q in queries]
    result = {}
    for mode, overrides in (("exact scan (default)", {}),
                            ("HNSW + iterative scan", {"VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES": 0,
                                                       "VISIONERA_SEARCH_HNSW_MIN_SHARE": 0.0})):
        with override_settings(**overrides):
            latencies, r1, r10 = [], [], []
            for query, expected in zip(queries, truth, strict=True):
                started = time.perf_counter()
                found = ann(query, 10, 99.0, collection=small)
                latencies.append((time.perf_counter() - started) * 1000)
                r1.append(found[:1] == expected[:1])
                r10.append(len(set(found) & set(expected)) / 10)
        result[mode] = {"p50": float(np.median(latencies)), "recall1": float(np.mean(r1)),
                        "recall10": float(np.mean(r10))}
    returned = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in queries:
            cursor.execute(  # the HNSW form of faces.vector_store (no btree can serve it)
                "SELECT count(*) FROM (SELECT id FROM faces_face WHERE (collection_id = %s)"
                " IS TRUE ORDER BY embedding <-> %s::vector LIMIT 10) AS top",
                [small.pk, "[" + ",".join(map(repr, map(float, query))) + "]"],
            )
            returned.append(cursor.fetchone()[0])
        transaction.set_rollback(True)
    result["HNSW, no iterative scan"] = {"mean rows of 10": float(np.mean(returned))}
    return result


def _memory_probe(engine: str, collection: str) -> dict:
    """A fresh process, like a new gunicorn worker: RSS before and after 20 searches."""
    output = subprocess.run(
        [sys.executable, __file__, "--probe", engine, collection],
        check=True, capture_output=True, text=True, env=os.environ.copy(),
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def probe(engine: str, collection_name: str) -> None:
    os.environ["VISIONERA_SEARCH_ENGINE"] = engine if engine == "exact" else "pgvector"
    _django()
    from faces.models import Collection
    from faces.selectors import collection_gallery

    collection = Collection.objects.get(name=collection_name, owner__email="bench@example.com")
    queries = synthetic_descriptors(20, np.random.default_rng(7))
    before = rss_mib()
    started = time.perf_counter()
    for query in queries:
        collection_gallery(collection).index.search(query, 5, 0.6)
    print(json.dumps({"rss_before_mib": round(before), "rss_after_mib": round(rss_mib()),
                      "seconds": round(time.perf_counter() - started, 1)}))


# --- the parent: one child per size, then the table -----------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 1M takes most of an hour on 2 cores (the HNSW build): ask for it explicitly.
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    # 1,000: with 200, one miss is half a point of recall, and at 1M 200 queries read 0.99
    # where 1,000 read 0.954 (docs/PERFORMANCE.md).
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--server", default="", help="postgres://user@host:port (pgvector)")
    parser.add_argument("--ef-search", type=_ef_search, nargs="+", default=["auto", 40, 200],
                        help="hnsw.ef_search values measured on the same index (auto: the"
                             " default rule, faces.vector_store.ef_search_for)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure again on the databases an earlier run loaded and indexed")
    parser.add_argument("--maintenance-work-mem", default="2GB",
                        help="for the HNSW build: the graph must fit (1M faces: ~1.5 GB at m 16)")
    parser.add_argument("--generator", choices=["random", "calibrated"], default="random",
                        help="synthetic faces: random directions (the worst case) or people"
                             " drawn from a Gaussian fitted to the real faces of --faces")
    parser.add_argument("--faces", default="",
                        help="a local folder of real photos, one folder per person: their"
                             " faces join the big collection (one probe per person queries)")
    parser.add_argument("--skip-memory", action="store_true",
                        help="skip the fresh-process memory probes (minutes at 1M)")
    parser.add_argument("--candidates", type=int, default=None,
                        help="VISIONERA_SEARCH_CANDIDATES for the sweep (default: the setting)")
    parser.add_argument("--nice", type=int, default=None,
                        help="niceness of the timed searches and of their PostgreSQL backend"
                             " (negative needs root): a shared machine's nearest to a quiet one")
    parser.add_argument("--hnsw", default="", metavar="M/EF_CONSTRUCTION",
                        help="build the index with these graph parameters, e.g. 32/128"
                             " (default: faces.models.FaceVector's)")
    parser.add_argument("--probe", nargs=2, metavar=("ENGINE", "COLLECTION"))
    parser.add_argument("--one-size", type=int)
    arguments = parser.parse_args()
    if arguments.probe:
        probe(*arguments.probe)
        return
    if arguments.one_size:
        print(json.dumps(run_size(arguments.one_size, arguments.queries, arguments.ef_search,
                                    arguments.reuse, arguments.maintenance_work_mem,
                                    arguments.generator, arguments.faces,
                                    arguments.skip_memory, arguments.nice,
                                    arguments.candidates, _hnsw(arguments.hnsw))))
        return

    server = arguments.server or subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "tools" / "pgvector_server.py"), "start"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1].rsplit("/", 1)[0]
    print(
        f"{platform.machine()}, {os.cpu_count()} cores (BLAS on 1 thread), Python"
        f" {platform.python_version()}, numpy {np.__version__}, /proc/loadavg"
        f" {_loadavg()}; pgvector server {server}", flush=True,
    )
    if arguments.generator == "calibrated" and not arguments.faces:
        parser.error("--generator calibrated fits real faces: give --faces")
    for size in arguments.sizes:
        database = database_name(size, arguments.generator, arguments.faces)
        if not arguments.reuse:
            subprocess.run(["dropdb", "--if-exists", "-f",
                            f"--maintenance-db={server}/postgres", database], check=True)
            subprocess.run(["createdb", f"--maintenance-db={server}/postgres", database],
                           check=True)
        env = {**os.environ, "DATABASE_URL": f"{server}/{database}", "LOG_LEVEL": "WARNING"}
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, __file__, "--one-size", str(size), "--queries",
             str(arguments.queries), "--ef-search", *map(str, arguments.ef_search),
             "--maintenance-work-mem", arguments.maintenance_work_mem,
             "--generator", arguments.generator, "--faces", arguments.faces,
             *(["--skip-memory"] if arguments.skip_memory else []),
             *(["--nice", str(arguments.nice)] if arguments.nice is not None else []),
             *(["--candidates", str(arguments.candidates)] if arguments.candidates else []),
             *(["--hnsw", arguments.hnsw] if arguments.hnsw else []),
             *(["--reuse"] if arguments.reuse else [])],
            capture_output=True, text=True, env=env,
        )
        if child.returncode:
            sys.exit(f"size {size} failed:\n{child.stderr[-3000:]}")
        report(json.loads(child.stdout.strip().splitlines()[-1]),
               time.perf_counter() - started)


def database_name(size: int, generator_name: str, faces_directory: str) -> str:
    """The bench database of one size and kind of data (bench/search_early_exit.py reads it)."""
    if generator_name == "random" and not faces_directory:
        return f"visionera_bench_{size}"
    if not faces_directory:
        return f"visionera_bench_{generator_name}_{size}"
    # the folder's name too: the rows are drawn from its faces, so two folders are two
    # databases (--reuse must not measure one folder's rows with another's queries)
    folder = re.sub(r"[^a-z0-9]+", "_", Path(faces_directory).expanduser().resolve().name.lower())
    return f"visionera_bench_{generator_name}_faces_{folder.strip('_')[:20]}_{size}"


def add_bench_database_arguments(parser: argparse.ArgumentParser) -> None:
    """The options naming a database this script loaded, for the scripts that reuse it."""
    parser.add_argument("--server", required=True, help="postgres://user@host:port")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--generator", choices=["random", "calibrated"], default="calibrated")
    parser.add_argument("--faces", default="")


def open_bench_database(arguments: argparse.Namespace) -> str:
    """Point Django at that database (DATABASE_URL) and set it up; returns its URL."""
    url = f"{arguments.server}/{database_name(arguments.size, arguments.generator, arguments.faces)}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionera.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    return url


def _ef_search(value: str) -> int | str:
    return value if value == "auto" else int(value)


def _hnsw(value: str) -> tuple[int | None, int | None]:
    if not value:
        return None, None
    m, ef_construction = value.split("/")
    return int(m), int(ef_construction)


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def report(r: dict, wall: float) -> None:
    faces = {"random": "synthetic (random directions)",
             "calibrated": "synthetic (people calibrated on real faces)"}[r.get("generator", "random")]
    niceness = "" if r.get("nice") is None else f"; timed at niceness {r['nice']}"
    niceness += f"; {r['candidates']} candidates" if r.get("candidates") else ""
    real = (f" + {r['real_faces']:,d} real faces of {r['real_people']} people"
            if r.get("real_faces") else "")
    print(
        f"\n{r['size']:,d} {faces} + fixture faces{real} ({r['faces']:,d} rows in the table,"
        f" {r['queries']} queries, {r['known']} with a match; load {r['load_s']:.0f} s"
        f"{' (reused)' if not r['build_s'] else ''},"
        f" whole size {wall / 60:.1f} min; /proc/loadavg {_loadavg()}"
        f"{niceness})\n"
        f"  exact numpy               p50 {r['exact_p50']:7.2f} ms  p99 {r['exact_p99']:7.2f} ms"
        f"  (load average {r.get('exact_load', float('nan')):.1f};"
        f" CPU {r.get('exact_cpu_ms', float('nan')):.2f} ms a search)\n"
        + "".join(
            f"  pgvector ef_search {ef:>8}  p50 {s['p50']:7.2f} ms  p99 {s['p99']:7.2f} ms"
            f" ({s['p50'] / r['exact_p50']:.2f}× exact)  recall@1 {s['recall1']:.3f}"
            f" @10 {s['recall10']:.3f} (known faces {s['known_recall1']:.3f} /"
            f" {s['known_recall10']:.3f}); API answers identical {s['same_answer']:.3f}"
            f"  (load average {s.get('load', float('nan')):.1f}; CPU a search: Django"
            f" {s.get('cpu_django_ms', float('nan')):.2f} ms + PostgreSQL"
            f" {s.get('cpu_postgres_ms', float('nan')):.2f} ms)\n"
            + ("                            recall@1 by query: " + ", ".join(
                f"{kind} {value:.3f}" for kind, value in s["recall1_by_kind"].items()) + "\n"
               if "recall1_by_kind" in s else "")
            for ef, s in r["sweep"].items()
        )
        + f"  HNSW ({r.get('index_options', '')}) build {r['build_s']:.0f} s"
        f"{' (reused)' if not r['build_s'] else ''}; index {r['index_mib']:,.0f} MiB,"
        f" table {r['table_mib']:,.0f} MiB"
    )
    for mode, figures in r["small"].items():
        print(f"  small collection ({SMALL_COLLECTION:,d} faces), {mode}: "
              + ", ".join(f"{key} {value:.3f}" for key, value in figures.items()))
    for engine, probes in r["memory"].items():
        for figures in probes:
            print(f"  web process, {engine:8s}: RSS {figures['rss_before_mib']} MiB →"
                  f" {figures['rss_after_mib']} MiB after 20 searches ({figures['seconds']} s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
