"""The Content-Security-Policy in a real headless Chromium: Swagger UI (/docs/) still renders
every operation, and the public pages raise no CSP violation."""

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import sync_playwright_beside_django

CHROMIUM = os.environ.get("VISIONERA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def live_server(request):
    """pytest-django's live server serving the collected (hashed) static files, as in
    tests/browser/conftest.py: its default handler would 404 every manifest-named file."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.test.testcases import _StaticFilesHandler
    from pytest_django.live_server_helper import LiveServer

    class CollectedStaticFilesHandler(_StaticFilesHandler):
        def get_base_dir(self):
            return staticfiles_storage.location

    server = LiveServer("localhost", start=False)
    server.thread.static_handler = CollectedStaticFilesHandler
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(monkeypatch):
    with sync_playwright_beside_django(monkeypatch) as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.csp_violations = []
            page.failed = []
            page.on("requestfailed", lambda request: page.failed.append(request.url))
            page.on(
                "console",
                lambda message: page.csp_violations.append(message.text)
                if "Content Security Policy" in message.text else None,
            )
            yield page
        finally:
            browser.close()


def test_swagger_ui_renders_every_operation_under_the_csp(live_server, page):
    response = page.goto(live_server.url + "/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 15  # every operation of /api/schema/
    assert page.csp_violations == []
    assert page.failed == []


def test_redoc_renders_every_operation_under_the_csp_with_nothing_from_a_cdn(live_server,
                                                                           page):
    blocked = []
    page.on("requestfailed", lambda request: blocked.append((request.url, request.failure)))
    response = page.goto(live_server.url + "/docs/redoc/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("[data-section-id^='operation/']", state="attached", timeout=30_000)
    assert page.locator("[data-section-id^='operation/']").count() >= 15
    # ReDoc's sidebar credit has its logo's address built in: the policy stops it in the
    # browser, before any request leaves, and ReDoc hides the image. Nothing else is
    # refused or fails, and every asset the page loads is this server's.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert all(logo in violation for violation in page.csp_violations), page.csp_violations
    assert blocked in ([], [(logo, "csp")]), blocked
    loaded_elsewhere = page.evaluate(
        "performance.getEntriesByType('resource').map(entry => entry.name)"
        ".filter(name => !name.startsWith(location.origin))"
    )
    assert set(loaded_elsewhere) <= {logo}, loaded_elsewhere  # the blocked attempt only


@pytest.mark.parametrize("path", ["/", "/plans/", "/api-docs/", "/accounts/login/"])
def test_public_pages_raise_no_csp_violation(live_server, page, path):
    response = page.goto(live_server.url + path)
    assert response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    assert page.csp_violations == []
    assert page.failed == []  # its stylesheet and scripts loaded
    assert page.evaluate("document.styleSheets.length") >= 1
