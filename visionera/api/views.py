"""The base class of every public API view: key, plan, rate limit, body size, usage."""

import time
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import ratelimit
from visionera.api.errors import FileTooLarge, PlanForbidden, RateLimited
from visionera.request_context import content_length, note_usage
from visionera.units import megabytes

MULTIPART_SLACK_BYTES = 1_000_000
"""What a multipart body may carry beside its files: boundaries, part headers and the form's
text fields. Added once, here, to every view's file allowance."""


@dataclass(frozen=True)
class RequestAllowance:
    """How large one request's body may be at a view, and that rule in words for the 413."""

    max_bytes: int
    wording: str  # e.g. "the free plan allows 5 MB per image and one image per request here"

    @classmethod
    def for_files(cls, *, file_bytes: int, wording: str) -> "RequestAllowance":
        """Files of ``file_bytes`` in all, and the multipart slack around them."""
        return cls(max_bytes=file_bytes + MULTIPART_SLACK_BYTES, wording=wording)

    def refusal(self, length: int) -> FileTooLarge | None:
        """The 413 for a body of ``length`` bytes; None when it is allowed."""
        if length <= self.max_bytes:
            return None
        # The wording states the files' limit, not max_bytes (which adds the multipart
        # slack), so plain rounding cannot make the two read the same.
        return FileTooLarge(f"the request is {megabytes(length)}; {self.wording}")


def check_plan_allows(view) -> None:
    """PlanForbidden when the account's plan lacks the view's endpoint group."""
    plan = view.request.user.plan
    if not plan.allows(view.endpoint_group):
        raise PlanForbidden(
            f"the {plan.name} plan does not include {view.endpoint_group.replace('_', ' ')}"
            " endpoints; upgrade your plan"
        )


class EndpointView(APIView):
    # Subclasses set `endpoint_group` and, if they take files, `upload_files`. (A comment,
    # not a docstring: drf-spectacular inherits docstrings into every operation's description.)

    endpoint_group: str = ""
    upload_files: int = 0  # how many plan-sized files one request may carry
    permission_classes = [IsAuthenticated]
    # A list view sets visionera.api.pagination.PageNumberPagination and pages with
    # paginate_queryset / get_paginated_response, as in DRF's GenericAPIView (whose lookup
    # and queryset machinery these views do not want); drf-spectacular then documents the
    # page envelope and its query parameters from it.
    pagination_class = None

    @property
    def plan(self):
        return self.request.user.plan

    def validated(self, serializer_class) -> dict:
        """Run the view's input serializer; upload fields read the plan from the context."""
        serializer = serializer_class(data=self.request.data, context={"plan": self.plan})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def render(self, serializer_class, result, *, status: int = 200, headers=None) -> Response:
        """The response body is what the output serializer makes of the service's result, so
        the body can only hold what /api/schema/ documents (keys it does not declare are
        dropped, optional ones it declares are left out when the result lacks them)."""
        body = serializer_class(result, context={"request": self.request}).data
        return Response(body, status=status, headers=headers)

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            if self.pagination_class is None:
                raise ImproperlyConfigured(f"{type(self).__name__} has no pagination_class")
            self._paginator = self.pagination_class()
        return self._paginator

    def paginate_queryset(self, queryset) -> list:
        """The rows of the page the request asks for (a bad page number is a 404)."""
        return self.paginator.paginate_queryset(queryset, self.request, view=self)

    def get_paginated_response(self, data) -> Response:
        """The page envelope around rows already rendered by the list's output serializer."""
        return self.paginator.get_paginated_response(data)

    def initial(self, request, *args, **kwargs):
        # DRF's order (the key, then the rate limit) first, so that every answer to an
        # authenticated request carries the rate-limit headers, a plan's 403 included and
        # counted; then the plan, then the body's size for that plan.
        super().initial(request, *args, **kwargs)
        check_plan_allows(self)
        self.check_body_size(request)

    def check_throttles(self, request):
        api_key = request.auth  # None when signed in through the dashboard session
        note_usage(request, user=request.user, api_key=api_key, group=self.endpoint_group)
        per_minute, per_second = self.plan.limits_for(self.endpoint_group)
        state = ratelimit.hit(
            account_id=request.user.pk,  # every key and the playground share the account's
            group=self.endpoint_group,
            per_minute=per_minute,
            per_second=per_second,
        )
        self.rate_limit_state = state
        if state is not None and state.limited:
            window = "per-second burst" if state.second.exceeded else "per-minute"
            limit = state.second.limit if state.second.exceeded else state.minute.limit
            raise RateLimited(
                f"{window} limit of {limit} requests for {self.endpoint_group} reached",
                headers={"Retry-After": str(state.retry_after(time.time()))},
            )

    def request_allowance(self) -> RequestAllowance | None:
        """The one rule for this view's request body: its byte limit and its wording. None
        for a view that takes no files (only settings.VISIONERA_MAX_REQUEST_BYTES applies,
        in visionera.middleware). By default `upload_files` plan-sized images; a view whose
        body holds something else (batch, video) returns its own."""
        if not self.upload_files:
            return None
        images = "one image" if self.upload_files == 1 else f"{self.upload_files} images"
        return self.plan_images_allowance(images=self.upload_files, per_request=images)

    def plan_images_allowance(self, *, images: int, per_request: str) -> RequestAllowance:
        """``images`` images of the plan's size; ``per_request`` says how many, in words."""
        return RequestAllowance.for_files(
            file_bytes=self.plan.max_image_bytes * images,
            wording=f"the {self.plan.name} plan allows {megabytes(self.plan.max_image_bytes)}"
            f" per image and {per_request} per request here",
        )

    def check_body_size(self, request):
        if request.method not in ("POST", "PUT", "PATCH"):
            return
        allowance = self.request_allowance()
        refusal = allowance.refusal(content_length(request)) if allowance is not None else None
        if refusal is not None:
            raise refusal

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(self, "rate_limit_state", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response
