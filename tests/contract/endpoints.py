"""Every API endpoint as a declaration (NetBox's APIViewTestCases turned into data).

A declaration says how to call the endpoint with valid data (real fixture photos), which
plan group it counts against, the lowest plan allowed to call it, its success status and,
for endpoints that take files, what its 413 says a request may carry. tests/contract/
test_endpoints.py runs the same checks over every declaration and fails when the URLconf or
/api/schema/ has an endpoint that is not declared here.

To add an endpoint: append an Endpoint. Its `request` gets the World (the subject account
with, on demand, a collection, an enrolled face and an analysed video job) and returns
(concrete path, form data).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from accounts import groups
from tests.helpers import analysed_video_job, enrolled_collection, fixture_upload


class World:
    """The subject account's objects, made on first use straight through the models and
    services (never through the API, so the only rate-limited call is the one under test)."""

    def __init__(self, user):
        self.user = user
        self._collection = self._job = None

    @property
    def collection(self):
        if self._collection is None:
            self._collection = enrolled_collection(
                self.user,
                labelled=[("obama", "faces/obama.jpg"), ("biden", "faces/biden.jpg")],
            )
        return self._collection

    @property
    def face(self):
        return self.collection.faces.order_by("label").first()

    @property
    def job(self):
        if self._job is None:
            self._job = analysed_video_job(self.user)
        return self._job


def _listing(made, path: str) -> tuple[str, dict]:
    """A list endpoint's request, once `made` (from the World) gives it something to list."""
    assert made is not None
    return path, {}


def _photo(relative):
    return fixture_upload(f"faces/{relative}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template in /api/schema/
    group: str
    success: int
    request: Callable[[World], tuple[str, dict]]
    lowest_plan: str = "free"
    # For endpoints that take files: the 413's words after "the request is N MB; ", on the
    # pro plan cut down to 0.1 MB images and batches of 2, with videos capped at 0.1 MB.
    too_large: str | None = None
    file_field: str | None = None
    authenticated: bool = True

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def placeholder_path(self) -> str:
        """The path with made-up ids: enough for checks that stop before any lookup."""
        return self.path.replace("{collection_id}", str(uuid.uuid4())).replace(
            "{face_id}", str(uuid.uuid4())
        ).replace("{job_id}", str(uuid.uuid4()))


ONE_IMAGE = "the pro plan allows 0.1 MB per image and one image per request here"

ENDPOINTS = [
    Endpoint(
        "GET", "/api/health", "", 200, lambda w: ("/api/health", {}), authenticated=False
    ),
    Endpoint(
        "POST", "/api/faces/compare", groups.COMPARE, 200,
        lambda w: ("/api/faces/compare",
                   {"source": _photo("obama.jpg"), "target": _photo("obama2.jpg")}),
        too_large="the pro plan allows 0.1 MB per image and 2 images per request here",
        file_field="source",
    ),
    Endpoint(
        "POST", "/api/faces/detect", groups.COMPARE, 200,
        lambda w: ("/api/faces/detect",
                   {"image": _photo("two_people.jpg"), "attributes": "age,gender,emotion"}),
        too_large=ONE_IMAGE, file_field="image",
    ),
    Endpoint(
        "POST", "/api/faces/search", groups.SEARCH, 200,
        lambda w: ("/api/faces/search",
                   {"image": _photo("obama2.jpg"), "collection": str(w.collection.pk)}),
        too_large=ONE_IMAGE, file_field="image",
    ),
    Endpoint(
        "POST", "/api/faces/batch-match", groups.BATCH, 200,
        lambda w: ("/api/faces/batch-match", {"images": [
            _photo("obama.jpg"), _photo("obama2.jpg"), _photo("biden.jpg"),
        ]}),
        lowest_plan="pro",
        too_large="the pro plan allows 0.1 MB per image and up to 2 images per request here",
        file_field="images",
    ),
    Endpoint(
        "GET", "/api/faces/collections", groups.SEARCH, 200,
        lambda w: _listing(w.collection, "/api/faces/collections"),
    ),
    Endpoint(
        "POST", "/api/faces/collections", groups.SEARCH, 201,
        lambda w: ("/api/faces/collections", {"name": "friends"}),
    ),
    Endpoint(
        "GET", "/api/faces/collections/{collection_id}", groups.SEARCH, 200,
        lambda w: (f"/api/faces/collections/{w.collection.pk}", {}),
    ),
    Endpoint(
        "DELETE", "/api/faces/collections/{collection_id}", groups.SEARCH, 204,
        lambda w: (f"/api/faces/collections/{w.collection.pk}", {}),
    ),
    Endpoint(
        "GET", "/api/faces/collections/{collection_id}/faces", groups.SEARCH, 200,
        lambda w: (f"/api/faces/collections/{w.collection.pk}/faces", {}),
    ),
    Endpoint(
        "POST", "/api/faces/collections/{collection_id}/faces", groups.SEARCH, 201,
        lambda w: (f"/api/faces/collections/{w.collection.pk}/faces",
                   {"image": _photo("obama3.jpg"), "label": "obama",
                    "metadata": '{"source": "fixture"}'}),
        too_large=ONE_IMAGE, file_field="image",
    ),
    Endpoint(
        "DELETE", "/api/faces/collections/{collection_id}/faces/{face_id}", groups.SEARCH, 204,
        lambda w: (f"/api/faces/collections/{w.collection.pk}/faces/{w.face.pk}", {}),
    ),
    Endpoint(
        "POST", "/api/vehicles/detect", groups.ANALYZE, 200,
        lambda w: ("/api/vehicles/detect",
                   {"image": fixture_upload("objects/plate_car.png"), "plates": "true"}),
        too_large=ONE_IMAGE, file_field="image",
    ),
    Endpoint(
        "POST", "/api/body/analyze", groups.ANALYZE, 200,
        lambda w: ("/api/body/analyze", {"image": fixture_upload("objects/person.jpg")}),
        too_large=ONE_IMAGE, file_field="image",
    ),
    Endpoint(
        "POST", "/api/videos/analyze", groups.VIDEO, 202,
        lambda w: ("/api/videos/analyze", {
            "video": fixture_upload("video/short_hamilton_clip.mp4", "video/mp4"),
            "features": "faces,bodies", "sample_fps": "1",
            "collection": str(w.collection.pk),
        }),
        lowest_plan="pro", too_large="the limit is 0.1 MB per video", file_field="video",
    ),
    Endpoint(
        "GET", "/api/videos", groups.VIDEO_STATUS, 200,
        lambda w: _listing(w.job, "/api/videos"), lowest_plan="pro",
    ),
    Endpoint(
        "GET", "/api/videos/{job_id}", groups.VIDEO_STATUS, 200,
        lambda w: (f"/api/videos/{w.job.pk}", {}), lowest_plan="pro",
    ),
    Endpoint(
        "DELETE", "/api/videos/{job_id}", groups.VIDEO_STATUS, 204,
        lambda w: (f"/api/videos/{w.job.pk}", {}), lowest_plan="pro",
    ),
    Endpoint(
        "GET", "/api/videos/{job_id}/results", groups.VIDEO_STATUS, 200,
        lambda w: (f"/api/videos/{w.job.pk}/results", {}), lowest_plan="pro",
    ),
]

API_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint.authenticated]
UPLOAD_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint.too_large]


def send(client, method: str, path: str, data: dict):
    """One request the way an integrator sends it: multipart when there is a body."""
    if method in ("GET", "DELETE"):
        return getattr(client, method.lower())(path, data or None)
    return client.post(path, data, format="multipart")
