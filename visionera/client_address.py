"""The client's IP address, as the login and sign-up limits and the metrics gate see it.

Behind a reverse proxy every request arrives from the proxy, so `VISIONERA_CLIENT_IP_HEADER`
(the `RATELIMIT_IP_META_KEY` variable) names the META key the proxy sets, e.g.
`HTTP_X_REAL_IP` or `HTTP_X_FORWARDED_FOR`. That header is partly the client's own words:
nginx's `$proxy_add_x_forwarded_for` appends the address it saw to whatever the client sent.
So the rightmost entry that is an IP address is taken, the one the nearest proxy wrote, and
a header that holds no address (absent, `unknown`, garbage) falls back to the peer address.
This function never raises on what a client sends: django-ratelimit raises on a value that
is not one IP, and a limiter that fails open on that would let anyone switch it off.
"""

import ipaddress

from django.conf import settings

# A peer with no IP (a Unix socket behind a proxy that sets no header): every such request
# shares one counter, so the limits still hold, for all of them together.
UNKNOWN_CLIENT = "0.0.0.0"  # noqa: S104 - a counter's name, nothing binds to it


def _address(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:51234"
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def peer_address(request) -> str | None:
    """The address of whoever opened the connection (the proxy, behind one)."""
    return _address(request.META.get("REMOTE_ADDR") or "")


def forwarded_address(request) -> str | None:
    """The client address a proxy vouches for in the configured header, or None."""
    header = settings.VISIONERA_CLIENT_IP_HEADER
    if header == "REMOTE_ADDR":
        return None
    for entry in reversed((request.META.get(header) or "").split(",")):
        if (address := _address(entry)) is not None:
            return address
    return None


def client_ip(request) -> str:
    """django-ratelimit's RATELIMIT_IP_META_KEY callable: always one valid IP address."""
    return forwarded_address(request) or peer_address(request) or UNKNOWN_CLIENT
