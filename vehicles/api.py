"""Vehicle detection endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from vehicles import services
from vehicles.serializers import VehicleSerializer
from visionera.api.fields import ImageUploadField, min_confidence_field, tiling_field
from visionera.api.views import EndpointView


class VehicleDetectApi(EndpointView):
    endpoint_group = groups.ANALYZE
    upload_files = 1

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        min_confidence = min_confidence_field(weaker="detections")
        plates = serializers.BooleanField(
            required=False, default=False, help_text="Read licence plates (slower)."
        )
        tiling = tiling_field(finds="vehicles")

    class OutputSerializer(serializers.Serializer):
        vehicles = VehicleSerializer(many=True)
        counts = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="vehicles_detect",
        summary="Detect vehicles (and read plates)", tags=["vehicles"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        result = services.detect_vehicles(
            image=data["image"],
            min_confidence=data.get("min_confidence"),
            plates=data["plates"],
            tiling=data["tiling"],
        )
        return self.render(self.OutputSerializer, result)
