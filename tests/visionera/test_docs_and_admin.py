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


def test_interactive_docs_load_nothing_from_a_cdn(client):
    response = client.get("/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url


def test_static_assets_are_served_by_whitenoise(client, settings):
    from django.contrib.staticfiles.storage import staticfiles_storage

    url = staticfiles_storage.url("css/app.css")
    assert client.get(url).status_code == 200


def test_dashboard_sends_anonymous_visitors_to_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_dashboard_shows_the_signed_in_account(client, make_client):
    account = make_client("pro")
    client.force_login(account.user)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert account.user.email in response.content.decode()
    assert account.key not in response.content.decode()


def test_admin_works_for_a_superuser_and_never_shows_a_key(client, make_client):
    from accounts.models import User

    account = make_client("free")
    admin = User.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(admin)
    for url in [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/plan/",
        "/admin/accounts/apikey/",
        "/admin/accounts/usagerecord/",
        f"/admin/accounts/apikey/{account.api_key.pk}/change/",
        f"/admin/accounts/user/{account.user.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert account.key not in response.content.decode()
        assert account.api_key.digest not in response.content.decode()


def test_admin_refuses_anonymous(client):
    assert client.get("/admin/accounts/apikey/").status_code == 302


def test_health_needs_no_key(client):
    assert client.get("/api/health").json() == {"status": "ok"}


def test_admin_lists_collections_and_faces(client, make_client):
    from accounts.models import User
    from faces.models import Collection, Face

    owner = make_client("free")
    collection = Collection.objects.create(owner=owner.user, name="<b>staff</b>")
    face = Face.objects.create(
        collection=collection, label="ada", box={"x": 1, "y": 2, "width": 3, "height": 4},
        descriptor=bytes(512),
    )
    admin = User.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(admin)
    for url in [
        "/admin/faces/collection/",
        f"/admin/faces/collection/{collection.pk}/change/",
        "/admin/faces/face/",
        f"/admin/faces/face/{face.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<b>staff</b>" not in response.content.decode()
