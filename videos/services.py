"""Writes for video jobs on behalf of their owner (API and dashboard): submit, cancel, delete.

What the worker does with a job is videos.jobs; the sweeper is videos.recovery; webhooks
are videos.webhooks. The job is written before its message is sent (videos.messages, on
commit), so the row is always the source of truth.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from faces import selectors as face_selectors
from videos import jobs, messages, webhooks
from videos.errors import TooManyUnfinishedJobs
from videos.models import VideoJob
from videos.pipeline import FEATURES
from vision.media import StoredVideo

Status = VideoJob.Status


def _relative_media_path(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))
    except ValueError:
        return str(path)


def submit_video(
    *,
    owner,
    upload,
    features: list[str] | None = None,
    sample_fps: float,
    collection: str | None = None,
    callback_url: str = "",
) -> VideoJob:
    """Check what the request refers to, store the upload and queue its job.

    ``upload`` has ``store() -> StoredVideo`` (videos.uploads.PendingVideo): the
    500 MB write and the probe come last, after the cheap checks. ``collection`` is an id
    or a name of the owner's collections. No job, no file: whatever fails once the upload
    is stored removes it again.
    """
    _check_unfinished_jobs(owner=owner)  # before the 500 MB write; again when creating
    if callback_url:
        webhooks.check_callback_url(callback_url, owner_id=owner.pk)
    found = (
        face_selectors.collection_get(owner=owner, reference=collection) if collection else None
    )
    video = upload.store()
    try:
        return create_job(
            owner=owner,
            video=video,
            features=features or list(FEATURES),
            sample_fps=sample_fps,
            collection=found,
            callback_url=callback_url,
        )
    except BaseException:  # also a client gone or a worker stopped mid-request
        jobs.remove_file(video.path)
        raise


def _check_unfinished_jobs(*, owner) -> None:
    """TooManyUnfinishedJobs at the account's cap of queued and running jobs: one account
    cannot fill the queue (and the disk) ahead of everyone else, however fast it uploads."""
    cap = settings.VISIONERA_MAX_UNFINISHED_VIDEO_JOBS
    unfinished = VideoJob.objects.filter(owner=owner, status__in=VideoJob.UNFINISHED_STATUSES)
    if unfinished.count() >= cap:
        raise TooManyUnfinishedJobs(
            f"this account has {cap} video jobs queued or running, the most it may have;"
            " wait for one to finish or cancel one"
        )


@transaction.atomic
def create_job(
    *,
    owner,
    video: StoredVideo,
    features: list[str],
    sample_fps: float,
    collection=None,
    callback_url: str = "",
) -> VideoJob:
    """Write the job and queue its analysis once the row is committed."""
    # The owner's row is locked while the jobs are counted: concurrent submissions of one
    # account are counted one after the other, so none slips past the cap.
    type(owner).objects.select_for_update().filter(pk=owner.pk).first()
    _check_unfinished_jobs(owner=owner)
    job = VideoJob.objects.create(
        owner=owner,
        file_path=_relative_media_path(video.path),
        original_filename=video.filename,
        byte_size=video.byte_size,
        duration_seconds=video.duration_seconds,
        features=list(features),
        sample_fps=sample_fps,
        collection=collection,
        callback_url=callback_url or "",
        enqueued_at=timezone.now(),
    )
    # A broker outage here is logged by send_on_commit; the sweeper re-sends the job.
    messages.queue_analysis(job.pk)
    return job


@transaction.atomic
def cancel_job(*, job: VideoJob) -> VideoJob:
    """Stop a queued or running job and keep it, marked `cancelled`; a finished job is
    returned as it is.

    The upload goes on commit (unless VISIONERA_KEEP_VIDEOS), whatever the job was doing:
    a job marked running may have lost its worker, and then no worker would ever remove
    it. A live worker keeps reading the file it has open (POSIX), notices the
    cancellation at its next sampled frame and writes nothing more; one yet to open it
    finds it gone, sees its lease is lost and stops. The webhook, if the job has a
    callback_url, reports `video.cancelled`.
    """
    row = VideoJob.objects.select_for_update().filter(pk=job.pk).first()
    if row is not None and not row.is_finished:
        now = timezone.now()
        VideoJob.objects.filter(pk=job.pk).update(
            status=Status.CANCELLED, finished_at=now, heartbeat_at=now
        )
        transaction.on_commit(lambda: jobs.discard_video_file(job_id=job.pk))
        webhooks.notify(job_id=job.pk)
    job.refresh_from_db()
    return job


@transaction.atomic
def delete_job(*, job: VideoJob) -> None:
    """Delete the job, its results and its file (a running worker stops at its next write).

    The file goes on commit (videos.signals), as it does when an account is deleted.
    """
    job.delete()


@transaction.atomic
def cancel_or_delete_job(*, job: VideoJob) -> None:
    """`DELETE /api/videos/{id}`: a queued or running job is cancelled and kept; a finished
    one is deleted. Decided under the row's lock, so a job finishing meanwhile is deleted."""
    row = VideoJob.objects.select_for_update().filter(pk=job.pk).first()
    if row is None:
        return
    if row.is_finished:
        delete_job(job=row)
    else:
        cancel_job(job=row)
