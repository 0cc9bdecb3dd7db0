"""One error envelope for every layer: DRF views, Django's handlers and uncaught exceptions.

    {"error": {"status": 413, "code": "file_too_large", "message": "..."}}

Extra keys (e.g. `faces_detected`, `details`, `request_id`) sit beside `error` when useful.
"""

import errno
import logging

from django import db
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from visionera.errors import DomainError
from visionera.request_context import current_request_id, is_api_path

logger = logging.getLogger("visionera.api")


class ApiError(Exception):
    status = 400
    code = "invalid_request"
    default_message = "The request is invalid."

    def __init__(self, message: str | None = None, *, extra: dict | None = None, headers=None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.extra = extra or {}
        self.headers = headers or {}


_CATALOGUED: list[type[ApiError]] = []


def _error(status: int, code: str, default_message: str, when: str) -> type[ApiError]:
    error_class = type(
        "".join(part.title() for part in code.split("_")),
        (ApiError,),
        {"status": status, "code": code, "default_message": default_message, "when": when},
    )
    _CATALOGUED.append(error_class)
    return error_class


# The error catalogue: every code the API answers with, once. The exception handler, the
# OpenAPI schema and the API guide page all read it (CATALOGUE, in status order).
InvalidRequest = _error(400, "invalid_request", "The request is invalid.",
                        "a parameter is missing, malformed or out of range")
MissingFile = _error(400, "missing_file", "A required file is missing.",
                     "a required upload field is absent or empty")
UnsupportedFormat = _error(400, "unsupported_format", "The file's format is not supported.",
                           "the upload's content is not JPEG, PNG, WebP or GIF (video: MP4, MOV,"
                           " WebM or AVI), whatever its name or Content-Type says")
ImageTooSmall = _error(400, "image_too_small", "The image is smaller than 64×64 pixels.",
                       "the image is under 64×64 pixels")
CorruptFile = _error(400, "corrupt_file", "The file could not be decoded.",
                     "the upload cannot be decoded")
NoFaceDetected = _error(400, "no_face_detected", "No face was detected.",
                        "a face was required and none was found")
InvalidCallbackUrl = _error(400, "invalid_callback_url", "The callback_url is not allowed.",
                            "callback_url is not a public http(s) address")
Unauthorized = _error(401, "unauthorized", "A valid X-API-Key header is required.",
                      "the X-API-Key header is missing, unknown, revoked or malformed")
PlanForbidden = _error(403, "plan_forbidden", "Your plan does not include this endpoint.",
                       "the account's plan does not include this endpoint")
Forbidden = _error(403, "forbidden", "You may not do this.", "the action is not allowed")
NotFound = _error(404, "not_found", "Not found.",
                  "no such object, or it belongs to another account")
MethodNotAllowed = _error(405, "method_not_allowed", "Method not allowed.",
                          "the endpoint does not take this HTTP method")
AlreadyExists = _error(409, "already_exists", "It exists already.",
                       "e.g. a collection name already in use")
FileTooLarge = _error(413, "file_too_large", "The upload is too large.",
                      "over the plan's per-file size, pixel count or the request limit")
UnsupportedMediaType = _error(415, "unsupported_media_type", "Send multipart/form-data.",
                              "the body is not multipart/form-data (JSON where no file is taken)")
RateLimited = _error(429, "rate_limited", "Too many requests.",
                     "over the plan's rate limit or monthly quota; see Retry-After")
InternalError = _error(500, "internal_error", "Something went wrong on our side.",
                       "a bug on our side; quote the request_id")
ServiceUnavailable = _error(503, "service_unavailable", "The service is temporarily unavailable.",
                            "a dependency is down or busy; retry after Retry-After")
InsufficientStorage = _error(507, "insufficient_storage", "The server has no room for the upload.",
                             "the server's disk is full; retry later")

# The classes declared above, not ApiError.__subclasses__(): a subclass defined elsewhere
# (a view's own error) must not change the catalogue depending on what was imported first.
CATALOGUE: tuple[type[ApiError], ...] = tuple(
    sorted(_CATALOGUED, key=lambda error_class: error_class.status)
)
assert len({error_class.code for error_class in CATALOGUE}) == len(CATALOGUE), "codes repeat"


def error_class_for(code: str) -> type[ApiError]:
    """The ApiError class for a catalogue code (a domain error's `code`)."""
    for error_class in CATALOGUE:
        if error_class.code == code:
            return error_class
    raise LookupError(f"no API error has the code {code!r}")


def catalogue_rows() -> list[dict]:
    """The catalogue as rows for people (the API guide page): status, code, message, when."""
    return [
        {
            "status": error_class.status,
            "code": error_class.code,
            "message": error_class.default_message,
            "when": error_class.when,
        }
        for error_class in CATALOGUE
    ]


def catalogue_by_status() -> dict[int, tuple[type[ApiError], ...]]:
    """Every status the API answers errors with, and its codes (the OpenAPI schema's view)."""
    statuses: dict[int, tuple[type[ApiError], ...]] = {}
    for error_class in CATALOGUE:
        statuses[error_class.status] = (*statuses.get(error_class.status, ()), error_class)
    return statuses


def envelope(error: ApiError) -> dict:
    body = {"error": {"status": error.status, "code": error.code, "message": error.message}}
    if error.status >= 500:
        body["error"]["request_id"] = current_request_id()
    body.update(error.extra)
    return body


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(envelope(error), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            text = _first_message(value)
            return text if field == "non_field_errors" else f"{field}: {text}"
        return "invalid input"
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "invalid input"
    return str(detail)


def as_api_error(exc: Exception) -> ApiError | None:
    """Translate a known exception into an ApiError; None for a genuine crash."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DomainError):
        retry_after = exc.retry_after_seconds
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return error_class_for(exc.code)(exc.message, extra=exc.extra, headers=headers)
    if isinstance(exc, drf_exceptions.ValidationError):
        return InvalidRequest(_first_message(exc.detail), extra={"details": exc.detail})
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return Unauthorized(str(exc.detail))
    if isinstance(exc, (drf_exceptions.NotFound, Http404)):
        return NotFound()
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return MethodNotAllowed(str(exc.detail))
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return UnsupportedMediaType(str(exc.detail))
    if isinstance(exc, drf_exceptions.Throttled):
        return RateLimited(headers={"Retry-After": str(exc.wait or 1)})
    if isinstance(exc, (drf_exceptions.PermissionDenied, PermissionDenied)):
        return Forbidden()
    if isinstance(exc, RequestDataTooBig):
        return FileTooLarge("the request body is too large")
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        # The database is restarting, unreachable or locked: a retryable outage, not a bug.
        logger.error("Database unavailable: %s", exc)
        return ServiceUnavailable(
            "the database is unavailable for a moment; retry shortly",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        # The disk filled while Django spooled the upload to a temporary file (or anywhere
        # else): the client can retry later; it is not our bug to report as a 500.
        logger.error("No space left while handling the request: %s", exc)
        return InsufficientStorage()
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        # Django's guards (DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES): say which one tripped.
        what = "fields" if isinstance(exc, TooManyFieldsSent) else "files"
        return InvalidRequest(f"the request has too many form {what}")
    if isinstance(exc, RecursionError):
        # json (DRF's parser) recurses once per level: "[" * 100_000 ends here.
        return InvalidRequest("the request body is nested too deeply")
    if isinstance(exc, (drf_exceptions.ParseError, SuspiciousOperation)):
        return InvalidRequest(str(getattr(exc, "detail", "")) or "the request could not be parsed")
    if isinstance(exc, drf_exceptions.APIException):
        error = ApiError(str(exc.detail))
        error.status, error.code = exc.status_code, exc.default_code
        return error
    return None


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception raised in a view ends as the envelope."""
    error = as_api_error(exc)
    if error is None:
        request = context.get("request")
        logger.exception("Unhandled error on %s", getattr(request, "path", "?"))
        error = InternalError()
    if isinstance(exc, (drf_exceptions.ParseError, RequestDataTooBig)):
        # A half-read body must not be parsed again by later code.
        request = context.get("request")
        if request is not None:
            request._full_data = {}
    response = Response(envelope(error), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


# Django's own handlers (urls.py), used for /api/ paths; other paths get the HTML pages.
def _django_handler(error_class, template_status):
    from django.views import defaults

    html_views = {
        400: defaults.bad_request,
        403: defaults.permission_denied,
        404: defaults.page_not_found,
        500: defaults.server_error,
    }

    def handler(request, exception=None):
        if is_api_path(request.path_info):
            return error_response(error_class())
        if template_status == 500:
            return html_views[500](request)
        return html_views[template_status](request, exception)

    return handler


handler400 = _django_handler(InvalidRequest, 400)
handler403 = _django_handler(Forbidden, 403)
handler404 = _django_handler(NotFound, 404)
handler500 = _django_handler(InternalError, 500)
