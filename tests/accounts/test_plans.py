import pytest

from accounts.models import Plan

pytestmark = pytest.mark.django_db


def test_seeded_plans_match_the_contract():
    plans = {plan.name: plan for plan in Plan.objects.all()}
    assert set(plans) >= {"free", "pro", "enterprise"}
    assert plans["free"].max_image_bytes == 2_000_000
    assert plans["pro"].max_image_bytes == 10_000_000
    assert plans["enterprise"].max_image_bytes == 20_000_000
    assert not plans["free"].allows("batch") and not plans["free"].allows("video")
    assert plans["pro"].max_batch_images == 50
    assert plans["enterprise"].max_batch_images == 100


def test_new_users_start_on_free(make_client):
    client = make_client(plan="free")
    assert client.user.plan.name == "free"


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/faces/batch-match"),
        ("post", "/api/videos/analyze"),
        ("get", "/api/videos"),
        ("get", "/api/videos/123"),
    ],
)
def test_free_plan_is_refused_batch_and_video(free_client, method, path):
    response = getattr(free_client, method)(path)
    assert response.status_code == 403
    body = response.json()
    assert body["error"]["code"] == "plan_forbidden"
    assert "free" in body["error"]["message"]
    # An answer to an authenticated request: it carries the rate-limit headers too.
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        response.headers)


def test_a_forbidden_upload_is_refused_for_the_plan_before_its_size(free_client):
    response = free_client.post("/api/faces/batch-match", {}, format="multipart",
                                CONTENT_LENGTH=str(900_000_000))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "plan_forbidden"


@pytest.mark.rate_limits
def test_plan_override_changes_the_limit(make_client):
    plan = Plan.objects.get(name="pro")
    plan.rate_limits = {"search": {"per_minute": 7, "per_second": 3}}
    plan.save()
    response = make_client("pro").get("/api/faces/collections")
    assert response["X-RateLimit-Limit"] == "7"
    assert plan.limits_for("compare") == (60, 10)
