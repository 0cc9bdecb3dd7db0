"""Video analysis: sample frames, run the requested engines, track and identify faces.

Framework-free (no Django): the worker (videos.jobs.run_job), bench/video.py and the
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

import av
import numpy as np

from faces.engine import DEFAULT_THRESHOLD, get_face_engine
from faces.index import DescriptorIndex
from videos.tracking import FaceTracker, TrackedFace
from vision import rounding
from vision.detection import DEFAULT_MIN_CONFIDENCE, detect_objects
from vision.geometry import Box

FEATURES = ("faces", "vehicles", "bodies")
# The kind of each feature's findings (videos.models.VideoDetection.Kind stores the same).
FACE_KIND, VEHICLE_KIND, BODY_KIND = "face", "vehicle", "body"
KIND_BY_FEATURE = {"faces": FACE_KIND, "vehicles": VEHICLE_KIND, "bodies": BODY_KIND}
DETECTION_BATCH_SIZE = 500
VEHICLE_MIN_CONFIDENCE = 0.5
# Frames are not tiled: at 2 sampled frames a second a tiled 1080p frame would cost 13
# detector passes instead of one.
VIDEO_TILING = "off"


class VideoDecodeError(Exception):
    """The file cannot be opened or decoded as a video."""


class UnsupportedCodec(VideoDecodeError):
    """The container is readable but FFmpeg has no decoder for its video codec."""


class EngineUnavailable(Exception):
    """A requested feature's engine is not installed on this server."""


class JobCancelled(Exception):
    """Raised by a progress callback to stop the analysis between frames."""


@dataclass(frozen=True)
class FrameFinding:
    """One thing seen in one sampled frame: its ``kind`` (face, vehicle or body), its box
    and the kind's own fields (``payload``, already rounded by the engine's ``as_dict``)."""

    timestamp_ms: int
    kind: str
    box: Box
    payload: dict

    def as_dict(self) -> dict:
        """The results API's item: the common fields beside the kind's own."""
        return {
            "timestamp_ms": self.timestamp_ms,
            "kind": self.kind,
            "box": self.box.as_dict(),
            **self.payload,
        }


@dataclass
class LabelGallery:
    """A collection's descriptors keyed by label, for naming a video's faces and face tracks.

    Only labels and descriptors: the API's 1:N search (faces.selectors) has its own
    gallery with face ids and metadata."""

    index: DescriptorIndex
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def from_labelled_blobs(cls, labels: Sequence[str], blobs: Sequence[bytes]) -> LabelGallery:
        return cls(DescriptorIndex.from_rows(list(labels), blobs))

    def identify(self, descriptor: np.ndarray | None) -> tuple[str, float] | None:
        if descriptor is None or len(self.index) == 0:
            return None
        matches = self.index.search(descriptor, limit=1, threshold=self.threshold)
        if not matches:
            return None
        return str(self.index.ids[matches[0].row]), rounding.score(matches[0].distance)


@dataclass(frozen=True)
class VideoInfo:
    """What the container's headers say; nothing here comes from a decoded frame."""

    fps: float
    frame_count: int
    width: int
    height: int
    duration_seconds: float
    codec: str = ""
    # False when the container gives no length at all (a live WebM, as browsers'
    # MediaRecorder writes it): duration and frame count are then 0 for "unknown", not
    # "empty", and the length limit is enforced while decoding.
    length_declared: bool = True


class VideoOutOfBounds(VideoDecodeError):
    """The video is readable but beyond a limit; ``reason`` says which."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason  # "resolution", "frame_rate" or "duration"


@dataclass(frozen=True)
class VideoLimits:
    """Bounds on one video's cost, checked from the headers and enforced while decoding.

    The headers are only believed to refuse early: decoding stops at ``max_seconds`` of
    frame timestamps or ``max_frames`` frames whatever they claimed, the decoder refuses
    frames of more than ``max_width`` × ``max_height`` pixels, and no more than
    ``max_sampled_frames`` frames are analysed.
    """

    max_seconds: float = 600.0
    max_width: int = 4096
    max_height: int = 2160
    max_fps: float = 240.0
    max_sampled_frames: int = 3600

    @property
    def max_pixels(self) -> int:
        return self.max_width * self.max_height

    def max_frames(self, fps: float) -> int:
        return math.ceil(self.max_seconds * min(fps, self.max_fps)) + 1

    def fits(self, width: int, height: int) -> bool:
        """Either orientation: a portrait 2160×4096 phone video fits 4096×2160."""
        return max(width, height) <= max(self.max_width, self.max_height) and min(
            width, height
        ) <= min(self.max_width, self.max_height)

    def check(self, info: VideoInfo) -> None:
        if not self.fits(info.width, info.height):
            raise VideoOutOfBounds(
                f"the video is {info.width}×{info.height} px; at most {self.max_width}×"
                f"{self.max_height} (either orientation) is supported",
                reason="resolution",
            )
        if info.fps > self.max_fps:
            raise VideoOutOfBounds(
                f"the video declares {info.fps:.0f} frames per second; at most"
                f" {self.max_fps:.0f} is supported",
                reason="frame_rate",
            )
        if info.duration_seconds > self.max_seconds:
            raise VideoOutOfBounds(
                f"the video lasts {info.duration_seconds:.0f} s; at most"
                f" {self.max_seconds:.0f} s is accepted",
                reason="duration",
            )


@dataclass
class AnalysisResult:
    summary: dict
    detections_written: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _open(path: Path | str, **options) -> av.container.InputContainer:
    try:
        return av.open(str(path), options=options)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoDecodeError("the video file cannot be opened") from exc


def probe(path: Path | str) -> VideoInfo:
    """Read size, frame rate, frame count and duration from the container's headers.

    PyAV, not OpenCV: OpenCV has to decode a frame to open a file (opening a 1.8 MB
    12000×12000 MJPEG AVI grew the process by 1.08 GB), and even ffmpeg's stream probing
    decodes frames of some codecs (H.264, to guess its delay); with ``skip_frame=all`` the
    decoders only parse, so nothing here allocates a picture.
    """
    with _open(path, skip_frame="all") as container:
        if not container.streams.video:
            raise VideoDecodeError("the file has no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            # PyAV gives no codec context for a codec (an AVI fourcc, say) FFmpeg cannot
            # decode: the file is well formed, its video is in a format we do not support.
            raise UnsupportedCodec("the video's codec is not supported")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not math.isfinite(fps) or fps <= 0:
            raise VideoDecodeError("the video declares no frame rate")
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        length_declared = (
            stream.duration is not None or container.duration is not None or bool(stream.frames)
        )
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise VideoDecodeError("the video stream declares no frame size")
        return VideoInfo(
            fps=fps,
            frame_count=int(stream.frames or round(duration * fps)),
            width=int(width),
            height=int(height),
            duration_seconds=max(0.0, duration),
            codec=stream.codec_context.name or "",
            length_declared=length_declared,
        )


# Decoding that ends this much short of the declared length means the file was cut (an
# upload or a copy stopped early: a faststart MP4's header still promises every frame).
# The slack covers an honest file's last frame and a container's rounding.
EARLY_END_MIN_SECONDS = 1.0
EARLY_END_FRACTION = 0.05
# Frame times are floats from integer timestamps: 0.49999999 s is the 0.5 s sample.
SAMPLE_TIME_SLACK = 1e-6


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Counter-clockwise quarter turns (0–3, as np.rot90 counts them) that show the frame as
    a player does. A phone films portrait into landscape-stored frames and says so in the
    display matrix, whose rotation PyAV reports as ``frame.rotation``: faces lying on
    their side are not found, and boxes must be in the pixels people see."""
    return round((frame.rotation or 0) / 90) % 4


class _FrameClock:
    """Seconds from the first frame, by the frames' own presentation times: never negative
    and never backwards. A frame whose time falls behind the previous one (a muxer's bad
    first timestamp, files joined end to end) continues the timeline one frame later, and
    the frames after it keep their own spacing from there."""

    def __init__(self, fps: float) -> None:
        self.frame_seconds = 1.0 / fps
        self.origin: float | None = None  # the file's time of second 0
        self.last: float | None = None

    def seconds(self, frame: av.VideoFrame, index: int) -> float:
        if frame.time is None:
            seconds = index * self.frame_seconds
        else:
            if self.origin is None:  # the first frame with a timestamp
                self.origin = frame.time - index * self.frame_seconds
            seconds = frame.time - self.origin
        if self.last is not None and seconds < self.last:
            seconds = self.last + self.frame_seconds
            if frame.time is not None:
                self.origin = frame.time - seconds
        self.last = seconds
        return seconds


class FrameSampler:
    """Yields (frame_index, timestamp_ms, rgb): the first frame at or after each multiple
    of 1/sample_fps seconds of presentation time.

    By time, not by frame index: a variable-frame-rate video (a phone slowing to 1 frame a
    second in the dark, a screen recording) has no fixed number of frames per second, and
    counting indexes at the header's average rate skipped whole seconds of it.
    Every frame is decoded (codecs need them) but only sampled ones are converted to RGB.
    Decoding stops at the limits whatever the headers said: a frame timestamp past
    ``max_seconds``, more than ``max_frames`` frames, or ``max_sampled_frames`` samples;
    ``truncated`` then says frames were left (also when the rest could not be decoded, or
    the file ended clearly short of its declared length), and ``decoded_seconds`` how far
    it got.
    Timestamps are the frames' own (presentation time from the first frame), never
    negative or backwards (:class:`_FrameClock`). Frames are
    turned upright by their display matrix; ``displayed_size`` is then (width, height) as
    shown, once a frame was decoded.
    """

    def __init__(
        self,
        path: Path | str,
        sample_fps: float,
        *,
        limits: VideoLimits | None = None,
        info: VideoInfo | None = None,
    ) -> None:
        self.path = path
        self.limits = limits or VideoLimits()
        self.info = info or probe(path)
        self.max_frames = self.limits.max_frames(self.info.fps)
        # Spread the sample budget over the whole (declared) video rather than spending it
        # on its beginning; the hard stop below still holds if the header lied.
        requested = 1.0 / sample_fps
        self.interval = max(requested, self._declared_seconds() / self.limits.max_sampled_frames)
        # What was really sampled: the request, unless the budget widened the interval.
        self.sample_fps = sample_fps if self.interval == requested else 1.0 / self.interval
        self.truncated = False
        self.decoded_seconds = 0.0
        self.displayed_size: tuple[int, int] | None = None

    def __iter__(self):
        limits = self.limits
        fps = self.info.fps
        with _open(self.path) as container:
            if not container.streams.video:
                raise VideoDecodeError("the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            # The decoder itself refuses bigger pictures, whatever the headers claimed.
            stream.codec_context.options = {"max_pixels": str(limits.max_pixels)}
            frames = container.decode(stream)
            next_sample = 0.0
            samples = 0
            clock = _FrameClock(fps)
            index = 0
            while True:
                try:
                    frame = next(frames)
                except StopIteration:
                    self.truncated = self._ended_early()
                    return
                except av.FFmpegError as exc:
                    if index == 0:
                        raise VideoDecodeError(
                            f"the video cannot be decoded ({type(exc).__name__})"
                        ) from exc
                    # A damaged tail, or a later frame the decoder refused (over max_pixels):
                    # what was decoded stands, and the summary says the rest was not seen.
                    self.truncated = True
                    return
                seconds = clock.seconds(frame, index)
                if seconds > limits.max_seconds or index >= self.max_frames:
                    self.truncated = True
                    return
                if not limits.fits(frame.width, frame.height):
                    raise VideoOutOfBounds(
                        f"a frame is {frame.width}×{frame.height} px; at most"
                        f" {limits.max_width}×{limits.max_height} is supported",
                        reason="resolution",
                    )
                self.decoded_seconds = max(self.decoded_seconds, seconds)
                turns = _quarter_turns(frame)
                if self.displayed_size is None:
                    size = (frame.width, frame.height)
                    self.displayed_size = size[::-1] if turns % 2 else size
                if seconds >= next_sample - SAMPLE_TIME_SLACK:
                    if samples >= limits.max_sampled_frames:
                        self.truncated = True
                        return
                    # The next multiple of the interval after this frame: after a long
                    # frame the samples resume on the grid rather than catching up in a burst.
                    passed = math.floor(seconds / self.interval + SAMPLE_TIME_SLACK)
                    next_sample = (passed + 1) * self.interval
                    samples += 1
                    rgb = frame.to_ndarray(format="rgb24")
                    if turns:
                        rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
                    yield index, int(round(seconds * 1000.0)), rgb
                index += 1


    def _declared_seconds(self) -> float:
        """The length the headers declare, within the limit; the limit when they say none."""
        info = self.info
        declared = info.duration_seconds or info.frame_count / info.fps
        return min(declared or self.limits.max_seconds, self.limits.max_seconds)

    def _ended_early(self) -> bool:
        """The stream ended (no error) clearly before the length its header declared."""
        if not (self.info.duration_seconds or self.info.frame_count):
            return False  # a length nobody declared cannot be fallen short of
        declared = self._declared_seconds()
        seen = self.decoded_seconds + 1.0 / self.info.fps  # the last frame lasts a frame
        return declared - seen > max(EARLY_END_MIN_SECONDS, EARLY_END_FRACTION * declared)


def sampled_frames(
    path: Path | str, sample_fps: float, *, limits: VideoLimits | None = None
) -> FrameSampler:
    return FrameSampler(path, sample_fps, limits=limits)


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


def analyze(
    path: Path | str,
    *,
    features: Sequence[str] = FEATURES,
    sample_fps: float = 2.0,
    gallery: LabelGallery | None = None,
    on_detections: Callable[[list[FrameFinding]], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    vehicle_min_confidence: float = VEHICLE_MIN_CONFIDENCE,
    limits: VideoLimits | None = None,
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
    limits = limits or VideoLimits()
    info = probe(path)
    limits.check(info)
    sampler = FrameSampler(path, sample_fps, limits=limits, info=info)
    # Resolve engines before decoding anything, so a missing engine fails the job at once.
    face_engine = get_face_engine() if "faces" in features else None
    detect_vehicles = _vehicle_detector() if "vehicles" in features else None
    analyze_bodies = _body_analyzer() if "bodies" in features else None
    # Vehicles and bodies both asked for: one detector pass per frame serves both.
    shared_labels = None
    if detect_vehicles is not None and analyze_bodies is not None:
        from bodies.engine import PERSON_LABEL
        from vehicles.engine import VEHICLE_TYPES

        shared_labels = (*VEHICLE_TYPES, PERSON_LABEL)

    tracker = FaceTracker()
    counts = Counter({feature: 0 for feature in features})
    vehicle_types: Counter[str] = Counter()
    pending: list[FrameFinding] = []
    written = 0
    frames_analysed = 0
    last_timestamp_ms = 0
    timings = Counter()
    expected_frames = max(1, min(info.frame_count, sampler.max_frames))

    def flush():
        nonlocal pending, written
        if pending and on_detections is not None:
            on_detections(pending)
        written += len(pending)
        pending = []

    started = time.perf_counter()
    for index, timestamp_ms, rgb in sampler:
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
                pending.append(FrameFinding(timestamp_ms, FACE_KIND, face.box, payload))
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
                pending.append(FrameFinding(timestamp_ms, VEHICLE_KIND, vehicle.box, payload))
            counts["vehicles"] += len(vehicles)
            timings["vehicles"] += time.perf_counter() - tick
        if analyze_bodies is not None:
            tick = time.perf_counter()
            people = analyze_bodies(rgb, tiling=VIDEO_TILING, detections=objects)
            for person in people:
                payload = _without_box(person.as_dict())
                pending.append(FrameFinding(timestamp_ms, BODY_KIND, person.box, payload))
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

    duration = max(info.duration_seconds, sampler.decoded_seconds, last_timestamp_ms / 1000.0)
    # As shown (a portrait phone video is portrait here), like the boxes.
    width, height = sampler.displayed_size or (info.width, info.height)
    summary = {
        "duration_seconds": rounding.seconds(duration),
        # Cut at a limit (a header that lied about the length, or the sample budget), or
        # a file that ends short of its declared length: only analysed_seconds were seen.
        "truncated": sampler.truncated,
        "analysed_seconds": rounding.seconds(sampler.decoded_seconds),
        "video": {
            "width": width,
            "height": height,
            "fps": rounding.frame_rate(info.fps),
            "frame_count": info.frame_count,
        },
        "sample_fps": rounding.frame_rate(sampler.sample_fps),
        "frames_analysed": frames_analysed,
        "features": list(features),
        "counts": dict(counts),
    }
    if "vehicles" in features:
        summary["vehicle_types"] = dict(sorted(vehicle_types.items()))
    if face_engine is not None:
        summary["face_tracks"], summary["identified"] = _track_summaries(tracker, gallery)
    return AnalysisResult(summary=summary, detections_written=written, timings=dict(timings))


def _track_summaries(tracker: FaceTracker, gallery: LabelGallery | None) -> tuple[list, list]:
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
