"""A Dramatiq middleware that runs the video-job sweeper inside every worker process.

Started after a worker boots (the embedded worker of the web process and each
`rundramatiq` process alike), it calls videos.recovery.requeue_stale_jobs every
VIDEO_SWEEP_INTERVAL_SECONDS, so a job whose worker died is re-sent without cron.
Several sweepers at once are safe: each re-send is a conditional UPDATE.
"""

import logging
import threading

import dramatiq

logger = logging.getLogger(__name__)

FIRST_SWEEP_DELAY_SECONDS = 5.0
IDLE_RECHECK_SECONDS = 5.0


class VideoJobSweeper(dramatiq.Middleware):
    def __init__(self):
        self._stop = threading.Event()
        self._thread = None

    def after_worker_boot(self, broker, worker):
        # The embedded case boots two Workers (analysis, webhooks) on one broker: one
        # sweeper thread per process is enough.
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="video-job-sweeper", daemon=True
        )
        self._thread.start()

    def before_worker_shutdown(self, broker, worker):
        self._stop.set()

    def _run(self):
        from django.conf import settings
        from django.db import close_old_connections

        delay = FIRST_SWEEP_DELAY_SECONDS
        while not self._stop.wait(delay):
            interval = float(settings.VIDEO_SWEEP_INTERVAL_SECONDS)
            if interval <= 0:  # switched off (tests that sweep by hand)
                delay = IDLE_RECHECK_SECONDS
                continue
            delay = interval
            from videos.recovery import purge_expired_jobs, requeue_stale_jobs

            # Recovery and the retention purge each in their own try: a failure of one
            # (the database away for a moment) never skips the other.
            for step in (close_old_connections, requeue_stale_jobs, purge_expired_jobs,
                         close_old_connections):
                try:
                    step()
                except Exception:  # noqa: BLE001 - the sweeper must outlive a bad moment
                    logger.exception("Video job sweep: %s failed; trying again later",
                                     step.__name__)
