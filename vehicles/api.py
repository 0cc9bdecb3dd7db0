"""Vehicle detection endpoint."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from visionera.api.errors import NotImplementedYet
from visionera.api.fields import ImageUploadField
from visionera.api.views import EndpointView


class VehicleDetectApi(EndpointView):
    endpoint_group = groups.ANALYZE
    upload_files = 1

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        min_confidence = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
        plates = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=InputSerializer, responses=OpenApiTypes.OBJECT, operation_id="vehicles_detect"
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data, context={"plan": self.plan})
        serializer.is_valid(raise_exception=True)
        raise NotImplementedYet()
