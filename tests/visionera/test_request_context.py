"""visionera.request_context: the request id in log lines and error envelopes, API paths."""

import logging

from visionera.request_context import (
    RequestIdLogFilter,
    current_request_id,
    is_api_path,
    request_id_bound,
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

