"""Every dashboard page needs a login; public pages do not; one account never sees another's."""

import re
from urllib.parse import quote

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DASHBOARD_URLS = [
    "/dashboard/",
    "/dashboard/keys/",
    "/dashboard/plan/",
    "/dashboard/playground/",
    "/dashboard/collections/",
    "/dashboard/jobs/",
    "/dashboard/jobs/status.json",
    "/accounts/password/change/",
]
PUBLIC_URLS = ["/", "/api-docs/", "/plans/", "/accounts/signup/", "/accounts/login/",
               "/accounts/password/reset/"]


def _object_urls(account):
    from faces.models import Collection

    collection = Collection.objects.create(owner=account.user, name="c")
    return [
        f"/dashboard/collections/{collection.pk}/",
        f"/dashboard/collections/{collection.pk}/delete/",
        f"/dashboard/keys/{account.api_key.key_id}/revoke/",
    ]


def test_every_dashboard_page_sends_anonymous_visitors_to_login(client, account):
    for url in DASHBOARD_URLS + _object_urls(account):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/accounts/login/?next={quote(url)}", url


@pytest.mark.parametrize("url", DASHBOARD_URLS)
def test_dashboard_pages_render_for_the_account(signed_in, url):
    response = signed_in.get(url)
    assert response.status_code == 200
    if url.endswith(".json"):
        assert response.json() == {"jobs": []}
    else:
        assert signed_in.account.user.email in response.content.decode()
    assert signed_in.account.key not in response.content.decode()


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_pages_render(client, url):
    response = client.get(url)
    assert response.status_code == 200


def _no_inline_script(html):
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        attrs, body = match.groups()
        assert "src=" in attrs and not body.strip(), match.group(0)[:200]
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url


def test_pages_are_csp_friendly_and_load_nothing_from_a_cdn(signed_in):
    for url in PUBLIC_URLS[:3] + DASHBOARD_URLS[:-2]:
        _no_inline_script(signed_in.get(url).content.decode())


def test_every_form_field_has_a_label(signed_in, client):
    pages = [signed_in.get(url).content.decode() for url in DASHBOARD_URLS[:-2]]
    anonymous = Client()
    pages += [anonymous.get(url).content.decode() for url in PUBLIC_URLS]
    for html in pages:
        labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if re.search(r'type="(hidden|submit|checkbox)"', tag):
                continue
            field_id = re.search(r'\bid="([^"]+)"', tag)
            assert field_id and field_id.group(1) in labelled, tag


def test_forms_carry_a_csrf_token(signed_in):
    for url in ["/dashboard/keys/", "/dashboard/plan/", "/dashboard/playground/",
                f"/dashboard/keys/{signed_in.account.api_key.key_id}/revoke/"]:
        html = signed_in.get(url).content.decode()
        posts = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', html, re.S)
        assert posts, url
        for body in posts:
            assert "csrfmiddlewaretoken" in body, url


def test_another_accounts_collection_and_face_are_404(signed_in, make_client):
    from faces.models import Collection, Face

    other = make_client("pro")
    collection = Collection.objects.create(owner=other.user, name="theirs")
    face = Face.objects.create(
        collection=collection, label="x", box={"x": 0, "y": 0, "width": 1, "height": 1},
        descriptor=b"\0" * 512,
    )
    for url in [
        f"/dashboard/collections/{collection.pk}/",
        f"/dashboard/collections/{collection.pk}/delete/",
    ]:
        response = signed_in.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("text/html")  # a page, not the API envelope
        assert "another account" in response.content.decode()
    assert signed_in.post(f"/dashboard/collections/{collection.pk}/delete/").status_code == 404
    assert signed_in.post(
        f"/dashboard/collections/{collection.pk}/faces/{face.pk}/delete/"
    ).status_code == 404
    assert Collection.objects.filter(pk=collection.pk).exists()
    assert Face.objects.filter(pk=face.pk).exists()
    listing = signed_in.get("/dashboard/collections/").content.decode()
    assert "theirs" not in listing


def test_another_accounts_job_is_404(signed_in, make_client):
    from videos.models import VideoJob

    other = make_client("pro")
    job = VideoJob.objects.create(owner=other.user, file_path="x.mp4",
                                  original_filename="secret-clip.mp4")
    assert signed_in.get(f"/dashboard/jobs/{job.pk}/").status_code == 404
    assert "secret-clip" not in signed_in.get("/dashboard/jobs/").content.decode()
    states = signed_in.get(f"/dashboard/jobs/status.json?id={job.pk}").json()
    assert states == {"jobs": []}


def test_another_accounts_key_cannot_be_revoked(signed_in, make_client):
    other = make_client("pro")
    url = f"/dashboard/keys/{other.api_key.key_id}/revoke/"
    assert signed_in.get(url).status_code == 404
    assert signed_in.post(url).status_code == 404
    other.api_key.refresh_from_db()
    assert other.api_key.revoked_at is None
    assert other.api_key.key_id not in signed_in.get("/dashboard/keys/").content.decode()


def test_usage_of_another_account_is_not_shown(signed_in, make_client):
    other = make_client("pro")
    other.get("/api/faces/collections?marker=their-request")
    response = signed_in.get("/dashboard/")
    assert "/api/faces/collections" not in response.content.decode()


def test_the_dashboards_remove_button_racing_itself_is_a_404_not_a_500(signed_in, monkeypatch):
    from dashboard.views import collections as pages
    from faces.models import Face
    from tests.helpers import enrolled_collection

    collection = enrolled_collection(signed_in.account.user, labelled=(
        ("obama", "faces/obama.jpg"), ("obama", "faces/obama2.jpg")))
    face = Face.objects.filter(collection=collection).first()
    stale = Face.objects.get(pk=face.pk)
    face.delete()  # the first click's request, done meanwhile
    monkeypatch.setattr(pages, "face_get", lambda **kwargs: stale)
    response = signed_in.post(f"/dashboard/collections/{collection.pk}/faces/{stale.pk}/delete/")
    assert response.status_code == 404
