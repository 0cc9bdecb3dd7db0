"""Signed webhooks for finished video jobs.

Each POST carries the JSON body and three headers:

    X-VisionEra-Event:      video.completed | video.failed
    X-VisionEra-Timestamp:  Unix seconds when this attempt was signed
    X-VisionEra-Signature:  sha256=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + body)>

The timestamp is inside the signed bytes so a captured delivery cannot be replayed later
with a fresh timestamp; receivers should refuse timestamps more than a few minutes old.
Any 2xx is success; other answers and network errors are retried with exponential
backoff, each attempt with a bounded timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-VisionEra-Signature"
TIMESTAMP_HEADER = "X-VisionEra-Timestamp"
EVENT_HEADER = "X-VisionEra-Event"


def signing_secret() -> str:
    """VISIONERA_WEBHOOK_SECRET, or a value derived from SECRET_KEY (never SECRET_KEY itself)."""
    if settings.VIDEO_WEBHOOK_SECRET:
        return settings.VIDEO_WEBHOOK_SECRET
    return hmac.new(
        settings.SECRET_KEY.encode(), b"visionera-video-webhooks", hashlib.sha256
    ).hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by the tests): constant-time comparison."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def job_event(job) -> dict:
    return {
        "event": f"video.{job.status}",
        "job_id": str(job.pk),
        "status": job.status,
        "error": job.error or None,
        "summary": job.summary,
        "status_path": reverse("video-detail", args=[job.pk]),
        "results_path": reverse("video-results", args=[job.pk]),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


@dataclass
class Delivery:
    delivered: bool
    attempts: int
    status_code: int | None = None
    error: str = ""

    def describe(self) -> str:
        if self.delivered:
            return f"delivered (HTTP {self.status_code}) after {self.attempts} attempt(s)"
        return f"failed after {self.attempts} attempt(s): {self.error}"

    def as_dict(self) -> dict:
        return {
            "delivered": self.delivered,
            "attempts": self.attempts,
            "status_code": self.status_code,
            "error": self.error or None,
        }


def deliver(
    *,
    url: str,
    payload: dict,
    secret: str,
    attempts: int = 4,
    timeout: float = 10.0,
    backoff: float = 2.0,
) -> Delivery:
    if not url.lower().startswith(("http://", "https://")):
        return Delivery(delivered=False, attempts=0, error="callback_url is not http(s)")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    last = Delivery(delivered=False, attempts=0)
    for attempt in range(1, max(1, attempts) + 1):
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "VisionEra-Webhooks/1",
                EVENT_HEADER: payload.get("event", ""),
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(secret, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status = response.status
            if 200 <= status < 300:
                return Delivery(delivered=True, attempts=attempt, status_code=status)
            last = Delivery(False, attempt, status, f"HTTP {status}")
        except urllib.error.HTTPError as exc:
            last = Delivery(False, attempt, exc.code, f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            last = Delivery(False, attempt, None, f"{type(exc).__name__}: {reason}"[:150])
        logger.warning("Webhook to %s: attempt %d failed (%s)", url, attempt, last.error)
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    return last
