"""The dashboard's Webhooks page: login, CSRF, the secret on demand, rotation, the test
event through the same rule and delivery path, and deliveries without network details."""

import pytest
from django.test import Client

from tests.videos.conftest import account_secret, deliver_now, signature_ok
from videos import webhooks
from videos.models import WebhookDelivery

URL = "/dashboard/webhooks/"


@pytest.fixture
def signed_in(client, make_client):
    account = make_client("pro")
    client.force_login(account.user)
    client.user = account.user
    return client


def test_the_page_needs_a_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/webhooks/"


def test_the_secret_is_shown_only_on_demand_and_never_cached(signed_in):
    secret = account_secret(signed_in.user)
    page = signed_in.get(URL)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert secret not in page.content.decode() and "Reveal secret" in page.content.decode()
    revealed = signed_in.post(URL, {"action": "reveal"})
    assert revealed.status_code == 200 and revealed["Cache-Control"] == "no-store"
    assert secret in revealed.content.decode()
    assert secret not in str(revealed.cookies), "a secret never travels in a cookie"


def test_posts_need_the_csrf_token(make_client):
    account = make_client("pro")
    client = Client(enforce_csrf_checks=True)
    client.force_login(account.user)
    for action in ("reveal", "rotate", "test"):
        response = client.post(URL, {"action": action, "url": "https://example.com/"})
        assert response.status_code == 403, action
    assert not WebhookDelivery.objects.exists()
    assert account_secret(account.user) not in response.content.decode()


def test_rotate_shows_the_new_secret_and_keeps_the_old_one_signing(signed_in):
    old = account_secret(signed_in.user)
    response = signed_in.post(URL, {"action": "rotate"})
    new = account_secret(signed_in.user)
    assert new != old
    body = response.content.decode()
    assert new in body and old not in body
    assert "previous secret still signs" in body
    row = webhooks.get_webhook_secret(owner=signed_in.user)
    assert webhooks.signing_secrets(row) == [new, old]


def test_the_test_event_refuses_internal_addresses_with_the_same_rule(signed_in):
    response = signed_in.post(URL, {"action": "test", "url": "http://169.254.169.254/latest/"})
    assert response.status_code == 400
    assert "callback_url points to a link-local address" in response.content.decode()
    response = signed_in.post(URL, {"action": "test", "url": "http://0x7f.1:6379/"})
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_a_test_event_is_signed_delivered_and_listed(signed_in, webhook_receiver):
    response = signed_in.post(URL, {"action": "test", "url": webhook_receiver.url})
    assert response.status_code == 302 and response["Location"] == URL
    delivery = deliver_now(delivery=WebhookDelivery.objects.get(owner=signed_in.user))
    assert delivery.status == "delivered" and delivery.event == "webhook.test"
    request = webhook_receiver.requests[0]
    assert signature_ok(request, account_secret(signed_in.user))
    assert webhook_receiver.json()["data"]["account_id"] == signed_in.user.pk
    page = signed_in.get(URL).content.decode()
    assert "webhook.test" in page and "delivered" in page and "<td>200</td>" in page


def test_failed_deliveries_are_listed_without_network_details(signed_in, settings, make_client):
    settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.VIDEO_WEBHOOK_ATTEMPTS = 1
    import socket

    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    delivery = webhooks.send_test_event(owner=signed_in.user, url=f"http://127.0.0.1:{port}/")
    delivery = deliver_now(delivery=delivery)
    assert delivery.status == "failed" and "Connection refused" in delivery.error
    other = make_client("pro").user
    webhooks.send_test_event(owner=other, url="http://127.0.0.1:9/theirs")
    page = signed_in.get(URL).content.decode()
    assert "failed" in page
    assert "refused" not in page.lower() and "Errno" not in page
    assert "/theirs" not in page, "another account's deliveries are not listed"


def test_test_events_are_limited_per_minute(signed_in, webhook_receiver):
    form = {"action": "test", "url": webhook_receiver.url}
    for _ in range(webhooks.TEST_EVENTS_PER_MINUTE):
        assert signed_in.post(URL, form).status_code == 302
    response = signed_in.post(URL, {"action": "test", "url": webhook_receiver.url})
    assert response.status_code == 429
    assert "at most 10 test events a minute" in response.content.decode()
    assert WebhookDelivery.objects.count() == webhooks.TEST_EVENTS_PER_MINUTE
