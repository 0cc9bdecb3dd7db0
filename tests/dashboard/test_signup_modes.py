"""VISIONERA_SIGNUP: open, verify (the default: the mailed link before any API key), closed."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import ApiKey, User
from tests.helpers import setting_in_a_bare_environment

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-unusual-passw0rd"


def _sign_up(client, email):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def _link(message):
    return re.search(r"https?://testserver(/accounts/verify/[^\s]+/)", message.body).group(1)


def test_verify_and_staff_plans_are_the_defaults():
    assert setting_in_a_bare_environment("VISIONERA_SIGNUP")[1] == "verify"
    assert setting_in_a_bare_environment("VISIONERA_SELF_SERVICE_PLANS")[1] is False
    assert setting_in_a_bare_environment("VISIONERA_SIGNUP", VISIONERA_SIGNUP="Closed")[1] == (
        "closed")
    assert setting_in_a_bare_environment(
        "VISIONERA_SELF_SERVICE_PLANS", VISIONERA_SELF_SERVICE_PLANS="true")[1] is True


def test_verify_mode_no_key_before_the_mailed_link_is_followed(client, settings):
    settings.VISIONERA_SIGNUP = "verify"
    response = _sign_up(client, "v@example.com")
    assert response.status_code == 302
    user = User.objects.get(email="v@example.com")
    assert user.email_verified_at is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["v@example.com"]

    page = client.get("/dashboard/keys/")
    assert 'id="verify-first"' in page.content.decode()
    refused = client.post("/dashboard/keys/", {"name": "too early"})
    assert refused.status_code == 403
    assert not ApiKey.objects.filter(user=user).exists()

    # A forged or altered token verifies nothing.
    link = _link(mail.outbox[0])
    forged = link.rsplit("/", 2)[0] + "/abc-0123456789abcdef/"
    assert Client().get(forged).status_code == 400
    user.refresh_from_db()
    assert user.email_verified_at is None

    followed = Client().get(link)  # from the mail client: no session needed
    assert followed.status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert Client().get(link).status_code == 400  # used once
    created = client.post("/dashboard/keys/", {"name": "now"})
    assert created.status_code == 302
    assert ApiKey.objects.filter(user=user, name="now").count() == 1


def test_verify_mode_link_can_be_sent_again_a_few_times(client, settings):
    settings.VISIONERA_SIGNUP = "verify"
    _sign_up(client, "again@example.com")
    statuses = [client.post("/accounts/verify/resend/").status_code for _ in range(4)]
    assert statuses == [302] * 4
    assert len(mail.outbox) == 1 + 3  # sign-up + VERIFICATION_RESEND_RATE (3/h)
    assert _link(mail.outbox[-1]).startswith("/accounts/verify/")


def test_open_mode_keys_at_once(client, settings):
    settings.VISIONERA_SIGNUP = "open"
    assert _sign_up(client, "o@example.com").status_code == 302
    assert mail.outbox == []
    assert client.post("/dashboard/keys/", {"name": "k"}).status_code == 302
    assert ApiKey.objects.filter(user__email="o@example.com").count() == 1


def test_closed_mode_creates_no_account(client, settings):
    settings.VISIONERA_SIGNUP = "closed"
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="signup-closed"' in html
    assert 'action="/accounts/signup/"' not in html  # no form to fill
    response = _sign_up(client, "c@example.com")
    assert response.status_code == 403
    assert not User.objects.filter(email="c@example.com").exists()
    assert mail.outbox == []


def test_accounts_staff_create_are_verified(settings, make_client):
    settings.VISIONERA_SIGNUP = "verify"
    user = make_client("free").user  # accounts.services.get_or_create_user (CLI, admin)
    assert user.email_verified
    client = Client()
    client.force_login(user)
    assert client.post("/dashboard/keys/", {"name": "k"}).status_code == 302


def test_an_unknown_mode_refuses_to_start():
    done, _ = setting_in_a_bare_environment("VISIONERA_SIGNUP", VISIONERA_SIGNUP="maybe")
    assert done.returncode != 0
    assert "ImproperlyConfigured: VISIONERA_SIGNUP='maybe': use open, verify or closed" in (
        done.stderr)


def test_verify_mode_the_playground_waits_for_the_link_too(client, settings):
    settings.VISIONERA_SIGNUP = "verify"
    _sign_up(client, "pg@example.com")
    refused = client.get("/api/faces/collections")  # the playground calls the API so
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert "confirm your email" in refused.json()["error"]["message"]
    assert client.get(_link(mail.outbox[0])).status_code == 302
    assert client.get("/api/faces/collections").status_code == 200


def test_verify_mode_no_test_webhook_before_the_link(client, settings, monkeypatch):
    """A throwaway account must not make the server POST anywhere, not even a test event."""
    from videos import callback_urls
    from videos.models import WebhookDelivery

    settings.VISIONERA_SIGNUP = "verify"
    monkeypatch.setattr(callback_urls, "system_resolver",
                        lambda host, port, caller="": ["93.184.216.34"])
    _sign_up(client, "throwaway@example.com")
    test_event = {"action": "test", "url": "https://victim.example.com/"}
    refused = client.post("/dashboard/webhooks/", test_event)
    assert refused.status_code == 403
    assert "Verify your email address" in refused.content.decode()
    assert not WebhookDelivery.objects.exists()
    assert client.get(_link(mail.outbox[0])).status_code == 302
    assert client.post("/dashboard/webhooks/", test_event).status_code == 302
    assert WebhookDelivery.objects.filter(url="https://victim.example.com/").count() == 1
