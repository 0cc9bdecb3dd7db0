"""Account mail (sign-up and password-reset links) never lands in a log by default.

A reset link opens the account: printed by the console backend, it reached whatever
collected the server's output, and anyone reading the logs could take any account."""

import logging

import pytest

from accounts.mail import UNSENT_MAIL_BACKEND, check_mail_is_configured
from accounts.models import User
from tests.helpers import setting_in_a_bare_environment


def test_with_debug_off_and_no_mail_server_mail_is_not_printed():
    done, backend = setting_in_a_bare_environment("EMAIL_BACKEND", DEBUG="false", EMAIL_URL="")
    assert done.returncode == 0, done.stderr
    assert backend == UNSENT_MAIL_BACKEND


@pytest.mark.parametrize(("debug", "email_url", "backend"), [
    ("true", "", "django.core.mail.backends.console.EmailBackend"),
    ("false", "consolemail://", "django.core.mail.backends.console.EmailBackend"),  # make run
    ("false", "smtp+tls://user:pass@smtp.example.com:587",
     "django.core.mail.backends.smtp.EmailBackend"),
])
def test_mail_is_printed_only_in_debug_or_when_asked_for(debug, email_url, backend):
    done, value = setting_in_a_bare_environment("EMAIL_BACKEND", DEBUG=debug, EMAIL_URL=email_url)
    assert done.returncode == 0, done.stderr
    assert value == backend


def test_a_reset_mail_without_a_mail_server_leaves_no_link_in_the_log(
    db, client, settings, caplog, capsys
):
    settings.EMAIL_BACKEND = UNSENT_MAIL_BACKEND
    User.objects.create_user(email="victim@example.com", password="a-Long-unusual-passw0rd")
    with caplog.at_level(logging.DEBUG):
        response = client.post("/accounts/password/reset/", {"email": "victim@example.com"})
    assert response.status_code == 302
    printed = caplog.text + "".join(capsys.readouterr())
    assert "/accounts/password/reset/" not in printed.replace("POST /accounts/password/reset/", "")
    assert "Mail not sent (EMAIL_URL is not set)" in caplog.text


def test_check_deploy_warns_when_mail_is_not_sent(settings):
    settings.EMAIL_BACKEND = UNSENT_MAIL_BACKEND
    assert [warning.id for warning in check_mail_is_configured(None)] == ["accounts.W001"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert check_mail_is_configured(None) == []
