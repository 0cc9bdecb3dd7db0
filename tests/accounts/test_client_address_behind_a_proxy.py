"""Behind a proxy (RATELIMIT_IP_META_KEY names its header), the login, sign-up and metrics
gates see one client address, whatever the client writes into that header."""

import pytest

from accounts.models import User
from accounts.throttles import LOGIN_RATE, SIGNUP_RATE
from visionera.client_address import UNKNOWN_CLIENT, client_ip

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-unusual-passw0rd"
LOGIN_LIMIT = int(LOGIN_RATE.split("/")[0])
PROXY = "10.0.0.2"


@pytest.fixture
def behind_a_proxy(settings):
    settings.VISIONERA_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"


def failed_logins(client, count, forwarded_for):
    """`count` wrong passwords, each for another address (the per-email limit never applies)."""
    statuses = []
    for n in range(count):
        extra = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for(n)}
        statuses.append(client.post("/accounts/login/", {
            "username": f"victim{n}@example.com", "password": "guess"},
            REMOTE_ADDR=PROXY, **extra).status_code)
    return statuses


@pytest.mark.parametrize("forwarded_for", [
    lambda n: "203.0.113.5",
    # nginx's $proxy_add_x_forwarded_for appends what it saw to what the client sent: the
    # client's own part changes every time, the proxy's does not.
    lambda n: f"198.51.100.{n}, 203.0.113.5",
    lambda n: f"unknown, junk{n}, 203.0.113.5:4711",
    lambda n: "unknown",  # no address at all: the peer's (the proxy's) counts
    None,
], ids=["one-address", "client-prefix", "garbage-and-port", "no-address", "no-header"])
def test_the_login_limit_holds_whatever_the_header_holds(client, behind_a_proxy, forwarded_for):
    statuses = failed_logins(client, LOGIN_LIMIT + 3, forwarded_for)
    assert 429 not in statuses[:LOGIN_LIMIT]
    assert statuses[LOGIN_LIMIT:] == [429] * 3


def test_two_clients_behind_one_proxy_have_their_own_counters(client, behind_a_proxy):
    assert failed_logins(client, LOGIN_LIMIT + 1, lambda n: "203.0.113.5")[-1] == 429
    assert 429 not in failed_logins(client, LOGIN_LIMIT, lambda n: "203.0.113.6")


def test_the_signup_limit_holds_for_a_header_that_is_a_list(client, settings, behind_a_proxy):
    settings.VISIONERA_SIGNUP = "open"
    limit = int(SIGNUP_RATE.split("/")[0])
    for n in range(limit + 5):
        client.logout()
        client.post("/accounts/signup/", {
            "email": f"bot{n}@example.com", "password1": PASSWORD, "password2": PASSWORD},
            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.5")
    assert User.objects.filter(email__startswith="bot").count() == limit


@pytest.mark.parametrize("meta, expected", [
    ({"REMOTE_ADDR": "203.0.113.9"}, "203.0.113.9"),
    ({"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "[2001:db8::7]:443"}, "2001:db8::7"),
    ({"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": " 2001:DB8::7 "}, "2001:db8::7"),
    ({"REMOTE_ADDR": ""}, UNKNOWN_CLIENT),  # a Unix socket, no header: one shared counter
])
def test_client_ip_is_always_one_address(rf, behind_a_proxy, meta, expected):
    request = rf.get("/")
    request.META.update(meta)
    assert client_ip(request) == expected


class TestMetricsBehindAProxyOnThisHost:
    """Every request then comes from loopback: the address the proxy vouches for decides."""

    def test_an_outside_client_through_the_proxy_is_refused(self, client, behind_a_proxy):
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                              HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.7")
        assert response.status_code == 403

    def test_a_scrape_on_the_host_itself_is_answered(self, client, behind_a_proxy):
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                          HTTP_X_FORWARDED_FOR="::1").status_code == 200
