"""The video queue in /metrics, read from the database at each scrape (registered in
videos.apps, so visionera.metrics never imports this app)."""

from django.db.models import Count, DurationField, ExpressionWrapper, F
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from videos.models import VideoJob

VIDEO_DURATION_BUCKETS = (
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 10800.0
)


class VideoJobsCollector:
    """Jobs per status (queued = the queue's depth) and run times of finished jobs."""

    def collect(self):
        statuses = GaugeMetricFamily(
            "visionera_video_jobs", "Video jobs by status (queued is the queue depth).",
            labels=["status"],
        )
        counts = dict(
            VideoJob.objects.values_list("status").annotate(n=Count("pk")).values_list(
                "status", "n"
            )
        )
        for status in VideoJob.Status.values:
            statuses.add_metric([status], counts.get(status, 0))
        yield statuses

        durations = HistogramMetricFamily(
            "visionera_video_job_duration_seconds",
            "Start-to-finish time of finished video jobs still retained, by final status.",
            labels=["status"],
        )
        for status in (VideoJob.Status.COMPLETED, VideoJob.Status.FAILED):
            seconds = [
                run.total_seconds()
                for run in VideoJob.objects.filter(
                    status=status, started_at__isnull=False, finished_at__isnull=False
                )
                .annotate(run=ExpressionWrapper(F("finished_at") - F("started_at"),
                                                output_field=DurationField()))
                .values_list("run", flat=True)
            ]
            buckets = [
                (str(bound), sum(1 for value in seconds if value <= bound))
                for bound in VIDEO_DURATION_BUCKETS
            ]
            buckets.append(("+Inf", len(seconds)))
            durations.add_metric([status], buckets, sum(seconds))
        yield durations
