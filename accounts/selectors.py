"""Reads for accounts."""

from django.conf import settings

from accounts.models import API_KEY_PREFIX, KEY_ID_LENGTH, KEY_SECRET_LENGTH, ApiKey, PlanRequest

_KEY_LENGTH = len(API_KEY_PREFIX) + KEY_ID_LENGTH + KEY_SECRET_LENGTH


def api_key_get_active(full_key: str) -> ApiKey | None:
    """The active key matching `full_key`, found by its public id and checked in constant time."""
    if len(full_key) != _KEY_LENGTH or not full_key.startswith(API_KEY_PREFIX):
        return None
    if not full_key.isascii() or not full_key[len(API_KEY_PREFIX):].isalnum():
        return None
    key_id = full_key[len(API_KEY_PREFIX): len(API_KEY_PREFIX) + KEY_ID_LENGTH]
    api_key = (
        ApiKey.objects.active()
        .select_related("user", "user__plan")
        .filter(key_id=key_id, user__is_active=True)
        .first()
    )
    if api_key is None or not api_key.matches(full_key):
        return None
    return api_key


def api_key_list(user):
    return ApiKey.objects.filter(user=user).order_by("-created_at")


# Sign-up modes (VISIONERA_SIGNUP).
SIGNUP_OPEN, SIGNUP_VERIFY, SIGNUP_CLOSED = "open", "verify", "closed"


def signup_mode() -> str:
    return settings.VISIONERA_SIGNUP


def self_service_plans() -> bool:
    return settings.VISIONERA_SELF_SERVICE_PLANS


def may_create_api_keys(user) -> bool:
    """With sign-up verification, an unverified account creates no keys."""
    return signup_mode() != SIGNUP_VERIFY or user.email_verified


def plan_request_get_open(user):
    return PlanRequest.objects.open().filter(user=user).select_related("plan").first()
