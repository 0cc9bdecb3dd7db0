"""The tiling parameter of POST /api/body/analyze: forced on, off, and bad values."""

import pytest

from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db
URL = "/api/body/analyze"


def _kite():
    return upload("kite.jpg", fixture_path("objects/kite.jpg").read_bytes())


def test_tiling_on_finds_more_people_than_off(free_client):
    off = free_client.post(URL, {"image": _kite(), "tiling": "off"})
    on = free_client.post(URL, {"image": _kite(), "tiling": "on"})
    assert off.status_code == on.status_code == 200
    assert on.json()["count"] > off.json()["count"] >= 5


def test_auto_is_the_default(free_client):
    auto = free_client.post(URL, {"image": _kite()}).json()
    on = free_client.post(URL, {"image": _kite(), "tiling": "on"}).json()
    assert auto == on  # kite.jpg is 1352 px wide: auto tiles it


@pytest.mark.parametrize("value", ["yes", "ON", "auto,on", "1"])
def test_unknown_tiling_is_an_invalid_request(free_client, value):
    response = free_client.post(URL, {"image": _kite(), "tiling": value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "tiling" in str(error)
