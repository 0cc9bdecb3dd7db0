"""Prometheus metrics: requests, rate-limit rejections, the video queue, webhook outcomes.

Built on prometheus-client rather than django-prometheus: what operators need here is per
*endpoint group* (the unit plans and rate limits count), not per view or URL, and the
video and webhook figures are this project's own; django-prometheus would add its
database/cache wrapper backends and per-view metrics on top without giving either.

- Request counts and latencies are counted in each process by RequestMetricsMiddleware.
  Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty
  directory, shared by the workers of one host) so /metrics sums every worker.
- The video queue (jobs per status) and job durations are read from the database at
  scrape time: the jobs table is the source of truth every web and worker host shares.
- Webhook outcomes are counted where a delivery finishes, through record_webhook_outcome().
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time

from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WEBHOOK_OUTCOMES = ("delivered", "failed", "skipped")

REQUESTS = Counter(
    "visionera_http_requests",
    "HTTP requests answered, by endpoint group, method and status code.",
    ["group", "method", "status"],
)
LATENCY = Histogram(
    "visionera_http_request_duration_seconds",
    "Time from the request entering Django to its response, by endpoint group.",
    ["group"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "visionera_rate_limited",
    "Requests refused with 429 rate_limited, by endpoint group.",
    ["group"],
)
WEBHOOKS = Counter(
    "visionera_webhook_deliveries",
    "Finished webhook deliveries (after retries), by outcome.",
    ["outcome"],
)


def record_webhook_outcome(outcome: str) -> None:
    """Count one finished webhook delivery: ``delivered``, ``failed`` or ``skipped``."""
    if outcome not in WEBHOOK_OUTCOMES:
        raise ValueError(f"webhook outcome must be one of {WEBHOOK_OUTCOMES}, got {outcome!r}")
    WEBHOOKS.labels(outcome=outcome).inc()


# --- request metrics ----------------------------------------------------------------------

# Paths outside the API views, by prefix; API views name their own group (endpoint_group).
_PATH_GROUPS = (
    ("/api/health", "health"),
    ("/metrics", "metrics"),
    ("/api/schema", "docs"),
    ("/docs", "docs"),
    ("/api-docs", "docs"),
    ("/api/", "api_other"),
    ("/admin", "admin"),
    ("/dashboard", "dashboard"),
    ("/static", "static"),
)


def endpoint_group(request, view_func=None) -> str:
    view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
    group = getattr(view_class, "endpoint_group", "") if view_class else ""
    if group:
        return group
    for prefix, name in _PATH_GROUPS:
        if request.path.startswith(prefix):
            return name
    return "site"  # sign-up, login, the account pages


class RequestMetricsMiddleware:
    """Counts every response by group/method/status and times it; first in the chain."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        group = getattr(request, "metrics_group", None) or endpoint_group(request)
        LATENCY.labels(group=group).observe(time.perf_counter() - started)
        method = request.method if request.method in _METHODS else "OTHER"
        REQUESTS.labels(group=group, method=method, status=str(response.status_code)).inc()
        if response.status_code == 429:
            RATE_LIMITED.labels(group=group).inc()
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.metrics_group = endpoint_group(request, view_func)


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# --- collectors that read the database, registered by their apps -----------------------

# An app's collector (e.g. videos.metrics.VideoJobsCollector) is added from its
# AppConfig.ready(), so this module never imports an app: the apps import it.
_database_collectors: list = []


def register_database_collector(collector) -> None:
    """Add a collector read at every scrape (once per collector type)."""
    if not any(type(known) is type(collector) for known in _database_collectors):
        _database_collectors.append(collector)


def registry() -> CollectorRegistry:
    """The process's metrics, or every worker's under PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
    else:
        combined = CollectorRegistry()
        combined.register(_ProcessMetrics())
    combined.register(_DatabaseCollectors())
    return combined


class _DatabaseCollectors:
    """The apps' database collectors, and whether the database answered them.

    During a database outage the scrape still answers, with the request counters that show
    the outage's 503s; only the families read from the database are left out, and
    visionera_metrics_database_up says so."""

    def collect(self):
        from django.db import DatabaseError

        families, answered = [], True
        try:
            for collector in _database_collectors:
                families.extend(collector.collect())
        except DatabaseError:
            logger.warning("/metrics: the database did not answer; its families are left out")
            families, answered = [], False
        up = GaugeMetricFamily("visionera_metrics_database_up",
                               "1 if this scrape read the database's families, 0 if it failed.")
        up.add_metric([], 1 if answered else 0)
        yield up
        yield from families


class _ProcessMetrics:
    def collect(self):
        yield from REGISTRY.collect()


# --- the /metrics view --------------------------------------------------------------------


def scrape_allowed(request) -> bool:
    """A bearer token when VISIONERA_METRICS_TOKEN is set; otherwise loopback clients only."""
    from django.conf import settings

    token = settings.VISIONERA_METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, presented = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), token.encode()
        )
    # Behind a proxy on this host every client arrives from loopback: the address the proxy
    # vouches for must be loopback too (a scrape on the host itself sends no such header).
    # With no client-address header configured, a request carrying a proxy's header came
    # through a proxy whose client is unknown: refused.
    from visionera.client_address import forwarded_address, peer_address

    peer, forwarded = peer_address(request), forwarded_address(request)
    if forwarded is None and any(request.META.get(name) for name in _PROXY_HEADERS):
        return False
    return (peer is not None and ipaddress.ip_address(peer).is_loopback
            and (forwarded is None or ipaddress.ip_address(forwarded).is_loopback))


# The headers reverse proxies add with the client's address.
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


def metrics_view(request):
    if not scrape_allowed(request):
        from django.conf import settings

        from visionera.api.errors import Forbidden, Unauthorized, error_response

        if settings.VISIONERA_METRICS_TOKEN:
            refused = Unauthorized("/metrics needs the header Authorization: Bearer <token>")
            response = error_response(refused)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return error_response(Forbidden("/metrics answers loopback clients only"))
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
