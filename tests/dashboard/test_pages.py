"""Content of the dashboard and public pages: usage, chart, docs, collections, jobs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Plan, UsageRecord

pytestmark = pytest.mark.django_db


def _usage(user, *, status=200, group="compare", days_ago=0, path="/api/faces/compare"):
    return UsageRecord.objects.create(
        user=user, group=group, method="POST", path=path, status=status, latency_ms=12,
        created_at=timezone.now() - timedelta(days=days_ago),
    )


def test_home_shows_plan_usage_chart_and_recent_requests(signed_in):
    user = signed_in.account.user
    _usage(user)
    _usage(user, status=400)
    _usage(user, days_ago=3, group="search", path="/api/faces/search")
    _usage(user, days_ago=45)  # outside the chart and the month
    html = signed_in.get("/dashboard/").content.decode()
    assert user.plan.display_name in html
    assert 'id="requests-chart"' in html
    assert 'data-total="3"' in html and 'data-errors="1"' in html
    today = timezone.localdate().isoformat()
    assert f'data-day="{today}" data-ok="1" data-errors="1"' in html
    assert "POST /api/faces/search" in html
    assert 'data-group="compare"' in html


def test_chart_has_thirty_days(signed_in):
    from accounts.selectors import usage_by_day_get
    from dashboard.charts import requests_chart

    today = timezone.localdate()
    daily = usage_by_day_get(user=signed_in.account.user, first_day=today)
    chart = requests_chart(daily, today=today)
    assert len(chart["bars"]) == 30
    assert chart["bars"][-1]["day"] == today


def test_chart_geometry_is_a_pure_function_of_the_counts():
    from datetime import date

    from dashboard.charts import requests_chart

    today = date(2026, 3, 31)
    chart = requests_chart({today: {"total": 7, "errors": 3}, date(2026, 3, 2): {
        "total": 2, "errors": 0}}, today=today)
    assert chart["first"] == date(2026, 3, 2)
    assert (chart["total"], chart["errors"]) == (9, 3)
    # Scale top rounds 7 up to 8, so each request is 166/8 units tall.
    last, first = chart["bars"][-1], chart["bars"][0]
    assert (last["ok"], last["errors"]) == (4, 3)
    assert last["ok_h"] == round(166 * 4 / 8, 1) and last["err_h"] == round(166 * 3 / 8, 1)
    assert last["err_y"] + last["err_h"] + last["ok_h"] == pytest.approx(chart["baseline"])
    assert first["label"] == "02 Mar" and chart["bars"][1]["label"] == ""
    assert [tick["label"] for tick in chart["ticks"]] == ["0", "4", "8"]


def test_video_timeline_places_marks_on_their_lane_in_time():
    from dashboard.charts import TimelineMark, video_timeline

    timeline = video_timeline(
        [TimelineMark("face", 0, "obama"), TimelineMark("vehicle", 5000, "car")],
        lanes=[("face", "Faces"), ("vehicle", "Vehicles")], duration_ms=10_000,
    )
    faces, vehicles = timeline["lanes"]
    assert [m["label"] for m in faces["marks"]] == ["obama"]
    assert faces["marks"][0]["x"] == timeline["left"]
    assert vehicles["marks"][0]["x"] == round(70 + 560 * 0.5, 1)
    assert timeline["ticks"][-1]["label"] == "10.0s"


def test_api_docs_cover_every_endpoint_of_the_contract(client):
    html = client.get("/api-docs/").content.decode()
    for path in [
        "/api/faces/compare", "/api/faces/detect", "/api/faces/search", "/api/faces/batch-match",
        "/api/faces/collections", "/api/faces/collections/{collection_id}/faces",
        "/api/vehicles/detect",
        "/api/body/analyze", "/api/videos/analyze", "/api/videos/{job_id}",
        "/api/videos/{job_id}/results",
    ]:
        assert path in html, path
    for code in ["unauthorized", "plan_forbidden", "file_too_large", "rate_limited",
                 "no_face_detected", "X-RateLimit-Remaining", "curl -X POST", 'href="/docs/"']:
        assert code in html, code


@pytest.mark.rate_limits
def test_plans_page_reads_plans_from_the_database(client):
    Plan.objects.create(name="team", display_name="Team Special", max_image_bytes=5_000_000,
                        allowed_groups=["compare"], rate_limits={"compare": {"per_minute": 77}})
    html = client.get("/plans/").content.decode()
    assert "Team Special" in html
    assert "77/min" in html
    assert "2 MB" in html and "10 MB" in html and "20 MB" in html


def test_collections_list_detail_and_delete(signed_in):
    from faces.models import Collection, Face

    user = signed_in.account.user
    collection = Collection.objects.create(owner=user, name="staff")
    face = Face.objects.create(collection=collection, label="obama", metadata={"team": "blue"},
                               box={"x": 1, "y": 2, "width": 30, "height": 40},
                               descriptor=b"\0" * 512)
    collection.bump(face_delta=1)
    assert "staff" in signed_in.get("/dashboard/collections/").content.decode()
    html = signed_in.get(f"/dashboard/collections/{collection.pk}/").content.decode()
    assert "obama" in html and "team" in html and "blue" in html
    assert "obama" not in signed_in.get(
        f"/dashboard/collections/{collection.pk}/?label=nobody"
    ).content.decode().split('id="faces"')[1]
    response = signed_in.post(f"/dashboard/collections/{collection.pk}/faces/{face.pk}/delete/")
    assert response.status_code == 302
    assert not Face.objects.filter(pk=face.pk).exists()
    collection.refresh_from_db()
    assert collection.face_count == 0
    assert signed_in.get(f"/dashboard/collections/{collection.pk}/delete/").status_code == 200
    assert Collection.objects.filter(pk=collection.pk).exists()  # GET only asks
    response = signed_in.post(f"/dashboard/collections/{collection.pk}/delete/")
    assert response.status_code == 302
    assert not Collection.objects.filter(pk=collection.pk).exists()


def test_jobs_list_detail_timeline_and_live_status(signed_in):
    from videos.models import VideoDetection, VideoJob

    user = signed_in.account.user
    running = VideoJob.objects.create(owner=user, file_path="a.mp4", original_filename="a.mp4",
                                      status="processing", progress=40)
    done = VideoJob.objects.create(
        owner=user, file_path="b.mp4", original_filename="b.mp4", status="completed",
        progress=100, duration_seconds=4.0,
        summary={"duration_seconds": 4.0, "frames_analysed": 8, "counts": {"faces": 2},
                 "face_tracks": [{"track_id": 1, "first_ms": 0, "last_ms": 500,
                                  "detections": 1, "label": None, "distance": None}]},
    )
    VideoDetection.objects.create(job=done, timestamp_ms=500, kind="face",
                                  box={"x": 1, "y": 1, "width": 5, "height": 5},
                                  payload={"label": "obama"})
    VideoDetection.objects.create(job=done, timestamp_ms=2500, kind="vehicle",
                                  box={"x": 1, "y": 1, "width": 5, "height": 5},
                                  payload={"type": "car"})
    html = signed_in.get("/dashboard/jobs/").content.decode()
    assert "a.mp4" in html and "b.mp4" in html
    assert f'data-job-id="{running.pk}" data-live="1"' in html
    states = signed_in.get("/dashboard/jobs/status.json").json()["jobs"]
    assert [s["id"] for s in states] == [str(running.pk)]
    assert states[0]["progress"] == 40
    html = signed_in.get(f"/dashboard/jobs/{done.pk}/").content.decode()
    assert 'id="timeline"' in html
    assert "Frames analysed" in html
    assert "Track id" in html
    assert "obama" in html and "car" in html
