"""Faults that are cheap to cause safely in a test: the cache (Redis) down, the disk full.

The drills that stop the machine's real Redis and PostgreSQL are in tools/faults.py; here
the cache points at a port nobody listens on, and ENOSPC is raised by the write itself.
"""

import errno
import logging
import time

import pytest

from tests.helpers import image_bytes, upload
from tools.liveserver import free_port

COLLECTIONS = "/api/faces/collections"
VIDEO = "/api/videos/analyze"
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 200_000


@pytest.fixture
def dead_redis_cache(settings):
    """The default cache is Redis on a loopback port where nothing listens."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    from django.core.cache import cache

    with pytest.raises(Exception):  # noqa: B017 - any connection error proves it is down
        cache.get("probe")
    return settings


def _timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


@pytest.mark.rate_limits
def test_api_keeps_answering_with_the_rate_limit_cache_down(
    dead_redis_cache, pro_client, caplog
):
    caplog.set_level(logging.WARNING, logger="accounts.ratelimit")
    for _ in range(12):  # more than the 5/s burst: failing open means nothing is limited
        response, seconds = _timed(lambda: pro_client.get(COLLECTIONS))
        assert response.status_code == 200, response.content
        assert seconds < 2.0
        assert "X-RateLimit-Limit" not in response  # no counts to report
    created = pro_client.post(COLLECTIONS, {"name": "still works"}, format="json")
    assert created.status_code == 201
    detected = pro_client.post(
        "/api/faces/detect", {"image": upload("a.png", image_bytes(128, 128))},
        format="multipart",
    )
    assert detected.status_code == 200
    assert "Rate-limit cache unavailable" in caplog.text


@pytest.mark.rate_limits
def test_errors_still_use_the_envelope_with_the_cache_down(dead_redis_cache, pro_client):
    response = pro_client.post(
        "/api/faces/detect", {"image": upload("a.txt", b"hello")}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_format"


def test_dashboard_login_survives_the_cache_down(dead_redis_cache, db):
    # django-ratelimit guards these pages; with the cache down they must not answer 500
    # (fixed in accounts/views.py, commit 5ef07fb).
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = client.post(
        "/accounts/login/", {"username": "nobody@example.com", "password": "x"}
    )
    assert response.status_code < 500
    response = client.post("/accounts/signup/", {"email": "new@example.com"})
    assert response.status_code < 500


# --------------------------------------------------------------------------- disk full


class _FullDisk:
    """A file object that accepts `room` bytes and then fails like a full disk."""

    def __init__(self, real, room):
        self.real, self.room = real, room

    def write(self, data):
        if len(data) > self.room:
            self.real.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()
        return False


def test_disk_full_while_storing_a_video_is_a_507_and_leaves_no_file(
    pro_client, media_root, monkeypatch
):
    import builtins

    from videos import uploads

    real_open = builtins.open

    def filling_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return _FullDisk(handle, room=50_000) if "w" in mode else handle

    monkeypatch.setattr(uploads, "open", filling_open, raising=False)
    response = pro_client.post(VIDEO, {"video": upload("clip.mp4", FAKE_MP4)}, format="multipart")
    assert response.status_code == 507, response.content
    body = response.json()
    assert body["error"]["code"] == "insufficient_storage"
    assert body["error"]["request_id"]
    leftovers = [p for p in (media_root / "videos").rglob("*") if p.is_file()] if (
        media_root / "videos"
    ).exists() else []
    assert leftovers == []


def test_disk_full_while_django_spools_a_large_upload_is_a_507(
    pro_client, tmp_path, settings, monkeypatch
):
    """Over FILE_UPLOAD_MAX_MEMORY_SIZE Django writes the upload to a temporary file first."""
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    written = {"bytes": 0}
    real_receive = TemporaryFileUploadHandler.receive_data_chunk

    def receive(self, raw_data, start):
        written["bytes"] += len(raw_data)
        if written["bytes"] > 1_000_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", receive)
    big = FAKE_MP4 + b"\x00" * 3_000_000
    response = pro_client.post(VIDEO, {"video": upload("big.mp4", big)}, format="multipart")
    assert response.status_code == 507, response.content
    assert response.json()["error"]["code"] == "insufficient_storage"
    # The partial spool file is gone at once (visionera.middleware.discard_spooled_uploads),
    # not whenever the garbage collector gets to it: on a full disk that matters.
    assert [p.name for p in tmp_path.iterdir() if ".upload" in p.name] == []


# --------------------------------------------------------------------------- database down


def test_database_outage_is_a_503_envelope_with_retry_after(pro_client, monkeypatch):
    """PostgreSQL restarting: the key lookup fails to connect. (tools/faults.py restarts a
    real PostgreSQL under load; this is the same answer without touching one.)"""
    from django import db

    import accounts.authentication

    def unreachable(_key):
        raise db.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(accounts.authentication, "api_key_get_active", unreachable)
    response = pro_client.get(COLLECTIONS)
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["request_id"]
    assert response["Retry-After"] == "5"
