"""Helpers for the faces API tests: fixture photos as uploads, and enrolment."""

from tests.helpers import fixture_path, upload


def photo(relative: str):
    """A photo from tests/fixtures/faces as a multipart upload ."""
    path = fixture_path(f"faces/{relative}")
    return upload(path.name, path.read_bytes())


def packaged_astronaut():
    """A face photo that ships with scikit-image, so some API tests run anywhere."""
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG", quality=92)
    return upload("astronaut.jpg", buffer.getvalue())


def create_collection(client, name="people"):
    response = client.post("/api/faces/collections", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def enrol(client, collection_id, relative, label, metadata=None):
    payload = {"image": photo(relative), "label": label}
    if metadata is not None:
        import json

        payload["metadata"] = json.dumps(metadata)
    return client.post(f"/api/faces/collections/{collection_id}/faces", payload)
