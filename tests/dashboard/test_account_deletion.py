"""Self-service account deletion: the password again, then no row and no file of the account
remains — checked over every model of the project that reaches the user by foreign keys."""

from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from tests.helpers import fixture_path, upload

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-unusual-passw0rd"
COLLECTIONS = "/api/faces/collections"


def lookups_to_user(model, depth=0, seen=()):
    """Every ORM lookup (e.g. "job__owner") from `model` to the user along forward foreign
    keys, however many hops."""
    user_model = get_user_model()
    found = []
    if depth > 4:
        return found
    for field in model._meta.get_fields():
        if not (field.is_relation and field.concrete and (field.many_to_one or field.one_to_one)):
            continue
        target = field.related_model
        if target is user_model:
            found.append(field.name)
        elif target is not None and target not in seen and target is not model:
            found += [f"{field.name}__{rest}"
                      for rest in lookups_to_user(target, depth + 1, (*seen, model))]
    return found


def rows_of(user_pk):
    """{model label: rows reaching the user} for every model that can reach it."""
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        for lookup in lookups_to_user(model):
            count = model._base_manager.filter(**{lookup: user_pk}).count()
            label = f"{model._meta.label} via {lookup}"
            counts[label] = count
    return counts


def files_under(root):
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def _account_with_everything(make_client, media_root, settings, email):
    from accounts.models import PlanRequest, User
    from accounts.services import issue_api_key
    from videos.models import VideoDetection, VideoJob

    settings.VISIONERA_KEEP_ENROLLED_IMAGES = True
    client = make_client("pro", email=email)
    client.user.set_password(PASSWORD)
    client.user.save()
    issue_api_key(user=client.user, name="second key")
    photo = fixture_path("faces/obama.jpg").read_bytes()
    collection = client.post(COLLECTIONS, {"name": "mine"}, format="json").json()
    enrolled = client.post(
        f"{COLLECTIONS}/{collection['id']}/faces",
        {"image": upload("obama.jpg", photo), "label": "obama"},
        format="multipart",
    )
    assert enrolled.status_code == 201
    video = Path(media_root) / "videos" / f"{email}.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    job = VideoJob.objects.create(owner=client.user, file_path=f"videos/{email}.mp4")
    VideoDetection.objects.create(job=job, timestamp_ms=0, kind="face", box={}, payload={})
    PlanRequest.objects.create(user=client.user, plan=client.user.plan, message="more")
    client.user.groups.create(name=f"group of {email}")  # an auto-created m2m row too
    assert isinstance(client.user, User)
    return client


def test_the_model_walk_sees_every_kind_of_data_an_account_owns():
    labels = {label.split(" via ")[0] for label in rows_of(0)}
    assert {
        "accounts.ApiKey", "accounts.UsageRecord", "accounts.PlanRequest", "faces.Collection",
        "faces.Face", "videos.VideoJob", "videos.VideoDetection",
    } <= labels
    if apps.is_installed("videos") and "WebhookSecret" in {m.__name__ for m in
                                                             apps.get_app_config("videos")
                                                             .get_models()}:
        assert "videos.WebhookSecret" in labels


def test_a_wrong_password_deletes_nothing(make_client, media_root, settings):
    client = _account_with_everything(make_client, media_root, settings, "keep@example.com")
    browser = Client()
    browser.force_login(client.user)
    assert browser.get("/dashboard/account/delete/").status_code == 200
    response = browser.post("/dashboard/account/delete/", {"password": "not it"})
    assert response.status_code == 400
    assert "nothing was deleted" in response.content.decode()
    assert get_user_model().objects.filter(pk=client.user.pk).exists()
    assert client.get(COLLECTIONS).json()["count"] == 1


def test_deleting_an_account_leaves_no_row_and_no_file(
    make_client, media_root, settings, django_capture_on_commit_callbacks
):
    client = _account_with_everything(make_client, media_root, settings, "gone@example.com")
    other = _account_with_everything(make_client, media_root, settings, "stays@example.com")
    user_pk, other_pk = client.user.pk, other.user.pk
    before = rows_of(user_pk)
    owned = {label for label, count in before.items() if count}
    for label in ("accounts.ApiKey", "accounts.UsageRecord", "accounts.PlanRequest",
                  "faces.Collection", "faces.Face", "videos.VideoJob",
                  "videos.VideoDetection"):
        assert any(o.startswith(label + " via") for o in owned), (label, before)
    other_before = rows_of(other_pk)
    assert len(files_under(media_root)) == 4  # a video and an enrolment photo per account

    browser = Client()
    browser.force_login(client.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/dashboard/account/delete/", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"

    assert not get_user_model().objects.filter(pk=user_pk).exists()
    after = rows_of(user_pk)
    assert {label: count for label, count in after.items() if count} == {}
    # The other account kept everything.
    assert rows_of(other_pk) == other_before
    assert other.get(COLLECTIONS).json()["count"] == 1
    remaining = files_under(media_root)
    assert len(remaining) == 2, remaining
    assert not any("gone@" in f.name for f in remaining)
    from faces.models import Face

    kept_photo = Face.objects.get(collection__owner_id=other_pk).image.path
    assert {str(f) for f in remaining} == {
        kept_photo, str(Path(media_root) / "videos" / "stays@example.com.mp4")}
    # Its keys are dead and its session is over.
    assert client.get(COLLECTIONS).status_code == 401
    assert browser.get("/dashboard/").status_code == 302
