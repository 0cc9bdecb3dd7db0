"""`make serve`: gunicorn with the project's hooks, and no migration at each start."""

import subprocess
from types import SimpleNamespace

from tests.conftest import PROJECT_ROOT
from visionera import gunicorn_config


def test_serve_does_not_migrate_and_loads_the_hooks():
    done = subprocess.run(["make", "-n", "-o", ".venv/.installed", "serve"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "migrate" not in done.stdout
    assert "-c python:visionera.gunicorn_config" in done.stdout


def test_a_start_removes_the_previous_runs_metric_files(tmp_path, monkeypatch):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"stale counts")
    (directory / "keep.txt").write_text("not a metric file")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    gunicorn_config.on_starting(server=None)
    assert sorted(path.name for path in directory.iterdir()) == ["keep.txt"]


def test_an_exiting_worker_is_marked_dead(tmp_path, monkeypatch):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "gauge_livesum_4242.db").write_bytes(b"live gauge of worker 4242")
    (directory / "gauge_livesum_4343.db").write_bytes(b"live gauge of worker 4343")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    gunicorn_config.child_exit(server=None, worker=SimpleNamespace(pid=4242))
    assert sorted(path.name for path in directory.iterdir()) == ["gauge_livesum_4343.db"]


def test_without_the_directory_the_hooks_do_nothing(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    gunicorn_config.on_starting(server=None)
    gunicorn_config.child_exit(server=None, worker=SimpleNamespace(pid=1))
