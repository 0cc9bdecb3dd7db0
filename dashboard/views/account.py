"""Account: delete it and everything it owns (the password is asked again)."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.forms import AccountDeleteForm
from accounts.pages import limited_response
from accounts.services import delete_account
from accounts.throttles import throttle_password_check


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@throttle_password_check
def account_delete(request):
    """Delete the account and everything it owns, once the password is entered again."""
    form = AccountDeleteForm(request.user, request.POST or None)
    status = 200
    if request.method == "POST":
        if getattr(request, "limited", False):
            return limited_response(request, "dashboard/account_delete.html",
                                    {"form": form, "nav": "account"})
        if form.is_valid():
            email = request.user.email
            delete_account(user=request.user)
            logout(request)
            messages.success(request, f"The account {email} and all its data are deleted.")
            return redirect("accounts:landing")
        status = 400
    return render(request, "dashboard/account_delete.html", {"form": form, "nav": "account"},
                  status=status)
