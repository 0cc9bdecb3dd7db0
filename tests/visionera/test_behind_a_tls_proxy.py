"""Behind a proxy that terminates TLS: HTTPS is recognised, HTTP is redirected, and the
probes that reach each host directly (health checks, the metrics scrape) are not."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
PROXY_HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}


@pytest.fixture
def production_tls(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.VISIONERA_METRICS_TOKEN = "scrape-token"
    return Client()


def test_plain_http_pages_are_redirected_to_https(production_tls):
    response = production_tls.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_https_through_the_proxy_is_served_with_hsts(production_tls):
    response = production_tls.get("/accounts/login/", **PROXY_HTTPS)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("path", ["/api/health", "/api/health?ready=1"])
def test_a_health_check_over_plain_http_is_answered(production_tls, path):
    response = production_tls.get(path)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"


def test_a_metrics_scrape_over_plain_http_is_answered(production_tls):
    response = production_tls.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token")
    assert response.status_code == 200
    assert b"visionera_http_requests_total" in response.content
