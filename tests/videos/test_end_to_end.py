"""The real fixture clip through the whole product: upload → queue → worker → results.

Embedded mode (no DRAMATIQ_BROKER_URL) runs the job in the test process's embedded
worker; CI's second pass runs it in separate `manage.py rundramatiq` processes and kills
one mid-job.
"""

import time

import pytest

from tests.helpers import upload
from tests.videos.conftest import (
    account_secret,
    database_activity,
    needs_broker,
    needs_embedded,
    signature_ok,
    wait_for,
)
from videos.models import VideoJob

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def submit(client, clip, collection, **fields):
    response = client.post(
        "/api/videos/analyze",
        {
            "video": upload("hamilton.mp4", clip.read_bytes(), "video/mp4"),
            "features": "faces",
            "sample_fps": "2",
            "collection": str(collection.pk),
            **fields,
        },
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return response.json()


def follow(client, status_url, *, timeout=180.0, on_poll=None):
    """Poll the status endpoint until the job finishes; every observation, in order."""
    observed = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(status_url).json()
        observed.append(body)
        if on_poll is not None:
            on_poll(body)
        if body["status"] in ("completed", "failed", "cancelled"):
            return observed
        time.sleep(0.25)
    raise AssertionError(f"job not finished after {timeout:.0f} s: {observed[-1]}")


def check_completed_lifecycle(client, created, observed, *, frames_analysed=19):
    statuses = [created["status"]] + [body["status"] for body in observed]
    order = {"queued": 0, "processing": 1, "completed": 2}
    assert all(status in order for status in statuses), statuses
    assert [order[s] for s in statuses] == sorted(order[s] for s in statuses), statuses
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert "processing" in statuses, "never saw the job processing"
    progress = [body["progress"] for body in observed]
    assert progress == sorted(progress), f"progress fell: {progress}"
    assert progress[-1] == 100

    final = observed[-1]
    assert final["error"] is None and final["started_at"] and final["finished_at"]
    summary = final["summary"]
    assert summary["frames_analysed"] == frames_analysed
    assert summary["duration_seconds"] == pytest.approx(9.18, abs=0.1)
    lin = next(item for item in summary["identified"] if item["label"] == "lin")
    assert 0 <= lin["first_ms"] <= lin["last_ms"] <= 9200 and lin["distance"] <= 0.6
    assert any(track["label"] == "lin" for track in summary["face_tracks"])

    # Every detection, page by page, in timestamp order.
    url, seen = final["results_url"] + "?page_size=5", []
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 5
        seen.extend(page["results"])
        url = page["next"]
    assert len(seen) == summary["counts"]["faces"] > 5
    assert [item["timestamp_ms"] for item in seen] == sorted(item["timestamp_ms"] for item in seen)
    assert all(item["kind"] == "face" and "track_id" in item for item in seen)
    assert any(item.get("label") == "lin" for item in seen)
    return summary


@needs_embedded
def test_fixture_clip_completes_through_the_embedded_worker(
    pro_client, fixture_clip, lin_collection_factory, webhook_receiver, settings
):
    settings.VIDEO_JOB_HEARTBEAT_SECONDS = 1
    collection = lin_collection_factory(pro_client.user)
    created = submit(pro_client, fixture_clip, collection, callback_url=webhook_receiver.url)
    observed = follow(pro_client, created["status_url"])
    check_completed_lifecycle(pro_client, created, observed)
    assert webhook_receiver.received.wait(10), "no webhook arrived"
    assert signature_ok(webhook_receiver.requests[0], account_secret(pro_client.user))
    assert webhook_receiver.json()["data"]["job_id"] == created["job_id"]
    # The delivery actor recorded its outcome on the job (the API shows it).
    wait_for(lambda: "webhook" in (pro_client.get(created["status_url"]).json()["summary"]),
             timeout=10, message="the webhook outcome")
    webhook = pro_client.get(created["status_url"]).json()["summary"]["webhook"]
    assert webhook["delivered"] is True and webhook["status_code"] == 200


@needs_broker
@pytest.mark.services
def test_fixture_clip_completes_on_a_separate_worker_process(
    pro_client, fixture_clip, lin_collection_factory, webhook_receiver, start_worker
):
    start_worker()
    collection = lin_collection_factory(pro_client.user)
    created = submit(pro_client, fixture_clip, collection, callback_url=webhook_receiver.url)
    observed = follow(pro_client, created["status_url"])
    check_completed_lifecycle(pro_client, created, observed)
    assert webhook_receiver.received.wait(10), "no webhook arrived"
    # The worker process signs with the account's own secret, read from the database.
    assert signature_ok(webhook_receiver.requests[0], account_secret(pro_client.user))


@needs_broker
@pytest.mark.services
def test_a_worker_killed_mid_job_is_replaced_and_the_job_still_completes(
    pro_client, fixture_clip, lin_collection_factory, start_worker
):
    first = start_worker()
    collection = lin_collection_factory(pro_client.user)
    # 10 frames a second (92 sampled frames, several seconds of work) rather than 2: at 2 a
    # warm worker finished the whole clip in 1.4 s, before the test had seen it mid-job.
    created = submit(pro_client, fixture_clip, collection, sample_fps="10")
    job_id = created["job_id"]
    wait_for(
        lambda: VideoJob.objects.filter(pk=job_id, status="processing", progress__gt=0).exists(),
        timeout=90,
        interval=0.1,
        message="the first worker to make progress",
        diagnose=lambda: (
            f"job: {VideoJob.objects.filter(pk=job_id).values().first()}\n"
            f"{database_activity()}\n{first.stacks()}"
        ),
    )
    first.kill()  # SIGKILL to the whole worker tree: no cleanup, the message stays unacked
    killed_at = VideoJob.objects.get(pk=job_id)
    assert killed_at.status == "processing" and 0 < killed_at.progress < 100

    start_worker()  # its sweeper re-sends the job once the heartbeat is 4 s stale
    observed = follow(pro_client, created["status_url"], timeout=180)
    check_completed_lifecycle(pro_client, created, observed, frames_analysed=92)
    assert observed[0]["progress"] >= killed_at.progress
    job = VideoJob.objects.get(pk=job_id)
    assert job.attempts >= 2
