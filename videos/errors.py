"""What the video services and selectors raise (visionera.errors.DomainError); the API maps
each to its catalogue code (visionera.api.errors.as_api_error)."""

from visionera.errors import DomainError


class VideoJobNotFound(DomainError):
    code = "not_found"
    default_message = "no such video job"


class CallbackUrlNotAllowed(DomainError):
    """videos.callback_urls refused the address (the message says why)."""

    code = "invalid_callback_url"
    default_message = "The callback_url is not allowed."


class TooManyTestEvents(DomainError):
    code = "rate_limited"
    default_message = "Too many test events; try again shortly."
    retry_after_seconds = 60  # the limit is per minute


class TooManyUnfinishedJobs(DomainError):
    """The account already has VISIONERA_MAX_UNFINISHED_VIDEO_JOBS queued or running."""

    code = "rate_limited"
    default_message = "Too many unfinished video jobs; wait for one to finish."
    # A slot frees when a job finishes, which no clock predicts: a minute, the longest
    # any rate-limit 429 asks a client to wait.
    retry_after_seconds = 60
