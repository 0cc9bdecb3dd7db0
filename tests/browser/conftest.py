import os

import pytest


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, but serving the collected (hashed) static files.

    Its default handler looks files up through the finders, which know nothing of the
    manifest's hashed names, so every stylesheet and script would be a 404 in the browser.
    Files are served from the static storage's own location: the URLs in the pages come from
    that storage's manifest, even when it was created before the session's STATIC_ROOT was set.
    """
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.test.testcases import _StaticFilesHandler
    from pytest_django.live_server_helper import LiveServer

    class CollectedStaticFilesHandler(_StaticFilesHandler):
        def get_base_dir(self):
            return staticfiles_storage.location

    addr = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(addr, start=False)
    server.thread.static_handler = CollectedStaticFilesHandler
    server.start()
    yield server
    server.stop()
