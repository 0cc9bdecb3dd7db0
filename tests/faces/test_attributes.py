"""Age, gender and emotion estimates on real faces, without Django."""

import importlib.util
import sys

import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage import data

from faces.attributes import AttributeUnavailable, estimate_attributes
from faces.engine import get_face_engine
from tests.helpers import fixture_path

EMOTION_INSTALLED = importlib.util.find_spec("faces.emotion") is not None


@pytest.fixture(scope="module")
def astronaut():
    image = data.astronaut()
    return image, get_face_engine().largest_face(image, descriptor=False)


def test_astronaut_is_an_adult_woman(astronaut):
    image, face = astronaut
    attributes = estimate_attributes(image, face, {"age", "gender"})
    assert set(attributes) == {"age", "gender"}
    # Eileen Collins was in her early forties in this NASA portrait.
    assert isinstance(attributes["age"], int) and 20 <= attributes["age"] <= 60
    assert attributes["gender"]["value"] == "female"
    assert 0.5 < attributes["gender"]["confidence"] <= 1.0


def test_only_the_attributes_asked_for_are_returned(astronaut):
    image, face = astronaut
    assert set(estimate_attributes(image, face, ["age"])) == {"age"}
    assert set(estimate_attributes(image, face, {"gender"})) == {"gender"}
    assert estimate_attributes(image, face, set()) == {}


def test_unknown_attributes_are_refused(astronaut):
    image, face = astronaut
    with pytest.raises(ValueError, match="beauty"):
        estimate_attributes(image, face, {"age", "beauty"})


def test_obama_is_a_man_of_plausible_age():
    with Image.open(fixture_path("faces/obama.jpg")) as photo:
        image = np.asarray(ImageOps.exif_transpose(photo).convert("RGB"))
    face = get_face_engine().largest_face(image, descriptor=False)
    attributes = estimate_attributes(image, face, {"age", "gender"})
    assert attributes["gender"]["value"] == "male"
    assert 30 <= attributes["age"] <= 65


def test_emotion_without_its_model_is_refused_not_invented(astronaut, monkeypatch):
    # As if faces/emotion.py were not shipped: None in sys.modules makes its import fail.
    monkeypatch.setitem(sys.modules, "faces.emotion", None)
    image, face = astronaut
    with pytest.raises(AttributeUnavailable) as raised:
        estimate_attributes(image, face, {"age", "emotion"})
    assert raised.value.attribute == "emotion"


@pytest.mark.skipif(not EMOTION_INSTALLED, reason="faces/emotion.py absent (model not shipped)")
def test_emotion_reads_the_astronauts_smile_from_our_face_box(astronaut):
    image, face = astronaut
    attributes = estimate_attributes(image, face, {"emotion", "gender"})
    assert set(attributes) == {"emotion", "gender"}
    assert attributes["emotion"]["value"] == "happy"
    assert 0.0 <= attributes["emotion"]["confidence"] <= 1.0
