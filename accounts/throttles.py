"""Throttles for the pages that take a password or send mail, counted in the shared cache.

Every password form (the dashboard's log-in, the admin's log-in) and the password reset are
limited per client IP *and* per email address, so neither many addresses from one IP nor
one address from many IPs gets unlimited tries. The admin's log-in shares the dashboard's
counters: a guess is a guess, whichever page takes it. Reset mails per address are limited
by the per-email rate, whoever asks.
"""

import logging
import unicodedata
from functools import wraps

from django.contrib.auth import get_user_model
from django_ratelimit.decorators import ratelimit

logger = logging.getLogger(__name__)

# Attempts per client IP (RATELIMIT_IP_META_KEY names the header behind a proxy).
SIGNUP_RATE = "10/h"
LOGIN_RATE = "10/m"
PASSWORD_RESET_RATE = "5/h"  # noqa: S105 - a rate, not a password
VERIFICATION_RESEND_RATE = "3/h"  # per account
PLAN_REQUEST_RATE = "10/h"  # per account: each one may email every staff member
# Per account, for the signed-in forms that take the password again (change it, delete
# the account, the admin's change): one counter, so a stolen session alone cannot guess it.
PASSWORD_CHECK_RATE = "10/h"  # noqa: S105 - a rate
# Attempts per email address, from anywhere. Per hour, so that a botnet gets 30 guesses an
# hour at one account; the price is that it can also keep that account's owner waiting.
LOGIN_RATE_PER_EMAIL = "30/h"
# Reset mails one address receives, however many clients ask.
PASSWORD_RESET_RATE_PER_EMAIL = "3/h"  # noqa: S105 - a rate


def ratelimit_failing_open(*, group, **options):
    """django-ratelimit's decorator (sets `request.limited`), but a cache outage lets the
    request through with a warning instead of a 500: RATELIMIT_FAIL_OPEN does not cover the
    cache's connection errors. Exceptions raised by the view itself are not touched."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            reached = False

            def reach_view(req, *a, **k):
                nonlocal reached
                reached = True
                return view(req, *a, **k)

            try:
                return ratelimit(group=group, **options)(reach_view)(request, *args, **kwargs)
            except Exception:  # noqa: BLE001 - only the limiter's own failure is caught
                if reached:
                    raise
                logger.warning("Rate-limit cache unavailable for %s; letting it through", group,
                               exc_info=True)
                request.limited = getattr(request, "limited", False)
                return view(request, *args, **kwargs)

        return wrapper

    return decorator


def posted_email(field):
    """A django-ratelimit key: the email address posted in `field`, normalised the way
    accounts store it, so case and spacing do not make a fresh counter. NFKC first, as the
    login form's UsernameField does before it authenticates: otherwise each full-width
    spelling of an address ("ｍe@example.com") would sign in to it on a counter of its own."""

    def key(group, request):
        value = unicodedata.normalize("NFKC", request.POST.get(field, ""))
        return get_user_model().objects.normalize_email(value.strip()).lower()[:254]

    return key


def _both(*, group, ip_rate, email_field, email_rate):
    by_ip = ratelimit_failing_open(group=group, key="ip", rate=ip_rate, method="POST",
                                   block=False)
    by_email = ratelimit_failing_open(group=f"{group}.email", key=posted_email(email_field),
                                      rate=email_rate, method="POST", block=False)

    def decorator(view):
        return by_ip(by_email(view))

    return decorator


def throttle_login(view):
    """For a view taking `username` (an email) and `password`: sets `request.limited`."""
    return _both(group="accounts.login", ip_rate=LOGIN_RATE, email_field="username",
                 email_rate=LOGIN_RATE_PER_EMAIL)(view)


def throttle_password_reset(view):
    """For the reset form (`email`): sets `request.limited`."""
    return _both(group="accounts.password_reset", ip_rate=PASSWORD_RESET_RATE,
                 email_field="email", email_rate=PASSWORD_RESET_RATE_PER_EMAIL)(view)


throttle_signup = ratelimit_failing_open(group="accounts.signup", key="ip", rate=SIGNUP_RATE,
                                         method="POST", block=False)


# The counter every signed-in form that asks the password again shares (see PASSWORD_CHECK_RATE).
throttle_password_check = ratelimit_failing_open(
    group="accounts.password_check", key="user", rate=PASSWORD_CHECK_RATE, method="POST",
    block=False)
