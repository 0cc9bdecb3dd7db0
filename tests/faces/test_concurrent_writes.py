"""Writes that race: a face deleted twice at once, a collection deleted during an enrolment.

Both were found by sending the requests from threads at once: two DELETEs of one face both
answered 204 and moved face_count twice (the collection then said 0 while listing 1, and
deleting that face failed the count's CHECK: a 500 every time); an enrolment into a
collection deleted meanwhile was a 500. Each test replays the race's losing side with the
stale object it held."""

import pytest

from faces import services
from faces.errors import CollectionNotFound, FaceNotFound
from faces.models import Collection, Face
from tests.helpers import enrolled_collection, fixture_rgb
from vision.media import DecodedImage

pytestmark = pytest.mark.django_db

TWO = (("obama", "faces/obama.jpg"), ("obama", "faces/obama2.jpg"))


def test_the_second_delete_of_one_face_is_not_found_and_counts_nothing(pro_client):
    collection = enrolled_collection(pro_client.user, labelled=TWO)
    face = Face.objects.filter(collection=collection).first()
    stale = Face.objects.get(pk=face.pk)  # what the losing request loaded
    services.delete_face(face=face)
    with pytest.raises(FaceNotFound):
        services.delete_face(face=stale)
    collection.refresh_from_db()
    assert collection.face_count == Face.objects.filter(collection=collection).count() == 1
    # The last face can still be deleted (it was a 500 once the count had gone wrong).
    services.delete_face(face=Face.objects.get(collection=collection))
    collection.refresh_from_db()
    assert collection.face_count == 0


def test_enrolling_into_a_collection_deleted_meanwhile_is_not_found(pro_client):
    collection = enrolled_collection(pro_client.user)
    Collection.objects.filter(pk=collection.pk).delete()  # the other request's DELETE
    image = DecodedImage(pixels=fixture_rgb("faces/obama2.jpg"), format="JPEG", byte_size=1,
                         filename="obama2.jpg")
    with pytest.raises(CollectionNotFound):
        services.enrol_face(collection=collection, image=image, label="late")
    assert not Face.objects.filter(label="late").exists()


def test_a_face_of_a_collection_deleted_meanwhile_is_not_found(pro_client):
    collection = enrolled_collection(pro_client.user)
    face = Face.objects.get(collection=collection)
    Collection.objects.filter(pk=collection.pk).delete()
    with pytest.raises((CollectionNotFound, FaceNotFound)):
        services.delete_face(face=face)
