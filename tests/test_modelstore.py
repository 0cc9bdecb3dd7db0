"""Model files are checked against models/MANIFEST.json before anything runs them."""

import hashlib
import json
import shutil
import threading

import pytest

from vision import modelstore
from vision.modelstore import ModelFileError, load_onnx_session, model_path, onnx_threads

REAL_MODELS_DIR = modelstore.MODELS_DIR
SMALL_REAL_MODEL = "emotion-mini-xception.onnx"


@pytest.fixture(autouse=True)
def fresh_store():
    modelstore.clear_caches()
    yield
    modelstore.clear_caches()


def write_store(directory, files: dict[str, bytes], listed: dict[str, bytes] | None = None):
    """A models dir holding ``files`` and a manifest describing ``listed`` (default: files)."""
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(content)
    manifest = {
        "files": {
            name: {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
            for name, content in (files if listed is None else listed).items()
        }
    }
    (directory / modelstore.MANIFEST_NAME).write_text(json.dumps(manifest))
    return directory


@pytest.fixture
def store(tmp_path, monkeypatch):
    directory = write_store(tmp_path / "models", {"tiny.onnx": b"model bytes"})
    monkeypatch.setattr(modelstore, "MODELS_DIR", directory)
    return directory


def test_a_listed_intact_file_is_returned(store):
    assert model_path("tiny.onnx") == store / "tiny.onnx"


def test_a_corrupted_file_is_refused_with_its_name_and_the_rebuild_command(store):
    (store / "tiny.onnx").write_bytes(b"model bytez")
    with pytest.raises(ModelFileError) as error:
        model_path("tiny.onnx")
    message = str(error.value)
    assert str(store / "tiny.onnx") in message
    assert "sha256" in message
    assert "tools/build_models.py" in message


def test_a_missing_file_is_refused(store):
    (store / "tiny.onnx").unlink()
    with pytest.raises(ModelFileError, match=r"tiny\.onnx is missing.*tools/build_models\.py"):
        model_path("tiny.onnx")


def test_a_file_the_manifest_does_not_list_is_refused(store):
    (store / "stray.onnx").write_bytes(b"whatever")
    with pytest.raises(ModelFileError, match="not listed"):
        model_path("stray.onnx")


def test_a_missing_manifest_is_refused(store):
    (store / modelstore.MANIFEST_NAME).unlink()
    with pytest.raises(ModelFileError, match=r"MANIFEST\.json is missing"):
        model_path("tiny.onnx")


def test_a_file_is_hashed_once_per_process(store, monkeypatch):
    calls = []
    real_sha256 = modelstore._sha256
    monkeypatch.setattr(modelstore, "_sha256", lambda path: calls.append(path) or real_sha256(path))
    for _ in range(3):
        model_path("tiny.onnx")
    assert calls == [store / "tiny.onnx"]


def test_sessions_are_built_once_and_shared_between_threads(tmp_path, monkeypatch):
    content = (REAL_MODELS_DIR / SMALL_REAL_MODEL).read_bytes()
    directory = write_store(tmp_path / "models", {SMALL_REAL_MODEL: content})
    monkeypatch.setattr(modelstore, "MODELS_DIR", directory)
    sessions = []
    threads = [
        threading.Thread(target=lambda: sessions.append(load_onnx_session(SMALL_REAL_MODEL)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sessions) == 6
    assert all(session is sessions[0] for session in sessions)
    assert sessions[0].get_inputs()[0].name == "face_gray"


def test_a_session_is_never_built_from_a_corrupted_file(tmp_path, monkeypatch):
    directory = tmp_path / "models"
    directory.mkdir()
    shutil.copyfile(REAL_MODELS_DIR / SMALL_REAL_MODEL, directory / SMALL_REAL_MODEL)
    write_store(directory, {}, listed={SMALL_REAL_MODEL: b"the file the manifest expects"})
    monkeypatch.setattr(modelstore, "MODELS_DIR", directory)
    with pytest.raises(ModelFileError, match="emotion-mini-xception.onnx"):
        load_onnx_session(SMALL_REAL_MODEL)


def test_threads_default_to_one_and_follow_the_environment(monkeypatch):
    monkeypatch.delenv(modelstore.THREADS_ENV_VAR, raising=False)
    assert onnx_threads() == 1
    monkeypatch.setenv(modelstore.THREADS_ENV_VAR, "2")
    assert onnx_threads() == 2
    for bad in ("0", "-1", "many"):
        monkeypatch.setenv(modelstore.THREADS_ENV_VAR, bad)
        with pytest.raises(ValueError, match=modelstore.THREADS_ENV_VAR):
            onnx_threads()


def test_every_committed_model_matches_the_manifest():
    manifest = json.loads((REAL_MODELS_DIR / modelstore.MANIFEST_NAME).read_text())
    assert manifest["files"], "the manifest lists no models"
    for name, entry in manifest["files"].items():
        path = model_path(name)
        assert path.stat().st_size == entry["size"]
        assert entry["upstream"]["license"] and entry["source"]["package"]
