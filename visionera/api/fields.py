"""Serializer fields that run upload validation once, inside the input serializer."""

from dataclasses import dataclass

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from vision.detection import AUTO_TILING_MIN_SIDE, TILING_MODES
from vision.media import DecodedImage
from visionera.api.uploads import (
    check_image_header,
    decode_image,
    missing_file,
)


def field_label(field) -> str:
    return field.field_name or getattr(field.parent, "field_name", "") or "file"


def _plan_image_limits(plan) -> dict:
    """The upload checks' plan-dependent arguments, named in one place."""
    return {"max_bytes": plan.max_image_bytes, "plan_name": plan.name}


@extend_schema_field(OpenApiTypes.BINARY)
class ImageUploadField(serializers.Field):
    """A multipart image → vision.media.DecodedImage. Needs `plan` in the context."""

    def validate_empty_values(self, data):
        if data is empty or data is None or data == "":
            if self.required:
                raise missing_file(field_label(self))
            return True, None
        return False, data

    def to_internal_value(self, data):
        return decode_image(
            data, field=field_label(self), **_plan_image_limits(self.context["plan"])
        )

    def to_representation(self, value):
        return None


@dataclass(frozen=True)
class PendingImage:
    """An uploaded image validated for presence only; :meth:`decode` applies every rule.

    Lets a view decode several images one at a time, so only one image's pixels are ever
    in memory (the upload's bytes are already in a temporary file or a small buffer).
    """

    upload: object
    field: str
    plan: object
    memory_pixels: int
    """What decoding it is counted as (visionera.api.uploads.memory_pixels)."""
    reduce_to_side: int | None = None

    def decode(self) -> DecodedImage:
        return decode_image(
            self.upload,
            field=self.field,
            reduce_to_side=self.reduce_to_side,
            **_plan_image_limits(self.plan),
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
        counted = check_image_header(data, field=field_label(self), **_plan_image_limits(plan))
        return PendingImage(data, field_label(self), plan, counted, self.reduce_to_side)


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


# --- the options every object-detector endpoint takes (vehicles, bodies) ------------------


def min_confidence_field(*, weaker: str) -> serializers.FloatField:
    """`min_confidence`: drop results below it (each engine has its own default)."""
    return serializers.FloatField(
        required=False, min_value=0.0, max_value=1.0, help_text=f"Drop weaker {weaker}."
    )


def tiling_field(*, finds: str) -> serializers.ChoiceField:
    """`tiling`: one default and one explanation for every detector endpoint."""
    return serializers.ChoiceField(
        choices=TILING_MODES,
        required=False,
        default="auto",
        help_text="Also detect on overlapping full-resolution tiles, which finds small "
        f"{finds} in large photos (slower); auto does so for images at least "
        f"{AUTO_TILING_MIN_SIDE} px on their longer side.",
    )
