"""Home: this month's usage per endpoint group, requests per day, the latest requests."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from accounts.groups import ALL_GROUPS, GROUP_LABELS
from accounts.selectors import (
    api_key_list,
    usage_by_day_get,
    usage_by_group_get,
    usage_record_list,
)
from dashboard.charts import CHART_DAYS, requests_chart

RECENT_REQUESTS = 20


def _month_start(now):
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _usage_rows(plan, usage: dict) -> list[dict]:
    """One row per endpoint group: this month's counts against the plan's limits."""
    rows = []
    for group in ALL_GROUPS:
        per_minute, per_second = plan.limits_for(group)
        counts = usage.get(group, {})
        peak = counts.get("peak", 0)
        rows.append({
            "group": group,
            "label": GROUP_LABELS[group],
            "allowed": plan.allows(group),
            "total": counts.get("total", 0),
            "errors": counts.get("errors", 0),
            "per_minute": per_minute,
            "per_second": per_second,
            "peak": peak,
            "peak_percent": min(100, round(100 * peak / per_minute)) if per_minute else 0,
        })
    return rows


@login_required
def home(request):
    user = request.user
    now = timezone.now()
    today = timezone.localdate()
    daily = usage_by_day_get(user=user, first_day=today - timedelta(days=CHART_DAYS - 1))
    return render(
        request,
        "dashboard/home.html",
        {
            "plan": user.plan,
            "usage": _usage_rows(user.plan, usage_by_group_get(user=user,
                                                               since=_month_start(now))),
            "month": now,
            "chart": requests_chart(daily, today=today),
            "recent": usage_record_list(user=user, limit=RECENT_REQUESTS),
            "active_keys": api_key_list(user).filter(revoked_at__isnull=True).count(),
            "nav": "home",
        },
    )
