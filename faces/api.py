"""Face endpoints (thin: validate input, call a service, render output)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from visionera.api.errors import NotImplementedYet
from visionera.api.fields import CommaListField, ImageUploadField
from visionera.api.views import EndpointView


class _ImageView(EndpointView):
    upload_files = 1

    def validated(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context={"plan": self.plan})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class FaceCompareApi(_ImageView):
    endpoint_group = groups.COMPARE
    upload_files = 2

    class InputSerializer(serializers.Serializer):
        source = ImageUploadField()
        target = ImageUploadField()
        threshold = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)

    @extend_schema(
        request=InputSerializer, responses=OpenApiTypes.OBJECT, operation_id="faces_compare"
    )
    def post(self, request):
        self.validated(self.InputSerializer)
        raise NotImplementedYet()


class FaceDetectApi(_ImageView):
    endpoint_group = groups.COMPARE

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        attributes = CommaListField(choices=("age", "gender", "emotion"), required=False)

    @extend_schema(
        request=InputSerializer, responses=OpenApiTypes.OBJECT, operation_id="faces_detect"
    )
    def post(self, request):
        self.validated(self.InputSerializer)
        raise NotImplementedYet()


class FaceSearchApi(_ImageView):
    endpoint_group = groups.SEARCH

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        collection = serializers.CharField()
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=5)
        threshold = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)
        max_faces = serializers.IntegerField(required=False, min_value=1, max_value=20, default=1)

    @extend_schema(
        request=InputSerializer, responses=OpenApiTypes.OBJECT, operation_id="faces_search"
    )
    def post(self, request):
        self.validated(self.InputSerializer)
        raise NotImplementedYet()


class BatchMatchApi(_ImageView):
    endpoint_group = groups.BATCH

    class InputSerializer(serializers.Serializer):
        images = serializers.ListField(child=ImageUploadField(), min_length=2)
        threshold = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)

    def max_body_bytes(self):
        self.upload_files = max(2, self.plan.max_batch_images)
        return super().max_body_bytes()

    @extend_schema(
        request=InputSerializer, responses=OpenApiTypes.OBJECT, operation_id="faces_batch_match"
    )
    def post(self, request):
        self.validated(self.InputSerializer)
        raise NotImplementedYet()


class CollectionListApi(_ImageView):
    endpoint_group = groups.SEARCH
    upload_files = 0

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="faces_collections_list")
    def get(self, request):
        raise NotImplementedYet()

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="faces_collections_create")
    def post(self, request):
        raise NotImplementedYet()


class CollectionDetailApi(_ImageView):
    endpoint_group = groups.SEARCH
    upload_files = 0

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="faces_collections_retrieve")
    def get(self, request, collection_id):
        raise NotImplementedYet()

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="faces_collections_destroy")
    def delete(self, request, collection_id):
        raise NotImplementedYet()


class CollectionFacesApi(_ImageView):
    endpoint_group = groups.SEARCH

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        label = serializers.CharField(max_length=200)
        metadata = serializers.JSONField(required=False)

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="faces_collection_faces_list")
    def get(self, request, collection_id):
        raise NotImplementedYet()

    @extend_schema(
        request=InputSerializer,
        responses=OpenApiTypes.OBJECT,
        operation_id="faces_collection_faces_create",
    )
    def post(self, request, collection_id):
        self.validated(self.InputSerializer)
        raise NotImplementedYet()


class CollectionFaceDetailApi(_ImageView):
    endpoint_group = groups.SEARCH
    upload_files = 0

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="faces_collection_faces_destroy")
    def delete(self, request, collection_id, face_id):
        raise NotImplementedYet()
