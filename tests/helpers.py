"""Helpers the tests share: the project's own fixture photos, generated images, uploads.

Fixtures live in tests/fixtures/ (copied once from the fixtures folder of ../shared, with
their provenance: see tests/fixtures/README.md), so a clone tests itself: a missing photo is
an error, never a skip.
"""

import io
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def fixture_path(relative: str) -> Path:
    """A file under tests/fixtures/; raises if the repository lost it."""
    path = FIXTURES_DIR / relative
    if not path.exists():
        raise FileNotFoundError(f"tests/fixtures/{relative} is missing from the repository")
    return path


def fixture_rgb(relative: str) -> np.ndarray:
    """A fixture photo as an EXIF-upright RGB array, the way the upload validator decodes it."""
    with Image.open(fixture_path(relative)) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def image_bytes(width=128, height=128, fmt="PNG", mode="RGB", color=(200, 120, 40), **save):
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def noise_image_bytes(width, height, fmt="PNG", seed=0):
    """Incompressible pixels, for building an image of a chosen byte size."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def fixture_upload(relative: str, content_type: str = "application/octet-stream"):
    """A file under tests/fixtures/ as a multipart upload."""
    path = fixture_path(relative)
    return upload(path.name, path.read_bytes(), content_type)


def enrolled_collection(owner, *, name="people", labelled=(("obama", "faces/obama.jpg"),)):
    """A collection of the owner's, its faces enrolled by the real engine (no API call, so
    no rate-limit count): `labelled` is (label, fixture path) pairs."""
    from faces.engine import get_face_engine
    from faces.index import descriptor_to_bytes
    from faces.models import Collection, Face

    collection = Collection.objects.create(owner=owner, name=name)
    for label, relative in labelled:
        face = get_face_engine().largest_face(fixture_rgb(relative))
        assert face is not None, f"no face in {relative}"
        Face.objects.create(
            collection=collection,
            label=label,
            box=face.box.as_dict(),
            descriptor=descriptor_to_bytes(face.descriptor),
        )
    collection.bump(face_delta=len(labelled))
    return collection


def analysed_video_job(owner, *, features=("faces", "vehicles", "bodies"), sample_fps=0.5,
                       collection=None):
    """The fixture clip analysed for real, in this thread (no queue, no API call)."""
    from videos import jobs, services
    from videos.uploads import store_video

    stored = store_video(fixture_upload("video/short_hamilton_clip.mp4", "video/mp4"))
    job = services.create_job(
        owner=owner, video=stored, features=list(features), sample_fps=sample_fps,
        collection=collection,
    )
    assert jobs.run_job(job_id=job.pk) == "completed"
    job.refresh_from_db()
    return job


def setting_in_a_bare_environment(name, **env):
    """A setting's value in a fresh process with only `env` set (no .env file)."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    base = {key: value for key, value in os.environ.items() if not key.startswith("VISIONERA_")}
    base.update(env, VISIONERA_IGNORE_DOTENV="true", DJANGO_SETTINGS_MODULE="tests.settings")
    code = ("import json, django; django.setup(); from django.conf import settings; "
            f"print(json.dumps(settings.{name}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=base,
                          capture_output=True, text=True, timeout=60)
    return done, (json.loads(done.stdout) if done.returncode == 0 else None)


@contextmanager
def sync_playwright_beside_django(monkeypatch):
    """Playwright's sync API, in a test that also uses Django's ORM in the same thread.

    Playwright runs an event loop in this thread while the block lasts. Django refuses ORM
    calls from a thread with a running loop, so DJANGO_ALLOW_ASYNC_UNSAFE is set, only for
    the block: a leaked variable would fail `check --deploy` run by other tests. With a
    loop running, Django also keeps the thread's database connections apart: asgiref's
    Local becomes a context variable. So the connections opened inside the block are
    closed before it ends. pytest-django never sees them, and one left open kept
    PostgreSQL from dropping the test database at the end of the run.
    """
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        try:
            yield playwright
        finally:
            connections.close_all()


def error_message(response, status: int, code: str) -> str:
    """The message of the contract's error envelope, once its status and code are checked."""
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]["message"]
