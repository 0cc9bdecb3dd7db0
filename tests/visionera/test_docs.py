"""The API schema, the interactive docs, static assets and the health check."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_served_with_the_key_scheme(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key"
    }
    compare = schema["paths"]["/api/faces/compare"]["post"]
    assert {"400", "401", "413", "429"} <= set(compare["responses"])


@pytest.mark.parametrize("path", ["/docs/", "/docs/redoc/"])
def test_interactive_docs_load_nothing_from_a_cdn(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "googleapis" not in html and "gstatic" not in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url


def test_static_assets_are_served_by_whitenoise(client, settings):
    from django.contrib.staticfiles.storage import staticfiles_storage

    url = staticfiles_storage.url("css/app.css")
    assert client.get(url).status_code == 200


def test_health_needs_no_key(client):
    assert client.get("/api/health").json() == {"status": "ok"}



def test_the_schema_is_json_unless_yaml_is_asked_for(client):
    import yaml

    served = client.get("/api/schema/")
    assert served.status_code == 200
    assert "json" in served["Content-Type"]
    assert served.json()["openapi"].startswith("3.")
    as_yaml = client.get("/api/schema/?format=yaml")
    assert "json" not in as_yaml["Content-Type"]
    assert yaml.safe_load(as_yaml.content)["paths"].keys() == served.json()["paths"].keys()
