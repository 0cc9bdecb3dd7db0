"""/api/health?ready=1: the database, the cache and the broker, each named when it fails."""

import socket

import pytest

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again once the socket is


def test_liveness_is_unchanged(client):
    assert client.get("/api/health").json() == {"status": "ok"}


def test_ready_when_everything_answers(client):
    response = client.get("/api/health", {"ready": "1"})
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


def test_an_unreachable_cache_makes_it_unready(client, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    from visionera.api import health

    dead = RedisCache(
        f"redis://127.0.0.1:{closed_port()}/0",
        {"OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}},
    )
    monkeypatch.setattr(health, "cache", dead)
    response = client.get("/api/health", {"ready": "true"})
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "cache": "failed", "broker": "ok"},
    }
    assert "127.0.0.1" not in response.content.decode()  # no addresses in the answer


def test_an_unreachable_broker_makes_it_unready(client, monkeypatch):
    import dramatiq
    import redis

    dead = redis.Redis(port=closed_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    broker = type("RedisLikeBroker", (), {"client": dead})()
    monkeypatch.setattr(dramatiq, "get_broker", lambda: broker)
    response = client.get("/api/health", {"ready": "1"})
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "failed"}


def test_a_failing_database_makes_it_unready(client, monkeypatch):
    from visionera.api import health

    def broken(alias):
        raise health.connections[alias].Database.OperationalError("connection refused")

    monkeypatch.setattr(health, "_database", broken)
    response = client.get("/api/health", {"ready": "1"})
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failed"


def test_liveness_without_a_database_answers_in_its_own_schema(client, monkeypatch):
    from django.db import OperationalError, connection

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}  # HealthOutput, as the schema says
