"""1:N search: the gallery/probe scenario of tests/fixtures/README.md, through the API."""

import pytest

from tests.faces.api_helpers import create_collection
from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db
SEARCH = "/api/faces/search"


@pytest.fixture
def gallery(free_client):
    """Every photo under faces/gallery/<label>/ enrolled under its label."""
    root = fixture_path("faces/gallery")
    collection = create_collection(free_client, "gallery")
    for photo in sorted(root.glob("*/*")):
        response = free_client.post(
            f"/api/faces/collections/{collection['id']}/faces",
            {"image": upload(photo.name, photo.read_bytes()), "label": photo.parent.name,
             "metadata": f'{{"file": "{photo.name}"}}'},
        )
        assert response.status_code == 201, (photo, response.content)
    return collection


def _search(client, collection, probe, **extra):
    path = fixture_path(f"faces/probes/{probe}")
    return client.post(
        SEARCH,
        {"image": upload(probe, path.read_bytes()), "collection": collection["id"], **extra},
    )


@pytest.mark.parametrize(
    "probe, label",
    [
        ("alex_lacamoire1.jpg", "alex_lacamoire"),
        ("johnsnow_test1.jpg", "kit_harington"),
        ("obama1.jpg", "obama"),
    ],
)
def test_each_probe_finds_its_label(free_client, gallery, probe, label):
    body = _search(free_client, gallery, probe).json()
    assert body["matches"], body
    best = body["matches"][0]
    assert best["label"] == label
    assert best["distance"] <= 0.6 and best["similarity"] > 0.5
    assert "file" in best["metadata"]
    distances = [match["distance"] for match in body["matches"]]
    assert distances == sorted(distances)
    assert body["search_face"]["box"] == body["faces"][0]["box"]


def test_obama_and_biden_with_three_faces(free_client, gallery):
    body = _search(free_client, gallery, "obama_and_biden.jpg", max_faces=3).json()
    assert body["faces_detected"] == 3
    assert len(body["faces"]) == 3
    best = [face["matches"][0]["label"] if face["matches"] else None for face in body["faces"]]
    assert sorted(label for label in best if label) == ["biden", "obama"]
    assert best.count(None) == 1
    areas = [face["box"]["width"] * face["box"]["height"] for face in body["faces"]]
    assert areas == sorted(areas, reverse=True)
    assert body["matches"] == body["faces"][0]["matches"]


def test_kit_with_rose_finds_both(free_client, gallery):
    body = _search(free_client, gallery, "kit_with_rose.jpg", max_faces=2).json()
    labels = {face["matches"][0]["label"] for face in body["faces"] if face["matches"]}
    assert labels == {"kit_harington", "rose_leslie"}


def test_limit_and_threshold_bound_the_matches(free_client, gallery):
    loose = _search(free_client, gallery, "obama1.jpg", threshold=2.0, limit=3).json()
    assert len(loose["matches"]) == 3
    strict = _search(free_client, gallery, "obama1.jpg", threshold=0.01).json()
    assert strict["matches"] == []


def test_search_by_collection_name(free_client, gallery):
    path = fixture_path("faces/probes/obama1.jpg")
    body = free_client.post(
        SEARCH, {"image": upload("p.jpg", path.read_bytes()), "collection": "gallery"}
    ).json()
    assert body["matches"][0]["label"] == "obama"


def test_a_removed_face_is_no_longer_found(free_client, gallery):
    faces_url = f"/api/faces/collections/{gallery['id']}/faces"
    for face in free_client.get(faces_url, {"label": "obama"}).json()["results"]:
        assert free_client.delete(f"{faces_url}/{face['id']}").status_code == 204
    body = _search(free_client, gallery, "obama1.jpg").json()
    assert all(match["label"] != "obama" for match in body["matches"])


def test_unknown_collection_and_faceless_probe(free_client, gallery):
    path = fixture_path("faces/probes/obama1.jpg")
    missing = free_client.post(
        SEARCH, {"image": upload("p.jpg", path.read_bytes()), "collection": "nope"}
    )
    assert missing.status_code == 404
    horses = fixture_path("objects/horses.jpg")
    faceless = free_client.post(
        SEARCH, {"image": upload("h.jpg", horses.read_bytes()), "collection": gallery["id"]}
    )
    assert faceless.status_code == 400
    assert faceless.json()["error"]["code"] == "no_face_detected"


def test_max_faces_is_bounded(free_client, gallery):
    response = _search(free_client, gallery, "obama1.jpg", max_faces=21)
    assert response.status_code == 400
