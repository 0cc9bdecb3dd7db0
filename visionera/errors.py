"""Domain errors: what services and selectors raise when a request cannot be served.

They know nothing of HTTP. Each carries a `code` from the API's error catalogue
(visionera.api.errors), which maps it to a status and the envelope, so a service never
decides a status code and a worker or a management command can catch them too.
Apps subclass DomainError in their own `errors.py` (e.g. faces.errors.CollectionNotFound).
"""


class DomainError(Exception):
    code = "invalid_request"
    default_message = "The request is invalid."
    # Seconds after which asking again may succeed (a limit that frees up): the API sends
    # it as Retry-After, which every 429 carries (the contract).
    retry_after_seconds: int | None = None

    def __init__(self, message: str | None = None, *, extra: dict | None = None):
        self.message = message or self.default_message
        self.extra = extra or {}
        super().__init__(self.message)
