"""Response conformance: the checker bites, the schema is closed where the contract is, and
the richest bodies the API makes from real photos and the real clip fit the schema.

(Every response of the suite goes through tests/contract/conformance.py anyway; these tests
make sure the shapes that only some inputs produce — plates, several faces, identified
video tracks, each detection kind, error extras — are among them.)
"""

import json

import pytest

from tests.contract.conformance import (
    SchemaMismatch,
    assert_conforms,
    raw_schema,
)
from tests.contract.endpoints import send
from tests.helpers import (
    analysed_video_job,
    enrolled_collection,
    fixture_upload,
    image_bytes,
    upload,
)
from visionera.api.schema import OPEN_RESPONSE_COMPONENTS

pytestmark = pytest.mark.django_db


def _photo(relative):
    return fixture_upload(f"faces/{relative}")


def test_the_served_schema_is_the_one_checked(anonymous_client):
    served = anonymous_client.get("/api/schema/?format=json")
    assert served.status_code == 200
    assert json.loads(served.content) == raw_schema()


def test_every_response_object_is_closed_but_the_error_envelope():
    components = raw_schema()["components"]["schemas"]
    response_objects = {
        name for name, schema in components.items()
        if schema.get("type") == "object" and "properties" in schema
        and not name.endswith("Request")
    }
    closed = {name for name in response_objects
              if components[name].get("additionalProperties") is False}
    assert response_objects - closed == set(OPEN_RESPONSE_COMPONENTS)
    assert components["ErrorBody"]["additionalProperties"] is False


def test_the_check_refuses_an_undeclared_key_a_missing_one_and_an_undocumented_status(
    pro_client,
):
    response = pro_client.post(
        "/api/faces/compare", {"source": _photo("obama.jpg"), "target": _photo("obama2.jpg")}
    )
    assert response.status_code == 200
    assert_conforms(response)
    original = response.content

    response.content = json.dumps({**json.loads(original), "collection": {}}).encode()
    with pytest.raises(SchemaMismatch, match="collection"):
        assert_conforms(response)

    body = json.loads(original)
    del body["similarity"]
    response.content = json.dumps(body).encode()
    with pytest.raises(SchemaMismatch, match="similarity"):
        assert_conforms(response)

    response.content = original
    response.status_code = 418
    with pytest.raises(SchemaMismatch, match="status not documented"):
        assert_conforms(response)


def test_face_bodies_from_real_photos_fit_the_schema(pro_client):
    collection = enrolled_collection(
        pro_client.user, labelled=[("obama", "faces/obama.jpg"), ("biden", "faces/biden.jpg")]
    )
    calls = [
        ("POST", "/api/faces/detect",
         {"image": _photo("two_people.jpg"), "attributes": "age,gender,emotion"}, 200),
        ("POST", "/api/faces/search",
         {"image": _photo("two_people.jpg"), "collection": collection.name, "max_faces": "5",
          "threshold": "0.6"}, 200),
        ("POST", "/api/faces/batch-match",
         {"images": [_photo("obama.jpg"), _photo("obama2.jpg"), _photo("biden.jpg"),
                     upload("blank.png", image_bytes(200, 200))]}, 200),
        # Errors with their extras beside `error`.
        ("POST", "/api/faces/compare",
         {"source": _photo("obama.jpg"), "target": upload("blank.png", image_bytes(200, 200))},
         400),
        ("POST", "/api/faces/collections", {"name": collection.name}, 409),
        ("GET", "/api/faces/collections/00000000-0000-0000-0000-000000000000", {}, 404),
        ("GET", f"/api/faces/collections/{collection.pk}/faces?label=obama", {}, 200),
    ]
    bodies = []
    for method, path, data, status in calls:
        response = send(pro_client, method, path, data)
        assert response.status_code == status, (path, response.content)
        assert_conforms(response)
        bodies.append(response.json())
    _, search, batch, no_face, *_ = bodies
    assert search["faces_detected"] == 2 and len(search["faces"]) == 2
    assert batch["images"][3]["box"] is None and [0, 1] in batch["groups"]
    assert no_face["faces_detected"] == {"image1": 1, "image2": 0}


def test_a_plate_read_fits_the_schema(pro_client):
    response = pro_client.post(
        "/api/vehicles/detect", {"image": fixture_upload("objects/plate_car.png"),
                                 "plates": "true"}
    )
    assert response.status_code == 200
    assert_conforms(response)
    assert any("plate" in vehicle for vehicle in response.json()["vehicles"])


def test_a_video_job_with_every_feature_and_identified_faces_fits_the_schema(pro_client):
    collection = enrolled_collection(
        pro_client.user, name="hamilton", labelled=[("lin", "faces/lin-manuel-miranda.png")]
    )
    job = analysed_video_job(pro_client.user, collection=collection, sample_fps=1)

    status = pro_client.get(f"/api/videos/{job.pk}")
    assert_conforms(status)
    summary = status.json()["summary"]
    assert summary["counts"]["faces"] > 0 and summary["counts"]["bodies"] > 0
    assert any(item["label"] == "lin" for item in summary["identified"])

    kinds = set()
    url = f"/api/videos/{job.pk}/results?page_size=20"
    while url:
        page = pro_client.get(url)
        assert_conforms(page)
        kinds |= {item["kind"] for item in page.json()["results"]}
        url = page.json()["next"]
    assert {"face", "body"} <= kinds
    for kind in ("face", "vehicle", "body"):
        assert_conforms(pro_client.get(f"/api/videos/{job.pk}/results?kind={kind}"))
    bad_kind = pro_client.get(f"/api/videos/{job.pk}/results?kind=cat")
    assert bad_kind.status_code == 400
    assert_conforms(bad_kind)
    assert_conforms(pro_client.get("/api/videos?page_size=1"))
