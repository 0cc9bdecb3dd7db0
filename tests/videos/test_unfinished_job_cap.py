"""One account has at most VISIONERA_MAX_UNFINISHED_VIDEO_JOBS queued or running jobs: it
cannot fill the queue and the disk ahead of every other account, however fast it uploads."""

import pytest

from tests.helpers import upload
from tests.videos.conftest import media_files
from videos import messages
from videos.models import VideoJob

pytestmark = pytest.mark.django_db
CAP = 2


@pytest.fixture
def capped(settings, monkeypatch):
    settings.VISIONERA_MAX_UNFINISHED_VIDEO_JOBS = CAP
    monkeypatch.setattr(messages, "queue_analysis", lambda job_id: None)  # they stay queued


def analyze(client, data):
    return client.post("/api/videos/analyze",
                       {"video": upload("clip.mp4", data, "video/mp4"), "features": "faces"},
                       format="multipart")


def test_past_the_cap_a_submission_is_refused_before_its_upload_is_stored(
    make_client, synthetic_video_bytes, media_root, capped
):
    client = make_client("pro")
    assert [analyze(client, synthetic_video_bytes).status_code for _ in range(CAP)] == [202] * CAP
    stored = len(media_files(media_root))
    refused = analyze(client, synthetic_video_bytes)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "queued or running" in refused.json()["error"]["message"]
    assert refused["Retry-After"] == "60"  # as every 429 (the contract)
    assert len(media_files(media_root)) == stored
    assert VideoJob.objects.filter(owner=client.user).count() == CAP

    other = make_client("pro")  # another account's jobs are its own
    assert analyze(other, synthetic_video_bytes).status_code == 202

    job = VideoJob.objects.filter(owner=client.user).first()
    assert client.delete(f"/api/videos/{job.pk}").status_code in (200, 202, 204)
    assert analyze(client, synthetic_video_bytes).status_code == 202


def test_the_cap_is_counted_again_where_the_job_is_written(make_client, synthetic_video, capped):
    """Two submissions that both passed the early count: the second is refused when the
    account's row is locked to write it (here, a job written between the two counts)."""
    from videos import services
    from videos.errors import TooManyUnfinishedJobs
    from vision.media import StoredVideo

    client = make_client("pro")
    for _ in range(CAP):
        analyze(client, synthetic_video.read_bytes())
    video = StoredVideo(path=synthetic_video, container="mp4", filename="clip.mp4",
                        byte_size=synthetic_video.stat().st_size, duration_seconds=2.0,
                        frame_count=20, fps=10.0, width=160, height=120)
    with pytest.raises(TooManyUnfinishedJobs):
        services.create_job(owner=client.user, video=video, features=["faces"], sample_fps=1.0)
