"""Every list pages the same way (EndpointView.pagination_class): {count, next, previous,
results}, the same query parameters, the same errors, and the schema documents them."""

import pytest

from faces.services import create_collection
from tests.contract.conformance import raw_schema
from videos.models import VideoJob

pytestmark = pytest.mark.django_db


def _list_urls(user):
    collection = create_collection(owner=user, name="people")
    job = VideoJob.objects.create(owner=user, file_path="videos/none.mp4", status="completed")
    return [
        "/api/faces/collections",
        f"/api/faces/collections/{collection.pk}/faces",
        "/api/videos",
        f"/api/videos/{job.pk}/results",
    ]


def test_every_list_is_a_page_with_the_envelope_keys_in_order(pro_client):
    for url in _list_urls(pro_client.user):
        response = pro_client.get(url)
        assert response.status_code == 200, url
        keys = list(response.json())
        assert keys[:3] == ["count", "next", "previous"] and keys[-1] == "results", url


@pytest.mark.parametrize("page", ["0", "abc", "99"])
def test_a_page_that_does_not_exist_is_not_found(pro_client, page):
    for url in _list_urls(pro_client.user):
        response = pro_client.get(url, {"page": page})
        assert response.status_code == 404, (url, page)
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("page_size", ["abc", "0", "-3"])
def test_a_bad_page_size_is_invalid_request_naming_the_range(pro_client, page_size):
    for url in _list_urls(pro_client.user):
        response = pro_client.get(url, {"page_size": page_size})
        assert response.status_code == 400, (url, page_size)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["message"] == "page_size must be a whole number from 1 to 500"


def test_page_size_is_honoured_and_capped(pro_client):
    for index in range(3):
        create_collection(owner=pro_client.user, name=f"c{index}")
    first = pro_client.get("/api/faces/collections", {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2
    assert "page=2" in first["next"] and first["previous"] is None
    capped = pro_client.get("/api/faces/collections", {"page_size": 100_000}).json()
    assert len(capped["results"]) == 3


def test_the_schema_documents_the_page_of_every_list():
    paths = raw_schema()["paths"]
    for path in ("/api/faces/collections", "/api/faces/collections/{collection_id}/faces",
                 "/api/videos", "/api/videos/{job_id}/results"):
        operation = paths[path]["get"]
        names = {parameter["name"] for parameter in operation.get("parameters", [])
                 if parameter["in"] == "query"}
        assert {"page", "page_size"} <= names, path
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        component = raw_schema()["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"count", "next", "previous", "results"} <= set(component["properties"]), path
        assert component["properties"]["results"]["type"] == "array", path
