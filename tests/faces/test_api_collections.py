"""Collections and enrolment: CRUD, pagination, label filter, isolation between accounts."""

import pytest

from faces.models import Face
from tests.faces.api_helpers import create_collection, enrol, packaged_astronaut
from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db
COLLECTIONS = "/api/faces/collections"


def test_create_list_retrieve_delete(free_client):
    created = create_collection(free_client, "staff")
    assert set(created) == {"id", "name", "face_count", "created_at"}
    assert created["face_count"] == 0
    listed = free_client.get(COLLECTIONS).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == created["id"]
    assert free_client.get(f"{COLLECTIONS}/{created['id']}").json()["name"] == "staff"
    assert free_client.delete(f"{COLLECTIONS}/{created['id']}").status_code == 204
    assert free_client.get(f"{COLLECTIONS}/{created['id']}").status_code == 404


def test_duplicate_and_blank_names_are_refused(free_client):
    create_collection(free_client, "staff")
    duplicate = free_client.post(COLLECTIONS, {"name": "staff"}, format="json")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "already_exists"
    blank = free_client.post(COLLECTIONS, {"name": "  "}, format="json")
    assert blank.status_code == 400


def test_enrol_returns_the_face_and_counts_it(free_client):
    collection = create_collection(free_client)
    response = enrol(free_client, collection["id"], "obama.jpg", "obama", {"employee": 7})
    assert response.status_code == 201, response.content
    face = response.json()
    assert face["label"] == "obama" and face["metadata"] == {"employee": 7}
    assert face["box"]["width"] > 50
    assert free_client.get(f"{COLLECTIONS}/{collection['id']}").json()["face_count"] == 1
    stored = Face.objects.get(pk=face["id"])
    assert len(bytes(stored.descriptor)) == 512
    assert not stored.image  # uploaded photos are not kept by default


def test_enrol_without_a_face_is_400(free_client):
    collection = create_collection(free_client)
    horses = fixture_path("objects/horses.jpg").read_bytes()
    response = free_client.post(
        f"{COLLECTIONS}/{collection['id']}/faces",
        {"image": upload("horses.jpg", horses), "label": "nobody"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_face_detected"
    assert Face.objects.count() == 0


@pytest.mark.parametrize("metadata", ["not json", "[1, 2]", '"text"'])
def test_metadata_must_be_a_json_object(free_client, metadata):
    collection = create_collection(free_client)
    response = free_client.post(
        f"{COLLECTIONS}/{collection['id']}/faces",
        {"image": packaged_astronaut(), "label": "x", "metadata": metadata},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_labels_and_metadata_are_stored_verbatim(free_client):
    collection = create_collection(free_client)
    label = "<script>alert(1)</script>'; DROP TABLE faces_face;--"
    response = free_client.post(
        f"{COLLECTIONS}/{collection['id']}/faces",
        {"image": packaged_astronaut(), "label": label, "metadata": '{"note": "<b>hi</b>"}'},
    )
    assert response.status_code == 201
    listed = free_client.get(f"{COLLECTIONS}/{collection['id']}/faces").json()["results"]
    assert listed[0]["label"] == label and listed[0]["metadata"] == {"note": "<b>hi</b>"}


def test_face_list_filters_by_label_and_delete_updates_count(free_client):
    collection = create_collection(free_client)
    first = enrol(free_client, collection["id"], "obama.jpg", "obama").json()
    enrol(free_client, collection["id"], "biden.jpg", "biden")
    faces_url = f"{COLLECTIONS}/{collection['id']}/faces"
    assert free_client.get(faces_url).json()["count"] == 2
    only = free_client.get(faces_url, {"label": "obama"}).json()
    assert [face["label"] for face in only["results"]] == ["obama"]
    assert free_client.delete(f"{faces_url}/{first['id']}").status_code == 204
    assert free_client.delete(f"{faces_url}/{first['id']}").status_code == 404
    assert free_client.get(f"{COLLECTIONS}/{collection['id']}").json()["face_count"] == 1


def test_another_accounts_collection_is_404(make_client):
    owner, stranger = make_client("free"), make_client("free")
    collection = create_collection(owner)
    face = enrol(owner, collection["id"], "obama.jpg", "obama").json()
    base = f"{COLLECTIONS}/{collection['id']}"
    for response in [
        stranger.get(base),
        stranger.delete(base),
        stranger.get(f"{base}/faces"),
        stranger.post(f"{base}/faces", {"image": packaged_astronaut(), "label": "x"}),
        stranger.delete(f"{base}/faces/{face['id']}"),
        stranger.post(
            "/api/faces/search", {"image": packaged_astronaut(), "collection": collection["id"]}
        ),
    ]:
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
    assert stranger.get(COLLECTIONS).json()["count"] == 0
    assert owner.get(base).status_code == 200


def test_malformed_ids_are_404(free_client):
    assert free_client.get(f"{COLLECTIONS}/not-a-uuid").status_code == 404
    collection = create_collection(free_client)
    assert free_client.delete(f"{COLLECTIONS}/{collection['id']}/faces/xyz").status_code == 404


def test_pagination_pages_through_collections(free_client):
    for number in range(3):
        create_collection(free_client, f"c{number}")
    page = free_client.get(COLLECTIONS, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert free_client.get(COLLECTIONS, {"page": 99}).status_code == 404


@pytest.mark.parametrize("remove", ["face", "collection", "account"])
def test_kept_enrolment_photos_leave_with_their_face(
    free_client, settings, media_root, django_capture_on_commit_callbacks, remove
):
    settings.VISIONERA_KEEP_ENROLLED_IMAGES = True
    collection = create_collection(free_client)
    face = free_client.post(
        f"{COLLECTIONS}/{collection['id']}/faces", {"image": packaged_astronaut(), "label": "a"}
    ).json()
    photo = media_root / Face.objects.get(pk=face["id"]).image.name
    assert photo.exists()
    with django_capture_on_commit_callbacks(execute=True):
        if remove == "face":
            free_client.delete(f"{COLLECTIONS}/{collection['id']}/faces/{face['id']}")
        elif remove == "collection":
            free_client.delete(f"{COLLECTIONS}/{collection['id']}")
        else:
            free_client.user.delete()
    assert not photo.exists()
