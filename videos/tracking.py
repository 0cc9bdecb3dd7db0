"""Link face detections across sampled frames into tracks (framework-free).

A face in a new frame joins the track it most plausibly continues: one whose last face
overlaps it (IoU) and does not look like someone else, or one whose face looks like the
same person (descriptor distance) even when the camera cut or the person moved. Each face
joins at most one track and each track takes at most one face per frame, assigned
greedily from the most to the least certain pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vision.geometry import Box

MIN_LINK_IOU = 0.3
"""Boxes overlapping this much in consecutive samples are one face unless the
descriptors disagree (a sample is ≥ 1/30 s apart; faces rarely jump further)."""

SAME_PERSON_DISTANCE = 0.5
"""Descriptor distance that links faces without any overlap: tighter than the 0.6
match threshold, because a wrong link merges two people's tracks."""

NEARBY_SAME_PERSON_DISTANCE = 0.6
"""A face whose centre moved less than a face width since the track's last sample joins
it at the usual 0.6 match threshold: on stage footage sampled at 2/s the same face moves
and turns enough between samples to drift to 0.55 from itself with IoU ≈ 0.2, and two
different people rarely swap into the same spot within half a second."""

NEARBY_CENTRE_SHIFT = 1.0
"""How far (in face widths) a face's centre may move between samples and still be near."""

DIFFERENT_PERSON_DISTANCE = 0.65
"""Overlapping boxes are not linked when their descriptors are further apart than this."""

MAX_GAP_MS = 2_000
"""A track not seen for this long is closed: a face returning later starts a new one."""


@dataclass
class FaceTrack:
    track_id: int
    first_ms: int
    last_ms: int
    last_box: Box
    detections: int = 0
    descriptors: list[np.ndarray] = field(default_factory=list)

    def mean_descriptor(self) -> np.ndarray | None:
        if not self.descriptors:
            return None
        return np.mean(np.stack(self.descriptors), axis=0).astype(np.float32)


@dataclass(frozen=True)
class TrackedFace:
    box: Box
    descriptor: np.ndarray | None


class FaceTracker:
    """Online tracker: feed each sampled frame's faces in time order with :meth:`update`."""

    def __init__(self, *, max_gap_ms: int = MAX_GAP_MS) -> None:
        self.max_gap_ms = max_gap_ms
        self.tracks: list[FaceTrack] = []

    def update(self, timestamp_ms: int, faces: list[TrackedFace]) -> list[int]:
        """Assign each face to a track (new or continued); returns their track ids in order."""
        open_tracks = [
            track for track in self.tracks if timestamp_ms - track.last_ms <= self.max_gap_ms
        ]
        candidates = []
        for face_index, face in enumerate(faces):
            for track in open_tracks:
                cost = _link_cost(track, face)
                if cost is not None:
                    candidates.append((cost, face_index, track.track_id))
        candidates.sort(key=lambda item: item[0])

        assigned: dict[int, FaceTrack] = {}
        taken_tracks: set[int] = set()
        by_id = {track.track_id: track for track in open_tracks}
        for _, face_index, track_id in candidates:
            if face_index in assigned or track_id in taken_tracks:
                continue
            assigned[face_index] = by_id[track_id]
            taken_tracks.add(track_id)

        track_ids = []
        for face_index, face in enumerate(faces):
            track = assigned.get(face_index)
            if track is None:
                track = FaceTrack(
                    track_id=len(self.tracks) + 1,
                    first_ms=timestamp_ms,
                    last_ms=timestamp_ms,
                    last_box=face.box,
                )
                self.tracks.append(track)
            track.last_ms = timestamp_ms
            track.last_box = face.box
            track.detections += 1
            if face.descriptor is not None:
                track.descriptors.append(np.asarray(face.descriptor, dtype=np.float32))
            track_ids.append(track.track_id)
        return track_ids


def _link_cost(track: FaceTrack, face: TrackedFace) -> float | None:
    """Lower is more certain; None when the face cannot continue the track."""
    overlap = track.last_box.iou(face.box)
    distance = None
    if face.descriptor is not None and track.descriptors:
        # The latest descriptors describe the face as it looks now (pose, light).
        recent = np.stack(track.descriptors[-3:])
        distance = float(np.min(np.linalg.norm(recent - face.descriptor, axis=1)))
    if distance is not None and distance <= SAME_PERSON_DISTANCE:
        return distance - overlap
    if distance is not None and distance <= NEARBY_SAME_PERSON_DISTANCE:
        if _centre_shift(track.last_box, face.box) <= NEARBY_CENTRE_SHIFT:
            return distance + 0.5 - overlap
    if overlap >= MIN_LINK_IOU and (distance is None or distance <= DIFFERENT_PERSON_DISTANCE):
        return (distance if distance is not None else SAME_PERSON_DISTANCE) + 1.0 - overlap
    return None


def _centre_shift(before: Box, after: Box) -> float:
    """Distance between the boxes' centres, in widths of the wider box."""
    dx = (after.x + after.width / 2) - (before.x + before.width / 2)
    dy = (after.y + after.height / 2) - (before.y + before.height / 2)
    return float(np.hypot(dx, dy)) / max(1, before.width, after.width)
