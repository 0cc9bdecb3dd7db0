"""Facial expression of one face crop: angry, disgust, fear, happy, sad, surprise or neutral.

Framework-free on purpose: the face attributes code, workers and tests import it
without Django.

The model is oarriaga's mini-Xception trained on FER2013 (about 66 % accuracy on its
test set; see models/LICENSES.md). FER2013 faces are tight, roughly frontal, grayscale
crops, so the crop should be the face box a frontal detector returns (dlib's HOG box or
similar: brow to chin, ear to ear), not a head-and-shoulders crop. Colour, size and
aspect ratio do not matter: the crop is converted to gray and stretched to 64x64.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.modelstore import load_onnx_session

MODEL_FILE = "emotion-mini-xception.onnx"
INPUT_SIZE = 64
# The model's output order (FER2013's label ids 0-6).
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def emotion_probabilities(face_crop_rgb: np.ndarray) -> dict[str, float]:
    """Probability of each label in EMOTIONS for an RGB (or gray) uint8 face crop."""
    gray = _to_gray(face_crop_rgb)
    height, width = gray.shape
    shrinking = height > INPUT_SIZE or width > INPUT_SIZE
    resized = cv2.resize(
        gray,
        (INPUT_SIZE, INPUT_SIZE),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    # The training pipeline's scaling: pixels / 255 mapped to [-1, 1].
    batch = ((resized.astype(np.float32) / 255.0 - 0.5) * 2.0)[np.newaxis, :, :, np.newaxis]
    session = load_onnx_session(MODEL_FILE)
    (probabilities,) = session.run(None, {"face_gray": batch})
    return {label: float(p) for label, p in zip(EMOTIONS, probabilities[0], strict=True)}


def classify_emotion(face_crop_rgb: np.ndarray) -> tuple[str, float]:
    """The most likely label in EMOTIONS and its probability in [0, 1]."""
    probabilities = emotion_probabilities(face_crop_rgb)
    label = max(probabilities, key=probabilities.__getitem__)
    return label, min(1.0, max(0.0, probabilities[label]))


def _to_gray(face_crop: np.ndarray) -> np.ndarray:
    if not isinstance(face_crop, np.ndarray) or face_crop.dtype != np.uint8:
        raise ValueError("face crop must be a uint8 numpy array (HxWx3 RGB)")
    if face_crop.ndim < 2 or face_crop.shape[0] < 1 or face_crop.shape[1] < 1:
        raise ValueError(f"face crop is empty (shape {face_crop.shape})")
    if face_crop.ndim == 2:
        return face_crop
    if face_crop.ndim == 3 and face_crop.shape[2] == 3:
        return cv2.cvtColor(face_crop, cv2.COLOR_RGB2GRAY)
    if face_crop.ndim == 3 and face_crop.shape[2] == 4:
        return cv2.cvtColor(face_crop, cv2.COLOR_RGBA2GRAY)
    raise ValueError(f"face crop must be HxWx3 RGB, got shape {face_crop.shape}")
