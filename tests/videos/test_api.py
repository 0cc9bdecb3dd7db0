"""The video endpoints through the real stack: validation, ownership, listing, results."""

import uuid

import pytest

from tests.helpers import upload
from tests.videos.conftest import make_collection, media_files
from videos.models import VideoDetection, VideoJob


def analyze(client, data: bytes, name="clip.mp4", **fields):
    return client.post(
        "/api/videos/analyze", {"video": upload(name, data, "video/mp4"), **fields},
        format="multipart",
    )


def test_a_valid_upload_is_queued_with_location(pro_client, synthetic_video_bytes, media_root):
    response = analyze(pro_client, synthetic_video_bytes, features="faces", sample_fps="1")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert response["Location"] == body["status_url"]
    assert body["status_url"].endswith(f"/api/videos/{body['job_id']}")
    job = VideoJob.objects.get(pk=body["job_id"])
    assert job.owner == pro_client.user
    assert job.features == ["faces"] and job.sample_fps == 1.0
    assert job.original_filename == "clip.mp4" and job.byte_size == len(synthetic_video_bytes)
    assert (media_root / job.file_path).is_file()


def test_defaults_are_every_feature_at_two_samples_per_second(pro_client, synthetic_video_bytes):
    body = analyze(pro_client, synthetic_video_bytes).json()
    job = VideoJob.objects.get(pk=body["job_id"])
    assert job.features == ["faces", "vehicles", "bodies"] and job.sample_fps == 2.0


def test_a_text_file_renamed_mp4_is_refused_with_no_job_and_no_file(pro_client, media_root):
    response = analyze(pro_client, b"this is plain text, not a video\n" * 50, name="fake.mp4")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_format"
    assert not VideoJob.objects.exists()
    assert media_files(media_root) == []


def test_a_truncated_mp4_is_refused_as_corrupt_with_no_file(
    pro_client, synthetic_video_bytes, media_root
):
    response = analyze(pro_client, synthetic_video_bytes[:400])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "corrupt_file"
    assert not VideoJob.objects.exists() and media_files(media_root) == []


@pytest.mark.parametrize(
    "fields",
    [
        ({"features": "faces,cats"}, "invalid_request"),
        ({"sample_fps": "0"}, "invalid_request"),
        ({"callback_url": "not a url"}, "invalid_callback_url"),
    ],
)
def test_bad_options_after_the_file_was_stored_leave_no_file(
    pro_client, synthetic_video_bytes, media_root, fields
):
    fields, code = fields
    response = analyze(pro_client, synthetic_video_bytes, **fields)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not VideoJob.objects.exists() and media_files(media_root) == []


def test_another_accounts_collection_is_not_found_and_leaves_no_file(
    make_client, synthetic_video_bytes, media_root
):
    other = make_client("pro")
    collection = make_collection(other.user, name="theirs")
    for value in (str(collection.pk), str(uuid.uuid4()), "not-a-uuid"):
        # A fresh key each time: the video group allows a burst of only 2 requests a second.
        response = analyze(make_client("pro"), synthetic_video_bytes, collection=value)
        assert response.status_code == 404, value
        assert response.json()["error"]["code"] == "not_found"
    assert not VideoJob.objects.exists() and media_files(media_root) == []


def test_the_free_plan_gets_plan_forbidden(free_client, synthetic_video_bytes, media_root):
    response = analyze(free_client, synthetic_video_bytes)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "plan_forbidden"
    assert not VideoJob.objects.exists() and media_files(media_root) == []


def test_a_missing_video_is_missing_file(pro_client):
    response = pro_client.post("/api/videos/analyze", {"features": "faces"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_file"


def _job(owner, **fields):
    return VideoJob.objects.create(owner=owner, file_path="videos/none.mp4", **fields)


def test_status_shape(pro_client):
    job = _job(pro_client.user, features=["faces"])
    response = pro_client.get(f"/api/videos/{job.pk}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "job_id", "status", "progress", "created_at", "started_at", "finished_at", "error",
        "summary", "webhook", "results_url",
    }
    assert body["job_id"] == str(job.pk) and body["status"] == "queued"
    assert body["progress"] == 0 and body["error"] is None and body["summary"] is None
    assert body["webhook"] is None
    assert body["results_url"].endswith(f"/api/videos/{job.pk}/results")


def test_another_accounts_job_is_not_found_everywhere(pro_client, make_client):
    other = make_client("pro")
    job = _job(other.user)
    for response in (
        pro_client.get(f"/api/videos/{job.pk}"),
        pro_client.get(f"/api/videos/{job.pk}/results"),
        pro_client.delete(f"/api/videos/{job.pk}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert VideoJob.objects.filter(pk=job.pk).exists()
    assert pro_client.get("/api/videos").json()["count"] == 0


@pytest.mark.parametrize("job_id", ["not-a-uuid", "12345", str(uuid.uuid4())])
def test_malformed_or_unknown_ids_are_not_found(pro_client, job_id):
    response = pro_client.get(f"/api/videos/{job_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_list_is_the_accounts_jobs_newest_first_and_paginated(pro_client, make_client):
    _job(make_client("pro").user)
    created = [_job(pro_client.user) for _ in range(3)]
    response = pro_client.get("/api/videos", {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["next"] and body["previous"] is None
    newest_first = [str(job.pk) for job in reversed(created)]
    assert [item["job_id"] for item in body["results"]] == newest_first[:2]
    second = pro_client.get("/api/videos", {"page_size": 2, "page": 2}).json()
    assert [item["job_id"] for item in second["results"]] == newest_first[2:]


def test_results_are_paginated_by_timestamp_and_filterable(pro_client):
    job = _job(pro_client.user, status="completed", progress=100)
    box = {"x": 1, "y": 2, "width": 3, "height": 4}
    VideoDetection.objects.bulk_create(
        [
            VideoDetection(job=job, timestamp_ms=ms, kind=kind, box=box, payload=payload)
            for ms, kind, payload in [
                (1000, "vehicle", {"type": "car", "confidence": 0.9}),
                (0, "face", {"track_id": 1, "label": "lin", "distance": 0.4}),
                (500, "face", {"track_id": 1}),
            ]
        ]
    )
    body = pro_client.get(f"/api/videos/{job.pk}/results", {"page_size": 2}).json()
    assert body["count"] == 3 and body["next"] and body["status"] == "completed"
    assert [item["timestamp_ms"] for item in body["results"]] == [0, 500]
    assert body["results"][0] == {
        "timestamp_ms": 0, "kind": "face", "box": box, "track_id": 1, "label": "lin",
        "distance": 0.4,
    }
    vehicles = pro_client.get(f"/api/videos/{job.pk}/results", {"kind": "vehicle"}).json()
    assert [item["type"] for item in vehicles["results"]] == ["car"]
    bad = pro_client.get(f"/api/videos/{job.pk}/results", {"kind": "cat"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_delete_cancels_a_queued_job_and_removes_its_file(
    pro_client, synthetic_video_bytes, media_root, django_capture_on_commit_callbacks
):
    body = analyze(pro_client, synthetic_video_bytes).json()
    job = VideoJob.objects.get(pk=body["job_id"])
    path = media_root / job.file_path
    assert path.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        response = pro_client.delete(f"/api/videos/{job.pk}")
    assert response.status_code == 204
    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED
    assert not path.exists()
    assert pro_client.get(f"/api/videos/{job.pk}").json()["status"] == "cancelled"


def test_the_schema_documents_real_video_response_shapes(client, db):
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "VideoJob" in components and "VideoSummary" in components
    retrieve = schema["paths"]["/api/videos/{job_id}"]["get"]["responses"]["200"]
    assert retrieve["content"]["application/json"]["schema"]["$ref"].endswith("/VideoJob")
    analyze_op = schema["paths"]["/api/videos/analyze"]["post"]["responses"]
    assert "202" in analyze_op


def test_a_broker_outage_at_send_still_answers_202_and_keeps_the_job(
    pro_client, synthetic_video_bytes, media_root, monkeypatch, django_capture_on_commit_callbacks
):
    import dramatiq

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(dramatiq.get_broker(), "enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = analyze(pro_client, synthetic_video_bytes)
    assert callbacks, "the message is sent on commit"
    assert response.status_code == 202
    job = VideoJob.objects.get(pk=response.json()["job_id"])
    assert job.status == "queued" and (media_root / job.file_path).is_file()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_deleting_an_account_removes_its_uploaded_videos(make_client, synthetic_video, media_root):
    client = make_client("pro")
    path = media_root / "videos" / "upload.mp4"
    path.parent.mkdir(parents=True)
    path.write_bytes(synthetic_video.read_bytes())
    job = VideoJob.objects.create(owner=client.user, file_path="videos/upload.mp4",
                                  status="completed")
    client.user.delete()
    assert not VideoJob.objects.filter(pk=job.pk).exists()
    assert not path.exists()
