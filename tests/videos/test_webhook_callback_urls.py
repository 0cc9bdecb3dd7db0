"""callback_url at submit: every SSRF spelling is refused with 400 `invalid_callback_url`.

Nothing here connects anywhere: host names are resolved by a resolver the test installs
(the hostile DNS answers are built here), and refusals happen before any delivery.
"""

import socket

import pytest

from tests.helpers import upload
from tests.videos.conftest import media_files
from videos import callback_urls
from videos.callback_urls import AllowList, CallbackUrlRefused, check
from videos.models import VideoJob, WebhookDelivery

PUBLIC = "93.184.216.34"
REAL_RESOLVER = callback_urls.system_resolver
# A hostile DNS: names that point inside, or nowhere.
FAKE_DNS = {
    "hooks.example.com": [PUBLIC],
    "internal.example.com": ["10.0.0.7"],
    "mixed.example.com": [PUBLIC, "192.168.1.20"],  # one internal address is enough to refuse
    "metadata.example.com": ["169.254.169.254"],
    "cgnat.example.com": ["100.64.3.4"],
    "ula.example.com": ["fd12:3456::1"],
    "sitelocal.example.com": ["fec0::5"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "loop6.example.com": ["::1"],
}


def fake_resolver(host, port, caller=""):
    if host not in FAKE_DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return FAKE_DNS[host]


@pytest.fixture(autouse=True)
def hostile_dns(monkeypatch):
    monkeypatch.setattr(callback_urls, "system_resolver", fake_resolver)


def analyze(client, data, callback_url):
    return client.post(
        "/api/videos/analyze",
        {"video": upload("clip.mp4", data, "video/mp4"), "callback_url": callback_url},
        format="multipart",
    )


NAME_REFUSED = "callback_url's host must resolve, and only to public internet addresses"

HOSTILE = [
    # scheme and credentials
    ("ftp://hooks.example.com/x", "callback_url must use http or https"),
    ("file:///etc/passwd", "callback_url must use http or https"),
    ("gopher://127.0.0.1:6379/_INFO", "callback_url must use http or https"),
    ("http://user:pw@hooks.example.com/x", "callback_url must not contain a user name or password"),
    ("http://hooks.example.com@127.0.0.1/", "callback_url must not contain a user name"),
    # loopback and localhost
    ("http://127.0.0.1:6399/x", "callback_url points to a loopback address"),
    ("http://127.255.0.9/", "callback_url points to a loopback address"),
    ("http://[::1]/", "callback_url points to a loopback address"),
    ("http://localhost:8000/", "callback_url points to localhost"),
    ("http://LocalHost./", "callback_url points to localhost"),
    ("http://api.localhost/", "callback_url points to localhost"),
    # private, link-local (cloud metadata), CGNAT, multicast, unspecified, reserved
    ("http://10.0.0.1/", "callback_url points to a private address"),
    ("http://172.16.5.4/", "callback_url points to a private address"),
    ("http://192.168.0.1/", "callback_url points to a private address"),
    ("http://169.254.169.254/latest/meta-data/", "callback_url points to a link-local address"),
    ("http://100.64.0.1/", "callback_url points to a carrier-grade NAT address"),
    ("http://224.0.0.251/", "callback_url points to a multicast address"),
    ("http://0.0.0.0:8000/", "callback_url points to an unspecified address"),
    ("http://240.0.0.1/", "callback_url points to a reserved address"),
    ("http://255.255.255.255/", "callback_url points to a reserved address"),
    ("http://192.0.2.10/", "callback_url points to a private address"),  # documentation
    # IPv6
    ("http://[fd00::1]/", "callback_url points to a private address"),
    ("http://[fe80::1]/", "callback_url points to a link-local address"),
    ("http://[ff02::1]/", "callback_url points to a multicast address"),
    ("http://[::]/", "callback_url points to an unspecified address"),
    ("http://[fe80::1%25eth0]/", "callback_url must not contain an IPv6 zone index"),
    ("http://[fec0::1]/", "callback_url points to a reserved address"),  # site-local
    ("https://[fec0:0:0:ffff::1]:8080/x", "callback_url points to a reserved address"),
    ("http://[3fff::1]/", "callback_url points to a reserved address"),  # documentation
    # IPv4-mapped / compatible / translated forms of internal IPv4 addresses
    ("http://[::ffff:127.0.0.1]/", "callback_url points to an IPv6 form of a loopback address"),
    ("http://[::ffff:a9fe:a9fe]/", "callback_url points to an IPv6 form of a link-local address"),
    ("http://[::ffff:10.1.2.3]/", "callback_url points to an IPv6 form of a private address"),
    ("http://[::127.0.0.1]/", "callback_url points to an IPv6 form of a loopback address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "callback_url points to an IPv6 form of a link-local"),
    ("http://[2002:7f00:1::]/", "callback_url points to an IPv6 form of a loopback address"),
    ("http://[::ffff:8.8.8.8]/", "callback_url points to an IPv4 address written as IPv6"),
    # numeric spellings the C resolver reads as 127.0.0.1 / 169.254.169.254
    ("http://2130706433/", "numeric form other than dotted decimal"),
    ("http://0177.0.0.1/", "numeric form other than dotted decimal"),
    ("http://0x7f.1/", "numeric form other than dotted decimal"),
    ("http://0x7f000001/", "numeric form other than dotted decimal"),
    ("http://127.1/", "numeric form other than dotted decimal"),
    ("http://2852039166/latest/meta-data/", "numeric form other than dotted decimal"),
    ("http://０x7f.1/", "numeric form other than dotted decimal"),  # full-width digit
    ("http://１２７.０.０.１/", "callback_url points to a loopback address"),  # full-width
    # host names that resolve inside (or nowhere: same message, no DNS oracle)
    ("http://internal.example.com/hook", NAME_REFUSED),
    ("http://mixed.example.com/hook", NAME_REFUSED),
    ("https://metadata.example.com/", NAME_REFUSED),
    ("https://cgnat.example.com/", NAME_REFUSED),
    ("https://ula.example.com/", NAME_REFUSED),
    ("https://sitelocal.example.com/", NAME_REFUSED),
    ("https://mapped.example.com/", NAME_REFUSED),
    ("https://loop6.example.com/", NAME_REFUSED),
    ("https://does-not-exist.example.com/", NAME_REFUSED),
    ("http://metadata/computeMetadata/v1/", "callback_url must use a fully qualified host name"),
    # malformed
    ("not a url", "callback_url contains spaces or control characters"),
    ("http://hooks.example.com:99999/", "callback_url is not a valid URL"),
    ("http://hooks.example.com/\r\nX-Injected: 1", "spaces or control characters"),
    ("http:///nohost", "callback_url has no host"),
    ("http://" + "a" * 1990 + ".com/", "callback_url is longer than 2000 characters"),
]


@pytest.mark.parametrize(("url", "message"), HOSTILE, ids=[url[:60] for url, _ in HOSTILE])
def test_the_api_refuses_every_internal_or_ambiguous_callback(
    pro_client, synthetic_video_bytes, media_root, url, message
):
    response = analyze(pro_client, synthetic_video_bytes, url)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_callback_url"
    assert message in error["message"]
    assert not VideoJob.objects.exists() and not WebhookDelivery.objects.exists()
    assert media_files(media_root) == []


def test_a_public_callback_is_accepted(pro_client, synthetic_video_bytes):
    response = analyze(pro_client, synthetic_video_bytes, "https://hooks.example.com/visionera")
    assert response.status_code == 202, response.content
    job = VideoJob.objects.get(pk=response.json()["job_id"])
    assert job.callback_url == "https://hooks.example.com/visionera"


def test_the_operator_allow_list_admits_exactly_what_it_names(
    pro_client, synthetic_video_bytes, settings
):
    settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32", "internal.example.com"]
    for url in ("http://127.0.0.1:9000/hook", "http://internal.example.com/hook"):
        assert analyze(pro_client, synthetic_video_bytes, url).status_code == 202, url
    for url in ("http://127.0.0.2:9000/hook", "http://mixed.example.com/", "http://localhost/"):
        response = analyze(pro_client, synthetic_video_bytes, url)
        assert response.json()["error"]["code"] == "invalid_callback_url", url


def test_the_rule_returns_the_addresses_delivery_must_use():
    checked = check("https://hooks.example.com:8443/in?x=1")
    assert checked.addresses == (PUBLIC,)
    assert (checked.host, checked.port, checked.target) == ("hooks.example.com", 8443, "/in?x=1")
    assert checked.host_header == "hooks.example.com:8443"
    assert check("http://hooks.example.com/").host_header == "hooks.example.com"


def test_an_allowed_network_never_widens_to_its_neighbours():
    allowed = AllowList.parse("10.20.0.0/16, fd00:1::/32 ,")
    assert check("http://10.20.3.4/", allowed=allowed).addresses == ("10.20.3.4",)
    assert check("http://[fd00:1::5]/", allowed=allowed).addresses == ("fd00:1::5",)
    for url in ("http://10.21.0.1/", "http://[fd00:2::1]/", "http://127.0.0.1/"):
        with pytest.raises(CallbackUrlRefused):
            check(url, allowed=allowed)


def test_a_name_server_that_answers_slowly_cannot_hold_the_request(
    pro_client, synthetic_video_bytes, monkeypatch
):
    import time

    monkeypatch.setattr(callback_urls, "system_resolver", REAL_RESOLVER)
    monkeypatch.setattr(callback_urls, "DNS_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(callback_urls, "_lookup", lambda host, port: time.sleep(3) or [PUBLIC])
    started = time.monotonic()
    response = analyze(pro_client, synthetic_video_bytes, "https://slow-dns.example.com/")
    assert time.monotonic() - started < 2.5
    assert response.status_code == 400
    assert response.json()["error"]["message"] == NAME_REFUSED


def test_one_accounts_slow_names_do_not_refuse_another_accounts_callback(
    make_client, synthetic_video_bytes, monkeypatch
):
    """Each stuck lookup keeps its thread until the resolver gives up: the attacker's take
    the attacker's slots, and the other account's check still has its own."""
    import threading

    never_answers = threading.Event()

    def lookup(host, port):
        if host.endswith(".attacker-dns.example"):
            never_answers.wait(30)
        return [PUBLIC]

    monkeypatch.setattr(callback_urls, "system_resolver", REAL_RESOLVER)
    monkeypatch.setattr(callback_urls, "DNS_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(callback_urls, "_lookup", lookup)
    attacker, victim = make_client("pro"), make_client("pro")
    try:
        for n in range(callback_urls.MAX_LOOKUPS_IN_FLIGHT_PER_CALLER + 2):
            refused = analyze(attacker, synthetic_video_bytes, f"https://x{n}.attacker-dns.example/")
            assert refused.status_code == 400
        assert analyze(victim, synthetic_video_bytes, "https://hooks.victim.example/done"
                       ).status_code == 202
        # The attacker's own slots are full: its next lookup is refused without waiting.
        with pytest.raises(TimeoutError, match="too many host names"):
            REAL_RESOLVER("hooks.example.com", 443, caller=f"account:{attacker.user.pk}")
    finally:
        never_answers.set()
