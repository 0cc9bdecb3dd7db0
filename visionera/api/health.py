"""Liveness and readiness for load balancers and orchestrators; no key needed.

``GET /api/health`` — liveness: the process answers and its database takes a query.
``GET /api/health?ready=1`` — readiness: the database, the cache (rate-limit counters) and
the job broker each answer within their short timeouts; 503 names the ones that did not,
so an instance is taken out of rotation rather than serving errors. The answer carries
only check names and ok/failed, never addresses or error text.
"""

import logging
import time

from django.core.cache import cache
from django.db import DatabaseError, connections
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from visionera.db_routers import PRIMARY, replica_configured, search_database

logger = logging.getLogger(__name__)


def _database(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key = "health:ready"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was written")


def _broker() -> None:
    import dramatiq

    broker = dramatiq.get_broker()
    client = getattr(broker, "client", None)
    if client is None:
        return  # the stub broker of the embedded worker lives in this process
    client.ping()


def readiness_checks() -> dict:
    checks = {"database": lambda: _database(PRIMARY)}
    if replica_configured():
        checks["database_replica"] = lambda: _database(search_database())
    checks["cache"] = _cache
    checks["broker"] = _broker
    return checks


def readiness() -> tuple[bool, dict[str, str]]:
    results = {}
    for name, check in readiness_checks().items():
        started = time.perf_counter()
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure makes the instance unready
            results[name] = "failed"
            logger.warning("Readiness check %s failed after %.2f s: %s: %s", name,
                           time.perf_counter() - started, type(error).__name__, error)
    if results.get("database") == "ok":
        # Says once per process which search engine runs (the log line at start).
        from faces.selectors import search_engine

        try:
            search_engine()
        except Exception as error:  # noqa: BLE001
            results["search_engine"] = "failed"
            logger.warning("Readiness: search engine unavailable: %s", error)
    return all(value == "ok" for value in results.values()), results


class HealthOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    checks = serializers.DictField(
        child=serializers.ChoiceField(choices=["ok", "failed"]),
        required=False,
        help_text="With ready=1: each dependency checked (database, database_replica, cache, "
        "broker, search_engine) and whether it answered.",
    )


class HealthApi(APIView):
    """Liveness and database reachability; with ?ready=1, readiness of every dependency."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        summary="Health and readiness",
        auth=[],
        parameters=[
            OpenApiParameter(
                "ready", OpenApiTypes.BOOL, required=False,
                description="Readiness: also check the cache and the job broker (503 if not).",
            )
        ],
        responses={200: HealthOutputSerializer, 503: HealthOutputSerializer},
    )
    def get(self, request):
        if request.query_params.get("ready", "").lower() in ("1", "true", "yes"):
            ready, checks = readiness()
            body = {"status": "ok" if ready else "unavailable", "checks": checks}
            return Response(HealthOutputSerializer(body).data, status=200 if ready else 503)
        try:
            _database(PRIMARY)
        except DatabaseError as error:
            logger.warning("Liveness: the database did not answer: %s", type(error).__name__)
            return Response(HealthOutputSerializer({"status": "unavailable"}).data, status=503)
        return Response(HealthOutputSerializer({"status": "ok"}).data)

