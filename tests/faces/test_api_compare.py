"""POST /api/faces/compare through the real stack and the real dlib models."""

import pytest

from tests.faces.api_helpers import packaged_astronaut, photo

pytestmark = pytest.mark.django_db
URL = "/api/faces/compare"


def _compare(client, source, target, **extra):
    return client.post(URL, {"source": source, "target": target, **extra})


def test_same_person_matches(free_client):
    response = _compare(free_client, photo("obama.jpg"), photo("obama2.jpg"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["match"] is True
    assert body["distance"] < 0.6
    assert 0.5 < body["similarity"] <= 1
    assert body["confidence"] in {"high", "medium", "low"}
    assert body["threshold"] == 0.6
    assert body["faces_detected"] == {"image1": 1, "image2": 1}
    box = body["source_face"]["box"]
    assert set(box) == {"x", "y", "width", "height"} and box["width"] > 50


def test_different_people_do_not_match(free_client):
    body = _compare(free_client, photo("obama.jpg"), photo("biden.jpg")).json()
    assert body["match"] is False
    assert body["distance"] > 0.6
    assert body["similarity"] < 0.5


def test_similarity_falls_as_distance_grows(free_client):
    same = _compare(free_client, photo("obama.jpg"), photo("obama2.jpg")).json()
    other = _compare(free_client, photo("obama.jpg"), photo("biden.jpg")).json()
    assert same["distance"] < other["distance"]
    assert same["similarity"] > other["similarity"]


def test_a_strict_threshold_changes_the_decision(free_client):
    body = _compare(free_client, photo("obama.jpg"), photo("obama2.jpg"), threshold=0.05).json()
    assert body["threshold"] == 0.05
    assert body["match"] is False


def test_several_faces_use_the_largest_and_report_the_count(free_client):
    body = _compare(free_client, photo("two_people.jpg"), photo("obama.jpg")).json()
    assert body["faces_detected"]["image1"] == 2


def test_rgba_png_is_accepted(free_client):
    body = _compare(free_client, photo("32bit.png"), photo("obama.jpg")).json()
    assert body["match"] is True


def test_no_face_is_400_with_counts(free_client):
    from tests.helpers import fixture_path, upload

    horses = fixture_path("objects/horses.jpg")
    response = _compare(free_client, upload("horses.jpg", horses.read_bytes()), photo("obama.jpg"))
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "no_face_detected"
    assert body["faces_detected"] == {"image1": 0, "image2": 1}


def test_packaged_photo_compares_with_itself(free_client):
    body = _compare(free_client, packaged_astronaut(), packaged_astronaut()).json()
    assert body["match"] is True and body["distance"] < 0.05


def test_bad_threshold_is_invalid_request(free_client):
    response = _compare(free_client, packaged_astronaut(), packaged_astronaut(), threshold="abc")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
