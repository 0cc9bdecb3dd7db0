"""The signed-in forms that ask for the password again (change it, delete the account, the
admin's change) share one counter per account: a stolen session alone cannot guess it."""

import pytest
from django.test import Client

from accounts.models import User
from accounts.throttles import PASSWORD_CHECK_RATE

pytestmark = [pytest.mark.django_db, pytest.mark.rate_limits]

PASSWORD = "a-Long-unusual-passw0rd"
NEW_PASSWORD = "Att4cker-owns-it!x"
LIMIT = int(PASSWORD_CHECK_RATE.split("/")[0])


def signed_in(email, **fields):
    user = User.objects.create_user(email=email, password=PASSWORD, **fields)
    browser = Client()
    browser.force_login(user)
    return browser, user


def change(browser, old_password, url="/accounts/password/change/"):
    return browser.post(url, {"old_password": old_password, "new_password1": NEW_PASSWORD,
                              "new_password2": NEW_PASSWORD})


def test_the_password_change_form_is_limited(db):
    browser, user = signed_in("me@example.com")
    assert [change(browser, f"guess-{n}").status_code for n in range(LIMIT)] == [200] * LIMIT
    refused = change(browser, PASSWORD)  # the right one, once the guesses are spent
    assert refused.status_code == 429
    assert "Too many attempts" in refused.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_and_delete_share_one_count_and_other_accounts_have_their_own(db):
    browser, user = signed_in("me@example.com")
    for n in range(LIMIT):
        if n % 2:
            assert change(browser, f"guess-{n}").status_code == 200
        else:
            assert browser.post("/dashboard/account/delete/",
                                {"password": f"guess-{n}"}).status_code == 400
    assert browser.post("/dashboard/account/delete/", {"password": PASSWORD}).status_code == 429
    assert User.objects.filter(pk=user.pk).exists()

    other, _ = signed_in("other@example.com")
    assert change(other, PASSWORD).status_code == 302


def test_the_admins_password_change_shares_it(db):
    browser, user = signed_in("root@example.com", is_staff=True, is_superuser=True)
    admin_change = "/admin/password_change/"
    for n in range(LIMIT):
        url = admin_change if n % 2 else "/accounts/password/change/"
        assert change(browser, f"guess-{n}", url).status_code == 200
    refused = change(browser, PASSWORD, admin_change)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
