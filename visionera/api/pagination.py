from rest_framework import pagination
from rest_framework.response import Response

from visionera.api.errors import InvalidRequest


class PageNumberPagination(pagination.PageNumberPagination):
    """Every list's pages: ?page=N&page_size=M → {count, next, previous, results}. A view
    names it as its `pagination_class` (visionera.api.views.EndpointView), which is also
    how drf-spectacular documents the page and its query parameters."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        # DRF silently falls back to the default on `page_size=abc`; an integrator who typed
        # a bad value should hear about it rather than get 50 rows they did not ask for.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            try:
                value = int(raw)
            except (TypeError, ValueError):
                value = 0
            if value < 1:
                raise InvalidRequest(
                    f"page_size must be a whole number from 1 to {self.max_page_size}"
                )
        return super().get_page_size(request)

    def page_body(self, results, **extra) -> dict:
        """The current page as {count, next, previous, **extra, results}; ``extra`` holds a
        list's own keys (e.g. the video job beside its detections)."""
        return {
            "count": self.page.paginator.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            **extra,
            "results": results,
        }

    def get_paginated_response(self, data):
        return Response(self.page_body(data))
