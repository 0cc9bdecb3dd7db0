"""Re-send video jobs whose worker died or whose queue message was lost.

Every worker process already sweeps periodically (videos.middleware); run this from
cron or by hand after an outage, or with --loop as a small dedicated process.
"""

import time

from django.core.management.base import BaseCommand

from videos.recovery import purge_expired_jobs, requeue_stale_jobs


class Command(BaseCommand):
    help = "Re-queue video jobs with a stale heartbeat and queued jobs whose message was lost."

    def add_arguments(self, parser):
        parser.add_argument("--stale-after", type=float, default=None,
                            help="seconds without heartbeat (default VIDEO_JOB_STALE_SECONDS)")
        parser.add_argument("--queued-after", type=float, default=None,
                            help="seconds a queued job waits before it is re-sent")
        parser.add_argument("--loop", type=float, default=0,
                            help="repeat every N seconds instead of once")

    def handle(self, *args, stale_after, queued_after, loop, **options):
        while True:
            requeued = requeue_stale_jobs(
                stale_after_seconds=stale_after, queued_after_seconds=queued_after
            )
            self.stdout.write(f"re-queued {len(requeued)} job(s)")
            for job_id in requeued:
                self.stdout.write(f"  {job_id}")
            self.stdout.write(f"purged {purge_expired_jobs()} expired job(s)")
            if not loop:
                return
            time.sleep(loop)
