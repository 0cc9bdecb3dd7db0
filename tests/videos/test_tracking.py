"""Face tracks across sampled frames (framework-free)."""

import numpy as np

from videos.tracking import FaceTracker, TrackedFace
from vision.geometry import Box


def descriptor(seed: int, jitter: float = 0.0, jitter_seed: int = 99) -> np.ndarray:
    base = np.random.default_rng(seed).normal(0, 0.09, 128).astype(np.float32)
    if jitter:
        base += np.random.default_rng(jitter_seed).normal(0, jitter, 128).astype(np.float32)
    return base


def test_overlapping_boxes_of_the_same_face_form_one_track():
    tracker = FaceTracker()
    ids = [
        tracker.update(t, [TrackedFace(Box(100 + t // 100, 50, 80, 80), descriptor(1, 0.01, t))])
        for t in (0, 500, 1000, 1500)
    ]
    assert ids == [[1], [1], [1], [1]]
    track = tracker.tracks[0]
    assert (track.first_ms, track.last_ms, track.detections) == (0, 1500, 4)
    assert track.mean_descriptor().shape == (128,)


def test_two_people_in_one_frame_keep_their_own_tracks_when_they_move():
    tracker = FaceTracker()
    assert tracker.update(0, [
        TrackedFace(Box(0, 0, 60, 60), descriptor(1)),
        TrackedFace(Box(300, 0, 60, 60), descriptor(2)),
    ]) == [1, 2]
    # They swapped places: descriptors, not boxes, decide.
    assert tracker.update(500, [
        TrackedFace(Box(300, 0, 60, 60), descriptor(1, 0.01)),
        TrackedFace(Box(0, 0, 60, 60), descriptor(2, 0.01)),
    ]) == [1, 2]


def test_a_different_face_in_the_same_place_starts_a_new_track():
    tracker = FaceTracker()
    tracker.update(0, [TrackedFace(Box(0, 0, 60, 60), descriptor(1))])
    assert tracker.update(500, [TrackedFace(Box(0, 0, 60, 60), descriptor(7))]) == [2]


def test_a_face_back_after_a_long_gap_starts_a_new_track():
    tracker = FaceTracker(max_gap_ms=2000)
    tracker.update(0, [TrackedFace(Box(0, 0, 60, 60), descriptor(1))])
    assert tracker.update(5000, [TrackedFace(Box(0, 0, 60, 60), descriptor(1))]) == [2]


def test_faces_without_descriptors_link_by_overlap_only():
    tracker = FaceTracker()
    tracker.update(0, [TrackedFace(Box(0, 0, 60, 60), None)])
    assert tracker.update(500, [TrackedFace(Box(5, 0, 60, 60), None)]) == [1]
    assert tracker.update(1000, [TrackedFace(Box(400, 0, 60, 60), None)]) == [2]


def test_a_nearby_face_links_at_the_match_threshold_but_a_distant_one_does_not():
    first = descriptor(1)
    drifted = first + (0.55 / np.sqrt(128))  # exactly 0.55 away: beyond SAME_PERSON_DISTANCE
    tracker = FaceTracker()
    tracker.update(0, [TrackedFace(Box(100, 100, 90, 90), first)])
    # Moved half a face width, IoU < 0.3, descriptor 0.55 away: still the same person.
    assert tracker.update(500, [TrackedFace(Box(150, 120, 90, 90), drifted)]) == [1]
    # Across the frame, as far (0.55) from the track's faces: someone else.
    elsewhere = first - (0.55 / np.sqrt(128))
    assert tracker.update(1000, [TrackedFace(Box(600, 100, 90, 90), elsewhere)]) == [2]
