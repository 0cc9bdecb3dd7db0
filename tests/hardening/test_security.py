"""Security: constant-time key checks, headers and CSP, deploy checks, no secrets in logs,
rate-limited sign-in, and an account's deletion taking its data with it."""

import hmac
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import PROJECT_ROOT
from tests.helpers import fixture_path, upload

COLLECTIONS = "/api/faces/collections"


# --------------------------------------------------------------------------- API keys


def test_key_digests_are_compared_in_constant_time(pro_client, monkeypatch):
    import accounts.models

    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(accounts.models.hmac, "compare_digest", spy)
    assert pro_client.get(COLLECTIONS).status_code == 200
    assert len(calls) == 1
    stored, offered = calls[0]
    assert stored == pro_client.api_key.digest and offered == stored
    assert pro_client.key not in (stored, offered)  # digests only, never the key

    # A key with the right public id and a wrong secret goes through the same comparison.
    wrong = pro_client.key[:-4] + ("AAAA" if not pro_client.key.endswith("AAAA") else "BBBB")
    pro_client.credentials(HTTP_X_API_KEY=wrong)
    assert pro_client.get(COLLECTIONS).status_code == 401
    assert len(calls) == 2


def test_only_a_digest_of_the_key_is_stored(pro_client):
    from accounts.models import ApiKey

    row = ApiKey.objects.values().get(pk=pro_client.api_key.pk)
    assert all(pro_client.key not in str(value) for value in row.values())
    assert pro_client.key[20:] not in str(row)  # not even the secret part


def test_keys_and_secrets_never_reach_the_logs(db, caplog, settings):
    caplog.set_level(logging.DEBUG)
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_key", "--email", "logs@example.com", "--plan", "pro", stdout=out, stderr=err
    )
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("ve_live_")

    client = Client(raise_request_exception=False)
    assert client.get(COLLECTIONS, HTTP_X_API_KEY=key).status_code == 200
    assert client.get(COLLECTIONS, HTTP_X_API_KEY=key[:-1] + "x").status_code == 401
    assert client.get(COLLECTIONS, HTTP_X_API_KEY=key + "extra").status_code == 401
    # An error inside an authenticated request logs a traceback: still no key in it.
    from faces import api as faces_api

    original = faces_api.selectors.collection_list
    try:
        faces_api.selectors.collection_list = lambda *, owner: 1 / 0
        assert client.get(COLLECTIONS, HTTP_X_API_KEY=key).status_code == 500
    finally:
        faces_api.selectors.collection_list = original

    from accounts.models import ApiKey
    from accounts.services import revoke_api_key

    revoke_api_key(api_key=ApiKey.objects.get(key_id=key[8:20]))
    assert client.get(COLLECTIONS, HTTP_X_API_KEY=key).status_code == 401

    logged = "\n".join(
        record.getMessage() + (caplog.text if record.exc_info else "")
        for record in caplog.records
    )
    assert caplog.records, "the requests above should have logged something"
    assert key not in logged
    assert key[20:] not in logged  # the secret half
    for secret in (settings.SECRET_KEY, settings.API_KEY_HMAC_SECRET):
        assert secret not in logged


# --------------------------------------------------------------------------- headers, CSP

HTML_PAGES = ["/", "/plans/", "/api-docs/", "/accounts/login/", "/accounts/signup/"]
DASHBOARD_PAGES = [
    "/dashboard/", "/dashboard/keys/", "/dashboard/plan/", "/dashboard/collections/",
    "/dashboard/playground/", "/dashboard/jobs/",
]


def _assert_security_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_api_responses_carry_the_security_headers(pro_client, anonymous_client):
    for response in (
        pro_client.get(COLLECTIONS),
        anonymous_client.get(COLLECTIONS),  # 401
        anonymous_client.get("/api/health"),
        anonymous_client.get("/api/nowhere"),  # 404
        anonymous_client.get("/api/schema/"),
    ):
        _assert_security_headers(response)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.IGNORECASE)


def _assert_strict_csp_page(response, path):
    assert response.status_code == 200, (path, response.status_code)
    _assert_security_headers(response)
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'", "script-src 'self'", "style-src 'self'",
        "img-src 'self' data: blob:", "frame-ancestors 'none'", "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in policy, (path, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    html = response.content.decode()
    # The pages must work under that policy: nothing inline for the browser to block.
    assert not INLINE_SCRIPT.search(html), (path, INLINE_SCRIPT.search(html).group(0))
    assert not INLINE_HANDLER.search(html), (path, INLINE_HANDLER.search(html).group(0))
    assert not INLINE_STYLE.search(html), (path, INLINE_STYLE.search(html).group(0))


@pytest.mark.parametrize("path", HTML_PAGES)
def test_public_pages_have_a_strict_csp_they_can_live_with(db, path):
    _assert_strict_csp_page(Client().get(path), path)


def test_dashboard_pages_have_a_strict_csp_they_can_live_with(pro_client):
    browser = Client()
    browser.force_login(pro_client.user)
    created = pro_client.post(COLLECTIONS, {"name": "csp"}, format="json").json()
    for path in [*DASHBOARD_PAGES, f"/dashboard/collections/{created['id']}/"]:
        _assert_strict_csp_page(browser.get(path), path)


def test_swagger_docs_work_under_the_csp(db):
    client = Client()
    page = client.get("/docs/")
    assert page.status_code == 200
    _assert_security_headers(page)
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    html = page.content.decode()
    assert not INLINE_SCRIPT.search(html), "Swagger UI must load its init script by URL"
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 3
    for src in scripts:
        assert src.startswith("/"), src  # same origin: no CDN
        response = client.get(src.replace("&amp;", "&"))
        assert response.status_code == 200, src
    init = client.get(scripts[-1].replace("&amp;", "&"))
    assert init["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in init.content


def test_api_json_is_not_given_an_html_policy(pro_client):
    assert "Content-Security-Policy" not in pro_client.get(COLLECTIONS)


# --------------------------------------------------------------------------- deploy check


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visionera.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "API_KEY_HMAC_SECRET": secrets.token_urlsafe(64),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "vision.example.com",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
        "SESSION_COOKIE_SECURE": "true",
        "EMAIL_URL": "smtp+tls://user:pass@smtp.example.com:587",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout + done.stderr


def _without(*names):
    return {key: value for key, value in os.environ.items() if key not in names}


def _settings_in_a_subprocess(env, *names, tmp_path):
    """Import the project's settings in a fresh process; print the named values as JSON."""
    env = {**env, "DJANGO_SETTINGS_MODULE": "visionera.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'settings.sqlite3'}"}
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("secret", [None, "", "django-insecure-dev-insecure-visionera-secret"
                                    "-change-me-0123456789abcdef", "changeme",
                                    "a-random-looking-but-short-key-1234567890ab",  # 43
                                    "ab" * 40])  # long, two distinct characters
def test_debug_off_refuses_to_start_without_a_real_secret_key(tmp_path, secret):
    env = _without("SECRET_KEY", "DEBUG")
    if secret is not None:
        env["SECRET_KEY"] = secret
    env["DEBUG"] = "false"
    env["VISIONERA_IGNORE_DOTENV"] = "true"  # the .env `make run` wrote must not supply one
    done = _settings_in_a_subprocess(env, "SECRET_KEY", tmp_path=tmp_path)
    assert done.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is not set" in done.stderr
    assert "secrets.token_urlsafe(50)" in done.stderr  # how to generate one
    assert done.stdout == ""



@pytest.mark.parametrize("hmac_secret", ["", "x", "thirty-one-characters-long-1234",
                                         "dev-insecure-visionera-secret-change-me-0123456789abcdef",
                                         "x" * 40])
def test_debug_off_refuses_a_weak_api_key_hmac_secret(tmp_path, hmac_secret):
    env = {**_without("DEBUG", "API_KEY_HMAC_SECRET"), "DEBUG": "false",
           "VISIONERA_IGNORE_DOTENV": "true", "SECRET_KEY": secrets.token_urlsafe(50),
           "API_KEY_HMAC_SECRET": hmac_secret}
    done = _settings_in_a_subprocess(env, "API_KEY_HMAC_SECRET", tmp_path=tmp_path)
    assert done.returncode != 0
    assert "ImproperlyConfigured: API_KEY_HMAC_SECRET is shorter than 32" in done.stderr
    assert done.stdout == ""


def test_a_weak_secret_key_is_named_as_such_when_it_would_also_sign_api_keys(tmp_path):
    env = {**_without("DEBUG", "API_KEY_HMAC_SECRET"), "DEBUG": "false",
           "VISIONERA_IGNORE_DOTENV": "true", "SECRET_KEY": "abc"}
    done = _settings_in_a_subprocess(env, "API_KEY_HMAC_SECRET", tmp_path=tmp_path)
    assert done.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set (or is the public development value, " \
        "or is weak" in done.stderr


def test_debug_off_without_an_api_key_hmac_secret_uses_the_secret_key(tmp_path):
    secret_key = secrets.token_urlsafe(50)
    env = {**_without("DEBUG", "API_KEY_HMAC_SECRET"), "DEBUG": "false",
           "VISIONERA_IGNORE_DOTENV": "true", "SECRET_KEY": secret_key}
    done = _settings_in_a_subprocess(env, "API_KEY_HMAC_SECRET", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"API_KEY_HMAC_SECRET": secret_key}

def test_debug_on_still_starts_on_the_development_secret_flagged_by_check_deploy(tmp_path):
    env = {**_without("SECRET_KEY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"),
           "DEBUG": "true", "VISIONERA_IGNORE_DOTENV": "true",
           "DJANGO_SETTINGS_MODULE": "visionera.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    assert "security.W009" in done.stderr + done.stdout  # the development SECRET_KEY


def test_cookies_are_secure_whenever_debug_is_off(tmp_path):
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    base = {**_without(*names, "DEBUG", "SECURE_SSL_REDIRECT"), "SECRET_KEY":
            secrets.token_urlsafe(50), "VISIONERA_IGNORE_DOTENV": "true"}
    off = _settings_in_a_subprocess({**base, "DEBUG": "false"}, *names, tmp_path=tmp_path)
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout) == {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True}
    # What `make run` says for plain HTTP on loopback.
    loopback = _settings_in_a_subprocess(
        {**base, "DEBUG": "false", "SESSION_COOKIE_SECURE": "false",
         "CSRF_COOKIE_SECURE": "false"}, *names, tmp_path=tmp_path)
    assert json.loads(loopback.stdout) == {"SESSION_COOKIE_SECURE": False,
                                           "CSRF_COOKIE_SECURE": False}


def test_the_cookies_a_login_sets_carry_secure(db, settings):
    from accounts.models import User

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    User.objects.create_user(email="cookie@example.com", password="a-Long-unusual-passw0rd")
    client = Client()
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "cookie@example.com",
                                                "password": "a-Long-unusual-passw0rd"})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert client.cookies["csrftoken"]["secure"] is True


# --------------------------------------------------------------------------- sign-in


@pytest.mark.rate_limits
def test_login_and_signup_are_rate_limited(db):
    client = Client()
    statuses = [
        client.post("/accounts/login/", {"username": "x@example.com", "password": "nope"})
        .status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [200] * 10 and statuses[-1] == 429, statuses
    signups = [
        client.post("/accounts/signup/", {"email": f"s{i}@example.com"}).status_code
        for i in range(12)
    ]
    assert signups[-1] == 429, signups


# --------------------------------------------------------------------------- deletion


def _account_with_everything(make_client, media_root, settings):
    from faces.models import Collection, Face
    from videos.models import VideoDetection, VideoJob

    settings.VISIONERA_KEEP_ENROLLED_IMAGES = True
    client = make_client("pro")
    photo = fixture_path("faces/obama.jpg").read_bytes()
    collection = client.post(COLLECTIONS, {"name": "mine"}, format="json").json()
    enrolled = client.post(
        f"{COLLECTIONS}/{collection['id']}/faces",
        {"image": upload("obama.jpg", photo), "label": "obama"},
        format="multipart",
    )
    assert enrolled.status_code == 201
    video_dir = Path(media_root) / "videos"
    video_dir.mkdir(parents=True, exist_ok=True)
    (video_dir / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    job = VideoJob.objects.create(owner=client.user, file_path="videos/clip.mp4")
    VideoDetection.objects.create(job=job, timestamp_ms=0, kind="face", box={}, payload={})
    assert Face.objects.filter(collection__owner=client.user).count() == 1
    assert Collection.objects.filter(owner=client.user).exists()
    return client


def test_deleting_an_account_deletes_its_rows(make_client, media_root, settings):
    from accounts.models import ApiKey, UsageRecord
    from faces.models import Collection, Face
    from videos.models import VideoDetection, VideoJob

    client = _account_with_everything(make_client, media_root, settings)
    other = make_client("pro")
    other.post(COLLECTIONS, {"name": "theirs"}, format="json")
    user = client.user
    assert UsageRecord.objects.filter(user=user).exists()

    user.delete()  # what the admin's "delete user" does

    assert not ApiKey.objects.filter(user_id=user.pk).exists()
    assert not UsageRecord.objects.filter(user_id=user.pk).exists()
    assert not Collection.objects.filter(owner_id=user.pk).exists()
    assert not Face.objects.filter(collection__owner_id=user.pk).exists()
    assert not VideoJob.objects.filter(owner_id=user.pk).exists()
    assert not VideoDetection.objects.filter(job__owner_id=user.pk).exists()
    assert other.get(COLLECTIONS).json()["count"] == 1  # nobody else's data went with it
    assert client.get(COLLECTIONS).status_code == 401  # its key is dead


def test_deleting_an_account_deletes_its_uploaded_videos(
    make_client, media_root, settings, django_capture_on_commit_callbacks
):
    client = _account_with_everything(make_client, media_root, settings)
    video = Path(media_root) / "videos" / "clip.mp4"
    assert video.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.user.delete()
    assert not video.exists()


def test_deleting_an_account_deletes_its_kept_enrolment_photos(
    make_client, media_root, settings, django_capture_on_commit_callbacks
):
    # faces/signals.py (commit 8389eb0) removes them on any cascade.
    client = _account_with_everything(make_client, media_root, settings)
    photos = list((Path(media_root) / "enrolments").rglob("*.jpg"))
    assert len(photos) == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.user.delete()
    assert not photos[0].exists()


# --------------------------------------------------------------------------- video file paths


@pytest.mark.parametrize("hostile", ["absolute", "../victim.txt", "videos/../../victim.txt",
                                     "symlink", "", "."])
def test_a_job_file_path_outside_media_root_is_never_deleted(
    make_client, media_root, tmp_path, hostile, django_capture_on_commit_callbacks
):
    from videos.jobs import discard_video_file, job_file_path
    from videos.models import VideoJob

    victim = tmp_path / "victim.txt"  # beside MEDIA_ROOT (tmp_path/media), not inside it
    victim.write_text("not yours")
    Path(media_root).mkdir(parents=True, exist_ok=True)
    file_path = {"absolute": str(victim), "symlink": "link.mp4"}.get(hostile, hostile)
    if hostile == "symlink":
        (Path(media_root) / "link.mp4").symlink_to(victim)
    job = VideoJob.objects.create(owner=make_client("pro").user, file_path=file_path)

    assert job_file_path(job) is None
    discard_video_file(job_id=job.pk)  # what a finished job does with its upload
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()  # what deleting the job or its account does
    assert victim.read_text() == "not yours"
    assert Path(media_root).is_dir()


def test_a_job_file_path_inside_media_root_is_resolved_there(make_client, media_root,
                                                             django_capture_on_commit_callbacks):
    from videos.jobs import job_file_path
    from videos.models import VideoJob

    video = Path(media_root) / "videos" / "clip.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"\x00")
    job = VideoJob.objects.create(owner=make_client("pro").user, file_path="videos/clip.mp4")
    assert job_file_path(job) == video.resolve()
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert not video.exists()
