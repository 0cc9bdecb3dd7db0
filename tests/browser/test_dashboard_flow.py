"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright).

A new user signs up, creates a key and sees it once, calls the API with it, sees the call in
the usage chart and recent requests, compares two photos in the playground and sees the
boxes, then revokes the key, which then gets 401.

Set VISIONERA_SCREENSHOTS=docs/screenshots to also save screenshots of the main pages.
"""

import json
import os
import shutil
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import fixture_path, sync_playwright_beside_django

CHROMIUM = os.environ.get("VISIONERA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PASSWORD = "a-Long-unusual-passw0rd"
SCREENSHOTS = os.environ.get("VISIONERA_SCREENSHOTS", "")

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.rate_limits,  # the pages show the plans' real limits
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        sync_playwright is None, reason="playwright is not installed (pip install playwright)"
    ),
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)",
    ),
]


@pytest.fixture
def browser(monkeypatch):
    with sync_playwright_beside_django(monkeypatch) as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The pages run under a strict Content-Security-Policy: any violation is a failure.
    page.on(
        "console",
        lambda message: errors.append(message.text)
        if "Content Security Policy" in message.text else None,
    )
    page.errors = errors
    yield page
    context.close()


def shot(page, name, *, full_page=True):
    """Save a screenshot when VISIONERA_SCREENSHOTS names a directory."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)


def api_get(url, key):
    request = urllib.request.Request(url, headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def sign_up(page, base, email):
    page.goto(base + "/")
    shot(page, "01-landing")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(base + "/dashboard/")
    # VISIONERA_SIGNUP=verify (the default): follow the mailed link before creating keys.
    from django.core import mail

    link = next(line for line in mail.outbox[-1].body.splitlines() if "/accounts/verify/" in line)
    page.goto(link.strip())
    page.wait_for_url(base + "/dashboard/keys/")
    page.goto(base + "/dashboard/")


def test_sign_up_key_call_usage_playground_revoke(page, live_server):
    from accounts.models import ApiKey, User

    base = live_server.url
    sign_up(page, base, "browser@example.com")
    user = User.objects.get(email="browser@example.com")
    assert user.plan.name == "free"
    expect(page.locator("main h1")).to_have_text("Overview")
    # The stylesheet and the script loaded (hashed names, served like in production).
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == (
        "sticky"
    )

    # Create a key: shown once, with a copy button.
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Key name").fill("browser test")
    page.get_by_role("button", name="Create key").click()
    key_input = page.locator("#new-key-value")
    expect(key_input).to_be_visible()
    full_key = key_input.input_value()
    assert full_key.startswith("ve_live_")
    assert page.locator("button.copy[data-copy-target=new-key-value]").is_visible()
    shot(page, "04-keys-new-key-shown-once")
    page.locator("button.copy[data-copy-target=new-key-value]").click()
    expect(page.locator("button.copy[data-copy-target=new-key-value]")).to_have_text("Copied")
    page.goto(base + "/dashboard/keys/")
    assert full_key not in page.content()
    assert ApiKey.objects.get(user=user).key_id in page.content()

    # Call the API with it.
    status, body = api_get(base + "/api/faces/collections", full_key)
    assert (status, body) == (200, {"count": 0, "next": None, "previous": None, "results": []})

    # The call shows in the recent requests and the chart.
    page.goto(base + "/dashboard/")
    expect(page.locator("#recent-requests")).to_contain_text("GET /api/faces/collections")
    expect(page.locator("#recent-requests")).to_contain_text("browser test")
    assert int(page.locator("#requests-chart").get_attribute("data-total")) >= 1
    assert page.locator("#requests-chart rect.ok, #requests-chart rect.err").count() >= 1
    shot(page, "03-dashboard-after-first-call")

    # Compare two photos in the playground.
    source = fixture_path("faces/obama.jpg")
    target = fixture_path("faces/obama2.jpg")
    page.get_by_role("link", name="Playground").click()
    page.set_input_files("#compare-source", str(source))
    page.set_input_files("#compare-target", str(target))
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_selector("#result[data-done]", timeout=120_000)
    assert page.locator("#result-status").inner_text() == "200"
    result = json.loads(page.locator("#result-json").inner_text())
    assert result["match"] is True
    assert int(page.locator("#canvas-1").get_attribute("data-boxes")) >= 1
    assert int(page.locator("#canvas-2").get_attribute("data-boxes")) >= 1
    expect(page.locator("#result-summary")).to_contain_text("Match")
    assert page.locator("#result-error").is_hidden()
    shot(page, "05-playground-compare")

    # Revoke, with a confirmation step; the key then gets 401.
    page.goto(base + "/dashboard/keys/")
    page.locator("#keys").get_by_role("link", name="Revoke").first.click()
    expect(page.locator("main h1")).to_contain_text("Revoke")
    page.get_by_role("button", name="Yes, revoke this key").click()
    page.wait_for_url(base + "/dashboard/keys/")
    expect(page.locator("#keys")).to_contain_text("revoked")
    status, body = api_get(base + "/api/faces/collections", full_key)
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    assert page.errors == []


def test_playground_shows_the_error_envelope(page, live_server):
    """A request the API refuses is shown as its error, not as a blank result."""
    from accounts.services import get_or_create_user

    user, _ = get_or_create_user(email="pg@example.com", plan_name="free")
    user.set_password(PASSWORD)
    user.save()
    base = live_server.url
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill("pg@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/dashboard/")
    page.goto(base + "/dashboard/playground/")
    page.get_by_role("tab", name="Detect").click()
    page.set_input_files(
        "#detect-image",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"}],
    )
    page.get_by_role("button", name="Detect", exact=True).click()
    page.wait_for_selector("#result[data-done]")
    expect(page.locator("#result-error")).to_be_visible()
    assert page.locator("#result-status").inner_text() == "400"
    body = json.loads(page.locator("#result-json").inner_text())
    assert body["error"]["status"] == 400
    assert body["error"]["code"] == "unsupported_format"
    expect(page.locator("#result-error")).to_contain_text(body["error"]["code"])
    assert page.errors == []


def test_screenshots_of_the_other_pages(page, live_server):
    """Collections, jobs and the docs, with some data; only saves files when asked to."""
    from django.utils import timezone

    from accounts.models import UsageRecord
    from accounts.services import get_or_create_user, issue_api_key
    from faces.models import Collection, Face
    from videos.models import VideoDetection, VideoJob

    user, _ = get_or_create_user(email="shots@example.com", plan_name="pro")
    user.set_password(PASSWORD)
    user.save()
    staff = Collection.objects.create(owner=user, name="staff")
    for index, (label, meta) in enumerate(
        [("obama", {"team": "blue"}), ("biden", {"team": "red"}), ("alex", {})]
    ):
        Face.objects.create(collection=staff, label=label, metadata=meta,
                            box={"x": 40 + index, "y": 30, "width": 120, "height": 120},
                            descriptor=b"\0" * 512)
        staff.bump(face_delta=1)
    Collection.objects.create(owner=user, name="visitors")
    done = VideoJob.objects.create(
        owner=user, file_path="v/a.mp4", original_filename="short_hamilton_clip.mp4",
        status="completed", progress=100, duration_seconds=9.2, features=["faces", "bodies"],
        summary={"duration_seconds": 9.2, "sample_fps": 2, "frames_analysed": 19,
                 "video": {"width": 640, "height": 360, "fps": 29.97, "frame_count": 275},
                 "features": ["faces", "bodies"], "counts": {"faces": 18, "bodies": 9},
                 "face_tracks": [{"track_id": 1, "first_ms": 0, "last_ms": 8500,
                                  "detections": 18, "label": "lin-manuel", "distance": 0.41}],
                 "identified": [{"label": "lin-manuel", "distance": 0.41, "first_ms": 0,
                                 "last_ms": 8500, "tracks": 1, "detections": 18}]},
    )
    for ms in range(0, 9000, 500):
        VideoDetection.objects.create(job=done, timestamp_ms=ms, kind="face",
                                      box={"x": 1, "y": 1, "width": 50, "height": 50},
                                      payload={"label": "lin-manuel"})
        if ms % 1000 == 0:
            VideoDetection.objects.create(job=done, timestamp_ms=ms + 120, kind="body",
                                          box={"x": 1, "y": 1, "width": 90, "height": 200})
    VideoJob.objects.create(owner=user, file_path="v/b.mp4", original_filename="street.mp4",
                            status="processing", progress=45, features=["vehicles"])
    VideoJob.objects.create(owner=user, file_path="v/c.mp4", original_filename="lobby.webm",
                            status="queued")
    api_key, _ = issue_api_key(user=user, name="production server")
    issue_api_key(user=user, name="staging")
    now = timezone.now()
    calls = [("compare", "POST", "/api/faces/compare"), ("search", "POST", "/api/faces/search"),
             ("analyze", "POST", "/api/vehicles/detect"), ("video_status", "GET",
                                                           "/api/videos")]
    records = []
    for day in range(30):
        for n in range((day * 7) % 23 + 3):
            group, method, path = calls[(day + n) % len(calls)]
            status = 400 if n % 9 == 4 else 429 if n % 17 == 16 else 200
            records.append(UsageRecord(
                user=user, api_key=api_key, group=group, method=method, path=path,
                status=status, latency_ms=40 + (n * 37) % 300,
                created_at=now - timedelta(days=29 - day, minutes=n * 7),
            ))
    UsageRecord.objects.bulk_create(records)

    base = live_server.url
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill("shots@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/dashboard/")

    page.goto(base + "/dashboard/")
    assert int(page.locator("#requests-chart").get_attribute("data-total")) == len(records)
    shot(page, "03-dashboard-home")
    page.goto(base + "/api-docs/")
    expect(page.locator("h1")).to_have_text("VisionEra REST API")
    shot(page, "02-api-docs", full_page=False)
    page.locator("#faces_compare").scroll_into_view_if_needed()
    shot(page, "02-api-docs-endpoint", full_page=False)
    page.goto(base + "/dashboard/collections/")
    expect(page.locator("#collections")).to_contain_text("staff")
    shot(page, "06-collections")
    page.locator("#collections").get_by_role("link", name="staff", exact=True).click()
    expect(page.locator("#faces")).to_contain_text("obama")
    shot(page, "07-collection-faces")
    page.goto(base + "/dashboard/jobs/")
    expect(page.locator("#jobs")).to_contain_text("street.mp4")
    shot(page, "08-video-jobs")
    # Live status: the page picks up progress without a reload.
    VideoJob.objects.filter(original_filename="street.mp4").update(progress=80)
    row = page.locator("#jobs tr", has_text="street.mp4")
    expect(row.locator('[data-field="progress-text"]')).to_have_text("80%", timeout=15_000)
    page.goto(base + f"/dashboard/jobs/{done.pk}/")
    expect(page.locator("#timeline")).to_be_visible()
    shot(page, "09-video-job")
    page.goto(base + "/dashboard/plan/")
    shot(page, "10-plan")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/dashboard/")
    shot(page, "11-dashboard-mobile")
    assert page.errors == []


def _log_in(page, base, email):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/dashboard/")


def _run(page, tab, file_input, path, button):
    page.get_by_role("tab", name=tab).click()
    page.set_input_files(file_input, str(path))
    page.evaluate("document.getElementById('result').removeAttribute('data-done')")
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_selector("#result[data-done]", timeout=120_000)
    return page.locator("#result-status").inner_text(), json.loads(
        page.locator("#result-json").inner_text()
    )


def test_playground_detect_search_vehicles_and_body(page, live_server):
    """Each playground mode draws exactly the boxes the API found."""
    from accounts.services import get_or_create_user

    user, _ = get_or_create_user(email="modes@example.com", plan_name="pro")
    user.set_password(PASSWORD)
    user.save()
    base = live_server.url
    _log_in(page, base, "modes@example.com")

    # A collection with Obama in it, made through the API with the session and CSRF header.
    page.goto(base + "/dashboard/playground/")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": token, "Referer": base + "/dashboard/playground/"}
    created = page.request.post(base + "/api/faces/collections", headers=headers,
                                multipart={"name": "presidents"})
    assert created.status == 201, created.text()
    collection_id = created.json()["id"]
    enrolled = page.request.post(
        base + f"/api/faces/collections/{collection_id}/faces", headers=headers,
        multipart={"label": "obama", "metadata": '{"team": "blue"}', "image": {
            "name": "obama.jpg", "mimeType": "image/jpeg",
            "buffer": (fixture_path("faces/obama.jpg")).read_bytes()}},
    )
    assert enrolled.status == 201, enrolled.text()

    page.reload()
    status, body = _run(page, "Detect", "#detect-image", fixture_path("faces/two_people.jpg"),
                        "Detect")
    assert status == "200", body
    assert body["count"] == 2
    assert int(page.locator("#canvas-1").get_attribute("data-boxes")) == 2
    assert page.locator("#canvas-2").is_hidden()
    shot(page, "05b-playground-detect")

    page.get_by_role("tab", name="Search").click()
    page.select_option("#search-collection", collection_id)
    status, body = _run(page, "Search", "#search-image", fixture_path("faces/obama2.jpg"),
                        "Search")
    assert status == "200", body
    assert body["matches"][0]["label"] == "obama"
    expect(page.locator("#result-summary")).to_contain_text("best match obama")
    assert int(page.locator("#canvas-1").get_attribute("data-boxes")) >= 1
    shot(page, "05c-playground-search")

    status, body = _run(page, "Body", "#body-image", fixture_path("objects/person.jpg"),
                        "Analyse people")
    assert status == "200", body
    assert int(page.locator("#canvas-1").get_attribute("data-boxes")) == body["count"] >= 1
    shot(page, "05d-playground-body")

    status, body = _run(page, "Vehicles", "#vehicles-image",
                        fixture_path("objects/plate_car.png"), "Detect vehicles")
    assert status == "200", body
    assert body["counts"].get("car", 0) >= 1, body
    assert int(page.locator("#canvas-1").get_attribute("data-boxes")) == len(
        body["vehicles"]
    ) + sum(1 for v in body["vehicles"] if v.get("plate"))
    assert page.errors == []
