"""Writes for accounts: users, sign-up and verification, plans and plan requests, API keys,
usage records and the deletion of an account with everything it owns."""

import logging
import secrets
import smtplib
import string
from datetime import timedelta

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import (
    API_KEY_PREFIX,
    KEY_ID_LENGTH,
    KEY_SECRET_LENGTH,
    ApiKey,
    Plan,
    PlanRequest,
    UsageRecord,
    User,
    api_key_digest,
)

logger = logging.getLogger(__name__)

_KEY_ALPHABET = string.ascii_letters + string.digits
# last_used_at is written at most this often per key, so the hot path rarely writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length))


@transaction.atomic
def get_or_create_user(*, email: str, plan_name: str | None = None) -> tuple[User, bool]:
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=email).first()
    created = user is None
    if created:
        # Created by staff (admin, command line): nobody else's address to verify.
        user = User.objects.create_user(
            email=email, password=None, email_verified_at=timezone.now()
        )
    if plan_name is not None:
        change_plan(user=user, plan=Plan.objects.get(name=plan_name))
    return user, created


def change_plan(*, user: User, plan: Plan) -> User:
    user.plan = plan
    user.save(update_fields=["plan"])
    return user


@transaction.atomic
def issue_api_key(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Create a key; the returned full key is the only time it exists in the clear."""
    key_id = _random_text(KEY_ID_LENGTH)
    while ApiKey.objects.filter(key_id=key_id).exists():
        key_id = _random_text(KEY_ID_LENGTH)
    full_key = f"{API_KEY_PREFIX}{key_id}{_random_text(KEY_SECRET_LENGTH)}"
    api_key = ApiKey.objects.create(
        user=user, name=name.strip() or "API key", key_id=key_id, digest=api_key_digest(full_key)
    )
    return api_key, full_key


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def touch_api_key(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def record_usage(
    *,
    user: User,
    api_key: ApiKey | None,
    group: str,
    method: str,
    path: str,
    status: int,
    latency_ms: int,
    bytes_in: int,
) -> UsageRecord:
    return UsageRecord.objects.create(
        user=user,
        api_key=api_key,
        group=group,
        method=method[:8],
        path=path[:200],
        status=status,
        latency_ms=max(0, latency_ms),
        bytes_in=max(0, bytes_in),
    )


# --------------------------------------------------------------------------- sign-up


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset-token scheme (HMAC of SECRET_KEY, expiring after
    PASSWORD_RESET_TIMEOUT) over the account's verification state: a link stops working
    once it has been followed, or when the address changes."""

    key_salt = "accounts.services.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.email}{user.email_verified_at}{timestamp}"


email_verification_token = EmailVerificationTokenGenerator()


def verification_path(user: User) -> str:
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_verification_token.make_token(user)
    return reverse("accounts:verify-email", kwargs={"uidb64": uidb64, "token": token})


def send_verification_email(*, user: User, base_url: str) -> bool:
    """Mail the link that verifies the address (the console backend prints it). False when
    the mail server failed: the account exists, and the keys page offers to send it again."""
    link = base_url.rstrip("/") + verification_path(user)
    body = render_to_string("auth/verify_email.txt", {"user": user, "link": link})
    try:
        send_mail("Confirm your VisionEra account", body, None, [user.email])
    except (OSError, smtplib.SMTPException):
        logger.warning("Could not send the verification email of account %s", user.pk,
                       exc_info=True)
        return False
    return True


@transaction.atomic
def register_user(*, email: str, password: str) -> User:
    """A self-service sign-up: the default plan, unverified until the mailed link is followed."""
    return User.objects.create_user(email=email, password=password)


def verify_email(*, uidb64: str, token: str) -> User | None:
    """The account whose link this is, now verified; None for a wrong or expired link."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not email_verification_token.check_token(user, token):
        return None
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


# --------------------------------------------------------------------------- plans


@transaction.atomic
def request_plan_change(*, user: User, plan: Plan, message: str, base_url: str) -> PlanRequest:
    """Record what the account asks for (one open request each) and email the staff."""
    existing = PlanRequest.objects.select_for_update().open().filter(user=user).first()
    if existing is not None and existing.plan_id == plan.pk:
        return existing  # asked again: no second mail to staff
    if existing is not None:
        existing.plan, existing.message, existing.created_at = plan, message, timezone.now()
        existing.save(update_fields=["plan", "message", "created_at"])
        plan_request = existing
    else:
        plan_request = PlanRequest.objects.create(user=user, plan=plan, message=message)
    staff = list(
        User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True)
    )
    if staff:
        admin_url = base_url.rstrip("/") + reverse(
            "admin:accounts_planrequest_change", args=[plan_request.pk]
        )
        body = render_to_string(
            "auth/plan_request_email.txt",
            {"plan_request": plan_request, "admin_url": admin_url},
        )
        # Once the request is stored; a mail server that is down is logged, not a 500.
        transaction.on_commit(
            lambda: send_mail(
                f"Plan request: {user.email} asks for {plan.display_name}", body, None, staff
            ),
            robust=True,
        )
    else:
        logger.warning("Plan request %s: no active staff account to email", plan_request.pk)
    return plan_request


@transaction.atomic
def grant_plan_request(*, plan_request: PlanRequest) -> PlanRequest:
    change_plan(user=plan_request.user, plan=plan_request.plan)
    plan_request.handled_at, plan_request.granted = timezone.now(), True
    plan_request.save(update_fields=["handled_at", "granted"])
    return plan_request


@transaction.atomic
def decline_plan_request(*, plan_request: PlanRequest) -> PlanRequest:
    plan_request.handled_at, plan_request.granted = timezone.now(), False
    plan_request.save(update_fields=["handled_at", "granted"])
    return plan_request


# --------------------------------------------------------------------------- deletion


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Delete the account and everything it owns.

    Every model that belongs to an account has a CASCADE foreign key to it (directly or
    through its collection or job), so the database removes collections, faces and their
    descriptors, video jobs and detections, usage, keys, plan requests and webhook secrets
    in this one transaction. Files go on commit, by the post_delete handlers of their rows
    (faces.signals: kept enrolment photos; videos.signals: uploaded videos), exactly as
    when staff delete the account in the admin.
    """
    user.delete()
