"""The sweeper: re-send jobs whose worker died or whose message was lost, and purge old ones.

Run in every worker process (videos.middleware.VideoJobSweeper) and by
`manage.py sweep_video_jobs`. Several sweepers at once are safe: each re-send is a
conditional UPDATE on what the sweeper saw.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from videos import jobs, messages, webhooks
from videos.models import VideoJob

logger = logging.getLogger(__name__)

Status = VideoJob.Status


def requeue_stale_jobs(
    *, stale_after_seconds: float | None = None, queued_after_seconds: float | None = None
) -> list:
    """Re-send jobs whose worker died and jobs whose message was lost; returns their ids.

    * processing, heartbeat older than ``stale_after_seconds``: the worker died (killed,
      OOM, host lost). Re-sent, unless it already used every attempt (a video that kills
      its worker every time), which fails it instead of looping forever.
    * queued, last sent longer than ``queued_after_seconds`` ago: the message was lost
      (the in-process broker of a restarted server, a flushed Redis).
    * webhooks whose worker or message was lost (webhooks.deliver_missed_webhooks).
    Re-sending is safe: a duplicate message finds the job claimed and does nothing. Each
    job is handled in its own try, so one that fails never stops the others.
    """
    if stale_after_seconds is None:
        stale_after_seconds = settings.VIDEO_JOB_STALE_SECONDS
    if queued_after_seconds is None:
        queued_after_seconds = settings.VIDEO_JOB_QUEUED_RESEND_SECONDS
    now = timezone.now()
    stale = now - timedelta(seconds=stale_after_seconds)
    lost = now - timedelta(seconds=queued_after_seconds)
    dead_worker = Q(status=Status.PROCESSING) & (
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)
    ) & (Q(enqueued_at__lt=stale) | Q(enqueued_at__isnull=True))
    lost_message = Q(status=Status.QUEUED) & (Q(enqueued_at__lt=lost) | Q(enqueued_at__isnull=True))
    requeued = []
    candidates = VideoJob.objects.filter(dead_worker | lost_message)
    for job in list(candidates.only("pk", "status", "attempts")):
        # Each job in its own try: one that cannot be handled never stops the others.
        try:
            if _recover_job(job, stale=stale, lost=lost):
                requeued.append(job.pk)
        except Exception:  # noqa: BLE001
            logger.exception("Sweeper: video job %s could not be recovered", job.pk)
    if requeued:
        logger.warning("Re-queued %d video job(s): %s", len(requeued), requeued)
    webhooks.deliver_missed_webhooks(stale_before=stale)
    return requeued


def _recover_job(job: VideoJob, *, stale, lost) -> bool:
    if job.status == Status.PROCESSING and job.attempts >= jobs.max_attempts():
        if jobs.fail_job(
            job_id=job.pk,
            message=f"the worker stopped responding {job.attempts} times on this video",
            attempt=job.attempts,
        ):
            webhooks.notify(job_id=job.pk)
        return False
    return _resend(job, before=stale if job.status == Status.PROCESSING else lost)


@transaction.atomic
def _resend(job: VideoJob, *, before) -> bool:
    # Conditional on what we saw, so two sweepers never both re-send one job.
    rows = VideoJob.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts).filter(
        Q(enqueued_at__lt=before) | Q(enqueued_at__isnull=True)
    )
    if not rows.update(enqueued_at=timezone.now()):
        return False
    messages.queue_analysis(job.pk)
    return True


def purge_expired_jobs(*, older_than_days: int | None = None) -> int:
    """Delete jobs finished longer ago than the retention period; returns how many."""
    days = settings.VIDEO_JOB_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    expired = VideoJob.objects.filter(
        status__in=VideoJob.FINISHED_STATUSES,
        finished_at__lt=timezone.now() - timedelta(days=days),
    )
    count = 0
    for job in list(expired.only("pk", "file_path")):
        try:
            job.delete()  # one by one, so videos.signals removes each file
            count += 1
        except Exception:  # noqa: BLE001 - one job that cannot go never keeps the others
            logger.exception("Retention: video job %s could not be purged", job.pk)
    webhooks.prune_webhook_deliveries(older_than_days=days)
    if count:
        logger.info("Purged %d video job(s) finished over %d days ago", count, days)
    return count
