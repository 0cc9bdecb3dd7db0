"""Body (people and pose) analysis endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from bodies import services
from bodies.serializers import PersonSerializer
from visionera.api.fields import ImageUploadField, min_confidence_field, tiling_field
from visionera.api.views import EndpointView


class BodyAnalyzeApi(EndpointView):
    endpoint_group = groups.ANALYZE
    upload_files = 1

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        min_confidence = min_confidence_field(weaker="people")
        tiling = tiling_field(finds="people")

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
