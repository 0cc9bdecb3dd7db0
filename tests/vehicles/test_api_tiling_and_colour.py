"""POST /api/vehicles/detect: the tiling parameter and the colour field."""

import pytest

from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db
URL = "/api/vehicles/detect"


def _image(name):
    return upload(name.rsplit("/", 1)[-1], fixture_path(name).read_bytes())


@pytest.mark.parametrize("tiling", ["auto", "on", "off"])
def test_each_tiling_mode_is_accepted(free_client, tiling):
    response = free_client.post(URL, {"image": _image("objects/dog.jpg"), "tiling": tiling})
    assert response.status_code == 200, response.content
    assert "truck" in response.json()["counts"] or "car" in response.json()["counts"]


def test_unknown_tiling_is_an_invalid_request(free_client):
    response = free_client.post(URL, {"image": _image("objects/dog.jpg"), "tiling": "always"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_the_white_pickup_is_white_and_the_bicycle_has_no_colour(free_client):
    body = free_client.post(URL, {"image": _image("objects/dog.jpg")}).json()
    pickup = next(v for v in body["vehicles"] if v["box"]["x"] > 400)
    assert pickup["colour"]["name"] == "white"
    assert 0.5 <= pickup["colour"]["confidence"] <= 1
    bicycle = next(v for v in body["vehicles"] if v["type"] == "bicycle")
    assert "colour" not in bicycle
