"""Vehicle detection endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from vehicles import services
from vehicles.engine import COLOURS
from vision.detection import AUTO_TILING_MIN_SIDE, TILING_MODES
from visionera.api.fields import ImageUploadField
from visionera.api.serializers import BoxSerializer
from visionera.api.views import EndpointView


class PlateSerializer(serializers.Serializer):
    text = serializers.CharField()
    confidence = serializers.FloatField()
    box = BoxSerializer()


class VehicleColourSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(COLOURS))
    confidence = serializers.FloatField()


class VehicleSerializer(serializers.Serializer):
    # A new output field is one line here (the body holds only what this declares); an
    # optional one takes required=False and is left out when the service's dict lacks it.
    type = serializers.ChoiceField(
        choices=["car", "truck", "bus", "motorcycle", "bicycle", "train", "boat"]
    )
    confidence = serializers.FloatField()
    box = BoxSerializer()
    colour = VehicleColourSerializer(
        required=False, help_text="Cars, trucks, buses and trains: the dominant body colour."
    )
    plate = PlateSerializer(required=False, help_text="Only with plates=true, where one was read.")


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
