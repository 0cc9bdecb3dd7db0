import time
from unittest import mock

import pytest

from accounts import ratelimit

pytestmark = [pytest.mark.django_db, pytest.mark.rate_limits]

COMPARE = "/api/faces/compare"
SEARCH = "/api/faces/collections"


def test_every_authenticated_response_carries_the_headers(pro_client):
    response = pro_client.get(SEARCH)
    assert response["X-RateLimit-Limit"] == "30"
    assert response["X-RateLimit-Remaining"] == "29"
    reset = int(response["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 61
    assert pro_client.get(SEARCH)["X-RateLimit-Remaining"] == "28"


def test_a_burst_of_14_compare_calls_in_a_second_is_limited(pro_client, monkeypatch):
    # The limiter's clock stands still at the start of a second: on a loaded machine 14
    # requests can take longer than a second, and the burst would straddle two windows.
    import types

    frozen = int(time.time()) + 0.01
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: frozen))
    statuses = [pro_client.post(COMPARE).status_code for _ in range(14)]
    assert statuses.count(429) == 4, statuses
    assert 429 not in statuses[:10]
    response = pro_client.post(COMPARE)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Limit"] == "60"


def test_the_per_minute_window_limits_too(make_client):
    client = make_client("pro")
    plan = client.user.plan
    plan.rate_limits = {"search": {"per_minute": 3, "per_second": 100}}
    plan.save()
    if time.time() % 60 > 55:  # keep the four requests inside one minute window
        time.sleep(60 - time.time() % 60 + 0.05)
    statuses = [client.get(SEARCH).status_code for _ in range(4)]
    assert statuses[-1] == 429
    limited = client.get(SEARCH)
    assert limited["X-RateLimit-Remaining"] == "0"
    assert int(limited["Retry-After"]) <= 60


def test_counters_are_per_account_and_per_group(make_client):
    first, second = make_client("pro"), make_client("pro")
    first.get(SEARCH)
    first.get(SEARCH)
    assert second.get(SEARCH)["X-RateLimit-Remaining"] == "29"  # another account
    assert first.post(COMPARE)["X-RateLimit-Remaining"] == "59"  # another group


def _second_key_of(client):
    from rest_framework.test import APIClient

    from accounts.services import issue_api_key

    _, full_key = issue_api_key(user=client.user, name="second")
    other = APIClient()
    other.credentials(HTTP_X_API_KEY=full_key)
    return other


def test_two_keys_of_one_account_share_one_limit(make_client):
    first = make_client("pro")
    plan = first.user.plan
    plan.rate_limits = {"search": {"per_minute": 4, "per_second": 100}}
    plan.save()
    second = _second_key_of(first)
    if time.time() % 60 > 55:  # keep the five requests inside one minute window
        time.sleep(60 - time.time() % 60 + 0.05)
    assert first.get(SEARCH)["X-RateLimit-Remaining"] == "3"
    assert second.get(SEARCH)["X-RateLimit-Remaining"] == "2"  # the account's count
    assert first.get(SEARCH).status_code == 200
    assert second.get(SEARCH).status_code == 200
    limited = second.get(SEARCH)  # the fifth request of the account, by either key
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited["X-RateLimit-Limit"] == "4" and limited["X-RateLimit-Remaining"] == "0"
    assert first.get(SEARCH).status_code == 429


def test_the_playground_shares_the_account_limit(make_client):
    from django.test import Client

    keyed = make_client("pro")
    plan = keyed.user.plan
    plan.rate_limits = {"search": {"per_minute": 3, "per_second": 100}}
    plan.save()
    playground = Client()  # the dashboard's playground calls the API with the session
    playground.force_login(keyed.user)
    if time.time() % 60 > 55:
        time.sleep(60 - time.time() % 60 + 0.05)
    assert keyed.get(SEARCH)["X-RateLimit-Remaining"] == "2"
    assert playground.get(SEARCH)["X-RateLimit-Remaining"] == "1"
    assert keyed.get(SEARCH)["X-RateLimit-Remaining"] == "0"
    limited = playground.get(SEARCH)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert keyed.get(SEARCH).status_code == 429


def test_a_cache_outage_fails_open(pro_client):
    with mock.patch.object(ratelimit.cache, "incr", side_effect=ConnectionError("redis down")):
        response = pro_client.get(SEARCH)
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


def test_window_state_arithmetic():
    state = ratelimit.RateLimitState(
        minute=ratelimit.WindowCount(limit=60, count=61, resets_at=1000.0),
        second=ratelimit.WindowCount(limit=10, count=3, resets_at=961.0),
    )
    assert state.limited
    assert state.retry_after(now=970.2) == 30
    assert state.headers()["X-RateLimit-Remaining"] == "0"
