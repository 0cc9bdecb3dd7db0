"""Records one UsageRecord per authenticated API request, after the response is built."""

import logging
import time

from accounts.services import record_usage
from visionera.request_context import content_length, usage_of

logger = logging.getLogger(__name__)


class UsageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        usage = usage_of(request)  # noted by the API view (EndpointView) once authenticated
        if usage is not None:
            try:
                record_usage(
                    user=usage.user,
                    api_key=usage.api_key,
                    group=usage.group,
                    method=request.method,
                    path=request.path,
                    status=response.status_code,
                    latency_ms=int((time.perf_counter() - started) * 1000),
                    bytes_in=content_length(request),
                )
            except Exception:  # noqa: BLE001 - usage is bookkeeping; never fail the answer.
                logger.exception("Could not record usage")
        return response
