"""Vehicle detection endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from vehicles import services
from vehicles.serializers import VehicleSerializer
from vision.detection import AUTO_TILING_MIN_SIDE, TILING_MODES
from visionera.api.fields import ImageUploadField
from visionera.api.views import EndpointView


class VehicleDetectApi(EndpointView):
    endpoint_group = groups.ANALYZE
    upload_files = 1

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        min_confidence = serializers.FloatField(
            required=False, min_value=0.0, max_value=1.0, help_text="Drop weaker detections."
        )
        plates = serializers.BooleanField(
            required=False, default=False, help_text="Read licence plates (slower)."
        )
        tiling = serializers.ChoiceField(
            choices=TILING_MODES,
            required=False,
            default="auto",
            help_text="Also detect on overlapping full-resolution tiles, which finds small "
            f"vehicles in large photos (slower); auto does so for images at least "
            f"{AUTO_TILING_MIN_SIDE} px on their longer side.",
        )

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
