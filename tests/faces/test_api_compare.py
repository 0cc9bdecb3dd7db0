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


@pytest.mark.parametrize("source, target", [
    ("obama.jpg", "obama2.jpg"),
    ("two_people.jpg", "biden.jpg"),
])
def test_one_image_at_a_time_gives_the_same_answer_as_both_together(
    free_client, settings, source, target, monkeypatch
):
    """Images that fit the pixel cap together are described in parallel; otherwise one at a
    time (docs/HARDENING.md). Which one happened must never show in the answer."""
    from PIL import Image

    from faces import engine
    from tests.helpers import fixture_path

    calls = []
    real_detect_many = engine.FaceEngine.detect_many
    monkeypatch.setattr(
        engine.FaceEngine, "detect_many",
        lambda self, images, **options: calls.append(len(images))
        or real_detect_many(self, images, **options),
    )
    together = _compare(free_client, photo(source), photo(target))
    assert calls == [2]
    sizes = [Image.open(fixture_path(f"faces/{name}")).size for name in (source, target)]
    settings.VISIONERA_MAX_IMAGE_PIXELS = max(width * height for width, height in sizes) + 1
    one_at_a_time = _compare(free_client, photo(source), photo(target))
    assert calls == [2]  # not called again: each image was detected on its own
    assert together.status_code == one_at_a_time.status_code == 200
    assert together.json() == one_at_a_time.json()
