"""Serializer fields that run upload validation once, inside the input serializer."""

from dataclasses import dataclass

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from vision.media import StoredVideo
from visionera.api.errors import MissingFile
from visionera.api.uploads import (
    DecodedImage,
    check_image_header,
    check_video_upload,
    decode_image,
    store_video,
)


def _field_label(field) -> str:
    return field.field_name or getattr(field.parent, "field_name", "") or "file"


@extend_schema_field(OpenApiTypes.BINARY)
class ImageUploadField(serializers.Field):
    """A multipart image → visionera.api.uploads.DecodedImage. Needs `plan` in the context."""

    def validate_empty_values(self, data):
        if data is empty or data is None or data == "":
            if self.required:
                raise MissingFile(f"{_field_label(self)} is required: send it as a multipart file")
            return True, None
        return False, data

    def to_internal_value(self, data):
        plan = self.context["plan"]
        return decode_image(
            data, field=_field_label(self), max_bytes=plan.max_image_bytes, plan_name=plan.name
        )

    def to_representation(self, value):
        return None


@dataclass(frozen=True)
class PendingImage:
    """An uploaded image validated for presence only; :meth:`decode` applies every rule.

    Lets a view decode a batch one image at a time, so only one image's pixels are ever
    in memory (the upload's bytes are already in a temporary file or a small buffer).
    """

    upload: object
    field: str
    plan: object
    reduce_to_side: int | None = None

    def decode(self) -> DecodedImage:
        return decode_image(
            self.upload,
            field=self.field,
            max_bytes=self.plan.max_image_bytes,
            plan_name=self.plan.name,
            reduce_to_side=self.reduce_to_side,
        )


@extend_schema_field(OpenApiTypes.BINARY)
class DeferredImageUploadField(ImageUploadField):
    """A multipart image → :class:`PendingImage`, decoded later by the view's service.

    ``reduce_to_side``: the consumer needs no more than this many pixels on the longest
    side, so a JPEG twice as large may be decoded reduced (see decode_image).
    """

    def __init__(self, *, reduce_to_side: int | None = None, **kwargs):
        self.reduce_to_side = reduce_to_side
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        plan = self.context["plan"]
        # The header checks now, so a bad image is refused before any other is decoded.
        check_image_header(
            data, field=_field_label(self), max_bytes=plan.max_image_bytes, plan_name=plan.name
        )
        return PendingImage(data, _field_label(self), plan, self.reduce_to_side)


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
        check_video_upload(data, field=_field_label(self))
        return PendingVideo(data, _field_label(self))


class CommaListField(serializers.CharField):
    """`a,b,c` → a de-duplicated list of allowed words."""

    def __init__(self, *, choices, **kwargs):
        self.allowed = tuple(choices)
        kwargs.setdefault("help_text", f"Comma-separated, any of: {', '.join(self.allowed)}.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        words = [word.strip().lower() for word in text.split(",") if word.strip()]
        unknown = sorted(set(words) - set(self.allowed))
        if unknown:
            raise serializers.ValidationError(
                f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(self.allowed)}"
            )
        return list(dict.fromkeys(words))
