"""Public pages (landing, plans, API guide) and the account pages (sign-up, e-mail
verification, log-in, password reset). The signed-in pages live in the dashboard app."""

import logging

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods, require_POST

from accounts import api_guide
from accounts.forms import SignUpForm
from accounts.groups import ALL_GROUPS, DEFAULT_RATE_LIMITS, GROUP_LABELS
from accounts.pages import base_url, limited_response
from accounts.selectors import (
    SIGNUP_CLOSED,
    SIGNUP_VERIFY,
    plan_limit_list,
    plan_list,
    signup_mode,
)
from accounts.services import register_user, send_verification_email, verify_email
from accounts.throttles import (
    VERIFICATION_RESEND_RATE,
    ratelimit_failing_open,
    throttle_login,
    throttle_password_check,
    throttle_password_reset,
    throttle_signup,
)
from visionera.api.errors import catalogue_rows

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- public pages


def landing(request):
    return render(request, "landing.html", {"plans": plan_list()})


def plans(request):
    return render(
        request,
        "plans.html",
        {"plan_rows": plan_limit_list(), "groups": [(g, GROUP_LABELS[g]) for g in ALL_GROUPS]},
    )


def api_docs(request):
    """The API guide: every operation of the OpenAPI schema with its parameters and
    responses, the error catalogue, rate limits and plans (accounts.api_guide)."""
    base = base_url(request)
    return render(
        request,
        "docs/api.html",
        {
            "base": base,
            "endpoints": api_guide.endpoint_list(base=base),
            "errors": catalogue_rows(),
            "plan_rows": plan_limit_list(),
            "groups": [(g, GROUP_LABELS[g]) for g in ALL_GROUPS],
            "rate_limits": [
                (GROUP_LABELS[g], g, *DEFAULT_RATE_LIMITS[g]) for g in ALL_GROUPS
            ],
        },
    )


# --------------------------------------------------------------------------- accounts


@throttle_signup
@require_http_methods(["GET", "POST"])
def signup(request):
    """Self-service sign-up, as VISIONERA_SIGNUP says: open, verify (the default) or closed."""
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    mode = signup_mode()
    if mode == SIGNUP_CLOSED:
        # Staff create accounts (admin, `manage.py create_api_key`); nothing is created here.
        status = 403 if request.method == "POST" else 200
        return render(request, "registration/signup.html", {"closed": True}, status=status)
    form = SignUpForm(request.POST or None)
    context = {"form": form, "verify": mode == SIGNUP_VERIFY}
    if request.method == "POST":
        if getattr(request, "limited", False):
            return limited_response(request, "registration/signup.html", context)
        if form.is_valid():
            user = register_user(
                email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if mode == SIGNUP_VERIFY:
                if send_verification_email(user=user, base_url=base_url(request)):
                    messages.success(
                        request,
                        f"Welcome to VisionEra! We sent a link to {user.email}: follow it to "
                        "create API keys.",
                    )
                else:
                    messages.error(request, "We could not send the confirmation link: send "
                                            "it again from the API keys page.")
            else:
                messages.success(request, "Welcome to VisionEra! Create an API key to start.")
            return redirect("dashboard:home")
    return render(request, "registration/signup.html", context)


@require_http_methods(["GET"])
def verify_email_view(request, uidb64, token):
    user = verify_email(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "auth/verify_email_invalid.html", status=400)
    messages.success(request, f"{user.email} is confirmed: you can create API keys now.")
    return redirect("dashboard:keys")


@login_required
@require_POST
@ratelimit_failing_open(group="accounts.verification", key="user",
                        rate=VERIFICATION_RESEND_RATE, method="POST", block=False)
def resend_verification(request):
    if request.user.email_verified:
        return redirect("dashboard:keys")
    if getattr(request, "limited", False):
        messages.error(request, "Too many links sent; try again in an hour.")
        return redirect("dashboard:keys")
    if send_verification_email(user=request.user, base_url=base_url(request)):
        messages.success(request, f"We sent a new link to {request.user.email}.")
    else:
        messages.error(request, "We could not send the link; try again later.")
    return redirect("dashboard:keys")


class LimitedFormPage:
    """For a form view under one of accounts.throttles' decorators: a POST the throttle
    flagged (`request.limited`) gets the form page again, flagged and answered 429."""

    def post(self, request, *args, **kwargs):
        if getattr(request, "limited", False):
            return limited_response(
                request, self.template_name, self.get_context_data(form=self.get_form())
            )
        return super().post(request, *args, **kwargs)


@method_decorator(throttle_login, "dispatch")
class LoginView(LimitedFormPage, auth_views.LoginView):
    """Log-in, throttled per IP and per email (accounts.throttles); the admin's log-in
    shares these counters."""

    redirect_authenticated_user = True


@method_decorator(throttle_password_check, "dispatch")
class PasswordChangeView(LimitedFormPage, auth_views.PasswordChangeView):
    """Change the password: the form takes the old one, so it shares the per-account
    counter of every form that asks for it again (a stolen session alone cannot guess it)."""

    template_name = "auth/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


@method_decorator(throttle_password_reset, "dispatch")
class PasswordResetView(LimitedFormPage, auth_views.PasswordResetView):
    """Password reset, throttled per IP and per address: a form cannot become a mail cannon."""

    template_name = "auth/password_reset.html"
    email_template_name = "auth/password_reset_email.txt"
    subject_template_name = "auth/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
