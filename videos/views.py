"""Dashboard pages for video jobs: the account's jobs with live status, and one job's page.

Every query is scoped to request.user: another account's job is a 404.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from videos import selectors, webhooks
from videos.errors import CallbackUrlNotAllowed, TooManyTestEvents
from videos.models import VideoDetection, VideoJob

JOBS_PER_PAGE = 25
TIMELINE_MARKS = 2000  # at most this many detections drawn on the timeline
TABLE_ROWS = 200
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
def job_list(request):
    jobs = VideoJob.objects.filter(owner=request.user).order_by("-created_at")
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "videos/jobs.html", {"page": page, "nav": "jobs"})


@login_required
@require_GET
def job_states(request):
    """Status and progress of the account's unfinished jobs (or of ?id=…), polled by the page."""
    jobs = VideoJob.objects.filter(owner=request.user)
    ids = request.GET.getlist("id")
    if ids:
        valid = []
        for value in ids[:100]:
            try:
                valid.append(VideoJob._meta.pk.to_python(value))
            except Exception:  # noqa: BLE001, S112 - a malformed id is simply not found
                continue
        jobs = jobs.filter(pk__in=valid)
    else:
        jobs = jobs.exclude(status__in=VideoJob.FINISHED_STATUSES)
    return JsonResponse({"jobs": [_job_state(job) for job in jobs[:100]]})


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
            rows = [[_cell(row.get(column)) for column in columns] for row in value[:500]]
            sections.append({"title": title, "kind": "table", "rows": rows,
                             "columns": [c.replace("_", " ") for c in columns]})
        elif isinstance(value, list):
            sections.append({"title": title, "kind": "text",
                             "text": ", ".join(str(_cell(v)) for v in value) or "—"})
    return sections


def _timeline(job: VideoJob, detections) -> dict:
    width, lane_h, left = 640, 28, 70
    end_ms = max(
        int((job.duration_seconds or 0) * 1000),
        max((d.timestamp_ms for d in detections), default=0),
        1,
    )
    lanes = []
    for index, (kind, label) in enumerate(KINDS):
        y = 8 + index * lane_h
        marks = [
            {
                "x": round(left + (width - left - 10) * d.timestamp_ms / end_ms, 1),
                "t": d.timestamp_ms / 1000,
                "label": (d.payload or {}).get("label") or (d.payload or {}).get("type") or "",
            }
            for d in detections
            if d.kind == kind
        ]
        lanes.append({"kind": kind, "label": label, "y": y, "text_y": y + lane_h // 2 + 2,
                      "marks": marks})
    ticks = []
    for step in range(5):
        ms = end_ms * step / 4
        ticks.append(
            {"x": round(left + (width - left - 10) * step / 4, 1), "label": f"{ms / 1000:.1f}s"}
        )
    height = 8 + len(KINDS) * lane_h + 22
    return {"width": width, "height": height, "left": left, "lanes": lanes, "ticks": ticks,
            "axis_y": height - 20, "label_y": height - 6, "lane_h": lane_h - 12}


@login_required
def job_detail(request, pk):
    job = get_object_or_404(VideoJob, pk=pk, owner=request.user)
    detections = list(job.detections.order_by("timestamp_ms", "id")[:TIMELINE_MARKS])
    counts = {
        row["kind"]: row["n"]
        for row in job.detections.values("kind").annotate(n=Count("id"))
    }
    summary = job.summary if isinstance(job.summary, dict) else {}
    return render(
        request,
        "videos/job_detail.html",
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
            "timeline": _timeline(job, detections),
            "detections": detections[:TABLE_ROWS],
            "detection_total": sum(counts.values()),
            "nav": "jobs",
        },
    )


RECENT_DELIVERIES = 20


@login_required
@require_http_methods(["GET", "POST"])
def webhooks_page(request):
    """The account's webhook secret (revealed on demand), rotation, recent deliveries and a
    test event. Secrets only ever travel in a POST's own no-store response, never in a
    redirect's messages cookie."""
    revealed = False
    test_url = ""
    test_error = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "reveal":
            revealed = True
        elif action == "rotate":
            webhooks.rotate_webhook_secret(owner=request.user)
            revealed = True
            messages.success(request, "A new secret is in use. The previous one keeps signing "
                             "beside it for 24 hours: update your receiver before then.")
        elif action == "test":
            test_url = request.POST.get("url", "").strip()
            try:
                webhooks.send_test_event(owner=request.user, url=test_url)
            except CallbackUrlNotAllowed as exc:
                test_error, status = str(exc), 400
            except TooManyTestEvents as exc:
                test_error, status = str(exc), 429
            else:
                messages.success(request, "Test event queued; its outcome appears below.")
                return redirect("webhooks")
        else:
            status = 400
    secret = webhooks.get_webhook_secret(owner=request.user)
    deliveries = [
        {"delivery": delivery, **webhooks.public_outcome(delivery)}
        for delivery in selectors.webhook_delivery_list(
            owner=request.user, limit=RECENT_DELIVERIES
        )
    ]
    previous_live = len(webhooks.signing_secrets(secret)) > 1
    response = render(
        request,
        "videos/webhooks.html",
        {
            "secret": secret.secret if revealed else None,
            "previous_expires_at": secret.previous_expires_at if previous_live else None,
            "deliveries": deliveries,
            "test_url": test_url,
            "test_error": test_error,
            "nav": "webhooks",
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response
