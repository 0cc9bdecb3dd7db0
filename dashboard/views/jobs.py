"""Video jobs: the account's jobs with live status, one job's page, cancel and delete."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.charts import TimelineMark, video_timeline
from dashboard.lookups import get_or_404
from videos.models import VideoDetection, VideoJob
from videos.selectors import detection_list, job_get, job_list
from videos.services import cancel_job, delete_job

JOBS_PER_PAGE = 25
POLLED_JOBS = 100  # at most this many jobs in one status.json answer
TIMELINE_MARKS = 2000  # at most this many detections drawn on the timeline
TABLE_ROWS = 200
SUMMARY_TABLE_ROWS = 500
KINDS = [(kind.value, kind.label) for kind in VideoDetection.Kind]


def _job_state(job: VideoJob) -> dict:
    return {
        "id": str(job.id),
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job.progress,
        "finished": job.is_finished,
        "error": job.error,
    }


@login_required
def job_index(request):
    page = Paginator(job_list(owner=request.user), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "dashboard/jobs.html", {"page": page, "nav": "jobs"})


@login_required
@require_GET
def job_states(request):
    """Status and progress of the account's unfinished jobs (or of ?id=…), polled by the page."""
    jobs = job_list(owner=request.user)
    ids = request.GET.getlist("id")
    if ids:
        valid = []
        for value in ids[:POLLED_JOBS]:
            try:
                valid.append(VideoJob._meta.pk.to_python(value))
            except Exception:  # noqa: BLE001, S112 - a malformed id is simply not found
                continue
        jobs = jobs.filter(pk__in=valid)
    else:
        jobs = jobs.exclude(status__in=VideoJob.FINISHED_STATUSES)
    return JsonResponse({"jobs": [_job_state(job) for job in jobs[:POLLED_JOBS]]})


def _cell(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _summary_sections(summary: dict) -> list[dict]:
    """The nested parts of a job summary, each as a table or a list of facts."""
    sections = []
    for key, value in summary.items():
        title = key.replace("_", " ").capitalize()
        if isinstance(value, dict):
            items = [(k.replace("_", " "), _cell(v)) for k, v in value.items()]
            sections.append({"title": title, "kind": "facts", "items": items})
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for row in value for k in row))
            rows = [[_cell(row.get(column)) for column in columns]
                    for row in value[:SUMMARY_TABLE_ROWS]]
            sections.append({"title": title, "kind": "table", "rows": rows,
                             "columns": [c.replace("_", " ") for c in columns]})
        elif isinstance(value, list):
            sections.append({"title": title, "kind": "text",
                             "text": ", ".join(str(_cell(v)) for v in value) or "—"})
    return sections


def _mark(detection: VideoDetection) -> TimelineMark:
    payload = detection.payload or {}
    return TimelineMark(kind=detection.kind, timestamp_ms=detection.timestamp_ms,
                        label=payload.get("label") or payload.get("type") or "")


@login_required
def job_detail(request, pk):
    job = get_or_404(job_get, owner=request.user, job_id=pk)
    detections = list(detection_list(job=job)[:TIMELINE_MARKS])
    counts = {
        row["kind"]: row["n"]
        for row in detection_list(job=job).order_by().values("kind").annotate(n=Count("id"))
    }
    summary = job.summary if isinstance(job.summary, dict) else {}
    timeline = video_timeline(
        (_mark(d) for d in detections), lanes=KINDS,
        duration_ms=int((job.duration_seconds or 0) * 1000),
    )
    return render(
        request,
        "dashboard/job_detail.html",
        {
            "job": job,
            "state": _job_state(job),
            "summary": summary,
            "summary_items": [
                (key.replace("_", " "), _cell(value))
                for key, value in summary.items()
                if not isinstance(value, (dict, list))
            ],
            "summary_sections": _summary_sections(summary),
            "counts": [(label, counts.get(kind, 0)) for kind, label in KINDS],
            "timeline": timeline,
            "detections": detections[:TABLE_ROWS],
            "detection_total": sum(counts.values()),
            "nav": "jobs",
        },
    )


@login_required
@require_POST
def job_cancel(request, pk):
    """Stop a queued or running job; the worker notices at its next frame."""
    job = get_or_404(job_get, owner=request.user, job_id=pk)
    if job.is_finished:
        messages.info(request, f"The job had already ended: {job.get_status_display()}.")
    else:
        cancel_job(job=job)
        messages.success(request, "The job is cancelled.")
    return redirect("dashboard:job-detail", pk=job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def job_delete(request, pk):
    """GET asks for confirmation, POST deletes a finished job, its video and its results.
    A job still running is cancelled first (from its page), so a click cannot lose one."""
    job = get_or_404(job_get, owner=request.user, job_id=pk)
    if not job.is_finished:
        messages.error(request, "Cancel the job before deleting it.")
        return redirect("dashboard:job-detail", pk=job.pk)
    if request.method == "POST":
        name = job.original_filename or str(job.pk)
        delete_job(job=job)
        messages.success(request, f"Video job “{name}” and its results are deleted.")
        return redirect("dashboard:jobs")
    return render(request, "dashboard/job_delete.html", {"job": job, "nav": "jobs"})
