import pytest

from accounts.models import UsageRecord

pytestmark = pytest.mark.django_db


def test_each_authenticated_request_is_recorded(pro_client):
    assert pro_client.get("/api/faces/collections").status_code == 200
    assert pro_client.post("/api/faces/compare").status_code == 400
    records = list(UsageRecord.objects.order_by("created_at"))
    assert [(r.group, r.method) for r in records] == [("search", "GET"), ("compare", "POST")]
    assert all(r.user_id == pro_client.user.pk and r.api_key_id == pro_client.api_key.pk
               for r in records)
    assert records[1].status == 400
    assert records[0].latency_ms >= 0


def test_unauthenticated_requests_are_not_recorded(anonymous_client):
    anonymous_client.get("/api/faces/collections")
    assert UsageRecord.objects.count() == 0


def test_a_failing_usage_write_does_not_fail_the_request(pro_client, monkeypatch):
    import accounts.middleware

    def broken(**kwargs):
        raise RuntimeError("db hiccup")

    monkeypatch.setattr(accounts.middleware, "record_usage", broken)
    response = pro_client.get("/api/faces/collections")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert not UsageRecord.objects.exists()


def test_a_signed_in_session_can_call_the_api_with_csrf(client, make_client):
    from django.test import Client

    account = make_client("pro")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(account.user)
    assert browser.get("/api/faces/collections").status_code == 200
    record = UsageRecord.objects.get()
    assert record.user_id == account.user.pk and record.api_key is None
    refused = browser.post("/api/faces/detect", {})
    # No CSRF token: a cross-site form cannot use the session.
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_a_malformed_content_length_is_still_recorded(pro_client):
    # Hostile header: the request is served (as an empty body), so it counts as usage.
    response = pro_client.get("/api/faces/collections", CONTENT_LENGTH="abc")
    assert response.status_code == 200
    record = UsageRecord.objects.get()
    assert (record.group, record.bytes_in) == ("search", 0)
