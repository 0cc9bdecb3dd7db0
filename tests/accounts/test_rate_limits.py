import time
from unittest import mock

import pytest

from accounts import ratelimit

pytestmark = [pytest.mark.django_db, pytest.mark.rate_limits]

COMPARE = "/api/faces/compare"
SEARCH = "/api/faces/collections"


def _start_of_a_fresh_second():
    """Fire bursts early in a second so that they all land in one per-second window."""
    fraction = time.time() % 1
    if fraction > 0.2:
        time.sleep(1 - fraction + 0.01)


def test_every_authenticated_response_carries_the_headers(pro_client):
    response = pro_client.get(SEARCH)
    assert response["X-RateLimit-Limit"] == "30"
    assert response["X-RateLimit-Remaining"] == "29"
    reset = int(response["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 61
    assert pro_client.get(SEARCH)["X-RateLimit-Remaining"] == "28"


def test_a_burst_of_14_compare_calls_in_a_second_is_limited(pro_client):
    _start_of_a_fresh_second()
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


def test_counters_are_per_key_and_per_group(make_client):
    first, second = make_client("pro"), make_client("pro")
    first.get(SEARCH)
    first.get(SEARCH)
    assert second.get(SEARCH)["X-RateLimit-Remaining"] == "29"
    assert first.post(COMPARE)["X-RateLimit-Remaining"] == "59"


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
