"""One error envelope from every layer, and a request id on every response."""

import pytest
from django.urls import path

from visionera.api.views import EndpointView

pytestmark = pytest.mark.django_db


class _CrashingApi(EndpointView):
    endpoint_group = "search"

    def get(self, request):
        raise RuntimeError("secret internals /home/app/settings.py")


def _plain_django_crash(request):
    raise RuntimeError("outside DRF")


from visionera.urls import handler500  # noqa: E402,F401 - this module serves as ROOT_URLCONF

urlpatterns = [
    path("api/crash", _CrashingApi.as_view()),
    path("api/plain-crash", _plain_django_crash),
]


def _assert_envelope(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert error["message"]
    return error


def test_unknown_api_path_is_a_json_404(anonymous_client):
    _assert_envelope(anonymous_client.get("/api/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405(pro_client):
    _assert_envelope(pro_client.get("/api/faces/compare"), 405, "method_not_allowed")


def test_uncaught_exception_in_a_view_is_500_without_stack_trace(pro_client, settings):
    settings.ROOT_URLCONF = __name__
    response = pro_client.get("/api/crash")
    error = _assert_envelope(response, 500, "internal_error")
    assert error["request_id"] == response["X-Request-ID"]
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_uncaught_exception_outside_drf_is_500_envelope(settings):
    from django.test import Client

    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    response = client.get("/api/plain-crash")
    _assert_envelope(response, 500, "internal_error")
    assert "outside DRF" not in response.content.decode()


def test_request_id_is_echoed_or_minted(anonymous_client):
    minted = anonymous_client.get("/api/health")
    assert len(minted["X-Request-ID"]) == 32
    echoed = anonymous_client.get("/api/health", HTTP_X_REQUEST_ID="client-trace-1234")
    assert echoed["X-Request-ID"] == "client-trace-1234"
    hostile = anonymous_client.get("/api/health", HTTP_X_REQUEST_ID="<script>")
    assert hostile["X-Request-ID"] != "<script>"


def test_malformed_json_is_invalid_request(pro_client):
    response = pro_client.post(
        "/api/faces/detect", data="{not json", content_type="application/json"
    )
    _assert_envelope(response, 400, "invalid_request")


def test_a_body_over_the_plan_allowance_is_413_before_reading(free_client):
    response = free_client.generic(
        "POST", "/api/faces/detect", data=b"", CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50_000_000),
    )
    error = _assert_envelope(response, 413, "file_too_large")
    assert "free" in error["message"]


def test_a_body_over_any_limit_is_413_even_unauthenticated(anonymous_client, settings):
    settings.VISIONERA_MAX_REQUEST_BYTES = 1000
    response = anonymous_client.generic(
        "POST", "/api/faces/detect", data=b"x" * 10, CONTENT_LENGTH="5000"
    )
    _assert_envelope(response, 413, "file_too_large")
