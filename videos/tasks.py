"""Dramatiq actors for video jobs (discovered by django_dramatiq): thin, they call jobs and
webhooks. Their names and queues are videos.messages', which sends their messages."""

import dramatiq
from django.conf import settings
from dramatiq.middleware.time_limit import TimeLimitExceeded

from videos import jobs, messages, webhooks


def _should_retry(retries: int, exception: BaseException) -> bool:
    # Only transient failures come back as exceptions; jobs counts the attempts and fails
    # the job itself, so this bound is a backstop against a message looping.
    return isinstance(exception, jobs.RetryLater) and retries < jobs.max_attempts() + 2


@dramatiq.actor(
    actor_name=messages.ANALYZE_VIDEO.actor_name,
    queue_name=messages.ANALYZE_VIDEO.queue_name,
    max_retries=settings.VIDEO_JOB_MAX_ATTEMPTS + 2,
    retry_when=_should_retry,
    min_backoff=5_000,
    max_backoff=120_000,
    # A 10-minute video at 2 samples/s with every engine takes ~20 min on one core; the
    # limit leaves room for higher sample rates without letting a stuck run hold a
    # worker forever.
    time_limit=settings.VIDEO_JOB_TIME_LIMIT_SECONDS * 1000,
)
def analyze_video(job_id: str) -> None:
    try:
        jobs.run_job(job_id=job_id)
    except TimeLimitExceeded:
        jobs.fail_timed_out_job(job_id=job_id)


@dramatiq.actor(
    actor_name=messages.DELIVER_WEBHOOK.actor_name,
    queue_name=messages.DELIVER_WEBHOOK.queue_name,
    # Retries are scheduled by webhooks.attempt_delivery itself (with the delivery row as
    # the record of attempts), so Dramatiq never re-runs a message on its own.
    max_retries=0,
    # A backstop only: one attempt ends at its own deadline (VIDEO_WEBHOOK_TIMEOUT_SECONDS).
    time_limit=int(settings.VIDEO_WEBHOOK_TIMEOUT_SECONDS + 60) * 1000,
)
def deliver_webhook(delivery_id: str) -> None:
    webhooks.attempt_delivery(delivery_id=delivery_id)
