"""Writes for accounts: users, plans, API keys and usage records."""

import secrets
import string
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import (
    API_KEY_PREFIX,
    KEY_ID_LENGTH,
    KEY_SECRET_LENGTH,
    ApiKey,
    Plan,
    UsageRecord,
    User,
    api_key_digest,
)

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
        user = User.objects.create_user(email=email, password=None)
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
