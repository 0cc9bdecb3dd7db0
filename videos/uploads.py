"""Video uploads: the multipart field, storing the file and probing it before a job exists.

The generic checks (present, size, container sniffed from the first bytes) are the upload
layer's (visionera.api.uploads.check_video_upload); probing the stored file needs the
video pipeline and the operator's video limits, which belong to this app, so the upload
layer never imports videos.
"""

from __future__ import annotations

import errno
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from videos.limits import video_limits
from videos.pipeline import UnsupportedCodec, VideoDecodeError, VideoOutOfBounds, probe
from vision.media import StoredVideo
from visionera.api.errors import CorruptFile, FileTooLarge, InsufficientStorage, UnsupportedFormat
from visionera.api.fields import ImageUploadField, field_label
from visionera.api.uploads import check_video_upload, display_name


def _checked_video(path: Path, field: str):
    """Probe the stored file's headers (no frame decoded) and apply the video limits."""
    # The same probe and limits as the worker's (videos.jobs): one implementation.
    try:
        info = probe(path)
        video_limits().check(info)
    except VideoOutOfBounds as exc:
        message = f"{field} {str(exc).removeprefix('the video ')}"
        if exc.reason == "duration":
            raise FileTooLarge(message) from None
        raise UnsupportedFormat(message) from None
    except UnsupportedCodec:
        raise UnsupportedFormat(f"{field} is in a video codec that is not supported") from None
    except VideoDecodeError:
        raise CorruptFile(f"{field} has no readable video stream") from None
    if info.length_declared and info.frame_count <= 0:
        # A header saying "no frames" is an empty video; one saying nothing is a live
        # recording, bounded while decoding like any other.
        raise CorruptFile(f"{field} has no readable video stream")
    return info


def store_video(upload, *, field: str = "video", directory: str = "videos") -> StoredVideo:
    """Stream a video upload into MEDIA_ROOT and check it is a playable, bounded video."""
    container = check_video_upload(upload, field=field)
    size = int(upload.size)
    target_dir = Path(settings.MEDIA_ROOT) / directory
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{uuid.uuid4().hex}.{container}"
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks(chunk_size=1024 * 1024):
                out.write(chunk)
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the server has no room for this video") from None
        raise
    try:
        info = _checked_video(path, field)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return StoredVideo(
        path=path,
        container=container,
        byte_size=size,
        duration_seconds=info.duration_seconds,
        frame_count=info.frame_count,
        fps=info.fps,
        width=info.width,
        height=info.height,
        filename=display_name(upload),
    )


@dataclass(frozen=True)
class PendingVideo:
    """A video upload that passed the checks needing no disk write; :meth:`store` streams
    it to MEDIA_ROOT and probes it. Lets the service store it only once every other check
    passed, and own the file from then on (videos.services.submit_video)."""

    upload: object
    field: str

    def store(self) -> StoredVideo:
        return store_video(self.upload, field=self.field)


@extend_schema_field(OpenApiTypes.BINARY)
class VideoUploadField(ImageUploadField):
    """A multipart video → :class:`PendingVideo` (present, within the size, a known
    container); stored and probed later by the view's service."""

    def to_internal_value(self, data):
        check_video_upload(data, field=field_label(self))
        return PendingVideo(data, field_label(self))
