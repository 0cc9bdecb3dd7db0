"""What faces' services and selectors raise when a request cannot be served.

Domain errors, not HTTP ones: each names its `code` in the API's error catalogue
(visionera.api.errors.CATALOGUE), which decides the status and the envelope, so the
video worker and management commands can use faces' services and catch these too.
"""

from visionera.errors import DomainError


class CollectionNotFound(DomainError):
    code = "not_found"
    default_message = "No such collection in this account."


class FaceNotFound(DomainError):
    code = "not_found"
    default_message = "No such face in this collection."


class CollectionExists(DomainError):
    code = "already_exists"
    default_message = "A collection with this name exists already."


class InvalidCollectionName(DomainError):
    code = "invalid_request"
    default_message = "name: must not be blank"


class NoFaceDetected(DomainError):
    """A face was required (compare, enrol, search) and the detector found none."""

    code = "no_face_detected"
    default_message = "No face was detected."


class AttributeEstimationUnavailable(DomainError):
    """An attribute asked for (age, gender, emotion) has no model on this server.

    The service's form of faces.attributes.AttributeUnavailable, which the framework-free
    estimator raises.
    """

    code = "service_unavailable"
    default_message = "Face attribute estimation is unavailable."
