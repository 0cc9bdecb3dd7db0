"""faces' domain errors reach the client as the exact envelope the API has always sent.

Services and selectors raise faces.errors (no HTTP in them); visionera.api.errors maps each
by its catalogue code. These pin the whole body (status, code, message and extra keys),
so a change of wording or of a status is a visible contract change.
"""

import pytest

from faces import selectors, services
from faces.errors import AttributeEstimationUnavailable, InvalidCollectionName
from tests.faces.api_helpers import create_collection, enrol, packaged_astronaut, photo
from tests.helpers import fixture_path, upload
from visionera.api.errors import as_api_error, envelope

pytestmark = pytest.mark.django_db
COLLECTIONS = "/api/faces/collections"
MISSING_ID = "00000000-0000-4000-8000-000000000000"


def _horses():
    return upload("horses.jpg", fixture_path("objects/horses.jpg").read_bytes())


def test_duplicate_collection_is_409_already_exists(free_client):
    create_collection(free_client, "staff")
    response = free_client.post(COLLECTIONS, {"name": "staff"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "status": 409,
            "code": "already_exists",
            "message": "a collection named 'staff' exists already",
        }
    }


def test_unknown_collection_by_id_and_by_name(free_client):
    by_id = free_client.get(f"{COLLECTIONS}/{MISSING_ID}")
    assert by_id.status_code == 404
    assert by_id.json() == {
        "error": {
            "status": 404,
            "code": "not_found",
            "message": f"no collection '{MISSING_ID}' in this account",
        }
    }
    by_name = free_client.post(
        "/api/faces/search", {"image": packaged_astronaut(), "collection": "nobody's"}
    )
    assert by_name.status_code == 404
    assert by_name.json()["error"]["message"] == "no collection \"nobody's\" in this account"


def test_unknown_face_is_404(free_client):
    collection = create_collection(free_client)
    response = free_client.delete(f"{COLLECTIONS}/{collection['id']}/faces/xyz")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"status": 404, "code": "not_found", "message": "no face 'xyz' in this collection"}
    }


def test_no_face_on_compare_keeps_the_counts(free_client):
    response = free_client.post(
        "/api/faces/compare", {"source": _horses(), "target": photo("obama.jpg")}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "status": 400,
            "code": "no_face_detected",
            "message": "no face detected in source",
        },
        "faces_detected": {"image1": 0, "image2": 1},
    }


def test_no_face_on_enrol_and_search_says_which_file(free_client):
    collection = create_collection(free_client)
    enrolled = free_client.post(
        f"{COLLECTIONS}/{collection['id']}/faces", {"image": _horses(), "label": "nobody"}
    )
    expected = {
        "error": {
            "status": 400,
            "code": "no_face_detected",
            "message": "no face detected in horses.jpg",
        },
        "faces_detected": 0,
    }
    assert enrolled.status_code == 400 and enrolled.json() == expected
    assert enrol(free_client, collection["id"], "obama.jpg", "obama").status_code == 201
    searched = free_client.post(
        "/api/faces/search", {"image": _horses(), "collection": collection["id"]}
    )
    assert searched.status_code == 400 and searched.json() == expected


def test_a_blank_name_from_outside_the_api_is_refused(django_user_model):
    # The API's serializer trims and refuses "  " first; the service holds the rule for
    # every other caller (dashboard, management commands).
    owner = django_user_model.objects.create_user(email="blank@example.com", password="x")
    with pytest.raises(InvalidCollectionName) as raised:
        services.create_collection(owner=owner, name=" \t ")
    assert envelope(as_api_error(raised.value)) == {
        "error": {"status": 400, "code": "invalid_request", "message": "name: must not be blank"}
    }
    assert not selectors.collection_list(owner=owner).exists()


def test_missing_attribute_model_is_a_503():
    error = as_api_error(AttributeEstimationUnavailable("age and gender estimation is unavailable"))
    assert error.status == 503 and error.code == "service_unavailable"
    assert error.headers == {}
