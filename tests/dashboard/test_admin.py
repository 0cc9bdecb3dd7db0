"""The Django admin for staff: every page renders, never shows a key or its digest, escapes
what accounts typed; usage is read-only; anonymous visitors are sent to the admin login."""

import pytest

from accounts.models import UsageRecord, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(admin)
    return client


def test_every_admin_page_renders_without_secrets_or_unescaped_input(staff_client, make_client):
    from faces.models import Collection, Face

    account = make_client("pro")
    collection = Collection.objects.create(owner=account.user, name="<b>staff</b>")
    face = Face.objects.create(
        collection=collection, label="ada", box={"x": 1, "y": 2, "width": 3, "height": 4},
        descriptor=bytes(512),
    )
    for url in [
        "/admin/",
        "/admin/accounts/plan/",
        "/admin/accounts/user/",
        "/admin/accounts/user/?plan__id__exact=1&q=example",
        f"/admin/accounts/user/{account.user.pk}/change/",
        "/admin/accounts/apikey/",
        "/admin/accounts/apikey/?revoked_at__isempty=1",
        f"/admin/accounts/apikey/{account.api_key.pk}/change/",
        "/admin/accounts/usagerecord/",
        "/admin/accounts/usagerecord/?group=compare",
        "/admin/faces/collection/",
        f"/admin/faces/collection/{collection.pk}/change/",
        "/admin/faces/face/",
        f"/admin/faces/face/{face.pk}/change/",
    ]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert account.key not in html and account.api_key.digest not in html, url
        assert "<b>staff</b>" not in html, url
    html = staff_client.get("/admin/accounts/plan/").content.decode()
    assert "10 MB" in html and "accounts" in html
    assert account.user.email in staff_client.get("/admin/accounts/user/?q=pro").content.decode()


def test_usage_records_are_read_only(staff_client, make_client):
    account = make_client("pro")
    record = UsageRecord.objects.create(user=account.user, group="compare", method="POST",
                                        path="/api/faces/compare", status=200, latency_ms=5)
    url = f"/admin/accounts/usagerecord/{record.pk}/change/"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert staff_client.post(url, {"status": 500}).status_code == 403
    record.refresh_from_db()
    assert record.status == 200
    assert staff_client.get("/admin/accounts/usagerecord/add/").status_code == 403


def test_the_admin_sends_anonymous_visitors_to_its_login(client):
    response = client.get("/admin/accounts/apikey/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/accounts/apikey/"


# --------------------------------------------------------------------------- keys created here


def test_a_key_created_in_the_admin_is_shown_once_on_a_no_store_page(staff_client,
                                                                       make_client):
    from accounts.models import ApiKey, api_key_digest

    owner = make_client("pro").user
    response = staff_client.post("/admin/accounts/apikey/add/",
                                 {"user": owner.pk, "name": "from the admin"})
    assert response.status_code == 302
    api_key = ApiKey.objects.get(user=owner, name="from the admin")
    assert response["Location"] == f"/admin/accounts/apikey/{api_key.pk}/created/"
    # Nothing of the key in any cookie set so far (the messages cookie included).
    assert all("ve_live_" not in morsel.value for morsel in response.cookies.values())

    page = staff_client.get(response["Location"])
    assert page.status_code == 200
    assert "no-store" in [part.strip() for part in page["Cache-Control"].split(",")]
    html = page.content.decode()
    full_key = html.split('id="new-key-value" type="text" readonly size="60" value="')[1][:52]
    assert full_key.startswith("ve_live_") and api_key.digest == api_key_digest(full_key)
    assert all(full_key not in morsel.value for morsel in page.cookies.values())
    assert all(full_key not in morsel.value for morsel in staff_client.cookies.values())

    again = staff_client.get(response["Location"], follow=True)  # a reload
    assert full_key not in again.content.decode()
    assert again.redirect_chain[-1][0] == "/admin/accounts/apikey/"
    assert ApiKey.objects.filter(user=owner, name="from the admin").count() == 1


def test_the_user_page_cannot_add_a_key_without_a_digest(staff_client, make_client):
    owner = make_client("pro").user
    html = staff_client.get(f"/admin/accounts/user/{owner.pk}/change/").content.decode()
    # No extra row may be added to the inline (Django's formset: at most 0 new forms).
    assert 'name="api_keys-MAX_NUM_FORMS" value="0"' in html


# --------------------------------------------------------------------------- admin log-in


@pytest.mark.rate_limits
def test_admin_login_is_throttled_per_ip(client):
    from accounts.throttles import LOGIN_RATE

    User.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    limit = int(LOGIN_RATE.split("/")[0])
    statuses = [
        client.post("/admin/login/", {"username": f"guess{n}@example.com",
                                      "password": "wrong"}).status_code
        for n in range(limit)
    ]
    assert statuses == [200] * limit  # the admin re-shows its form on a wrong password
    response = client.post("/admin/login/", {"username": "root@example.com",
                                              "password": "x-long-password-1"})
    assert response.status_code == 429
    assert "Too many log-in attempts" in response.content.decode()
    assert client.get("/admin/").status_code == 302  # not logged in


@pytest.mark.rate_limits
def test_admin_login_is_throttled_per_email_from_many_addresses(client):
    from accounts.throttles import LOGIN_RATE_PER_EMAIL

    User.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    limit = int(LOGIN_RATE_PER_EMAIL.split("/")[0])
    for n in range(limit):
        response = client.post("/admin/login/", {"username": "Root@Example.com ",
                                                 "password": f"guess-{n}"},
                               REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert response.status_code == 200, n
    response = client.post("/admin/login/", {"username": "root@example.com",
                                              "password": "x-long-password-1"},
                           REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429


@pytest.mark.rate_limits
def test_admin_and_dashboard_log_ins_share_one_count(client):
    from accounts.throttles import LOGIN_RATE

    limit = int(LOGIN_RATE.split("/")[0])
    for n in range(limit):
        url = "/admin/login/" if n % 2 else "/accounts/login/"
        assert client.post(url, {"username": f"g{n}@example.com",
                                 "password": "x"}).status_code == 200
    assert client.post("/admin/login/", {"username": "a@example.com",
                                         "password": "x"}).status_code == 429
    assert client.post("/accounts/login/", {"username": "a@example.com",
                                            "password": "x"}).status_code == 429


# --------------------------------------------------------------------------- video jobs


def test_a_video_jobs_file_path_is_read_only_in_the_admin(staff_client, make_client):
    from videos.models import VideoJob

    job = VideoJob.objects.create(owner=make_client("pro").user, file_path="videos/a.mp4")
    url = f"/admin/videos/videojob/{job.pk}/change/"
    html = staff_client.get(url).content.decode()
    assert 'name="file_path"' not in html and "videos/a.mp4" in html
    staff_client.post(url, {"owner": job.owner_id, "file_path": "/etc/passwd",
                            "status": "queued", "progress": 0, "attempts": 0,
                            "features": "[]", "sample_fps": 2, "byte_size": 0,
                            "duration_seconds": 0})
    job.refresh_from_db()
    assert job.file_path == "videos/a.mp4"
