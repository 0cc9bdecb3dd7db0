"""Plan: compare plans, request an upgrade (or switch, where self-service is on)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import PlanChangeForm, PlanRequestForm
from accounts.groups import ALL_GROUPS, GROUP_LABELS
from accounts.pages import base_url
from accounts.selectors import plan_limit_list, plan_request_get_open, self_service_plans
from accounts.services import change_plan, request_plan_change
from accounts.throttles import PLAN_REQUEST_RATE, ratelimit_failing_open


def _plan_page(request, *, status=200, request_form=None):
    return render(
        request,
        "dashboard/plan.html",
        {
            "plan_rows": plan_limit_list(),
            "groups": [(g, GROUP_LABELS[g]) for g in ALL_GROUPS],
            "current": request.user.plan,
            "self_service": self_service_plans(),
            "open_request": plan_request_get_open(request.user),
            "request_form": request_form or PlanRequestForm(),
            "nav": "plan",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan(request):
    """Compare plans; switch at once only with VISIONERA_SELF_SERVICE_PLANS, otherwise a
    plan is a staff decision (the account holder requests it)."""
    if request.method == "POST":
        if not self_service_plans():
            messages.error(request, "Plans are changed by staff: request an upgrade below.")
            return _plan_page(request, status=403)
        form = PlanChangeForm(request.POST)
        if form.is_valid():
            new_plan = form.cleaned_data["plan"]
            if new_plan != request.user.plan:
                change_plan(user=request.user, plan=new_plan)
                messages.success(request, f"You are now on the {new_plan.display_name} plan.")
            return redirect("dashboard:plan")
        messages.error(request, "Choose one of the plans below.")
    return _plan_page(request)


@login_required
@require_POST
@ratelimit_failing_open(group="accounts.plan_request", key="user", rate=PLAN_REQUEST_RATE,
                        method="POST", block=False)
def plan_request(request):
    form = PlanRequestForm(request.POST)
    if getattr(request, "limited", False):
        messages.error(request, "Too many requests; staff have the last one.")
        return _plan_page(request, status=429, request_form=form)
    if not form.is_valid():
        return _plan_page(request, status=400, request_form=form)
    new_plan = form.cleaned_data["plan"]
    if new_plan == request.user.plan:
        messages.info(request, f"You are already on the {new_plan.display_name} plan.")
        return redirect("dashboard:plan")
    request_plan_change(
        user=request.user, plan=new_plan, message=form.cleaned_data["message"],
        base_url=base_url(request),
    )
    messages.success(
        request, f"Your request for the {new_plan.display_name} plan was sent to our staff."
    )
    return redirect("dashboard:plan")
