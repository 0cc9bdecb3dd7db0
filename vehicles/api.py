"""Vehicle detection endpoint."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts import groups
from vehicles import services
from visionera.api.fields import ImageUploadField
from visionera.api.serializers import BoxSerializer
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

    class OutputSerializer(serializers.Serializer):
        vehicles = inline_serializer(
            "Vehicle",
            {
                "type": serializers.ChoiceField(
                    choices=["car", "truck", "bus", "motorcycle", "bicycle", "train", "boat"]
                ),
                "confidence": serializers.FloatField(),
                "box": BoxSerializer(),
                "plate": inline_serializer(
                    "Plate",
                    {
                        "text": serializers.CharField(),
                        "confidence": serializers.FloatField(),
                        "box": BoxSerializer(),
                    },
                    required=False,
                ),
            },
            many=True,
        )
        counts = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="vehicles_detect",
        summary="Detect vehicles (and read plates)", tags=["vehicles"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        return Response(
            services.detect_vehicles(
                image=data["image"],
                min_confidence=data.get("min_confidence"),
                plates=data["plates"],
            )
        )
