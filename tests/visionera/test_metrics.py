"""/metrics: who may scrape it, and that requests, 429s, the video queue and webhooks show."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.videos.conftest import WebhookReceiver, deliver_now
from videos import webhooks
from videos.models import VideoJob
from visionera import metrics

pytestmark = pytest.mark.django_db
OUTSIDER = "203.0.113.7"


def scrape(client, **extra):
    return client.get("/metrics", **extra)


def samples(response) -> dict:
    """{(name, frozenset(labels)): value} of a scrape's text."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class TestWhoMayScrape:
    def test_loopback_without_a_token(self, client):
        response = scrape(client, REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        assert b"visionera_http_requests_total" in response.content

    def test_ipv6_loopback_too(self, client):
        assert scrape(client, REMOTE_ADDR="::1").status_code == 200

    def test_anyone_else_is_refused_without_a_token(self, client):
        response = scrape(client, REMOTE_ADDR=OUTSIDER)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert b"visionera_" not in response.content

    @pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP",
                                        "HTTP_FORWARDED"])
    def test_through_a_proxy_on_this_host_without_a_client_header_refused(self, client,
                                                                         header):
        # nginx on the same host: every client arrives from loopback, and no
        # RATELIMIT_IP_META_KEY says which header holds the real one.
        value = "for=203.0.113.5" if header == "HTTP_FORWARDED" else OUTSIDER
        response = scrape(client, REMOTE_ADDR="127.0.0.1", **{header: value})
        assert response.status_code == 403

    @pytest.mark.parametrize(
        "header",
        [None, "Bearer wrong-token", "Basic c2VjcmV0LXRva2Vu", "Bearer", "secret-token-123"],
    )
    def test_with_a_token_only_the_bearer_of_it(self, client, settings, header):
        settings.VISIONERA_METRICS_TOKEN = "secret-token-123"
        extra = {"HTTP_AUTHORIZATION": header} if header else {}
        # Loopback alone no longer suffices once a token is configured.
        response = scrape(client, REMOTE_ADDR="127.0.0.1", **extra)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_the_right_token_from_anywhere(self, client, settings):
        settings.VISIONERA_METRICS_TOKEN = "secret-token-123"
        response = scrape(client, REMOTE_ADDR=OUTSIDER,
                          HTTP_AUTHORIZATION="Bearer secret-token-123")
        assert response.status_code == 200


class TestRequests:
    def test_counted_by_endpoint_group_and_status(self, free_client):
        labels = {"group": "search", "method": "GET", "status": "404"}
        before = value("visionera_http_requests_total", **labels)
        latency_before = value("visionera_http_request_duration_seconds_count", group="search")
        missing = free_client.get("/api/faces/collections/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        assert value("visionera_http_requests_total", **labels) == before + 1
        assert value("visionera_http_request_duration_seconds_count", group="search") == (
            latency_before + 1
        )

    def test_pages_outside_the_api_have_their_own_groups(self, client):
        before = value("visionera_http_requests_total", group="health", method="GET",
                       status="200")
        client.get("/api/health")
        assert value("visionera_http_requests_total", group="health", method="GET",
                     status="200") == before + 1

    def test_the_scrape_shows_them(self, free_client, client):
        free_client.get("/api/faces/collections")
        scraped = samples(scrape(client, REMOTE_ADDR="127.0.0.1"))
        key = ("visionera_http_requests_total",
               frozenset({"group": "search", "method": "GET", "status": "200"}.items()))
        assert scraped[key] >= 1


@pytest.mark.rate_limits
def test_rate_limit_rejections_are_counted(free_client, monkeypatch):
    import time
    import types

    from accounts import ratelimit

    # The limiter's clock stands still, so the eight calls share one second's window however
    # slowly a loaded machine serves them.
    frozen = int(time.time()) + 0.01
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: frozen))
    before = value("visionera_rate_limited_total", group="search")
    statuses = [free_client.get("/api/faces/collections").status_code for _ in range(8)]
    refused = statuses.count(429)
    assert statuses == [200] * 5 + [429] * 3, statuses  # the search group's burst is 5/s
    assert value("visionera_rate_limited_total", group="search") == before + refused


class TestVideoQueue:
    def make_job(self, user, **fields):
        return VideoJob.objects.create(owner=user, file_path="videos/x.mp4", **fields)

    def test_depth_and_durations_from_the_jobs_table(self, pro_client, client):
        user = pro_client.user
        for _ in range(3):
            self.make_job(user, status="queued")
        self.make_job(user, status="processing")
        start = timezone.now() - timedelta(minutes=10)
        self.make_job(user, status="completed", started_at=start,
                      finished_at=start + timedelta(seconds=90))
        self.make_job(user, status="completed", started_at=start,
                      finished_at=start + timedelta(seconds=10))
        self.make_job(user, status="failed", started_at=start,
                      finished_at=start + timedelta(seconds=700))
        scraped = samples(scrape(client, REMOTE_ADDR="127.0.0.1"))

        def sample(name, **labels):
            return scraped[(name, frozenset(labels.items()))]

        assert sample("visionera_video_jobs", status="queued") == 3
        assert sample("visionera_video_jobs", status="processing") == 1
        assert sample("visionera_video_jobs", status="cancelled") == 0
        completed = "visionera_video_job_duration_seconds"
        assert sample(f"{completed}_count", status="completed") == 2
        assert sample(f"{completed}_sum", status="completed") == pytest.approx(100)
        assert sample(f"{completed}_bucket", status="completed", le="15.0") == 1
        assert sample(f"{completed}_bucket", status="completed", le="120.0") == 2
        assert sample(f"{completed}_bucket", status="failed", le="600.0") == 0
        assert sample(f"{completed}_bucket", status="failed", le="1200.0") == 1


    def test_a_database_outage_leaves_out_only_the_jobs(self, client, monkeypatch):
        from django.db import OperationalError, connection

        def unreachable(*args, **kwargs):
            raise OperationalError("connection refused")

        assert samples(scrape(client, REMOTE_ADDR="127.0.0.1"))[
            ("visionera_metrics_database_up", frozenset())] == 1
        monkeypatch.setattr(connection, "cursor", unreachable)
        response = scrape(client, REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200
        scraped = samples(response)
        assert scraped[("visionera_metrics_database_up", frozenset())] == 0
        assert not any(name.startswith("visionera_video_job") for name, _ in scraped)
        assert any(name == "visionera_http_requests_total" for name, _ in scraped)


class TestWebhookOutcomes:
    def test_the_function_other_code_calls(self):
        before = value("visionera_webhook_deliveries_total", outcome="delivered")
        metrics.record_webhook_outcome("delivered")
        assert value("visionera_webhook_deliveries_total", outcome="delivered") == before + 1
        with pytest.raises(ValueError, match="outcome must be one of"):
            metrics.record_webhook_outcome("exploded")

    @pytest.mark.parametrize("status, outcome", [(200, "delivered"), (500, "failed")])
    def test_video_webhooks_are_counted(self, pro_client, settings, status, outcome):
        settings.VIDEO_WEBHOOK_ATTEMPTS = 1
        settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the local receiver
        receiver = WebhookReceiver(status=status)
        receiver.thread.start()
        try:
            job = VideoJob.objects.create(
                owner=pro_client.user, file_path="videos/x.mp4", status="completed",
                summary={}, callback_url=receiver.url, finished_at=timezone.now(),
            )
            before = value("visionera_webhook_deliveries_total", outcome=outcome)
            assert webhooks.notify(job_id=job.pk)
            deliver_now(job=job)  # the webhooks actor's attempt, in this thread
            assert len(receiver.requests) == 1
            assert value("visionera_webhook_deliveries_total", outcome=outcome) == before + 1
        finally:
            receiver.server.shutdown()
            receiver.server.server_close()
