"""Standard Webhooks signatures with per-account secrets: verified by the spec's library,
forged or replayed ones rejected, rotation overlap, the management command, deletion."""

import base64
import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import standardwebhooks.webhooks
from django.core.management import CommandError, call_command
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from tests.videos.conftest import account_secret, deliver_now, signature_ok
from videos import webhook_http, webhooks
from videos.models import VideoJob, WebhookDelivery, WebhookSecret


@pytest.fixture
def delivered(pro_client, webhook_receiver):
    """A finished job of pro_client's account, its webhook delivered to the receiver."""

    def deliver():
        now = timezone.now()
        job = VideoJob.objects.create(
            owner=pro_client.user, file_path="videos/x.mp4", status="completed",
            summary={"frames_analysed": 3}, callback_url=webhook_receiver.url,
            finished_at=now, heartbeat_at=now,
        )
        webhooks.notify(job_id=job.pk)
        assert deliver_now(job=job).status == "delivered"
        return job, webhook_receiver.requests[-1]

    return deliver


def headers_of(request) -> dict:
    return {name.lower(): value for name, value in request["headers"].items()}


def test_a_delivery_verifies_with_the_standard_webhooks_library(delivered, pro_client):
    job, request = delivered()
    payload = Webhook(account_secret(pro_client.user)).verify(request["body"], request["headers"])
    assert payload["type"] == "video.completed"
    assert payload["data"]["account_id"] == pro_client.user.pk
    assert payload["data"]["job_id"] == str(job.pk)
    headers = headers_of(request)
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 30
    version, signature = headers["webhook-signature"].split(",")
    assert version == "v1" and len(base64.b64decode(signature)) == 32


def test_forged_deliveries_are_rejected(delivered, pro_client, make_client):
    job, request = delivered()
    secret = account_secret(pro_client.user)
    # Another account's secret (what a tenant who knows only their own secret can sign).
    other = account_secret(make_client("pro").user)
    assert other != secret
    assert not signature_ok(request, other)
    # A body changed in transit, same headers.
    tampered = json.loads(request["body"])
    tampered["data"]["status"] = "failed"
    assert not signature_ok({**request, "body": json.dumps(tampered).encode()}, secret)
    # A signature computed with a guessed secret, e.g. one derived from SECRET_KEY.
    from django.conf import settings

    guessed = webhook_http.SECRET_PREFIX + base64.b64encode(settings.SECRET_KEY.encode()).decode()
    forged_headers = webhook_http.signed_headers(
        message_id=headers_of(request)["webhook-id"], body=request["body"].decode(),
        secrets=[guessed],
    )
    assert not signature_ok({**request, "headers": forged_headers}, secret)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(request["body"], forged_headers)


def test_a_replayed_delivery_is_rejected(delivered, pro_client, monkeypatch):
    job, request = delivered()
    secret = account_secret(pro_client.user)
    # Re-sent with a fresh timestamp: the signature covers the timestamp, so it fails.
    fresh = {**request["headers"], "webhook-timestamp": str(int(datetime.now(UTC).timestamp()) + 1)}
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(request["body"], fresh)

    # Re-sent unchanged six minutes later: outside the library's 5-minute tolerance.
    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(minutes=6)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", Later)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(request["body"], request["headers"])


def test_secrets_are_per_account_random_and_in_the_spec_format(make_client):
    first, second = (account_secret(make_client("pro").user) for _ in range(2))
    assert first != second
    for secret in (first, second):
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    from django.conf import settings

    assert not hasattr(settings, "VIDEO_WEBHOOK_SECRET")


def test_after_a_rotation_both_secrets_verify_during_the_overlap_only(
    delivered, pro_client, settings
):
    old = account_secret(pro_client.user)
    row = webhooks.rotate_webhook_secret(owner=pro_client.user)
    new = row.secret
    assert new != old and [entry["secret"] for entry in row.previous_secrets] == [old]
    assert row.previous_expires_at - timezone.now() > timedelta(hours=23, minutes=59)

    _, request = delivered()
    assert len(headers_of(request)["webhook-signature"].split(" ")) == 2
    assert signature_ok(request, new) and signature_ok(request, old)

    # Overlap over: the old secret no longer signs.
    ended = (timezone.now() - timedelta(seconds=1)).isoformat()
    WebhookSecret.objects.filter(pk=row.pk).update(
        previous_secrets=[{"secret": old, "expires_at": ended}]
    )
    _, request = delivered()
    assert len(headers_of(request)["webhook-signature"].split(" ")) == 1
    assert signature_ok(request, new) and not signature_ok(request, old)



def test_a_second_rotation_within_the_overlap_keeps_the_first_secret_signing(
    delivered, pro_client
):
    original = account_secret(pro_client.user)
    webhooks.rotate_webhook_secret(owner=pro_client.user)  # a double click
    row = webhooks.rotate_webhook_secret(owner=pro_client.user)
    live = webhooks.signing_secrets(row)
    assert len(live) == 3 and live[0] == row.secret and live[-1] == original
    _, request = delivered()
    assert signature_ok(request, original) and signature_ok(request, row.secret)

    for _ in range(webhooks.MAX_PREVIOUS_SECRETS + 2):  # a header does not grow without end
        row = webhooks.rotate_webhook_secret(owner=pro_client.user)
    assert len(webhooks.signing_secrets(row)) == 1 + webhooks.MAX_PREVIOUS_SECRETS
    assert original not in webhooks.signing_secrets(row)

def test_the_command_prints_the_secret_alone_on_its_last_line(pro_client):
    out = StringIO()
    call_command("webhook_secret", email=pro_client.user.email.upper(), stdout=out)
    assert out.getvalue().splitlines()[-1] == account_secret(pro_client.user)

    out, err = StringIO(), StringIO()
    call_command("webhook_secret", "--rotate", email=pro_client.user.email, stdout=out,
                 stderr=err)
    row = WebhookSecret.objects.get(owner=pro_client.user)
    assert out.getvalue().splitlines()[-1] == row.secret
    assert "previous secret keeps signing until" in err.getvalue()
    assert webhooks.signing_secrets(row) == [row.secret, row.previous_secrets[0]["secret"]]

    with pytest.raises(CommandError, match="no account"):
        call_command("webhook_secret", email="nobody@example.com", stdout=StringIO())


def test_deleting_the_account_deletes_its_secret_and_deliveries(delivered, pro_client):
    delivered()
    webhooks.rotate_webhook_secret(owner=pro_client.user)
    assert WebhookSecret.objects.filter(owner=pro_client.user).exists()
    pro_client.user.delete()
    assert not WebhookSecret.objects.exists()
    assert not WebhookDelivery.objects.exists()
