"""Staff views in the admin: lists with filters, read-only usage."""

import pytest

from accounts.models import UsageRecord, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(admin)
    return client


def test_admin_lists_filter_and_search(staff_client, make_client):
    account = make_client("pro")
    for url in [
        "/admin/accounts/plan/",
        "/admin/accounts/user/?plan__id__exact=1&q=example",
        "/admin/accounts/apikey/?revoked_at__isempty=1",
        "/admin/accounts/usagerecord/?group=compare",
    ]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
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
