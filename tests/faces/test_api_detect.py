"""POST /api/faces/detect: boxes, landmarks, quality and attributes."""

import pytest

from tests.faces.api_helpers import packaged_astronaut, photo
from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db
URL = "/api/faces/detect"


def test_two_people_counts_two(free_client):
    body = free_client.post(URL, {"image": photo("two_people.jpg")}).json()
    assert body["count"] == 2
    first, second = body["faces"]
    assert first["box"]["width"] * first["box"]["height"] >= (
        second["box"]["width"] * second["box"]["height"]
    )
    assert len(first["landmarks"]) == 5
    assert {"size", "sharpness"} <= set(first["quality"])
    assert first["attributes"] == {}


def test_landmarks_lie_inside_the_box(free_client):
    face = free_client.post(URL, {"image": packaged_astronaut()}).json()["faces"][0]
    box = face["box"]
    for point in face["landmarks"]:
        assert box["x"] <= point["x"] <= box["x"] + box["width"]
        assert box["y"] <= point["y"] <= box["y"] + box["height"] + 10


def test_no_face_is_an_empty_list(free_client):
    horses = fixture_path("objects/horses.jpg")
    body = free_client.post(URL, {"image": upload("h.jpg", horses.read_bytes())}).json()
    assert body == {"faces": [], "count": 0}


def test_attributes_only_those_asked_for(free_client):
    body = free_client.post(URL, {"image": photo("obama.jpg"), "attributes": "age,gender"}).json()
    attributes = body["faces"][0]["attributes"]
    assert set(attributes) == {"age", "gender"}
    assert 25 <= attributes["age"] <= 75
    assert attributes["gender"]["value"] == "male"
    assert 0.5 <= attributes["gender"]["confidence"] <= 1


def test_unknown_attribute_is_invalid_request(free_client):
    response = free_client.post(URL, {"image": packaged_astronaut(), "attributes": "age,mood"})
    assert response.status_code == 400
    assert "mood" in response.json()["error"]["message"]


def test_boxes_follow_exif_rotation(free_client):
    """A photo stored sideways with an EXIF rotation gets boxes in upright pixels."""
    import io

    from PIL import Image

    source = Image.open(fixture_path("faces/obama.jpg")).convert("RGB")
    upright = free_client.post(URL, {"image": photo("obama.jpg")}).json()["faces"][0]["box"]
    sideways = source.transpose(Image.Transpose.ROTATE_90)  # stored rotated 90° CCW
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° CW, i.e. upright again
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", quality=95, exif=exif)
    rotated = free_client.post(URL, {"image": upload("side.jpg", buffer.getvalue())}).json()
    box = rotated["faces"][0]["box"]
    assert abs(box["x"] - upright["x"]) < 15 and abs(box["y"] - upright["y"]) < 15
