"""Vehicle detection endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from vehicles import services
from visionera.api.fields import ImageUploadField
from visionera.api.serializers import BoxSerializer
from visionera.api.views import EndpointView


class PlateSerializer(serializers.Serializer):
    text = serializers.CharField()
    confidence = serializers.FloatField()
    box = BoxSerializer()


class VehicleSerializer(serializers.Serializer):
    # A new output field is one line here (the body holds only what this declares); an
    # optional one takes required=False and is left out when the service's dict lacks it.
    type = serializers.ChoiceField(
        choices=["car", "truck", "bus", "motorcycle", "bicycle", "train", "boat"]
    )
    confidence = serializers.FloatField()
    box = BoxSerializer()
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
            image=data["image"], min_confidence=data.get("min_confidence"), plates=data["plates"]
        )
        return self.render(self.OutputSerializer, result)
