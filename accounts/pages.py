"""Small pieces shared by the server-rendered pages: the public and account pages
(accounts.views), the signed-in dashboard (dashboard.views) and the admin (accounts.admin)."""

from django.shortcuts import render

from accounts.models import ApiKey

NEW_KEY_SESSION_KEY = "accounts.new_api_key"


def base_url(request) -> str:
    """The site's absolute address, without a trailing slash (for links in mails and docs)."""
    return request.build_absolute_uri("/").rstrip("/")


def limited_response(request, template, context):
    """The form page again, flagged and answered 429, when django-ratelimit set
    `request.limited`."""
    context["rate_limited"] = True
    return render(request, template, context, status=429)


def stash_new_key(request, api_key: ApiKey, full_key: str) -> None:
    """Keep a new key for the one page that shows it, after the POST's redirect.

    Server-side session data (never the messages cookie); popped by the page that shows
    it, so a reload neither shows it again nor creates a second key."""
    request.session[NEW_KEY_SESSION_KEY] = {"pk": api_key.pk, "full_key": full_key}


def pop_new_key(request, queryset):
    """The key stashed by stash_new_key (from `queryset`, e.g. the account's keys), once."""
    stashed = request.session.pop(NEW_KEY_SESSION_KEY, None)
    if not stashed:
        return None
    api_key = queryset.filter(pk=stashed.get("pk")).first()
    if api_key is not None:
        api_key.full_key = stashed.get("full_key", "")
    return api_key
