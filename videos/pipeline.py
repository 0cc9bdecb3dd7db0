"""Video analysis: sample frames, run the requested engines, track and identify faces.

Framework-free (no Django): the worker (videos.services.run_job), bench/video.py and the
tests call :func:`analyze` with a path, options and callbacks. Persistence, heartbeats and
cancellation live behind the callbacks, so this module only decodes and sees.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faces.engine import DEFAULT_THRESHOLD, get_face_engine
from faces.index import DescriptorIndex
from videos.tracking import FaceTracker, TrackedFace
from visionera.detection import DEFAULT_MIN_CONFIDENCE, detect_objects
from visionera.geometry import Box

FEATURES = ("faces", "vehicles", "bodies")
KIND_BY_FEATURE = {"faces": "face", "vehicles": "vehicle", "bodies": "body"}
DETECTION_BATCH_SIZE = 500
VEHICLE_MIN_CONFIDENCE = 0.5
# Frames are not tiled: at 2 sampled frames a second a tiled 1080p frame would cost 13
# detector passes instead of one.
VIDEO_TILING = "off"


class VideoDecodeError(Exception):
    """The file cannot be opened or decoded as a video."""


class EngineUnavailable(Exception):
    """A requested feature's engine is not installed on this server."""


class JobCancelled(Exception):
    """Raised by a progress callback to stop the analysis between frames."""


@dataclass(frozen=True)
class Detection:
    timestamp_ms: int
    kind: str
    box: Box
    payload: dict


@dataclass
class Gallery:
    """A collection's descriptors, row ids being labels, for identifying faces."""

    index: DescriptorIndex
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def from_labelled_blobs(cls, labels: Sequence[str], blobs: Sequence[bytes]) -> Gallery:
        return cls(DescriptorIndex.from_rows(list(labels), blobs))

    def identify(self, descriptor: np.ndarray | None) -> tuple[str, float] | None:
        if descriptor is None or len(self.index) == 0:
            return None
        matches = self.index.search(descriptor, limit=1, threshold=self.threshold)
        if not matches:
            return None
        return str(self.index.ids[matches[0].row]), round(matches[0].distance, 4)


@dataclass
class VideoInfo:
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_seconds(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass
class AnalysisResult:
    summary: dict
    detections_written: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def probe(path: Path | str) -> VideoInfo:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoDecodeError("the video file cannot be opened")
        return VideoInfo(
            fps=float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
            frame_count=int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
        )
    finally:
        capture.release()


def sampled_frames(path: Path | str, sample_fps: float):
    """Yield (frame_index, timestamp_ms, rgb) for frames nearest each 1/sample_fps step.

    Skipped frames are only grabbed (demuxed and decoded into the codec's buffer, never
    converted), which is what makes sparse sampling cheap.
    """
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoDecodeError("the video file cannot be opened")
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        if fps <= 0:
            raise VideoDecodeError("the video declares no frame rate")
        step = max(1.0, fps / sample_fps)  # frames between samples
        next_sample = 0.0
        index = 0
        while capture.grab():
            if index >= next_sample - 1e-6:
                ok, bgr = capture.retrieve()
                if not ok or bgr is None:
                    raise VideoDecodeError(f"frame {index} could not be decoded")
                next_sample += step
                timestamp_ms = int(round(index * 1000.0 / fps))
                yield index, timestamp_ms, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()


def _vehicle_detector():
    try:
        from vehicles.engine import detect_vehicles
    except ImportError as exc:
        raise EngineUnavailable("vehicle detection is not available on this server") from exc
    return detect_vehicles


def _body_analyzer():
    try:
        from bodies.engine import analyze_bodies
    except ImportError as exc:
        raise EngineUnavailable("body analysis is not available on this server") from exc
    return analyze_bodies


def _without_box(item: dict) -> dict:
    # A detection's box is stored in its own columns; the payload holds the rest.
    return {key: value for key, value in item.items() if key != "box"}


def _round(value, digits=4):
    return round(float(value), digits)


def analyze(
    path: Path | str,
    *,
    features: Sequence[str] = FEATURES,
    sample_fps: float = 2.0,
    gallery: Gallery | None = None,
    on_detections: Callable[[list[Detection]], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    vehicle_min_confidence: float = VEHICLE_MIN_CONFIDENCE,
) -> AnalysisResult:
    """Analyse one video; returns the summary. Detections go to ``on_detections`` in batches.

    ``on_progress(percent)`` is called after every sampled frame with 0–99 (the caller
    reports 100 once results are stored); it may raise :class:`JobCancelled`.
    """
    unknown = set(features) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown features: {', '.join(sorted(unknown))}")
    if sample_fps <= 0:
        raise ValueError("sample_fps must be positive")
    info = probe(path)
    # Resolve engines before decoding anything, so a missing engine fails the job at once.
    face_engine = get_face_engine() if "faces" in features else None
    detect_vehicles = _vehicle_detector() if "vehicles" in features else None
    analyze_bodies = _body_analyzer() if "bodies" in features else None
    # Vehicles and bodies both asked for: one detector pass per frame serves both.
    shared_labels = None
    if detect_vehicles is not None and analyze_bodies is not None:
        from vehicles.engine import VEHICLE_TYPES

        shared_labels = (*VEHICLE_TYPES, "person")

    tracker = FaceTracker()
    counts = Counter({feature: 0 for feature in features})
    vehicle_types: Counter[str] = Counter()
    pending: list[Detection] = []
    written = 0
    frames_analysed = 0
    last_timestamp_ms = 0
    timings = Counter()
    expected_frames = max(1, info.frame_count)

    def flush():
        nonlocal pending, written
        if pending and on_detections is not None:
            on_detections(pending)
        written += len(pending)
        pending = []

    started = time.perf_counter()
    for index, timestamp_ms, rgb in sampled_frames(path, sample_fps):
        frames_analysed += 1
        last_timestamp_ms = timestamp_ms
        if face_engine is not None:
            tick = time.perf_counter()
            faces = face_engine.detect(rgb, descriptors=True)
            track_ids = tracker.update(
                timestamp_ms, [TrackedFace(face.box, face.descriptor) for face in faces]
            )
            for face, track_id in zip(faces, track_ids, strict=True):
                payload = {"track_id": track_id}
                match = gallery.identify(face.descriptor) if gallery is not None else None
                if match is not None:
                    payload["label"], payload["distance"] = match
                pending.append(Detection(timestamp_ms, "face", face.box, payload))
            counts["faces"] += len(faces)
            timings["faces"] += time.perf_counter() - tick
        objects = None
        if shared_labels is not None:
            tick = time.perf_counter()
            objects = detect_objects(
                rgb,
                min(vehicle_min_confidence, DEFAULT_MIN_CONFIDENCE),
                labels=shared_labels,
                tiling=VIDEO_TILING,
            )
            timings["objects"] += time.perf_counter() - tick
        if detect_vehicles is not None:
            tick = time.perf_counter()
            vehicles = detect_vehicles(
                rgb,
                min_confidence=vehicle_min_confidence,
                plates=False,
                tiling=VIDEO_TILING,
                detections=objects,
            )
            for vehicle in vehicles:
                vehicle_types[str(vehicle.type)] += 1
                payload = _without_box(vehicle.as_dict())
                pending.append(Detection(timestamp_ms, "vehicle", vehicle.box, payload))
            counts["vehicles"] += len(vehicles)
            timings["vehicles"] += time.perf_counter() - tick
        if analyze_bodies is not None:
            tick = time.perf_counter()
            people = analyze_bodies(rgb, tiling=VIDEO_TILING, detections=objects)
            for person in people:
                payload = _without_box(person.as_dict())
                pending.append(Detection(timestamp_ms, "body", person.box, payload))
            counts["bodies"] += len(people)
            timings["bodies"] += time.perf_counter() - tick
        if len(pending) >= DETECTION_BATCH_SIZE:
            flush()
        if on_progress is not None:
            on_progress(min(99, int(100 * (index + 1) / expected_frames)))
    flush()
    if frames_analysed == 0:
        raise VideoDecodeError("no frame of the video could be decoded")
    timings["total"] = time.perf_counter() - started

    duration = max(info.duration_seconds, last_timestamp_ms / 1000.0)
    summary = {
        "duration_seconds": _round(duration, 3),
        "video": {
            "width": info.width,
            "height": info.height,
            "fps": _round(info.fps, 3),
            "frame_count": info.frame_count,
        },
        "sample_fps": sample_fps,
        "frames_analysed": frames_analysed,
        "features": list(features),
        "counts": dict(counts),
    }
    if "vehicles" in features:
        summary["vehicle_types"] = dict(sorted(vehicle_types.items()))
    if face_engine is not None:
        summary["face_tracks"], summary["identified"] = _track_summaries(tracker, gallery)
    return AnalysisResult(summary=summary, detections_written=written, timings=dict(timings))


def _track_summaries(tracker: FaceTracker, gallery: Gallery | None) -> tuple[list, list]:
    """Tracks identified by their mean descriptor, and the labels seen across them."""
    tracks = []
    labels: dict[str, dict] = {}
    for track in tracker.tracks:
        entry = {
            "track_id": track.track_id,
            "first_ms": track.first_ms,
            "last_ms": track.last_ms,
            "detections": track.detections,
            "label": None,
            "distance": None,
        }
        match = gallery.identify(track.mean_descriptor()) if gallery is not None else None
        if match is not None:
            entry["label"], entry["distance"] = match
            seen = labels.setdefault(
                match[0],
                {
                    "label": match[0],
                    "distance": match[1],
                    "first_ms": track.first_ms,
                    "last_ms": track.last_ms,
                    "tracks": 0,
                    "detections": 0,
                },
            )
            seen["distance"] = min(seen["distance"], match[1])
            seen["first_ms"] = min(seen["first_ms"], track.first_ms)
            seen["last_ms"] = max(seen["last_ms"], track.last_ms)
            seen["tracks"] += 1
            seen["detections"] += track.detections
        tracks.append(entry)
    identified = sorted(labels.values(), key=lambda item: (-item["detections"], item["label"]))
    return tracks, identified


def realtime_factor(duration_seconds: float, wall_seconds: float) -> float:
    """Seconds of video analysed per second of wall time."""
    return duration_seconds / wall_seconds if wall_seconds > 0 else math.inf
