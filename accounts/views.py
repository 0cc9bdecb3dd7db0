"""Dashboard pages (server-rendered; login required on every one)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import api_keys_of


def landing(request):
    return render(request, "landing.html")


@login_required
def dashboard(request):
    return render(
        request,
        "dashboard/home.html",
        {"plan": request.user.plan, "api_keys": api_keys_of(request.user)[:10]},
    )
