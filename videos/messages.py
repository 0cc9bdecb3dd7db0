"""The queue messages of video work: each actor's name and queue, and how they are sent.

One place sends them, by name (visionera.worker.NamedActor): videos.tasks, which declares
the actors, imports the code that sends (jobs, recovery, webhooks), so that code never
imports the actors back. Messages leave on commit: the row they name is in the database
first, and a message lost to a broker outage is re-sent by the sweeper from that row.
"""

from visionera.worker import WEBHOOK_QUEUE, NamedActor, send_on_commit

ANALYZE_VIDEO = NamedActor(actor_name="analyze_video", queue_name="videos")
DELIVER_WEBHOOK = NamedActor(actor_name="deliver_webhook", queue_name=WEBHOOK_QUEUE)


def queue_analysis(job_id, *, delay_seconds: float = 0) -> None:
    send_on_commit(ANALYZE_VIDEO, str(job_id), delay_seconds=delay_seconds)


def queue_delivery(delivery_id, *, delay_seconds: float = 0) -> None:
    send_on_commit(DELIVER_WEBHOOK, str(delivery_id), delay_seconds=delay_seconds)
