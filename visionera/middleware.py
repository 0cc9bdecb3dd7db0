"""Request ids for every response and log line, early refusals of NUL characters in URLs and
of oversize API bodies."""

import re
import uuid
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpResponseBadRequest

from visionera.api.errors import FileTooLarge, InvalidRequest, error_response
from visionera.request_context import content_length, is_api_path, request_id_bound
from visionera.units import megabytes

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give each request an id (the client's X-Request-ID when sane) and echo it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _CLIENT_REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        with request_id_bound(request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class NulInUrlMiddleware:
    """A NUL character (%00) in the path or the query string is refused before any view.

    No id, name or filter of ours contains one, and PostgreSQL refuses it in any text it is
    sent: an id or filter that carried it to a query would end in a 500 (SQLite hides it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = unquote_plus(request.META.get("QUERY_STRING", ""))
        if "\x00" in request.path_info or "\x00" in query:
            message = "the URL contains a NUL character"
            if is_api_path(request.path_info):
                return error_response(InvalidRequest(message))
            return HttpResponseBadRequest(message, content_type="text/plain")
        return self.get_response(request)

class ApiRequestSizeMiddleware:
    """The life of an API request body: refused before a byte is read when no endpoint could
    accept it, drained when a view refused it unread, and its spooled temporary files
    deleted at once when the answer is an error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path_info):
            if content_length(request) > settings.VISIONERA_MAX_REQUEST_BYTES:
                limit = megabytes(settings.VISIONERA_MAX_REQUEST_BYTES)
                return error_response(FileTooLarge(f"the request body is over the {limit} limit"))
            response = self.get_response(request)
            finish_reading_body(request)
            if response.status_code >= 400:
                discard_spooled_uploads(request)
            return response
        return self.get_response(request)


def discard_spooled_uploads(request) -> None:
    """Delete the temporary files Django spooled a refused upload into, now.

    A multipart parse that fails half-way (the disk filled, too many parts …) never hands its
    files to request.FILES, so nothing closes them: the partial `*.upload` file would stay
    in FILE_UPLOAD_TEMP_DIR until the garbage collector found it — on a full disk, keeping
    it full. Closing a TemporaryUploadedFile deletes it.
    """
    for handler in request.__dict__.get("_upload_handlers") or ():
        spooled = getattr(handler, "file", None)
        if spooled is not None and not getattr(spooled, "closed", True):
            try:
                spooled.close()
            except OSError:
                pass


# Past this, an unread body is not worth a worker's time; the server's own bounded drain
# (gunicorn closes the connection when it gives up) handles it.
DRAIN_MAX_BYTES = 32 * 1024 * 1024


def finish_reading_body(request) -> None:
    """Read and drop whatever the view left of the request body.

    A request refused before its body was parsed (401, 403, 413, 429, 503 …) leaves the body
    in the socket. Measured with gunicorn 27 (gthread): the next request on that keep-alive
    connection was then, now and again, dropped without an answer (RemoteDisconnected on
    the client) although gunicorn means to drain it. Reading a bounded remainder here keeps
    the connection in step whatever the server does. (No `Connection: close` header: WSGI
    forbids hop-by-hop headers from the application.)
    """
    stream = getattr(request, "_stream", None)
    if stream is None:
        return
    remaining = getattr(stream, "limit", 0) - getattr(stream, "_pos", 0)
    if remaining <= 0:
        return
    if remaining > DRAIN_MAX_BYTES:
        return
    try:
        while stream.read(64 * 1024):
            pass
    except OSError:  # the client went away: nothing left to protect
        pass


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
# The API docs keep their scripts in files (Swagger UI's split view; ReDoc's start in
# static/js/redoc-init.js) but inject styles: Swagger UI's page carries an inline <style>
# and ReDoc writes its own <style> elements. ReDoc's search runs in a Web Worker made
# from a blob: URL. The scripts stay self-only.
_DOCS_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
)
_DOCS_PATHS = ("/docs/", "/docs/redoc/")
# The Django admin's templates need inline scripts (staff only). It keeps nosniff, DENY and
# the referrer policy.
CSP_EXEMPT_PREFIXES = ("/admin/",)


class ContentSecurityPolicyMiddleware:
    """A self-only Content-Security-Policy on every HTML page (the API answers JSON)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        content_type = response.get("Content-Type", "")
        if not content_type.startswith("text/html"):
            return response
        path = request.path_info
        if path.startswith(CSP_EXEMPT_PREFIXES):
            return response
        policy = _DOCS_POLICY if path in _DOCS_PATHS else CONTENT_SECURITY_POLICY
        response["Content-Security-Policy"] = policy
        return response
