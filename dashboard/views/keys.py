"""API keys: create (shown once), list, revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import ApiKeyCreateForm
from accounts.pages import pop_new_key, redirect_showing_new_key, stash_new_key
from accounts.selectors import api_key_get, api_key_list, may_create_api_keys
from accounts.services import issue_api_key, revoke_api_key


@login_required
@require_http_methods(["GET", "POST"])
def key_list(request):
    """List keys; POST creates one and redirects to this page, which shows it once."""
    allowed = may_create_api_keys(request.user)
    form = ApiKeyCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not allowed:
            status = 403
        elif form.is_valid():
            api_key, full_key = issue_api_key(user=request.user, name=form.cleaned_data["name"])
            stash_new_key(request, api_key, full_key)
            return redirect_showing_new_key(request, "dashboard:keys")
        else:
            status = 400
    new_key = pop_new_key(request, api_key_list(request.user)) if request.method == "GET" else None
    response = render(
        request,
        "dashboard/keys.html",
        {"form": form, "new_key": new_key, "keys": api_key_list(request.user), "nav": "keys",
         "may_create": allowed},
        status=status,
    )
    # Never cached: the page may show a key, and the list must be current after a revoke.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def key_revoke(request, key_id):
    """GET asks for confirmation, POST revokes."""
    api_key = api_key_get(user=request.user, key_id=key_id)
    if api_key is None:
        raise Http404("no such key")
    if request.method == "POST":
        revoke_api_key(api_key=api_key)
        messages.success(request, f"Key “{api_key.name}” ({api_key.prefix}…) is revoked.")
        return redirect("dashboard:keys")
    return render(request, "dashboard/key_revoke.html", {"key": api_key, "nav": "keys"})
