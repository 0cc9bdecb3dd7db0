"""Standard Webhooks signing and one bounded HTTP attempt (no Django here; the delivery
bookkeeping around it is videos.webhooks).

Signing follows https://www.standardwebhooks.com with the ``standardwebhooks`` package, so
integrators verify with that spec's library in any language:

    webhook-id:        msg_<hex>            the same on every retry of one message
    webhook-timestamp: <Unix seconds>       when this attempt was signed
    webhook-signature: v1,<base64 HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")>

During a rotation overlap the header carries one signature per live secret, separated by
a space (the spec's way), so a receiver holding either secret verifies.

``post_once`` makes one attempt against the addresses ``videos.callback_urls.check``
approved, never any other:

* it connects to exactly the checked address (no second DNS lookup), sending the URL's
  host in ``Host`` and as TLS SNI, and verifying the certificate for that host;
* one overall deadline covers connect, TLS handshake, sending and reading: a watchdog
  shuts the socket down when it passes, so a receiver trickling a byte every few seconds
  cannot stretch the attempt (socket timeouts alone restart on every byte);
* at most ``max_response_bytes`` of the answer are read (status line and headers; the
  body is never needed), and a 3xx is a failed attempt: redirects are never followed;
* it never raises: any exception is an ``Attempt`` with ``error`` for operators' logs.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook

from videos.callback_urls import CheckedUrl

USER_AGENT = "VisionEra-Webhooks/2"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret


def encode_body(payload: dict) -> str:
    """The exact text that is signed and sent (ASCII JSON, so str and bytes agree)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def signed_headers(
    *, message_id: str, body: str, secrets: list[str], now: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with every live secret."""
    signed_at = (now or datetime.now(UTC)).replace(microsecond=0)
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=signed_at, data=body)
        for secret in secrets
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


@dataclass(frozen=True)
class Attempt:
    """How one POST went. ``error`` names sockets and addresses: operators only."""

    delivered: bool
    status_code: int | None = None
    error: str = ""


class ResponseTooLarge(Exception):
    pass


class DeadlineExceeded(Exception):
    pass


class _CappedReader(io.RawIOBase):
    """Reads from the socket, refusing to go past a byte budget."""

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self.sock = sock
        self.remaining = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.remaining <= 0:
            raise ResponseTooLarge("the answer is larger than the response cap")
        view = memoryview(buffer)[: self.remaining]
        count = self.sock.recv_into(view)
        self.remaining -= count
        return count


class _CappedSocket:
    """What http.client.HTTPResponse reads from: the socket behind a capped reader."""

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self.reader = io.BufferedReader(_CappedReader(sock, limit), buffer_size=1024)

    def makefile(self, mode, *args, **kwargs):
        return self.reader


class _Watchdog:
    """Shuts a socket down when the deadline passes, waking any blocked send or recv."""

    def __init__(self, seconds: float) -> None:
        self.sock: socket.socket | None = None
        self.fired = False
        self.timer = threading.Timer(max(0.0, seconds), self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        if self.sock is not None:
            try:
                # The plain socket's shutdown(2), also for an SSLSocket: it wakes a reader
                # blocked inside OpenSSL without touching the TLS object from this thread.
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Watchdog:
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()


def _connect(address: str, port: int, deadline: float) -> socket.socket:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded("no time left to connect")
    # An IP literal: create_connection does no DNS lookup, so this is the checked address.
    return socket.create_connection((address, port), timeout=remaining)


def post_once(
    checked: CheckedUrl,
    *,
    body: str,
    headers: dict[str, str],
    deadline_seconds: float,
    max_response_bytes: int,
    ssl_context: ssl.SSLContext | None = None,
) -> Attempt:
    """POST ``body`` to the checked URL once, within ``deadline_seconds`` overall."""
    deadline = time.monotonic() + deadline_seconds
    try:
        with _Watchdog(deadline_seconds) as watchdog:
            try:
                return _post(checked, body, headers, deadline, max_response_bytes,
                             ssl_context, watchdog)
            except Exception as exc:  # noqa: BLE001 - every failure is an outcome
                if watchdog.fired:
                    return Attempt(False, None, f"deadline of {deadline_seconds:g} s exceeded")
                return Attempt(False, None, f"{type(exc).__name__}: {exc}"[:300])
    except Exception as exc:  # noqa: BLE001 - even a failure to start the watchdog
        return Attempt(False, None, f"{type(exc).__name__}: {exc}"[:300])


def _post(checked, body, headers, deadline, max_response_bytes, ssl_context, watchdog):
    sock, last_error = None, None
    for address in checked.addresses:
        try:
            sock = _connect(address, checked.port, deadline)
            break
        except DeadlineExceeded:
            raise
        except OSError as exc:
            last_error = exc
    if sock is None:
        raise last_error or OSError("no address to connect to")
    watchdog.sock = sock
    if watchdog.fired:  # fired while connecting: shut down now
        watchdog._fire()
    try:
        if checked.scheme == "https":
            context = ssl_context or ssl.create_default_context()
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock = context.wrap_socket(sock, server_hostname=checked.host)
            watchdog.sock = sock
            connection = http.client.HTTPSConnection(checked.host, checked.port, context=context)
        else:
            connection = http.client.HTTPConnection(checked.host, checked.port)
        connection.sock = sock  # already connected to the checked address: no new lookup
        limit = max_response_bytes

        class CappedResponse(http.client.HTTPResponse):
            def __init__(self, raw_sock, *args, **kwargs):
                super().__init__(_CappedSocket(raw_sock, limit), *args, **kwargs)

        connection.response_class = CappedResponse
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        connection.request(
            "POST",
            checked.target,
            body=body.encode("ascii"),
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Connection": "close",
                **headers,
            },
        )
        response = connection.getresponse()
        status = response.status
        if watchdog.fired:
            raise DeadlineExceeded("deadline passed")
        if 200 <= status < 300:
            return Attempt(True, status)
        if 300 <= status < 400:
            return Attempt(False, status, f"HTTP {status}: redirects are not followed")
        return Attempt(False, status, f"HTTP {status}")
    finally:
        try:
            sock.close()
        except OSError:
            pass
