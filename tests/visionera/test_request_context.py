"""visionera.request_context: the request id in log lines and error envelopes, API paths."""

import logging

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from visionera.request_context import (
    RequestIdLogFilter,
    Usage,
    content_length,
    current_request_id,
    is_api_path,
    note_usage,
    request_id_bound,
    usage_of,
)


def test_api_paths_are_api_and_nothing_else():
    assert is_api_path("/api")
    assert is_api_path("/api/faces/compare")
    assert not is_api_path("/apiary")
    assert not is_api_path("/dashboard/api/")
    assert not is_api_path("/")


def test_the_bound_request_id_reaches_log_records_and_is_reset_after():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "message", None, None)
    with request_id_bound("trace-0123456789"):
        assert current_request_id() == "trace-0123456789"
        assert RequestIdLogFilter().filter(record) is True
        assert record.request_id == "trace-0123456789"
    assert current_request_id() == "-"
    RequestIdLogFilter().filter(record)
    assert record.request_id == "-"



def test_usage_noted_through_drf_is_read_from_the_django_request():
    http_request = RequestFactory().get("/api/faces/collections")
    assert usage_of(http_request) is None
    user, api_key = object(), object()
    note_usage(Request(http_request), user=user, api_key=api_key, group="search")
    # The middleware sees Django's HttpRequest, never DRF's wrapper.
    assert usage_of(http_request) == Usage(user=user, api_key=api_key, group="search")


def test_a_session_call_notes_usage_without_a_key():
    http_request = RequestFactory().get("/api/faces/collections")
    user = object()
    note_usage(http_request, user=user, api_key=None, group="compare")
    assert usage_of(http_request) == Usage(user=user, api_key=None, group="compare")


@pytest.mark.parametrize(
    "header, expected", [(None, 0), ("", 0), ("123", 123), ("abc", 0), ("-5", 0), ("1e3", 0)]
)
def test_content_length_is_what_was_declared_or_zero(header, expected):
    extra = {} if header is None else {"CONTENT_LENGTH": header}
    http_request = RequestFactory().get("/api/health", **extra)
    if header is None:
        http_request.META.pop("CONTENT_LENGTH", None)
    assert content_length(http_request) == expected
    assert content_length(Request(http_request)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/nope", "/dashboard/nope/"])
def test_django_request_log_lines_of_4xx_answers_carry_the_id(client, caplog, path):
    # Django logs "Not Found: …" after the middleware that binds the id has returned.
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(path, HTTP_X_REQUEST_ID="trace-404-0123456789")
    assert response.status_code == 404
    [record] = [r for r in caplog.records if r.name == "django.request"]
    RequestIdLogFilter().filter(record)
    assert record.request_id == "trace-404-0123456789"
