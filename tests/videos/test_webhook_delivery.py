"""One delivery attempt against hostile receivers, all on 127.0.0.1 (allowed by the setting).

Redirects are not followed, a trickling receiver hits the overall deadline, garbage and
oversized answers are failed attempts, DNS rebinding is caught at delivery, the checked
address is the one connected to (with Host and SNI kept), and the API says nothing about
the network.
"""

import json
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest
from django.utils import timezone

from tests.videos.conftest import WebhookReceiver, deliver_now, read_request, write_video
from videos import callback_urls, jobs, webhook_http, webhooks
from videos.callback_urls import CheckedUrl
from videos.models import VideoJob, WebhookDelivery


@pytest.fixture
def finished_job(pro_client):
    def make(callback_url, owner=None):
        now = timezone.now()
        return VideoJob.objects.create(
            owner=owner or pro_client.user, file_path="videos/gone.mp4", status="completed",
            progress=100, summary={"frames_analysed": 1}, callback_url=callback_url,
            finished_at=now, heartbeat_at=now, enqueued_at=now,
        )

    return make


@pytest.fixture
def analysed_job(pro_client, media_root):
    """A real job run to completion on a synthetic clip (a real summary for the API)."""

    def make(callback_url):
        path = media_root / "videos" / f"clip-{VideoJob.objects.count()}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path)
        job = VideoJob.objects.create(
            owner=pro_client.user, file_path=str(path.relative_to(media_root)),
            features=["faces"], sample_fps=2.0, callback_url=callback_url,
            enqueued_at=timezone.now(),
        )
        assert jobs.run_job(job_id=job.pk) == "completed"
        return job

    return make


def delivered_job(job):
    webhooks.notify(job_id=job.pk)
    return deliver_now(job=job)


def test_a_redirect_to_loopback_is_not_followed(raw_server, finished_job, settings):
    settings.VIDEO_WEBHOOK_ATTEMPTS = 2
    settings.VIDEO_WEBHOOK_BACKOFF_SECONDS = 0
    inner = WebhookReceiver()  # the "internal" service the redirect points at
    inner.thread.start()
    try:
        def redirect(conn, stop):
            read_request(conn)
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + inner.url.encode()
                         + b"\r\nContent-Length: 0\r\n\r\n")

        server = raw_server(redirect)
        job = finished_job(server.url())
        delivery = delivered_job(job)
    finally:
        inner.server.shutdown()
        inner.server.server_close()
    assert server.connections == 2
    assert inner.requests == [], "the redirect was followed"
    assert delivery.status == "failed" and delivery.attempts == 2
    assert delivery.error == "HTTP 302: redirects are not followed"


def test_a_trickling_receiver_hits_the_overall_deadline():
    def trickle(conn, stop):
        read_request(conn)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
            if stop.wait(1.0):  # one byte a second: every socket read succeeds in time
                return
            conn.sendall(bytes([byte]))

    from tests.videos.conftest import RawServer

    server = RawServer(trickle)
    try:
        checked = callback_urls.check(
            server.url(), allowed=callback_urls.AllowList.parse("127.0.0.1/32")
        )
        started = time.monotonic()
        attempt = webhook_http.post_once(
            checked, body="{}", headers={}, deadline_seconds=2.5, max_response_bytes=16384
        )
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert not attempt.delivered
    assert attempt.error == "deadline of 2.5 s exceeded"
    assert 2.4 <= elapsed < 3.5, elapsed


def test_an_ssh_banner_is_a_recorded_failure(raw_server, finished_job, settings):
    settings.VIDEO_WEBHOOK_ATTEMPTS = 1

    def ssh(conn, stop):
        conn.sendall(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
        read_request(conn)

    job = finished_job(raw_server(ssh).url())
    delivery = delivered_job(job)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.error.startswith("BadStatusLine")
    job.refresh_from_db()
    assert job.summary["webhook"] == {"delivered": False, "attempts": 1, "status_code": None}


def test_an_oversized_answer_is_cut_at_the_cap(raw_server, finished_job, settings):
    settings.VIDEO_WEBHOOK_ATTEMPTS = 1
    settings.VIDEO_WEBHOOK_MAX_RESPONSE_BYTES = 4096
    sent = []

    def huge(conn, stop):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(2000):  # 2000 headers of 1 KB: far past the cap
            sent.append(1)
            conn.sendall(b"X-Pad: " + b"a" * 1024 + b"\r\n")

    delivery = delivered_job(finished_job(raw_server(huge).url()))
    assert delivery.status == "failed"
    assert delivery.error.startswith("ResponseTooLarge")


def test_dns_rebinding_is_caught_at_delivery(pro_client, webhook_receiver, finished_job,
                                             monkeypatch, settings):
    settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS = []  # loopback is not allowed here
    settings.VIDEO_WEBHOOK_ATTEMPTS = 1
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public at submit, loopback later
    monkeypatch.setattr(callback_urls, "system_resolver",
                        lambda host, port, caller="": next(answers))
    port = webhook_receiver.server.server_address[1]
    url = f"http://rebind.example.com:{port}/hook"
    webhooks.check_callback_url(url, owner_id=pro_client.user.pk)  # passes at submit
    delivery = delivered_job(finished_job(url))
    assert delivery.status == "failed"
    assert delivery.error.startswith("refused at delivery: callback_url's host must resolve")
    assert webhook_receiver.requests == []


def test_delivery_connects_to_the_checked_address_and_keeps_the_host(
    webhook_receiver, finished_job, monkeypatch, settings
):
    settings.VISIONERA_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    lookups = []

    def resolver(host, port, caller=""):
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(callback_urls, "system_resolver", resolver)
    port = webhook_receiver.server.server_address[1]
    delivery = delivered_job(finished_job(f"http://hooks.example.com:{port}/in?x=1"))
    assert delivery.status == "delivered"
    # One lookup, by the rule; the connection used its answer (there is no such host).
    assert lookups == ["hooks.example.com"]
    assert webhook_receiver.requests[0]["headers"]["Host"] == f"hooks.example.com:{port}"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_sends_sni_and_verifies_the_certificate_for_the_url_host(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.example.com",
         "-addext", "subjectAltName=DNS:hooks.example.com"],
        check=True, capture_output=True,
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    seen = {}

    def remember(ssl_sock, server_name, context):
        seen["sni"] = server_name

    server_context.sni_callback = remember
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = listener.accept()
        with server_context.wrap_socket(conn, server_side=True) as tls:
            seen["request"] = read_request(tls)
            tls.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    import threading

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    port = listener.getsockname()[1]
    checked = CheckedUrl(url=f"https://hooks.example.com:{port}/in", scheme="https",
                         host="hooks.example.com", port=port, target="/in",
                         addresses=("127.0.0.1",))
    attempt = webhook_http.post_once(checked, body="{}", headers={}, deadline_seconds=10,
                                 max_response_bytes=4096, ssl_context=client_context)
    thread.join(timeout=10)
    assert attempt == webhook_http.Attempt(True, 204)
    assert seen["sni"] == "hooks.example.com"
    assert f"Host: hooks.example.com:{port}".encode() in seen["request"]

    # The same server under another name: the certificate does not match, nothing is sent.
    def handshake_only():
        conn, _ = listener.accept()
        try:
            server_context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()  # the client refused our certificate, as it should

    thread = threading.Thread(target=handshake_only, daemon=True)
    thread.start()
    wrong = CheckedUrl(url=f"https://other.example.com:{port}/in", scheme="https",
                       host="other.example.com", port=port, target="/in",
                       addresses=("127.0.0.1",))
    attempt = webhook_http.post_once(wrong, body="{}", headers={}, deadline_seconds=10,
                                 max_response_bytes=4096, ssl_context=client_context)
    thread.join(timeout=10)
    listener.close()
    assert not attempt.delivered
    assert attempt.error.startswith("SSLCertVerificationError"), attempt.error


def _without_random_parts(text: str) -> str:
    """The body with its per-run ids and times masked: a job id or a timestamp may contain
    "403" or the refused port's digits by chance. Everything else is checked as sent."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", "<time>", text)


def test_the_api_shows_no_network_details(pro_client, raw_server, analysed_job, settings):
    settings.VIDEO_WEBHOOK_ATTEMPTS = 2
    settings.VIDEO_WEBHOOK_BACKOFF_SECONDS = 0
    closed = socket.create_server(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: "Connection refused"

    def forbidden(conn, stop):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nServer: internal-admin/1.0\r\n\r\n")

    jobs = {
        "refused": analysed_job(f"http://127.0.0.1:{refused_port}/x"),
        "forbidden": analysed_job(raw_server(forbidden).url()),
    }
    for job in jobs.values():
        deliver_now(job=job)
    assert WebhookDelivery.objects.get(job=jobs["refused"]).error.startswith(
        "ConnectionRefusedError"
    ), "operators still see the cause"
    # The receiver's HTTP status is reported (the contract), and nothing else about it.
    status_codes = {"refused": None, "forbidden": 403}
    for name, job in jobs.items():
        response = pro_client.get(f"/api/videos/{job.pk}")
        assert response.json()["summary"]["webhook"] == {
            "delivered": False, "attempts": 2, "status_code": status_codes[name],
        }, name
        text = _without_random_parts(response.content.decode()).replace('"status_code":403', "")
        for leak in ("refused", "Refused", "403", "Forbidden", "internal-admin", "127.0.0.1",
                     str(refused_port), "Error", "HTTP"):
            assert leak not in text, (name, leak)
        listed = _without_random_parts(json.dumps(pro_client.get("/api/videos").json()))
        assert "refused" not in listed.lower() and "Forbidden" not in listed
