"""Reads for accounts."""

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate, TruncMinute

from accounts.groups import ALL_GROUPS, GROUP_LABELS
from accounts.models import (
    API_KEY_PREFIX,
    KEY_ID_LENGTH,
    KEY_SECRET_LENGTH,
    ApiKey,
    Plan,
    PlanRequest,
    UsageRecord,
)

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


def plan_limit_list() -> list[dict]:
    """Each plan with its limits per group (`allowed` False where the plan lacks the group),
    for the pages that compare plans."""
    return [
        {
            "plan": plan,
            "limits": [
                {"group": group, "label": GROUP_LABELS[group], "allowed": plan.allows(group),
                 "limits": plan.limits_for(group)}
                for group in ALL_GROUPS
            ],
        }
        for plan in Plan.objects.all()
    ]


def _errors():
    return Count("id", filter=Q(status__gte=400))


def usage_by_group_get(*, user, since) -> dict[str, dict]:
    """Per endpoint group since `since`: requests, errors and the busiest minute's count."""
    records = UsageRecord.objects.filter(user=user, created_at__gte=since)
    usage = {
        row["group"]: {"total": row["total"], "errors": row["errors"], "peak": 0}
        for row in records.values("group").annotate(total=Count("id"), errors=_errors())
    }
    per_minute = (
        records.annotate(minute=TruncMinute("created_at")).values("group", "minute")
        .annotate(n=Count("id"))
    )
    for row in per_minute:
        group = usage.setdefault(row["group"], {"total": 0, "errors": 0, "peak": 0})
        group["peak"] = max(group["peak"], row["n"])
    return usage


def usage_by_day_get(*, user, first_day) -> dict:
    """{day: {"total", "errors"}} for every day since `first_day` that had a request."""
    return {
        row["day"]: {"total": row["total"], "errors": row["errors"]}
        for row in UsageRecord.objects.filter(user=user, created_at__date__gte=first_day)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(total=Count("id"), errors=_errors())
    }


def usage_record_list(*, user, limit: int):
    """The account's latest requests, newest first."""
    return UsageRecord.objects.filter(user=user).select_related("api_key")[:limit]


def api_key_get(*, user, key_id: str) -> ApiKey | None:
    """The user's key by its public id; None for a missing one or anyone else's."""
    return ApiKey.objects.filter(user=user, key_id=key_id).first()


def plan_list():
    """Every plan, in the order staff set (Plan.Meta.ordering)."""
    return Plan.objects.all()
