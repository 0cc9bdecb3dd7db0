"""N:N batch-match: pairs, groups, plan limits."""

import pytest

from tests.faces.api_helpers import packaged_astronaut, photo

pytestmark = pytest.mark.django_db
URL = "/api/faces/batch-match"


def test_groups_cluster_the_same_person(pro_client):
    images = [photo("obama.jpg"), photo("biden.jpg"), photo("obama2.jpg"), photo("obama3.jpg")]
    response = pro_client.post(URL, {"images": images})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [image["faces_detected"] for image in body["images"]] == [1, 1, 1, 1]
    assert len(body["pairs"]) == 6
    assert body["groups"] == [[0, 2, 3], [1]]
    pair = next(p for p in body["pairs"] if (p["a"], p["b"]) == (0, 2))
    assert pair["match"] is True and pair["distance"] < 0.6
    assert next(p for p in body["pairs"] if (p["a"], p["b"]) == (0, 1))["match"] is False


def test_an_image_without_a_face_is_in_no_group(pro_client):
    from tests.helpers import fixture_path, upload

    horses = fixture_path("objects/horses.jpg")
    images = [photo("obama.jpg"), upload("h.jpg", horses.read_bytes()), photo("obama2.jpg")]
    body = pro_client.post(URL, {"images": images}).json()
    assert body["images"][1]["faces_detected"] == 0
    assert body["groups"] == [[0, 2]]
    assert all(1 not in (pair["a"], pair["b"]) for pair in body["pairs"])


def test_fewer_than_two_images_is_invalid(pro_client):
    response = pro_client.post(URL, {"images": [packaged_astronaut()]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_more_than_the_plan_allows_is_invalid(make_client):
    from accounts.models import Plan

    Plan.objects.filter(name="pro").update(max_batch_images=2)
    client = make_client("pro")
    response = client.post(URL, {"images": [packaged_astronaut() for _ in range(3)]})
    assert response.status_code == 400
    assert "at most 2" in response.json()["error"]["message"]


def test_free_plan_cannot_batch(free_client):
    response = free_client.post(URL, {"images": [packaged_astronaut(), packaged_astronaut()]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "plan_forbidden"
