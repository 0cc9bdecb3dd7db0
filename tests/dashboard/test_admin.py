"""The Django admin for staff: every page renders, never shows a key or its digest, escapes
what accounts typed; usage is read-only; anonymous visitors are sent to the admin login."""

import pytest

from accounts.models import UsageRecord, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(admin)
    return client


def test_every_admin_page_renders_without_secrets_or_unescaped_input(staff_client, make_client):
    from faces.models import Collection, Face

    account = make_client("pro")
    collection = Collection.objects.create(owner=account.user, name="<b>staff</b>")
    face = Face.objects.create(
        collection=collection, label="ada", box={"x": 1, "y": 2, "width": 3, "height": 4},
        descriptor=bytes(512),
    )
    for url in [
        "/admin/",
        "/admin/accounts/plan/",
        "/admin/accounts/user/",
        "/admin/accounts/user/?plan__id__exact=1&q=example",
        f"/admin/accounts/user/{account.user.pk}/change/",
        "/admin/accounts/apikey/",
        "/admin/accounts/apikey/?revoked_at__isempty=1",
        f"/admin/accounts/apikey/{account.api_key.pk}/change/",
        "/admin/accounts/usagerecord/",
        "/admin/accounts/usagerecord/?group=compare",
        "/admin/faces/collection/",
        f"/admin/faces/collection/{collection.pk}/change/",
        "/admin/faces/face/",
        f"/admin/faces/face/{face.pk}/change/",
    ]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert account.key not in html and account.api_key.digest not in html, url
        assert "<b>staff</b>" not in html, url
    html = staff_client.get("/admin/accounts/plan/").content.decode()
    assert "10 MB" in html and "accounts" in html
    assert account.user.email in staff_client.get("/admin/accounts/user/?q=pro").content.decode()


def test_usage_records_are_read_only(staff_client, make_client):
    account = make_client("pro")
    record = UsageRecord.objects.create(user=account.user, group="compare", method="POST",
                                        path="/api/faces/compare", status=200, latency_ms=5)
    url = f"/admin/accounts/usagerecord/{record.pk}/change/"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert staff_client.post(url, {"status": 500}).status_code == 403
    record.refresh_from_db()
    assert record.status == 200
    assert staff_client.get("/admin/accounts/usagerecord/add/").status_code == 403


def test_the_admin_sends_anonymous_visitors_to_its_login(client):
    response = client.get("/admin/accounts/apikey/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/accounts/apikey/"
