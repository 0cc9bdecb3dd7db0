"""POST /api/vehicles/detect through the real stack and the bundled NanoDet model."""

import io

import pytest
from PIL import Image

from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db
URL = "/api/vehicles/detect"


def _objects(name):
    path = fixture_path(f"objects/{name}")
    return upload(name, path.read_bytes())


def _packaged_motorcycle():
    from skimage import data

    left, _right, _disparity = data.stereo_motorcycle()
    buffer = io.BytesIO()
    Image.fromarray(left).save(buffer, format="PNG")
    return upload("motorcycle.png", buffer.getvalue())


def test_dog_photo_has_a_bicycle_and_the_pickup_and_no_bus(free_client):
    response = free_client.post(URL, {"image": _objects("dog.jpg")})
    assert response.status_code == 200, response.content
    body = response.json()
    types = [vehicle["type"] for vehicle in body["vehicles"]]
    assert "bicycle" in types
    assert {"truck", "car"} & set(types)
    assert "bus" not in types
    assert body["counts"] == {t: types.count(t) for t in set(types)}
    for vehicle in body["vehicles"]:
        assert 0 < vehicle["confidence"] <= 1
        assert "plate" not in vehicle
        box = vehicle["box"]
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= 768 and box["y"] + box["height"] <= 576


def test_horses_have_no_vehicles(free_client):
    body = free_client.post(URL, {"image": _objects("horses.jpg")}).json()
    assert body == {"vehicles": [], "counts": {}}


def test_min_confidence_filters(free_client):
    everything = free_client.post(URL, {"image": _objects("dog.jpg"), "min_confidence": 0.2})
    strict = free_client.post(URL, {"image": _objects("dog.jpg"), "min_confidence": 0.99})
    assert len(everything.json()["vehicles"]) >= 2
    assert strict.json()["vehicles"] == []


def test_packaged_motorcycle_is_found(free_client):
    body = free_client.post(URL, {"image": _packaged_motorcycle()}).json()
    assert "motorcycle" in body["counts"]


def test_plates_are_only_reported_when_read(free_client):
    body = free_client.post(URL, {"image": _objects("dog.jpg"), "plates": "true"}).json()
    for vehicle in body["vehicles"]:
        if "plate" in vehicle:
            assert vehicle["plate"]["text"].isalnum()
            assert 0 <= vehicle["plate"]["confidence"] <= 1


def test_bad_min_confidence_is_invalid(free_client):
    response = free_client.post(URL, {"image": _packaged_motorcycle(), "min_confidence": 2})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
