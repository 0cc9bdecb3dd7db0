"""The one rule for where a webhook may go, used at submit and again at delivery.

Framework-free (no Django): ``check(url, allowed=...)`` parses the URL, resolves its host
and returns the addresses a delivery may connect to, or raises ``CallbackUrlRefused`` with
a message that is safe to show the client. Delivery connects to exactly those addresses
(videos.webhooks), so a name that resolved to a public address at the check cannot be
re-pointed at an internal one in between (DNS rebinding).

Refused, unless the operator allows the host or network (VISIONERA_WEBHOOK_ALLOWED_NETWORKS):

* a scheme other than http/https, userinfo (``user:pass@``), no host, a zone id;
* ``localhost`` and its sub-domains;
* IPv4 written any way other than dotted decimal: ``2130706433``, ``0177.0.0.1``,
  ``0x7f.1``, ``127.1`` (the C resolver reads them all as 127.0.0.1);
* any address that is not globally routable: loopback, private (RFC 1918, fc00::/7),
  link-local (169.254/16 with the cloud metadata service, fe80::/10), CGNAT (100.64/10),
  multicast, unspecified, reserved, documentation and benchmarking ranges; and IPv6 forms
  that embed an IPv4 address (mapped ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``, 6to4,
  Teredo, NAT64) are judged by that IPv4 address and refused when it would be.

A host name must resolve, and every address it resolves to must pass: one internal
address among public ones is refused too. The message for a host name never says which
of "does not resolve" or "resolves to an internal address" happened, so the check is no
oracle for the operator's internal DNS.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000
# Ranges that ipaddress still calls global but that reach translators or infrastructure.
EXTRA_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "100.64.0.0/10",  # CGNAT (RFC 6598): carrier and cloud-internal hosts
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "64:ff9b::/96",  # NAT64 well-known prefix
        "64:ff9b:1::/48",  # local-use NAT64
        "2002::/16",  # 6to4 (judged by its embedded IPv4 first)
        "2001::/32",  # Teredo (likewise)
        "5f00::/16",  # IPv6 segment routing
        "fec0::/10",  # site-local (RFC 3879 deprecated it; still routed inside some sites)
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# One part of a numeric IPv4 spelling: decimal, octal (leading 0) or hexadecimal (0x).
_NUMERIC_PART = r"(?:0x[0-9a-f]*|[0-9]+)"
_NUMERIC_HOST = re.compile(rf"^{_NUMERIC_PART}(?:\.{_NUMERIC_PART}){{0,3}}\.?$", re.IGNORECASE)
_HOST_NAME = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$")

Resolver = Callable[[str, int], Iterable[str]]


class CallbackUrlRefused(ValueError):
    """The URL may not be used; ``str(exc)`` is written for the client."""


@dataclass(frozen=True)
class CheckedUrl:
    """A callback URL that passed the rule, with the addresses it may be delivered to."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) form, lower case, no brackets
    port: int
    target: str  # path and query, as sent on the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class AllowList:
    """The operator's exceptions: networks (CIDR) and exact host names."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str] | str) -> AllowList:
        if isinstance(entries, str):
            entries = entries.split(",")
        networks, hosts = [], set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(networks=tuple(networks), hosts=frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        return host in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


# getaddrinfo cannot be interrupted, and a hostile name server can answer slowly on
# purpose: each lookup runs on a thread of its own and the caller stops waiting after the
# timeout, so a request (or a delivery attempt) is never held longer than that by DNS. The
# thread lives on until the resolver gives up, holding a slot: a caller (an account) has a
# few slots and the process a bounded number, so one account's slow names use up its own
# slots, never another's. Past either cap a lookup is refused at once; nothing queues.
DNS_TIMEOUT_SECONDS = 3.0
MAX_LOOKUPS_IN_FLIGHT = 64
MAX_LOOKUPS_IN_FLIGHT_PER_CALLER = 4
_slots_lock = threading.Lock()
_lookups_in_flight: Counter[str] = Counter()


def system_resolver(host: str, port: int, *, caller: str = "") -> list[str]:
    """Every address the system resolver gives for host (TCP), in its order; TimeoutError
    after DNS_TIMEOUT_SECONDS, or at once when `caller` or the process has no free slot."""
    with _slots_lock:
        if (_lookups_in_flight.total() >= MAX_LOOKUPS_IN_FLIGHT
                or _lookups_in_flight[caller] >= MAX_LOOKUPS_IN_FLIGHT_PER_CALLER):
            raise TimeoutError(f"too many host names are being resolved for {caller or 'this'}")
        _lookups_in_flight[caller] += 1
    outcome: dict = {}
    finished = threading.Event()

    def look_up() -> None:
        try:
            outcome["addresses"] = _lookup(host, port)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = exc
        finally:
            with _slots_lock:
                _lookups_in_flight[caller] -= 1
                if _lookups_in_flight[caller] <= 0:
                    del _lookups_in_flight[caller]
            finished.set()

    threading.Thread(target=look_up, name="callback-dns", daemon=True).start()
    if not finished.wait(DNS_TIMEOUT_SECONDS):
        raise TimeoutError(f"resolving {host} took over {DNS_TIMEOUT_SECONDS:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


def _lookup(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, Teredo, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    packed = address.packed
    if packed[:12] == bytes(12) and packed[12:] not in (bytes(4), b"\0\0\0\1"):
        return ipaddress.IPv4Address(packed[12:])  # IPv4-compatible ::a.b.c.d
    for prefix in (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48")):
        if address in prefix:
            return ipaddress.IPv4Address(packed[12:])
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why this address is not a public destination, or None when it is."""
    if address.version == 6:
        if address.scope_id:
            return "an IPv6 zone index is not allowed"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            why = address_refusal(embedded)
            # Public or not, an IPv4 address dressed as IPv6 has no business in a webhook.
            return f"an IPv6 form of {why}" if why else "an IPv4 address written as IPv6"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.version == 4 and address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_reserved or any(
        address.version == net.version and address in net for net in EXTRA_REFUSED_NETWORKS
    ):
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


def _ascii_host(hostname: str) -> str:
    try:
        # IDNA also folds look-alikes the resolver would fold (full-width digits and dots).
        host = hostname.encode("idna").decode("ascii") if not hostname.isascii() else hostname
    except UnicodeError:
        raise CallbackUrlRefused("callback_url has an invalid host name") from None
    return host.lower().rstrip(".")


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, request target) of an http(s) URL, or CallbackUrlRefused."""
    if not isinstance(url, str) or not url.strip():
        raise CallbackUrlRefused("callback_url is empty")
    if len(url) > MAX_URL_LENGTH:
        raise CallbackUrlRefused(f"callback_url is longer than {MAX_URL_LENGTH} characters")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise CallbackUrlRefused("callback_url contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError:
        raise CallbackUrlRefused("callback_url is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise CallbackUrlRefused("callback_url must use http or https")
    if "@" in parts.netloc:
        raise CallbackUrlRefused("callback_url must not contain a user name or password")
    if not hostname:
        raise CallbackUrlRefused("callback_url has no host")
    if "%" in hostname:
        raise CallbackUrlRefused("callback_url must not contain an IPv6 zone index")
    if port == 0:
        raise CallbackUrlRefused("callback_url has an invalid port")
    host = _ascii_host(hostname)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), target


def check(
    url: str, *, allowed: AllowList = AllowList(), resolver: Resolver | None = None,
    caller: str = "",
) -> CheckedUrl:
    """Parse, resolve and judge ``url``; the addresses returned are the only ones to use.
    ``caller`` (an account) is whose DNS slots the lookup takes (see system_resolver)."""
    resolver = resolver or functools.partial(system_resolver, caller=caller)
    scheme, host, port, target = parse(url)
    checked = dict(url=url, scheme=scheme, host=host, port=port, target=target)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        why = address_refusal(literal)
        if why and not (allowed.allows_address(literal) or allowed.allows_host(host)):
            raise CallbackUrlRefused(f"callback_url points to {why}; use a public address")
        return CheckedUrl(**checked, addresses=(str(literal),))

    if not _HOST_NAME.match(host) or len(host) > 253:
        raise CallbackUrlRefused("callback_url has an invalid host name")
    host_allowed = allowed.allows_host(host)
    if not host_allowed:
        if _NUMERIC_HOST.match(host):
            raise CallbackUrlRefused(
                "callback_url writes an IP address in a numeric form other than dotted decimal"
            )
        if host == "localhost" or host.endswith(".localhost"):
            raise CallbackUrlRefused("callback_url points to localhost; use a public host")
        if "." not in host:
            raise CallbackUrlRefused("callback_url must use a fully qualified host name")
    refused = CallbackUrlRefused(
        "callback_url's host must resolve, and only to public internet addresses"
    )
    try:
        resolved = [ipaddress.ip_address(a) for a in resolver(host, port)]
    except (OSError, UnicodeError, ValueError):
        raise refused from None
    if not resolved:
        raise refused
    if not host_allowed:
        for address in resolved:
            if address_refusal(address) and not allowed.allows_address(address):
                raise refused
    return CheckedUrl(**checked, addresses=tuple(str(a) for a in resolved))
