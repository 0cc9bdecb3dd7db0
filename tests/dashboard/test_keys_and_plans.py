"""API keys (shown once, stored as a digest, revoked with confirmation), plan change, CSRF."""

import re

import pytest
from django.test import Client

from accounts.models import ApiKey, Plan, api_key_digest

pytestmark = pytest.mark.django_db


def test_key_is_shown_once_and_only_its_digest_is_stored(signed_in):
    response = signed_in.post("/dashboard/keys/", {"name": "my server"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    full_key = re.search(r'id="new-key-value"[^>]*value="(ve_live_[A-Za-z0-9]+)"', html).group(1)
    api_key = ApiKey.objects.get(user=signed_in.account.user, name="my server")
    assert api_key.digest == api_key_digest(full_key)
    assert full_key not in {getattr(api_key, f.attname) for f in ApiKey._meta.concrete_fields}
    # Never again: not on the list, not on the dashboard, not on the revoke page.
    for url in ["/dashboard/keys/", "/dashboard/", f"/dashboard/keys/{api_key.key_id}/revoke/"]:
        page = signed_in.get(url).content.decode()
        assert full_key not in page, url
    assert api_key.prefix in signed_in.get("/dashboard/keys/").content.decode()
    # And it works.
    anonymous = Client()
    response = anonymous.get("/api/faces/collections", HTTP_X_API_KEY=full_key)
    assert response.status_code != 401


def test_a_key_needs_a_name(signed_in):
    response = signed_in.post("/dashboard/keys/", {"name": ""})
    assert response.status_code == 400
    assert "new-key-value" not in response.content.decode()


def test_revoke_asks_first_then_the_key_gets_401(signed_in):
    account = signed_in.account
    client = Client()
    ok = client.get("/api/faces/collections", HTTP_X_API_KEY=account.key)
    assert ok.status_code != 401
    url = f"/dashboard/keys/{account.api_key.key_id}/revoke/"
    confirm = signed_in.get(url)
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    account.api_key.refresh_from_db()
    assert account.api_key.revoked_at is None  # GET changes nothing
    response = signed_in.post(url)
    assert response.status_code == 302
    account.api_key.refresh_from_db()
    assert account.api_key.revoked_at is not None
    denied = client.get("/api/faces/collections", HTTP_X_API_KEY=account.key)
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "unauthorized"
    assert "revoked" in signed_in.get("/dashboard/keys/").content.decode()


def test_plan_change(signed_in):
    user = signed_in.account.user
    response = signed_in.get("/dashboard/plan/")
    html = response.content.decode()
    for plan in Plan.objects.all():
        assert plan.display_name in html
    assert "admin" in html
    response = signed_in.post("/dashboard/plan/", {"plan": "enterprise"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.plan.name == "enterprise"
    response = signed_in.post("/dashboard/plan/", {"plan": "no-such-plan"})
    user.refresh_from_db()
    assert user.plan.name == "enterprise"


def test_csrf_is_enforced_on_every_dashboard_form(account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(account.user)
    for url, data in [
        ("/dashboard/keys/", {"name": "x"}),
        (f"/dashboard/keys/{account.api_key.key_id}/revoke/", {}),
        ("/dashboard/plan/", {"plan": "free"}),
        ("/accounts/logout/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    account.api_key.refresh_from_db()
    assert account.api_key.revoked_at is None
    account.user.refresh_from_db()
    assert account.user.plan.name == "pro"
    assert not ApiKey.objects.filter(user=account.user, name="x").exists()


def test_csrf_is_enforced_on_signup_and_login():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/signup/", {"email": "a@example.com"}).status_code == 403
    assert client.post("/accounts/login/", {"username": "a@example.com"}).status_code == 403


def test_the_session_may_call_the_api_only_with_the_csrf_header(account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(account.user)
    client.get("/dashboard/playground/")
    token = client.cookies["csrftoken"].value
    without = client.post("/api/faces/collections", {"name": "x"})
    assert without.status_code == 403
    with_header = client.post("/api/faces/collections", {"name": "x"}, HTTP_X_CSRFTOKEN=token)
    assert with_header.status_code != 403
