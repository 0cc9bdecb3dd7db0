"""The same contract checks over every API endpoint, each endpoint a declaration
(tests/contract/endpoints.py): a valid call with real photos (status, schema, usage record,
rate-limit headers, request id), 401 without a key and with a revoked one, 403 where the
plan lacks the group, 413 over the plan's size with the endpoint's own wording.

The plans' real rate limits apply (rate_limits marker): each test makes one counted call.
"""

import re
import time

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Plan, UsageRecord
from accounts.services import revoke_api_key
from tests.contract.conformance import assert_conforms, operations
from tests.contract.endpoints import API_ENDPOINTS, ENDPOINTS, UPLOAD_ENDPOINTS, World, send
from tests.helpers import upload
from visionera.units import megabytes

pytestmark = [pytest.mark.django_db, pytest.mark.rate_limits]

by_id = {"ids": lambda endpoint: endpoint.id}


def _url_operations() -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) of every view the URLconf routes under /api/ (bar the schema)."""
    found = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                if route.startswith("api/schema"):
                    continue
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
                view = getattr(pattern.callback, "view_class", None)
                if view is None:  # a function view: no methods to read, so never declared
                    found.add(("ANY", path))
                    continue
                for method in view.http_method_names:
                    if method not in ("options", "head") and hasattr(view, method):
                        found.add((method.upper(), path))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_operation_in_the_urlconf_and_the_schema_is_declared():
    declared = {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
    assert len(declared) == len(ENDPOINTS), "an endpoint is declared twice"
    assert set(operations()) == declared, "declare every /api/schema/ operation in endpoints.py"
    assert _url_operations() == declared, "declare every API view in endpoints.py"


def assert_error(response, status: int, code: str, message: str | None = None):
    """Exactly the envelope: {"error": {"status", "code", "message"}} and nothing else."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"status", "code", "message"}, body
    assert body["error"]["status"] == status and body["error"]["code"] == code, body
    if message is not None:
        assert body["error"]["message"] == message
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.parametrize("endpoint", ENDPOINTS, **by_id)
def test_a_valid_call_succeeds_is_counted_and_matches_the_schema(endpoint, make_client):
    client = make_client(endpoint.lowest_plan)
    path, data = endpoint.request(World(client.user))
    if not endpoint.authenticated:
        client.credentials()
    before = time.time()

    response = send(client, endpoint.method, path, data)

    assert response.status_code == endpoint.success, response.content
    assert_conforms(response)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    if not endpoint.authenticated:
        assert "X-RateLimit-Limit" not in response
        assert not UsageRecord.objects.exists()
        return
    per_minute, _ = client.user.plan.limits_for(endpoint.group)
    assert response["X-RateLimit-Limit"] == str(per_minute)
    assert response["X-RateLimit-Remaining"] == str(per_minute - 1)
    assert before < int(response["X-RateLimit-Reset"]) <= time.time() + 61
    record = UsageRecord.objects.get()
    assert (record.user, record.api_key, record.group, record.method, record.path,
            record.status) == (client.user, client.api_key, endpoint.group, endpoint.method,
                               path, endpoint.success)


@pytest.mark.parametrize("endpoint", API_ENDPOINTS, **by_id)
def test_no_key_is_401_and_not_counted(endpoint, anonymous_client):
    response = send(anonymous_client, endpoint.method, endpoint.placeholder_path(), {})
    assert_error(response, 401, "unauthorized")
    assert "X-RateLimit-Limit" not in response
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("endpoint", API_ENDPOINTS, **by_id)
def test_a_revoked_key_is_401_and_not_counted(endpoint, make_client):
    client = make_client("enterprise")
    revoke_api_key(api_key=client.api_key)
    response = send(client, endpoint.method, endpoint.placeholder_path(), {})
    assert_error(response, 401, "unauthorized")
    assert "X-RateLimit-Limit" not in response
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("endpoint", API_ENDPOINTS, **by_id)
def test_a_plan_without_the_group_is_403_plan_forbidden(endpoint, free_client):
    free = Plan.objects.get(name="free")
    # The declaration and the seeded plan agree on who may call it.
    assert free.allows(endpoint.group) == (endpoint.lowest_plan == "free")
    if endpoint.lowest_plan == "free":
        return  # the valid-call test runs it on the free plan
    response = send(free_client, endpoint.method, endpoint.placeholder_path(), {})
    assert_error(
        response, 403, "plan_forbidden",
        f"the free plan does not include {endpoint.group.replace('_', ' ')} endpoints;"
        " upgrade your plan",
    )


@pytest.mark.parametrize("endpoint", UPLOAD_ENDPOINTS, **by_id)
def test_a_body_over_the_plan_size_is_413_saying_what_is_allowed(endpoint, make_client, settings):
    Plan.objects.filter(name="pro").update(max_image_bytes=100_000, max_batch_images=2)
    settings.VISIONERA_MAX_VIDEO_BYTES = 100_000
    client = make_client("pro")
    # Larger than any of these limits (2 × 0.1 MB + 1 MB of multipart slack); the view
    # refuses it from Content-Length before parsing, so its bytes need not be a photo.
    oversized = upload("big.jpg", b"\xff\xd8\xff" + bytes(1_400_000))
    response = send(
        client, endpoint.method, endpoint.placeholder_path(), {endpoint.file_field: oversized}
    )
    length = int(response.wsgi_request.META["CONTENT_LENGTH"])
    assert_error(
        response, 413, "file_too_large", f"the request is {megabytes(length)}; {endpoint.too_large}"
    )
    assert response["X-RateLimit-Limit"] == str(client.user.plan.limits_for(endpoint.group)[0])
    record = UsageRecord.objects.get()
    assert (record.api_key, record.group, record.status) == (client.api_key, endpoint.group, 413)


@pytest.mark.parametrize(
    "endpoint", [endpoint for endpoint in API_ENDPOINTS if "{" in endpoint.path], **by_id
)
def test_another_accounts_object_is_404_never_403(endpoint, make_client):
    owner = make_client("pro")
    path, data = endpoint.request(World(owner.user))
    intruder = make_client("pro")
    response = send(intruder, endpoint.method, path, data)
    assert_error(response, 404, "not_found")
    record = UsageRecord.objects.get(api_key=intruder.api_key)
    assert (record.group, record.status) == (endpoint.group, 404)
