from rest_framework import pagination

from visionera.api.errors import InvalidRequest


class PageNumberPagination(pagination.PageNumberPagination):
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
