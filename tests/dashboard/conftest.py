import pytest


@pytest.fixture
def account(make_client):
    """A pro account with one key; `.user`, `.key` and `.api_key` as in make_client."""
    return make_client("pro")


@pytest.fixture
def signed_in(client, account):
    client.force_login(account.user)
    client.account = account
    return client
