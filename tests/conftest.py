"""Shared fixtures: API clients with a key per plan, a clean cache and media root, relaxed rate
limits, and the schema check on every API response. Helpers live in tests/helpers.py."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.helpers import PROJECT_ROOT  # noqa: F401 - re-exported for older imports


@pytest.fixture(scope="session", autouse=True)
def collected_static(tmp_path_factory):
    """The manifest storage needs collectstatic; run it once into a temporary STATIC_ROOT."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    # override_settings (unlike assignment) resets a storage some module already built.
    override = override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static"))
    override.enable()
    call_command("collectstatic", interactive=False, verbosity=0)
    yield
    override.disable()


@pytest.fixture(scope="session", autouse=True)
def api_responses_match_the_schema():
    """Every /api/ response any test gets through Django's test client (APIClient included)
    is checked against /api/schema/ (tests/contract/conformance.py): a documented status and
    a body that fits it. A drift between the API and its schema fails the test that saw it."""
    from django.test.client import Client

    from tests.contract.conformance import assert_conforms

    original = Client.request

    def request(self, **kwargs):
        response = original(self, **kwargs)
        assert_conforms(response)
        return response

    Client.request = request
    yield
    Client.request = original


@pytest.fixture(autouse=True)
def relaxed_rate_limits(request, monkeypatch):
    """Functional tests fire requests faster than any plan allows; rate-limit tests opt out
    with @pytest.mark.rate_limits and see the real plan limits."""
    if request.node.get_closest_marker("rate_limits"):
        return
    from accounts.models import Plan

    monkeypatch.setattr(Plan, "limits_for", lambda self, group: (1_000_000, 1_000_000))


@pytest.fixture(autouse=True)
def still_login_limit_clock(monkeypatch):
    """django-ratelimit (login, sign-up) counts in fixed windows; a test's burst that
    straddled a window edge would split across two counts. Its clock stands still here."""
    import time
    import types

    import django_ratelimit.core

    frozen = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: frozen))


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class KeyedClient(APIClient):
    """An APIClient that sends one account's API key; `.user`, `.key` and `.api_key` attached."""


@pytest.fixture
def make_client(db):
    from accounts.services import get_or_create_user, issue_api_key

    counter = iter(range(10_000))

    def make(plan="pro", email=None):
        email = email or f"user{next(counter)}-{plan}@example.com"
        user, _ = get_or_create_user(email=email, plan_name=plan)
        api_key, full_key = issue_api_key(user=user, name="test")
        client = KeyedClient()
        client.credentials(HTTP_X_API_KEY=full_key)
        client.user, client.key, client.api_key = user, full_key, api_key
        return client

    return make


@pytest.fixture
def free_client(make_client):
    return make_client("free")


@pytest.fixture
def pro_client(make_client):
    return make_client("pro")


@pytest.fixture
def enterprise_client(make_client):
    return make_client("enterprise")


@pytest.fixture
def anonymous_client():
    return APIClient()
