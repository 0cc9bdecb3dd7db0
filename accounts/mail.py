"""Where account mail goes when no mail server is configured.

Sign-up verification and password-reset mails carry a link that opens the account. Printed
to the console, as Django's default development backend does, that link lands in whatever
collects the server's output. So with DEBUG off and no `EMAIL_URL`, mail is dropped and only
the fact of it is logged; `EMAIL_URL=consolemail://` prints mail on purpose (what `make run`
does on loopback).
"""

import logging

from django.core import checks
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)

UNSENT_MAIL_BACKEND = "accounts.mail.UnsentMailBackend"


class UnsentMailBackend(BaseEmailBackend):
    """Sends nothing; logs each message's recipients count and subject, never its body."""

    def send_messages(self, email_messages):
        for message in email_messages:
            logger.warning(
                "Mail not sent (EMAIL_URL is not set): %r to %d recipient(s)",
                message.subject, len(message.recipients()),
            )
        return 0


@checks.register(checks.Tags.security, deploy=True)
def check_mail_is_configured(app_configs, **kwargs):
    from django.conf import settings

    if settings.EMAIL_BACKEND != UNSENT_MAIL_BACKEND:
        return []
    return [checks.Warning(
        "EMAIL_URL is not set: sign-up verification and password-reset mail is not sent.",
        hint="Set EMAIL_URL, e.g. smtp+tls://user:pass@smtp.example.com:587.",
        id="accounts.W001",
    )]
