from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import API_KEY_PREFIX, ApiKey, User
from accounts.services import get_or_create_user, issue_api_key, revoke_api_key

pytestmark = pytest.mark.django_db

ENDPOINT = "/api/faces/collections"


def test_issued_key_has_the_contract_shape():
    user, _ = get_or_create_user(email="a@example.com")
    api_key, full_key = issue_api_key(user=user, name="ci")
    assert full_key.startswith(API_KEY_PREFIX)
    assert full_key[len(API_KEY_PREFIX):].isalnum()
    assert api_key.prefix == full_key[: len(api_key.prefix)]


def test_database_never_holds_the_key_in_clear():
    user, _ = get_or_create_user(email="a@example.com")
    _, full_key = issue_api_key(user=user, name="ci")
    secret_part = full_key[len(API_KEY_PREFIX) + 12:]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey")
        rows = cursor.fetchall()
    dumped = repr(rows)
    assert full_key not in dumped
    assert secret_part not in dumped
    assert ApiKey.objects.get().digest != full_key


def test_valid_key_authenticates_and_marks_last_use(pro_client):
    response = pro_client.get(ENDPOINT)
    assert response.status_code != 401
    pro_client.api_key.refresh_from_db()
    assert pro_client.api_key.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "nonsense",
        "ve_live_",
        "ve_live_" + "x" * 44,
        "ve_live_" + "!" * 44,
        "Bearer ve_live_" + "a" * 44,
        "ve_live_" + "é" * 44,
    ],
)
def test_missing_unknown_or_malformed_key_is_401(anonymous_client, header):
    if header is not None:
        anonymous_client.credentials(HTTP_X_API_KEY=header)
    response = anonymous_client.get(ENDPOINT)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_right_key_id_with_wrong_secret_is_401(pro_client, anonymous_client):
    forged = pro_client.key[:-4] + ("aaaa" if not pro_client.key.endswith("aaaa") else "bbbb")
    anonymous_client.credentials(HTTP_X_API_KEY=forged)
    assert anonymous_client.get(ENDPOINT).status_code == 401


def test_revoked_key_is_401(pro_client):
    assert pro_client.get(ENDPOINT).status_code != 401
    revoke_api_key(api_key=pro_client.api_key)
    response = pro_client.get(ENDPOINT)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_inactive_account_key_is_401(pro_client):
    User.objects.filter(pk=pro_client.user.pk).update(is_active=False)
    assert pro_client.get(ENDPOINT).status_code == 401


def test_create_api_key_command_creates_user_and_prints_key_last():
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_key", "--email", "New@Example.com", "--plan", "enterprise", "--name", "ci",
        stdout=out, stderr=err,
    )
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith(API_KEY_PREFIX)
    user = User.objects.get(email="new@example.com")
    assert user.plan.name == "enterprise"
    assert ApiKey.objects.get(user=user).matches(key)


def test_create_api_key_command_rejects_unknown_plan():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown plan"):
        call_command("create_api_key", "--email", "x@example.com", "--plan", "gold")


def test_demo_account_issues_a_working_key_and_revokes_the_previous(anonymous_client):
    first, second = StringIO(), StringIO()
    call_command("demo_account", stdout=first)
    call_command("demo_account", stdout=second)

    def key_in(text):
        return next(w for w in text.getvalue().split() if w.startswith(API_KEY_PREFIX))

    anonymous_client.credentials(HTTP_X_API_KEY=key_in(first))
    assert anonymous_client.get(ENDPOINT).status_code == 401
    anonymous_client.credentials(HTTP_X_API_KEY=key_in(second))
    assert anonymous_client.get(ENDPOINT).status_code != 401
