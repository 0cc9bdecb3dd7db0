"""Cancel and delete a video job from its dashboard page (issue 12, dashboard gaps)."""

import re
import uuid
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from videos.models import VideoJob

pytestmark = pytest.mark.django_db


def _job(owner, status, **fields):
    return VideoJob.objects.create(owner=owner, file_path=f"{uuid.uuid4()}.mp4",
                                   original_filename="clip.mp4", status=status, **fields)


def _forms(html):
    return re.findall(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)


@pytest.mark.parametrize("status", ["queued", "processing"])
def test_an_unfinished_job_has_a_cancel_button_that_cancels_it(signed_in, status):
    job = _job(signed_in.account.user, status, progress=40)
    html = signed_in.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    actions = dict(_forms(html))
    cancel = f"/dashboard/jobs/{job.pk}/cancel/"
    assert cancel in actions and "csrfmiddlewaretoken" in actions[cancel]
    assert f"/dashboard/jobs/{job.pk}/delete/" not in html, "no delete while it runs"

    response = signed_in.post(cancel)
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == VideoJob.Status.CANCELLED and job.finished_at is not None
    page = signed_in.get(response["Location"]).content.decode()
    assert "The job is cancelled." in page
    assert cancel not in page and f"/dashboard/jobs/{job.pk}/delete/" in page


def test_cancel_is_post_only_and_leaves_a_finished_job_alone(signed_in):
    running = _job(signed_in.account.user, "processing")
    assert signed_in.get(f"/dashboard/jobs/{running.pk}/cancel/").status_code == 405
    running.refresh_from_db()
    assert running.status == "processing"

    done = _job(signed_in.account.user, "completed", progress=100)
    response = signed_in.post(f"/dashboard/jobs/{done.pk}/cancel/", follow=True)
    assert "already ended" in response.content.decode()
    done.refresh_from_db()
    assert done.status == "completed"


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_a_finished_job_is_deleted_after_a_confirmation(signed_in, status):
    job = _job(signed_in.account.user, status)
    html = signed_in.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    delete = f"/dashboard/jobs/{job.pk}/delete/"
    assert f'href="{delete}"' in html
    assert f"/dashboard/jobs/{job.pk}/cancel/" not in html

    confirm = signed_in.get(delete)
    assert confirm.status_code == 200
    actions = dict(_forms(confirm.content.decode()))
    assert delete in actions and "csrfmiddlewaretoken" in actions[delete]
    assert VideoJob.objects.filter(pk=job.pk).exists(), "GET only asks"

    response = signed_in.post(delete)
    assert response.status_code == 302 and response["Location"] == "/dashboard/jobs/"
    assert not VideoJob.objects.filter(pk=job.pk).exists()
    assert signed_in.get(f"/dashboard/jobs/{job.pk}/").status_code == 404
    assert signed_in.get(f"/api/videos/{job.pk}",
                         HTTP_X_API_KEY=signed_in.account.key).status_code == 404


def test_a_running_job_is_not_deleted_from_the_page(signed_in):
    job = _job(signed_in.account.user, "processing")
    response = signed_in.post(f"/dashboard/jobs/{job.pk}/delete/", follow=True)
    assert "Cancel the job before deleting it." in response.content.decode()
    job.refresh_from_db()
    assert job.status == "processing"


@pytest.mark.parametrize("status", ["processing", "completed"])
def test_another_accounts_job_cannot_be_cancelled_or_deleted(signed_in, make_client, status):
    other = make_client("pro")
    job = _job(other.user, status)
    for action in ("cancel", "delete"):
        assert signed_in.post(f"/dashboard/jobs/{job.pk}/{action}/").status_code == 404
    assert signed_in.get(f"/dashboard/jobs/{job.pk}/delete/").status_code == 404
    job.refresh_from_db()
    assert job.status == status


def test_cancel_and_delete_need_the_csrf_token(account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(account.user)
    running, done = _job(account.user, "processing"), _job(account.user, "completed")
    assert client.post(f"/dashboard/jobs/{running.pk}/cancel/").status_code == 403
    assert client.post(f"/dashboard/jobs/{done.pk}/delete/").status_code == 403
    running.refresh_from_db()
    assert running.status == "processing" and VideoJob.objects.filter(pk=done.pk).exists()


def _dashboard_urls():
    """Every route of the dashboard URLconf, reversed with made-up arguments."""
    urls = []
    for route in get_resolver("dashboard.urls").url_patterns:
        kwargs = {
            key: uuid.uuid4() if "UUID" in type(converter).__name__ else "abc"
            for key, converter in route.pattern.converters.items()
        }
        urls.append(reverse(f"dashboard:{route.name}", kwargs=kwargs))
    return urls


def test_every_dashboard_route_needs_a_login(client):
    urls = _dashboard_urls()
    assert "/dashboard/jobs/" in urls and len(urls) >= 17
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (url, method)
            assert response["Location"] == f"/accounts/login/?next={quote(url)}", url
