import os

import pytest


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, but serving the collected (hashed) static files.

    Its default handler looks files up through the finders, which know nothing of the
    manifest's hashed names, so every stylesheet and script would be a 404 in the browser.
    """
    from django.test.testcases import _StaticFilesHandler
    from pytest_django.live_server_helper import LiveServer

    addr = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(addr, start=False)
    server.thread.static_handler = _StaticFilesHandler
    server.start()
    yield server
    server.stop()
