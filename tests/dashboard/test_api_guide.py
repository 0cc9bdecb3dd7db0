"""The API guide page (/api-docs/) is built from the OpenAPI schema and the error
catalogue: every operation, parameter and error code the API has is on it."""

import html as html_lib
import re

import pytest

from visionera.api.errors import CATALOGUE

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide(client):
    response = client.get("/api-docs/")
    assert response.status_code == 200
    return html_lib.unescape(response.content.decode())


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _card(page, operation_id):
    match = re.search(rf'<article class="endpoint card" id="{operation_id}".*?</article>',
                      page, re.S)
    assert match, operation_id
    return match.group(0)


def test_every_operation_of_the_schema_has_a_card_with_its_method_and_path(guide, schema):
    operations = [
        (method, path, operation["operationId"])
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 19
    for method, path, operation_id in operations:
        card = _card(guide, operation_id)
        assert f">{method.upper()}</span> <code>{path}</code>" in card, operation_id
        assert f'href="#{operation_id}"' in guide, "listed in the table of contents"


def test_parameters_come_from_the_schema(guide, schema):
    for methods in schema["paths"].values():
        for operation in methods.values():
            card = _card(guide, operation["operationId"])
            for parameter in operation.get("parameters", []):
                assert f"<code>{parameter['name']}</code>" in card, parameter
                if parameter.get("description"):
                    assert parameter["description"] in card
    search = _card(guide, "faces_search")
    for name in ("image", "collection", "limit", "threshold", "max_faces"):
        assert f"<code>{name}</code>" in search, name
    assert "The collection's id (or its name)." in search
    assert "default 5; 1–100" in search, "defaults and bounds are shown"
    assert "file (repeated)" in _card(guide, "faces_batch_match")
    assert "one of body, face, vehicle" in _card(guide, "videos_results")


def test_every_error_code_of_the_catalogue_is_listed(guide):
    table = re.search(r'<table id="error-codes">.*?</table>', guide, re.S).group(0)
    for error in CATALOGUE:
        assert f"<td>{error.status}</td><td><code>{error.code}</code></td>" in table, error.code
    for status in (409, 415, 503, 507):
        assert f"<td>{status}</td>" in table, status
    assert "already_exists" in table


def test_each_card_lists_its_responses_from_the_schema(guide, schema):
    for methods in schema["paths"].values():
        for operation in methods.values():
            card = _card(guide, operation["operationId"])
            for status in operation["responses"]:
                assert f"<strong>{status}</strong>" in card, (operation["operationId"], status)
    assert "<code>FaceCompareOutput</code>" in _card(guide, "faces_compare")


def test_the_worked_examples_are_kept(guide):
    compare = _card(guide, "faces_compare")
    assert "curl -X POST http://testserver/api/faces/compare" in compare
    assert '"similarity": 0.94' in compare
    assert "-F video=@clip.mp4" in _card(guide, "videos_analyze")
    assert "X-RateLimit-Remaining" in guide


def test_the_schema_is_generated_once_per_process(client):
    from accounts import api_guide

    api_guide.api_schema()
    before = api_guide.api_schema.cache_info()
    client.get("/api-docs/")
    client.get("/api-docs/")
    after = api_guide.api_schema.cache_info()
    assert after.misses == before.misses and after.hits >= before.hits + 2


def test_the_guide_has_no_inline_script(guide):
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", guide)
    assert not re.search(r"\son[a-z]+=", guide)

