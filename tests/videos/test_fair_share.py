"""One account runs at most VISIONERA_MAX_RUNNING_VIDEO_JOBS jobs at once: a worker that
receives the message of a job whose account already runs that many leaves the job queued,
sends its message again a few seconds later and takes the next message, so another
account's video is not stuck behind one account's long ones (analysis was first in, first
out: an auditor's 1-second video stayed queued for as long as another account's three long
videos held both worker threads)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.videos.conftest import (
    needs_embedded,
    submitted_job_id,
    wait_for,
    write_video,
)
from videos import jobs, messages, recovery
from videos.models import VideoJob


class RecordedAnalysisMessages:
    """Stands in for messages.ANALYZE_VIDEO: what was sent, with its delay (ms or None)."""

    actor_name, queue_name = messages.ANALYZE_VIDEO.actor_name, messages.ANALYZE_VIDEO.queue_name

    def __init__(self):
        self.sent = []

    def send(self, *args):
        self.send_with_options(args=args)

    def send_with_options(self, *, args=(), delay=None):
        self.sent.append((tuple(args), delay))


@pytest.fixture
def sent(monkeypatch, settings):
    settings.VIDEO_SWEEP_INTERVAL_SECONDS = 0  # no background sweep racing these tests
    stand_in = RecordedAnalysisMessages()
    monkeypatch.setattr(messages, "ANALYZE_VIDEO", stand_in)
    return stand_in.sent


@pytest.fixture
def make_job(media_root):
    def make(owner, **fields):
        path = media_root / "videos" / f"clip-{VideoJob.objects.count()}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames=10, fps=10.0)
        fields.setdefault("features", ["faces"])
        fields.setdefault("enqueued_at", timezone.now())
        return VideoJob.objects.create(
            owner=owner, file_path=str(path.relative_to(media_root)),
            original_filename="clip.mp4", **fields,
        )

    return make


@pytest.mark.django_db
def test_the_claim_refuses_a_second_job_of_an_account_whose_first_runs(
    make_client, make_job, settings
):
    settings.VISIONERA_MAX_RUNNING_VIDEO_JOBS = 1
    settings.VIDEO_JOB_STALE_SECONDS = 120
    account_a, account_b = make_client("pro").user, make_client("pro").user
    running = make_job(account_a, status="processing", attempts=1, started_at=timezone.now(),
                       heartbeat_at=timezone.now())
    waiting = make_job(account_a)

    with pytest.raises(jobs.AccountBusy):
        jobs.claim_job(job_id=waiting.pk)
    waiting.refresh_from_db()
    # Nothing changed: still queued, no attempt counted, never started.
    assert waiting.status == "queued" and waiting.attempts == 0
    assert waiting.started_at is None and waiting.heartbeat_at is None

    # Another account's job is claimed at once.
    other = jobs.claim_job(job_id=make_job(account_b).pk)
    assert other is not None and other.status == "processing" and other.attempts == 1

    # A higher limit lets the account run two.
    settings.VISIONERA_MAX_RUNNING_VIDEO_JOBS = 2
    second = make_job(account_a)
    assert jobs.claim_job(job_id=second.pk).status == "processing"
    settings.VISIONERA_MAX_RUNNING_VIDEO_JOBS = 1
    VideoJob.objects.filter(pk=second.pk).update(status="completed")

    # The running job's worker died (its heartbeat went stale, the rule the claim uses to
    # take over a job): it holds no slot, and the waiting job is claimed.
    VideoJob.objects.filter(pk=running.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=121)
    )
    claimed = jobs.claim_job(job_id=waiting.pk)
    assert claimed is not None and claimed.status == "processing" and claimed.attempts == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_claiming_one_accounts_jobs_at_once_take_one_slot(
    make_client, make_job, monkeypatch, settings
):
    """Two workers (threads with their own connections here; processes or hosts in
    production) claim two jobs of one account at the same moment. The first is held inside
    its claim's transaction, after its count; the second starts meanwhile. Without the lock
    on the owner's row (PostgreSQL) or SQLite's write lock, the second would count before
    the first committed, see no job running, and the account would run two."""
    settings.VISIONERA_MAX_RUNNING_VIDEO_JOBS = 1
    account = make_client("pro").user
    first, second = make_job(account), make_job(account)
    counted, release = threading.Event(), threading.Event()
    real_max_running_jobs = jobs.max_running_jobs

    def hold_the_first_claim():
        if threading.current_thread().name == "first":
            counted.set()
            assert release.wait(60)
        return real_max_running_jobs()

    monkeypatch.setattr(jobs, "max_running_jobs", hold_the_first_claim)
    results = {}

    def claim(job):
        try:
            results[threading.current_thread().name] = jobs.claim_job(job_id=job.pk)
        except jobs.AccountBusy as exc:
            results[threading.current_thread().name] = exc
        finally:
            connection.close()

    first_worker = threading.Thread(target=claim, args=(first,), name="first")
    second_worker = threading.Thread(target=claim, args=(second,), name="second")
    first_worker.start()
    try:
        assert counted.wait(60), "the first claim never reached its count"
        second_worker.start()
        second_worker.join(timeout=2)  # it waits for the first's lock (a claim would be quick)
    finally:
        release.set()
        first_worker.join(timeout=60)
        second_worker.join(timeout=60)
    assert isinstance(results["first"], VideoJob), results
    assert isinstance(results["second"], jobs.AccountBusy), results
    assert list(VideoJob.objects.filter(owner=account).values_list("status", flat=True)
                .order_by("status")) == ["processing", "queued"]


@pytest.mark.django_db
def test_a_busy_accounts_job_is_deferred_without_an_attempt_and_comes_back_later(
    make_client, make_job, sent, django_capture_on_commit_callbacks
):
    account = make_client("pro").user
    running = make_job(account, status="processing", attempts=1, heartbeat_at=timezone.now())
    long_ago = timezone.now() - timedelta(hours=1)
    waiting = make_job(account, enqueued_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = jobs.run_job(job_id=waiting.pk)  # returns: no RetryLater, no Dramatiq retry
    assert outcome == "deferred"
    waiting.refresh_from_db()
    assert waiting.status == "queued" and waiting.attempts == 0 and waiting.error == ""
    # A fresh message, a few seconds later; enqueued_at records it, so the sweeper leaves
    # the job alone while that message goes round...
    assert sent == [((str(waiting.pk),), pytest.approx(jobs.DEFER_SECONDS * 1100, rel=0.1))]
    assert waiting.enqueued_at > long_ago
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.requeue_stale_jobs() == []
    # ... and still finds it, queued in the database, if that message is lost.
    VideoJob.objects.filter(pk=waiting.pk).update(enqueued_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.requeue_stale_jobs() == [waiting.pk]
    assert len(sent) == 2 and sent[1] == ((str(waiting.pk),), None)

    # Once the running job is done, the message that comes back runs the job.
    VideoJob.objects.filter(pk=running.pk).update(status="completed")
    assert jobs.run_job(job_id=waiting.pk) == "completed"
    waiting.refresh_from_db()
    assert waiting.attempts == 1


@pytest.mark.django_db
def test_a_deferred_job_can_be_cancelled_and_its_message_then_stops(
    make_client, make_job, sent, django_capture_on_commit_callbacks, media_root
):
    client = make_client("pro")
    make_job(client.user, status="processing", attempts=1, heartbeat_at=timezone.now())
    waiting = make_job(client.user)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job(job_id=waiting.pk) == "deferred"
    assert len(sent) == 1

    with django_capture_on_commit_callbacks(execute=True):  # the file goes on commit
        assert client.delete(f"/api/videos/{waiting.pk}").status_code == 204
    waiting.refresh_from_db()
    assert waiting.status == "cancelled" and not (media_root / waiting.file_path).exists()
    # The deferred message arrives: nothing to run, nothing sent again.
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job(job_id=waiting.pk) == "skipped"
    assert jobs.defer_job(job_id=waiting.pk) is False
    assert len(sent) == 1
    waiting.refresh_from_db()
    assert waiting.status == "cancelled" and waiting.attempts == 0


def test_the_deferral_is_no_dramatiq_retry():
    """The actor returns normally for a deferred job (its message is acked) and the new
    message is sent without the old one's options: the Retries middleware never counts a
    deferral, so waiting never uses up max_retries or the retry backoff."""
    from videos import tasks

    assert not issubclass(jobs.AccountBusy, jobs.RetryLater)
    assert not tasks._should_retry(0, jobs.AccountBusy())


# --- end to end, through the embedded worker --------------------------------------------


@needs_embedded
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_another_accounts_job_runs_before_an_accounts_later_jobs(
    make_client, settings, monkeypatch
):
    """Account A queues three jobs, then account B one. Before, the embedded worker's two
    threads ran A's first two jobs, then A's third and B's: B's job finished after A's
    second. Now A runs one at a time, B's job runs beside it, and finishes before A's later
    jobs do. Asserted on order and states, never on durations."""
    settings.VISIONERA_MAX_RUNNING_VIDEO_JOBS = 1
    settings.VIDEO_JOB_HEARTBEAT_SECONDS = 1
    monkeypatch.setattr(jobs, "DEFER_SECONDS", 1.0)  # A's later jobs come back sooner
    account_a, account_b = make_client("pro"), make_client("pro")
    # The fixture clip (9 s): A's at 4 samples a second (37 frames), B's at 0.5 (5 frames).
    a_jobs = [submitted_job_id(account_a, features="faces", sample_fps="4")
              for _ in range(3)]
    b_job = submitted_job_id(account_b, features="faces", sample_fps="0.5")

    most_running_of_a = 0

    def all_finished():
        nonlocal most_running_of_a
        rows = {
            str(pk): status
            for pk, status in VideoJob.objects.filter(pk__in=[*a_jobs, b_job]).values_list(
                "pk", "status"
            )
        }
        running_of_a = sum(1 for pk in a_jobs if rows[pk] == "processing")
        most_running_of_a = max(most_running_of_a, running_of_a)
        return all(status in ("completed", "failed", "cancelled") for status in rows.values())

    wait_for(all_finished, timeout=300, interval=0.1, message="every job to finish",
             diagnose=lambda: list(VideoJob.objects.values("pk", "owner_id", "status",
                                                           "attempts", "progress")))

    finished = {str(job.pk): job for job in VideoJob.objects.filter(pk__in=[*a_jobs, b_job])}
    assert {job.status for job in finished.values()} == {"completed"}, [
        (job.status, job.error) for job in finished.values()
    ]
    b_done = finished[b_job].finished_at
    a_order = sorted(finished[pk].finished_at for pk in a_jobs)
    # B's job finished before A's second and third, whichever of A's ran first.
    assert b_done < a_order[1] and b_done < a_order[2], (b_done, a_order)
    # A's jobs ran one after another, never two at once ...
    a_runs = sorted((finished[pk].started_at, finished[pk].finished_at) for pk in a_jobs)
    assert all(
        earlier[1] <= later[0] for earlier, later in zip(a_runs, a_runs[1:], strict=False)
    ), a_runs
    assert most_running_of_a <= 1
    # ... and each ran once: waiting cost no attempt.
    assert [finished[pk].attempts for pk in a_jobs] == [1, 1, 1]
