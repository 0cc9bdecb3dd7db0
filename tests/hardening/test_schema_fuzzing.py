"""Schema fuzzing: schemathesis drives every operation of /api/schema/ through the real stack.

Bounded (a fixed number of derandomized examples per operation) so it runs in `make test`.
Checks: no 5xx, status codes, content types, headers and bodies conform to the schema (whose
response objects are closed), and every error is the contract's envelope.

Generated data rarely gets past validation (random bytes are not a photo), so successful
responses are proven elsewhere: tests/contract/ calls every operation with real photos and
checks every API response of the suite against the same schema.
"""

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi import checks

MAX_EXAMPLES = 20
EXCLUDED_CHECKS = [
    # The schema says `format: binary` for image and video fields; any byte string fits that,
    # but random bytes are not a JPEG, so a correct API answers 400 unsupported_format.
    checks.positive_data_acceptance,
    # DRF's CharField accepts a JSON number and stores its text (`{"name": 0}` makes a
    # collection named "0"): a deliberate leniency, not a crash. Every negative example still
    # goes through the 5xx, envelope, status-code and response-schema checks.
    checks.negative_data_rejection,
]


@pytest.fixture
def wsgi_keeps_test_connection():
    """Django's test client stops each request from closing the database connection (the
    test's transaction lives on it); schemathesis calls the plain WSGI handler, so do the same."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_key(make_client, wsgi_keeps_test_connection):
    """A pro key: every endpoint group."""
    client = make_client("pro")
    return client.key


# Loaded once at collection through the WSGI app (the schema view needs no database).
# (schemathesis.pytest.from_fixture does not work with pytest 9: it reads Function._nodeid.)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def _assert_envelope(response):
    if response.status_code < 400:
        return
    body = json.loads(response.content or b"null")
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    error = body["error"]
    assert error["status"] == response.status_code, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_survives_generated_input(case, fuzz_key):
    headers = {"X-API-Key": fuzz_key}
    response = case.call(headers=headers)
    assert response.status_code < 500, (response.status_code, response.content[:500])
    _assert_envelope(response)
    # Given the headers, the auth checks also replay the request without the key and with a
    # wrong one, and expect 401.
    case.validate_response(response, headers=headers, excluded_checks=EXCLUDED_CHECKS)
