"""Small pieces shared by the server-rendered pages: the public and account pages
(accounts.views), the signed-in dashboard (dashboard.views) and the admin (accounts.admin)."""

import base64
import secrets

from django.conf import settings
from django.shortcuts import redirect, render

from accounts.models import ApiKey

NEW_KEY_SESSION_KEY = "accounts.new_api_key"
NEW_KEY_PAD_COOKIE = "new_key_pad"
# Long enough to follow a redirect on a slow connection; the page pops the session half.
NEW_KEY_PAD_SECONDS = 300


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

    The key is split in two, neither of which reveals it: the session (server-side, so in
    the database) holds it XORed with a random pad of its length, and the pad travels in a
    short-lived cookie set on the redirect (:func:`redirect_showing_new_key`). A copy of the
    session table, or of the cookie, alone holds nothing. Popped by the page that shows it,
    so a reload neither shows it again nor creates a second key."""
    secret = full_key.encode()
    pad = secrets.token_bytes(len(secret))
    request.session[NEW_KEY_SESSION_KEY] = {"pk": api_key.pk, "sealed": _b64(_xor(secret, pad))}
    request.new_key_pad = _b64(pad)


def redirect_showing_new_key(request, to, *args):
    """The redirect after :func:`stash_new_key`, carrying the pad that opens the key."""
    response = redirect(to, *args)
    response.set_cookie(
        NEW_KEY_PAD_COOKIE, request.new_key_pad, max_age=NEW_KEY_PAD_SECONDS, httponly=True,
        secure=settings.SESSION_COOKIE_SECURE, samesite="Strict",
    )
    return response


def pop_new_key(request, queryset):
    """The key stashed by stash_new_key (from `queryset`, e.g. the account's keys), once."""
    stashed = request.session.pop(NEW_KEY_SESSION_KEY, None)
    if not stashed:
        return None
    try:
        sealed = base64.b64decode(stashed.get("sealed", ""), validate=True)
        pad = base64.b64decode(request.COOKIES.get(NEW_KEY_PAD_COOKIE, ""), validate=True)
    except (TypeError, ValueError):
        return None
    if not sealed or len(pad) != len(sealed):
        return None
    api_key = queryset.filter(pk=stashed.get("pk")).first()
    if api_key is not None:
        api_key.full_key = _xor(sealed, pad).decode(errors="replace")
    return api_key


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
