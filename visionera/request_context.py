"""What the layers of one request share: its id, whether it is an API request, its usage.

A leaf module (it imports nothing of the project), so the middleware, the error envelope
and the API views can all read it without importing each other.
"""

import contextvars
import logging
from contextlib import contextmanager
from dataclasses import dataclass

_request_id = contextvars.ContextVar("request_id", default="-")

API_PREFIX = "/api"


def is_api_path(path: str) -> bool:
    """Whether a path is the JSON API's (answered with the error envelope, never HTML)."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def content_length(request) -> int:
    """The body size the client declared (Content-Length); 0 when absent or malformed, as
    Django itself reads it (WSGIRequest), so every check agrees on what was sent."""
    http_request = getattr(request, "_request", request)
    try:
        return max(0, int(http_request.META.get("CONTENT_LENGTH") or 0))
    except (TypeError, ValueError):
        return 0


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
    """Adds `request_id` to every log record (settings.LOGGING's formatters print it).

    Django logs a 4xx or 5xx answer ("Not Found: /api/nope") after the middleware that binds
    the id has returned, so for those records the id comes from the request they carry."""

    def filter(self, record):
        request_id = _request_id.get()
        if request_id == "-":
            request_id = getattr(getattr(record, "request", None), "request_id", "-")
        record.request_id = request_id
        return True


# The usage hand-off. The API view learns who is calling and for which endpoint group (after
# DRF authentication); accounts.middleware.UsageMiddleware records it once the response is
# built. They share this one documented attribute on Django's HttpRequest, through the two
# functions below only.
USAGE_ATTRIBUTE = "visionera_usage"


@dataclass(frozen=True)
class Usage:
    """Who made an API request and what it counts against."""

    user: object
    api_key: object | None  # None when the dashboard session (the playground) called
    group: str  # the endpoint group (accounts.groups)


def note_usage(request, *, user, api_key, group: str) -> None:
    """Mark ``request`` (a Django HttpRequest, or DRF's Request wrapping one) as an API call
    to record as usage."""
    http_request = getattr(request, "_request", request)
    setattr(http_request, USAGE_ATTRIBUTE, Usage(user=user, api_key=api_key, group=group))


def usage_of(request) -> Usage | None:
    """The usage noted on ``request`` by :func:`note_usage`; None when it is not to count."""
    http_request = getattr(request, "_request", request)
    return getattr(http_request, USAGE_ATTRIBUTE, None)
