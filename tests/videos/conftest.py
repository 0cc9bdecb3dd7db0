"""Video-specific fixtures: synthetic clips, a `lin` collection, a webhook receiver, workers."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings

from tests.conftest import PROJECT_ROOT
from tests.helpers import fixture_path, fixture_upload, upload

BROKER_MODE = bool(settings.DRAMATIQ_BROKER_URL)
needs_broker = pytest.mark.skipif(
    not BROKER_MODE,
    reason="DRAMATIQ_BROKER_URL is unset: the separate-worker path runs in CI's second pass",
)
needs_embedded = pytest.mark.skipif(
    BROKER_MODE, reason="a real broker is configured: the embedded worker is not used"
)
FIXTURE_CLIP = "video/short_hamilton_clip.mp4"


def analyze_video(client, data: bytes | None = None, name="clip.mp4", **fields):
    """POST /api/videos/analyze: ``data`` as the upload (the fixture clip when None), and
    the form's other fields."""
    video = (fixture_upload(FIXTURE_CLIP, "video/mp4") if data is None
             else upload(name, data, "video/mp4"))
    return client.post("/api/videos/analyze", {"video": video, **fields}, format="multipart")


def submitted_job_id(client, data: bytes | None = None, **fields) -> str:
    """The id of a job :func:`analyze_video` queued (202)."""
    response = analyze_video(client, data, **fields)
    assert response.status_code == 202, response.content
    return response.json()["job_id"]


def write_video(path: Path, *, frames=20, fps=10.0, size=(160, 120), fourcc="mp4v") -> Path:
    """A small synthetic clip: a bright square moving over a dark background."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for index in range(frames):
        frame = np.full((height, width, 3), 30, dtype=np.uint8)
        x = (index * 5) % max(1, width - 30)
        frame[40:70, x : x + 30] = (40, 200, 240)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def synthetic_video(tmp_path) -> Path:
    return write_video(tmp_path / "synthetic.mp4")


@pytest.fixture
def synthetic_video_bytes(synthetic_video) -> bytes:
    return synthetic_video.read_bytes()


def media_files(media_root) -> list[Path]:
    root = Path(media_root)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def make_collection(owner, *, name="cast", labelled_images=()):
    """A collection built straight from faces.models with engine-computed descriptors."""
    from PIL import Image

    from faces.engine import get_face_engine
    from faces.index import descriptor_to_bytes
    from faces.models import Collection, Face

    collection = Collection.objects.create(owner=owner, name=name)
    for label, path in labelled_images:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        face = get_face_engine().largest_face(pixels)
        assert face is not None, f"no face in {path}"
        Face.objects.create(
            collection=collection,
            label=label,
            box=face.box.as_dict(),
            descriptor=descriptor_to_bytes(face.descriptor),
        )
    collection.bump(len(labelled_images))
    return collection


@pytest.fixture
def fixture_clip() -> Path:
    return fixture_path(FIXTURE_CLIP)


@pytest.fixture
def lin_collection_factory():
    def make(owner):
        return make_collection(
            owner,
            name="hamilton",
            labelled_images=[("lin", fixture_path("faces/lin-manuel-miranda.png"))],
        )

    return make


def wait_for(predicate, *, timeout=60.0, interval=0.2, message="condition", diagnose=None):
    """Poll until ``predicate`` is true; on timeout, fail with what ``diagnose()`` reports
    (a worker's stacks and log, say), so a rare hang in CI says where it hung."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    details = f"\n{diagnose()}" if diagnose is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}{details}")


class WebhookReceiver:
    """A local HTTP endpoint on 127.0.0.1 that records what it receives."""

    def __init__(self, status=200):
        self.status = status
        self.requests: list[dict] = []
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()
                receiver.received.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/video"

    def json(self, index=-1) -> dict:
        return json.loads(self.requests[index]["body"])


def allow_loopback_webhooks(settings) -> None:
    """Receivers in tests live on 127.0.0.1, which the callback rule refuses by default:
    the operator's allow-list (VISIONERA_WEBHOOK_ALLOWED_NETWORKS) lets them through."""
    settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def webhook_receiver(settings):
    allow_loopback_webhooks(settings)
    receiver = WebhookReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


# --- real worker processes (CI's second pass) --------------------------------------------


def _database_url() -> str:
    """DATABASE_URL naming the test database pytest-django created."""
    from django.db import connection

    db = connection.settings_dict
    assert db["ENGINE"].endswith("postgresql"), "separate workers need PostgreSQL"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def database_activity() -> str:
    """What every session on the test database is doing and waiting for (PostgreSQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid),"
            " left(query, 200) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        rows = cursor.fetchall()
    return "database sessions:\n" + "\n".join(str(row) for row in rows)


class WorkerProcess:
    """`manage.py rundramatiq` in its own session, so the whole tree can be signalled."""

    def __init__(self, env: dict, log_path: Path, extra_args=()):
        self.log_path = log_path
        self.log = open(log_path, "ab")  # closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1",
             *extra_args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout=90.0):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()}")
            return b"Worker process is ready for action" in self.log_path.read_bytes()

        wait_for(ready, timeout=timeout, interval=0.3, message="the worker to start")

    def output(self, tail=4000) -> str:
        return self.log_path.read_bytes().decode(errors="replace")[-tail:]

    def stacks(self) -> str:
        """Every thread's stack in the worker tree, then its log: SIGABRT makes Python's
        faulthandler (PYTHONFAULTHANDLER, set in its environment) write them to the log.
        It ends the worker, so this is only for a test that has already failed."""
        # One process at a time, the workers before their parent, so the dumps do not
        # interleave in the shared log.
        for pid in [*self._group_members(), self.process.pid]:
            try:
                os.kill(pid, signal.SIGABRT)
            except ProcessLookupError:
                continue
            time.sleep(1.5)
        return f"worker log and stacks:\n{self.output(tail=20000)}"

    def _group_members(self) -> list[int]:
        """The worker tree's processes other than its leader (from /proc)."""
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(stat.parent.name)
            if int(fields[2]) == self.process.pid and pid != self.process.pid:
                members.append(pid)
        return members

    def kill(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def start_worker(db, media_root, tmp_path):
    """Start real worker processes against the test database; stopped after the test.

    Use with `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`: the
    worker only sees committed rows.
    """
    started: list[WorkerProcess] = []
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DRAMATIQ_BROKER_URL": settings.DRAMATIQ_BROKER_URL,
        "MEDIA_ROOT": str(media_root),
        # Fast recovery for the tests: heartbeat every second, dead after 4 s, sweep every 2 s.
        "VISIONERA_VIDEO_HEARTBEAT_SECONDS": "1",
        "VISIONERA_VIDEO_STALE_SECONDS": "4",
        "VISIONERA_VIDEO_SWEEP_SECONDS": "2",
        # The tests' webhook receivers listen on loopback.
        "VISIONERA_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",  # WorkerProcess.stacks()
    }

    def start(*extra_args) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started) + 1}.log"
        worker = WorkerProcess(env, log_path, extra_args)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def signature_ok(request: dict, secret: str) -> bool:
    """What an integrator does: verify with the Standard Webhooks library."""
    from standardwebhooks import Webhook, WebhookVerificationError

    try:
        Webhook(secret).verify(request["body"], dict(request["headers"]))
    except WebhookVerificationError:
        return False
    return True


def account_secret(user) -> str:
    from videos.webhooks import get_webhook_secret

    return get_webhook_secret(owner=user).secret


def deliver_now(*, job=None, delivery=None) -> "WebhookDelivery":  # noqa: F821
    """Run a delivery's attempts in this thread, as the webhooks actor would."""
    from django.utils import timezone

    from videos import webhooks
    from videos.models import WebhookDelivery

    delivery = delivery or WebhookDelivery.objects.get(job=job)
    for _ in range(20):
        # The delayed message of the next attempt arrives when it is due.
        WebhookDelivery.objects.filter(pk=delivery.pk, status="pending").update(
            due_at=timezone.now()
        )
        webhooks.attempt_delivery(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        if delivery.status in ("delivered", "failed"):
            return delivery
    raise AssertionError(f"delivery still {delivery.status} after 20 attempts")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection runs ``handler(conn, stop)``.

    For receivers that misbehave below HTTP: trickling bytes, answering an SSH banner,
    redirecting. ``connections`` counts accepted connections; ``stop`` ends handlers.
    """

    def __init__(self, handler):
        import socket

        self.handler = handler
        self.stop = threading.Event()
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def url(self, path="/hook", host="127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(30)
            self.handler(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.listener.close()


def read_request(conn) -> bytes:
    """The request's head and body (by Content-Length), as a receiver reads it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def raw_server(settings):
    allow_loopback_webhooks(settings)
    servers = []

    def start(handler) -> RawServer:
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def deliveries_stay_on_loopback(monkeypatch):
    """Belt and braces for every test here: a delivery that would connect anywhere but
    loopback is stopped and fails the test (the rule should have refused it long before)."""
    import ipaddress

    from videos import webhook_http

    outside = []
    real_connect = webhook_http._connect

    def loopback_only(address, port, deadline):
        if not ipaddress.ip_address(address).is_loopback:
            outside.append(address)
            raise ConnectionRefusedError("tests deliver to loopback only")
        return real_connect(address, port, deadline)

    monkeypatch.setattr(webhook_http, "_connect", loopback_only)
    yield
    assert outside == [], f"a delivery tried to reach {outside}"


class ActorStandIn:
    """Stands in for an actor of videos.messages, e.g. monkeypatch.setattr(messages,
    "DELIVER_WEBHOOK", ActorStandIn(messages.DELIVER_WEBHOOK)): messages still leave on
    commit through send_on_commit, but their args are recorded, and handed to ``handle``
    if given, instead of queued. Keeps the actor's name and queue (videos.tasks reads them
    when it is first imported)."""

    def __init__(self, actor, handle=None):
        self.actor_name, self.queue_name = actor.actor_name, actor.queue_name
        self.sent = []
        self.handle = handle

    def send(self, *args):
        self.send_with_options(args=args)

    def send_with_options(self, *, args=(), **options):
        self.sent.append(tuple(args))
        if self.handle is not None:
            self.handle(*args)
