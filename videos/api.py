"""Asynchronous video analysis endpoints."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import groups
from visionera.api.errors import NotImplementedYet
from visionera.api.fields import CommaListField, VideoUploadField
from visionera.api.views import EndpointView, video_body_limit


class VideoAnalyzeApi(EndpointView):
    endpoint_group = groups.VIDEO
    upload_files = 1

    class InputSerializer(serializers.Serializer):
        video = VideoUploadField()
        features = CommaListField(choices=("faces", "vehicles", "bodies"), required=False)
        sample_fps = serializers.FloatField(required=False, min_value=0.1, max_value=30, default=2)
        collection = serializers.CharField(required=False)
        callback_url = serializers.URLField(required=False)

    def max_body_bytes(self):
        return video_body_limit()

    @extend_schema(
        request=InputSerializer, responses=OpenApiTypes.OBJECT, operation_id="videos_analyze"
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data, context={"plan": self.plan})
        serializer.is_valid(raise_exception=True)
        raise NotImplementedYet()


class VideoJobListApi(EndpointView):
    endpoint_group = groups.VIDEO_STATUS

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="videos_list")
    def get(self, request):
        raise NotImplementedYet()


class VideoJobDetailApi(EndpointView):
    endpoint_group = groups.VIDEO_STATUS

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="videos_retrieve")
    def get(self, request, job_id):
        raise NotImplementedYet()

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="videos_destroy")
    def delete(self, request, job_id):
        raise NotImplementedYet()


class VideoJobResultsApi(EndpointView):
    endpoint_group = groups.VIDEO_STATUS

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="videos_results")
    def get(self, request, job_id):
        raise NotImplementedYet()
