"""The operator's video bounds (settings) as the framework-free pipeline's VideoLimits: the
one place both the upload check (visionera.api.uploads) and the worker (videos.jobs) read
them."""

from django.conf import settings

from videos.pipeline import VideoLimits


def video_limits() -> VideoLimits:
    return VideoLimits(
        max_seconds=float(settings.VISIONERA_MAX_VIDEO_SECONDS),
        max_width=settings.VISIONERA_MAX_VIDEO_WIDTH,
        max_height=settings.VISIONERA_MAX_VIDEO_HEIGHT,
        max_fps=settings.VISIONERA_MAX_VIDEO_FPS,
        max_sampled_frames=settings.VISIONERA_VIDEO_MAX_SAMPLED_FRAMES,
    )
