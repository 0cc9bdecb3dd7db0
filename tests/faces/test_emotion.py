"""Emotion classifier on a packaged photo (skimage's astronaut, who is smiling)."""

import numpy as np
import pytest
import skimage.data

from faces.emotion import EMOTIONS, classify_emotion, emotion_probabilities


@pytest.fixture(scope="module")
def smiling_face() -> np.ndarray:
    """The astronaut's face box, as a frontal face detector would return it."""
    return skimage.data.astronaut()[50:165, 165:285]


def test_returns_a_known_label_and_a_probability(smiling_face):
    label, confidence = classify_emotion(smiling_face)
    assert label in EMOTIONS
    assert 0.0 <= confidence <= 1.0


def test_a_smile_reads_as_happy(smiling_face):
    assert classify_emotion(smiling_face)[0] == "happy"


def test_probabilities_cover_every_label_and_sum_to_one(smiling_face):
    probabilities = emotion_probabilities(smiling_face)
    assert list(probabilities) == list(EMOTIONS)
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_gray_and_rgb_crops_agree(smiling_face):
    gray = (smiling_face @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)
    assert classify_emotion(gray)[0] == classify_emotion(smiling_face)[0]


def test_rejects_empty_or_non_image_crops():
    with pytest.raises(ValueError):
        classify_emotion(np.zeros((0, 10, 3), dtype=np.uint8))
    with pytest.raises(ValueError):
        classify_emotion(np.zeros((10, 10, 3), dtype=np.float64))
