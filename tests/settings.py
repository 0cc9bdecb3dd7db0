"""Settings for the test run: the project's settings with a secret of the run's own.

With DEBUG off (pytest-django's default too) visionera.settings refuses to start without a
real SECRET_KEY, and a fresh clone has none. This run gets a random one, set in the
environment before the settings are read, so every process the tests start (servers,
workers, `manage.py` subprocesses) inherits the same secret and accepts the same keys.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", f"tests-{secrets.token_urlsafe(50)}")

from visionera.settings import *  # noqa: E402, F403
