"""What the layers of one request share: its id and whether it is an API request.

A leaf module (it imports nothing of the project), so the middleware, the error envelope
and the API views can all read it without importing each other.
"""

import contextvars
import logging
from contextlib import contextmanager

_request_id = contextvars.ContextVar("request_id", default="-")

API_PREFIX = "/api"


def is_api_path(path: str) -> bool:
    """Whether a path is the JSON API's (answered with the error envelope, never HTML)."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def current_request_id() -> str:
    """The id of the request being served ("-" outside one: workers, commands)."""
    return _request_id.get()


@contextmanager
def request_id_bound(request_id: str):
    """Make ``request_id`` the current one (error envelopes, log lines) for the block."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record (settings.LOGGING's formatters print it)."""

    def filter(self, record):
        record.request_id = _request_id.get()
        return True
