"""API keys (shown once, stored as a digest, revoked with confirmation), plan change, CSRF."""

import re

import pytest
from django.test import Client

from accounts.models import ApiKey, Plan, api_key_digest

pytestmark = pytest.mark.django_db


def _create_key(client, name):
    """POST the form, follow the redirect: the page that shows the new key once."""
    response = client.post("/dashboard/keys/", {"name": name})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/keys/"
    page = client.get("/dashboard/keys/")
    assert page.status_code == 200
    return page


def _shown_key(html):
    found = re.search(r'id="new-key-value"[^>]*value="(ve_live_[A-Za-z0-9]+)"', html)
    return found.group(1) if found else None


def test_key_is_shown_once_and_only_its_digest_is_stored(signed_in):
    response = _create_key(signed_in, "my server")
    assert response["Cache-Control"] == "no-store"
    full_key = _shown_key(response.content.decode())
    api_key = ApiKey.objects.get(user=signed_in.account.user, name="my server")
    assert api_key.digest == api_key_digest(full_key)
    assert full_key not in {getattr(api_key, f.attname) for f in ApiKey._meta.concrete_fields}
    # Never again: not on the list, not on the dashboard, not on the revoke page.
    for url in ["/dashboard/keys/", "/dashboard/", f"/dashboard/keys/{api_key.key_id}/revoke/"]:
        page = signed_in.get(url).content.decode()
        assert full_key not in page, url
    assert api_key.prefix in signed_in.get("/dashboard/keys/").content.decode()
    # Not in any cookie either (the messages cookie included).
    assert all(full_key not in morsel.value for morsel in signed_in.cookies.values())
    # And it works.
    anonymous = Client()
    response = anonymous.get("/api/faces/collections", HTTP_X_API_KEY=full_key)
    assert response.status_code == 200


def test_reloading_the_key_page_neither_creates_nor_shows_a_second_key(signed_in):
    user = signed_in.account.user
    before = ApiKey.objects.filter(user=user).count()
    first = _create_key(signed_in, "reloaded")
    assert _shown_key(first.content.decode()) is not None
    reload = signed_in.get("/dashboard/keys/")  # what the browser's reload does after PRG
    assert reload.status_code == 200
    assert _shown_key(reload.content.decode()) is None
    assert ApiKey.objects.filter(user=user).count() == before + 1
    assert ApiKey.objects.filter(user=user, name="reloaded").count() == 1


def test_between_the_post_and_its_page_no_store_holds_the_key(signed_in):
    from django.contrib.sessions.models import Session

    response = signed_in.post("/dashboard/keys/", {"name": "never followed"})
    assert response.status_code == 302  # the redirect, not followed yet
    stored = [session.get_decoded() for session in Session.objects.all()]
    assert stored and "ve_live_" not in repr(stored)  # the session table: sealed only
    pad = response.cookies["new_key_pad"]
    assert pad["httponly"] and pad["samesite"] == "Strict" and int(pad["max-age"]) <= 300
    assert "ve_live_" not in pad.value
    # The session half alone (the cookie lost, or a copy of the table) shows nothing.
    del signed_in.cookies["new_key_pad"]
    page = signed_in.get("/dashboard/keys/").content.decode()
    assert _shown_key(page) is None


def test_a_key_needs_a_name(signed_in):
    response = signed_in.post("/dashboard/keys/", {"name": ""})
    assert response.status_code == 400
    assert "new-key-value" not in response.content.decode()


def test_revoke_asks_first_then_the_key_gets_401(signed_in):
    account = signed_in.account
    client = Client()
    ok = client.get("/api/faces/collections", HTTP_X_API_KEY=account.key)
    assert ok.status_code == 200
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


def test_a_self_upgrade_is_refused(signed_in):
    user = signed_in.account.user
    free = Plan.objects.get(name="free")
    user.plan = free
    user.save()
    html = signed_in.get("/dashboard/plan/").content.decode()
    for plan in Plan.objects.all():
        assert plan.display_name in html  # the plans compared
    assert "Request an upgrade" in html and "Switch to" not in html
    response = signed_in.post("/dashboard/plan/", {"plan": "enterprise"})
    assert response.status_code == 403
    assert "changed by staff" in response.content.decode()
    user.refresh_from_db()
    assert user.plan.name == "free"
    # And the API still answers as the free plan.
    keyed = Client()
    denied = keyed.get("/api/videos", HTTP_X_API_KEY=signed_in.account.key)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "plan_forbidden"


def test_self_service_plans_is_a_setting(signed_in, settings):
    settings.VISIONERA_SELF_SERVICE_PLANS = True
    user = signed_in.account.user
    assert "Switch to" in signed_in.get("/dashboard/plan/").content.decode()
    response = signed_in.post("/dashboard/plan/", {"plan": "enterprise"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.plan.name == "enterprise"
    signed_in.post("/dashboard/plan/", {"plan": "no-such-plan"})
    user.refresh_from_db()
    assert user.plan.name == "enterprise"


def test_an_upgrade_request_emails_staff_and_waits_in_the_admin(
    signed_in, django_capture_on_commit_callbacks
):
    from django.core import mail

    from accounts.models import PlanRequest, User

    staff = User.objects.create_superuser(email="staff@example.com", password="x-long-pass-1")
    user = signed_in.account.user
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            "/dashboard/plan/request/",
            {"plan": "enterprise", "message": "We need 100-image batches"},
        )
    assert response.status_code == 302
    request = PlanRequest.objects.get(user=user)
    assert request.plan.name == "enterprise" and request.handled_at is None
    user.refresh_from_db()
    assert user.plan.name == "pro"  # nothing changes until staff decide
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["staff@example.com"]
    assert user.email in mail.outbox[0].subject
    assert f"/admin/accounts/planrequest/{request.pk}/change/" in mail.outbox[0].body
    assert "100-image batches" in mail.outbox[0].body
    assert "is waiting for staff" in signed_in.get("/dashboard/plan/").content.decode()
    # Asking again for the same plan neither piles up requests nor mails staff again.
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/dashboard/plan/request/", {"plan": "enterprise"})
    assert PlanRequest.objects.filter(user=user).count() == 1
    assert len(mail.outbox) == 1

    admin = Client()
    admin.force_login(staff)
    listing = admin.get("/admin/accounts/planrequest/?handled_at__isempty=1")
    assert listing.status_code == 200 and user.email in listing.content.decode()
    granted = admin.post("/admin/accounts/planrequest/", {
        "action": "grant_selected", "_selected_action": [request.pk]})
    assert granted.status_code == 302
    user.refresh_from_db()
    request.refresh_from_db()
    assert user.plan.name == "enterprise"
    assert request.granted and request.handled_at is not None


def test_csrf_is_enforced_on_every_dashboard_form(account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(account.user)
    for url, data in [
        ("/dashboard/keys/", {"name": "x"}),
        (f"/dashboard/keys/{account.api_key.key_id}/revoke/", {}),
        ("/dashboard/plan/", {"plan": "free"}),
        ("/dashboard/plan/request/", {"plan": "enterprise"}),
        ("/dashboard/account/delete/", {"password": "x"}),
        ("/accounts/logout/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    account.api_key.refresh_from_db()
    assert account.api_key.revoked_at is None
    account.user.refresh_from_db()
    assert account.user.plan.name == "pro"
    assert not ApiKey.objects.filter(user=account.user, name="x").exists()
    assert not account.user.plan_requests.exists()


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
