"""Body (people and pose) analysis endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from bodies import services
from bodies.serializers import PersonSerializer
from vision.detection import AUTO_TILING_MIN_SIDE, TILING_MODES
from visionera.api.fields import ImageUploadField
from visionera.api.views import EndpointView


class BodyAnalyzeApi(EndpointView):
    endpoint_group = groups.ANALYZE
    upload_files = 1

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        min_confidence = serializers.FloatField(
            required=False, min_value=0.0, max_value=1.0, help_text="Drop weaker people."
        )
        tiling = serializers.ChoiceField(
            choices=TILING_MODES,
            required=False,
            default="auto",
            help_text="Also detect on overlapping full-resolution tiles, which finds small "
            f"people in large photos (slower); auto does so for images at least "
            f"{AUTO_TILING_MIN_SIDE} px on their longer side.",
        )

    class OutputSerializer(serializers.Serializer):
        people = PersonSerializer(many=True)
        count = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="body_analyze",
        summary="Find people and their 17 COCO keypoints", tags=["body"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        result = services.analyze_bodies(
            image=data["image"], min_confidence=data.get("min_confidence"), tiling=data["tiling"]
        )
        return self.render(self.OutputSerializer, result)
