"""Webhooks: the account's signing secret, rotation, a test event, recent deliveries."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.selectors import may_create_api_keys
from videos import selectors
from videos import webhooks as video_webhooks
from videos.errors import CallbackUrlNotAllowed, TooManyTestEvents

RECENT_DELIVERIES = 20


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request):
    """The account's webhook secret (revealed on demand), rotation, recent deliveries and a
    test event. Secrets only ever travel in a POST's own no-store response, never in a
    redirect's messages cookie."""
    revealed = False
    test_url = ""
    test_error = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "reveal":
            revealed = True
        elif action == "rotate":
            video_webhooks.rotate_webhook_secret(owner=request.user)
            revealed = True
            messages.success(request, "A new secret is in use. The previous one keeps signing "
                             "beside it for 24 hours: update your receiver before then.")
        elif action == "test" and not may_create_api_keys(request.user):
            # The keys' rule: an account that has not followed its mailed link makes the
            # server send nothing anywhere.
            test_error, status = "Verify your email address before sending test events.", 403
        elif action == "test":
            test_url = request.POST.get("url", "").strip()
            try:
                video_webhooks.send_test_event(owner=request.user, url=test_url)
            except CallbackUrlNotAllowed as exc:
                test_error, status = str(exc), 400
            except TooManyTestEvents as exc:
                test_error, status = str(exc), 429
            else:
                messages.success(request, "Test event queued; its outcome appears below.")
                return redirect("dashboard:webhooks")
        else:
            status = 400
    secret = video_webhooks.get_webhook_secret(owner=request.user)
    deliveries = [
        {"delivery": delivery, **video_webhooks.public_outcome(delivery)}
        for delivery in selectors.webhook_delivery_list(
            owner=request.user, limit=RECENT_DELIVERIES
        )
    ]
    previous_live = len(video_webhooks.signing_secrets(secret)) > 1
    response = render(
        request,
        "dashboard/webhooks.html",
        {
            "secret": secret.secret if revealed else None,
            "previous_expires_at": secret.previous_expires_at if previous_live else None,
            "deliveries": deliveries,
            "test_url": test_url,
            "test_error": test_error,
            "nav": "webhooks",
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response
