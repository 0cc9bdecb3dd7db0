"""A real, multi-process VisionEra on a loopback port, for the concurrency tests, the load
script (bench/load.py) and the fault drills (tools/faults.py).

    with LiveServer(database_url=..., cache_url=..., workers=3, threads=4) as server:
        key = server.create_api_key("pro")
        requests.get(server.url + "/api/faces/collections", headers={"X-API-Key": key})

The server gets its own database (a fresh SQLite file by default, or a PostgreSQL database
it creates and drops) migrated in a subprocess, so nothing is shared with the test database
or db.sqlite3. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_available() -> bool:
    return port_open("127.0.0.1", 6379)


def postgres_available() -> bool:
    return port_open("127.0.0.1", 5432)


def _psql(sql: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


class LiveServer:
    def __init__(
        self,
        *,
        cache_url: str = "locmemcache://",
        database: str = "sqlite",  # or "postgres"
        workers: int = 3,
        threads: int = 4,
        extra_env: dict | None = None,
        timeout: int = 120,
        postgres_port: int = 5432,
    ):
        self.workers, self.threads, self.timeout = workers, threads, timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="visionera-live-"))
        self.database = database
        self.pg_name = f"visionera_live_{uuid.uuid4().hex[:10]}"
        self.postgres_admin_url = f"postgres://postgres@127.0.0.1:{postgres_port}/postgres"
        if database == "postgres":
            database_url = f"postgres://postgres@127.0.0.1:{postgres_port}/{self.pg_name}"
        else:
            database_url = f"sqlite:///{self.workdir / 'db.sqlite3'}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "visionera.settings",
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            "MEDIA_ROOT": str(self.workdir / "media"),
            "STATIC_ROOT": str(self.workdir / "static"),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "DRAMATIQ_BROKER_URL": "",  # jobs, if any, run in the web process
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "gunicorn.log"

    # ----------------------------------------------------------------------- set-up

    def manage(self, *args: str, timeout: int = 300) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def prepare(self) -> None:
        if self.database == "postgres":
            _psql(f'CREATE DATABASE "{self.pg_name}"', self.postgres_admin_url)
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")

    def create_api_key(self, plan: str = "pro", email: str | None = None) -> str:
        email = email or f"live-{uuid.uuid4().hex[:8]}@example.com"
        output = self.manage("create_api_key", "--email", email, "--plan", plan)
        return output.strip().splitlines()[-1]

    def set_rate_limits(self, plan: str, limits: dict) -> None:
        """Override a plan's limits in the server's database (seen by every worker)."""
        code = (
            "from accounts.models import Plan;"
            f"Plan.objects.filter(name={plan!r}).update(rate_limits=json.loads({json.dumps(json.dumps(limits))}))"
        )
        self.manage("shell", "-c", "import json;" + code)

    # ----------------------------------------------------------------------- run

    def start(self) -> LiveServer:
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.process = subprocess.Popen(
            [
                GUNICORN, "visionera.wsgi", "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--threads", str(self.threads),
                "--timeout", str(self.timeout), "--graceful-timeout", "5",
                # Its own control socket, not the shared ~/.gunicorn/gunicorn.ctl.
                "--control-socket", str(self.workdir / "gunicorn.ctl"),
            ],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not answer /api/health within 60 s")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    def cleanup(self) -> None:
        if self.database == "postgres":
            try:
                _psql(
                    f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)',
                    self.postgres_admin_url,
                )
            except Exception as error:  # noqa: BLE001 - best effort; report and go on
                print(f"could not drop {self.pg_name}: {error}", file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LiveServer:
        try:
            self.prepare()
            return self.start()
        except BaseException:
            self.stop()
            self.cleanup()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
        self.cleanup()


def flush_redis_db(db: int) -> None:
    """Empty one Redis database index (ours alone) so counters start from zero."""
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=db, socket_timeout=2).flushdb()
