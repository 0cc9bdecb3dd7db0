"""POST /api/body/analyze through the real stack: NanoDet people + MoveNet keypoints."""

import io

import pytest
from PIL import Image

from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db
URL = "/api/body/analyze"
COCO_KEYPOINTS = {
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
}


def _objects(name):
    path = fixture_path(f"objects/{name}")
    return upload(name, path.read_bytes())


def test_person_photo_has_a_person_with_17_named_keypoints(free_client):
    response = free_client.post(URL, {"image": _objects("person.jpg")})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["people"]) >= 1
    person = body["people"][0]
    assert {point["name"] for point in person["keypoints"]} == COCO_KEYPOINTS
    box = person["box"]
    inside = [
        point for point in person["keypoints"]
        if box["x"] - 20 <= point["x"] <= box["x"] + box["width"] + 20
        and box["y"] - 20 <= point["y"] <= box["y"] + box["height"] + 20
    ]
    assert len(inside) >= 12  # keypoints are in image pixels, on the person
    nose = next(p for p in person["keypoints"] if p["name"] == "nose")
    ankle = next(p for p in person["keypoints"] if p["name"] == "left_ankle")
    assert nose["y"] < ankle["y"]


def test_kite_beach_has_at_least_three_people(free_client):
    body = free_client.post(URL, {"image": _objects("kite.jpg")}).json()
    assert body["count"] >= 3


def test_horses_have_no_people(free_client):
    body = free_client.post(URL, {"image": _objects("horses.jpg")}).json()
    assert body == {"people": [], "count": 0}


def test_packaged_astronaut_is_a_person(free_client):
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG")
    body = free_client.post(URL, {"image": upload("a.jpg", buffer.getvalue())}).json()
    assert body["count"] >= 1
    assert len(body["people"][0]["keypoints"]) == 17


def test_min_confidence_filters(free_client):
    strict = free_client.post(URL, {"image": _objects("kite.jpg"), "min_confidence": 0.999})
    assert strict.json()["count"] == 0
