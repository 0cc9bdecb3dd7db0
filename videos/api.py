"""Asynchronous video analysis endpoints (thin: validate, call a service, render)."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import groups
from videos import selectors, services
from videos.models import VideoDetection
from videos.pipeline import FEATURES
from visionera.api.fields import CommaListField, VideoUploadField
from visionera.api.pagination import PageNumberPagination
from visionera.api.serializers import BoxSerializer
from visionera.api.uploads import remove_file
from visionera.api.views import EndpointView, video_body_limit
from visionera.worker import embedded_worker


class _StoredVideoField(VideoUploadField):
    """Remembers every file it stored, so the view can delete them if the request fails."""

    def to_internal_value(self, data):
        stored = super().to_internal_value(data)
        self.context.setdefault("stored_videos", []).append(stored)
        return stored


class FaceTrackSerializer(serializers.Serializer):
    track_id = serializers.IntegerField()
    first_ms = serializers.IntegerField()
    last_ms = serializers.IntegerField()
    detections = serializers.IntegerField()
    label = serializers.CharField(allow_null=True, help_text="Best collection label, if any.")
    distance = serializers.FloatField(allow_null=True, help_text="Its descriptor distance.")


class IdentifiedLabelSerializer(serializers.Serializer):
    label = serializers.CharField()
    distance = serializers.FloatField(help_text="Smallest distance of its tracks.")
    first_ms = serializers.IntegerField()
    last_ms = serializers.IntegerField()
    tracks = serializers.IntegerField()
    detections = serializers.IntegerField()


class VideoInfoSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    fps = serializers.FloatField()
    frame_count = serializers.IntegerField()


class WebhookDeliverySerializer(serializers.Serializer):
    delivered = serializers.BooleanField()
    attempts = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class FeatureCountsSerializer(serializers.Serializer):
    faces = serializers.IntegerField(required=False)
    vehicles = serializers.IntegerField(required=False)
    bodies = serializers.IntegerField(required=False)


class VideoSummarySerializer(serializers.Serializer):
    duration_seconds = serializers.FloatField()
    truncated = serializers.BooleanField(
        required=False,
        help_text="True when analysis stopped at a limit (the length, whatever the file's"
        " header claimed, or the sampled-frame budget); only analysed_seconds were seen.",
    )
    analysed_seconds = serializers.FloatField(required=False)
    video = VideoInfoSerializer()
    sample_fps = serializers.FloatField()
    frames_analysed = serializers.IntegerField()
    features = serializers.ListField(child=serializers.ChoiceField(choices=FEATURES))
    counts = FeatureCountsSerializer(help_text="Detections per requested feature.")
    vehicle_types = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="Vehicle detections by type."
    )
    face_tracks = FaceTrackSerializer(many=True, required=False)
    identified = IdentifiedLabelSerializer(
        many=True, required=False, help_text="Collection labels seen, most detections first."
    )
    webhook = WebhookDeliverySerializer(required=False)


class VideoJobSerializer(serializers.Serializer):
    job_id = serializers.UUIDField(source="pk")
    status = serializers.ChoiceField(choices=["queued", "processing", "completed", "failed"])
    progress = serializers.IntegerField(min_value=0, max_value=100)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.SerializerMethodField()
    summary = VideoSummarySerializer(allow_null=True)
    results_url = serializers.SerializerMethodField()

    def get_error(self, job) -> str | None:
        return job.error or None

    def get_results_url(self, job) -> str:
        return self.context["request"].build_absolute_uri(reverse("video-results", args=[job.pk]))


class VideoJobPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = VideoJobSerializer(many=True)


class VideoKeypointSerializer(serializers.Serializer):
    name = serializers.CharField()
    x = serializers.FloatField()
    y = serializers.FloatField()
    score = serializers.FloatField()


class DetectionSerializer(serializers.Serializer):
    """One detection; the optional fields present depend on `kind`."""

    timestamp_ms = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=VideoDetection.Kind.choices)
    box = BoxSerializer()
    track_id = serializers.IntegerField(required=False, help_text="face: its track")
    label = serializers.CharField(required=False, help_text="face: collection label matched")
    distance = serializers.FloatField(required=False, help_text="face: distance to that label")
    type = serializers.CharField(required=False, help_text="vehicle: car, truck, bus…")
    confidence = serializers.FloatField(required=False, help_text="vehicle or body")
    keypoints = VideoKeypointSerializer(many=True, required=False, help_text="body: pose keypoints")

    def to_representation(self, detection):
        return {
            "timestamp_ms": detection.timestamp_ms,
            "kind": detection.kind,
            "box": detection.box,
            **(detection.payload or {}),
        }


class DetectionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    job_id = serializers.UUIDField()
    status = serializers.CharField()
    results = DetectionSerializer(many=True)


class _VideoView(EndpointView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # With no broker, jobs run in this process: make sure its worker (and the sweeper
        # that resumes jobs left by a restart) is running before anyone waits on a job.
        embedded_worker()


class VideoAnalyzeApi(_VideoView):
    endpoint_group = groups.VIDEO
    upload_files = 1

    class InputSerializer(serializers.Serializer):
        video = _StoredVideoField(help_text="MP4, WebM, MOV or AVI; ≤ 500 MB and ≤ 10 minutes.")
        features = CommaListField(choices=FEATURES, required=False)
        sample_fps = serializers.FloatField(required=False, min_value=0.1, max_value=30, default=2)
        collection = serializers.CharField(required=False, help_text="Identify faces against it.")
        callback_url = serializers.URLField(
            required=False, max_length=2000, help_text="Receives a signed POST when done."
        )

    class OutputSerializer(serializers.Serializer):
        job_id = serializers.UUIDField()
        status = serializers.CharField()
        status_url = serializers.URLField()

    def max_body_bytes(self):
        return video_body_limit()

    @extend_schema(
        request=InputSerializer,
        responses={202: OutputSerializer},
        operation_id="videos_analyze",
        description="Queue a video for analysis; poll `status_url` or wait for the webhook.",
    )
    def post(self, request):
        context = {"plan": self.plan, "stored_videos": []}
        serializer = self.InputSerializer(data=request.data, context=context)
        try:
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            collection = None
            if data.get("collection"):
                collection = selectors.get_collection_for_owner(
                    owner=request.user, collection_id=data["collection"]
                )
            job = services.create_job(
                owner=request.user,
                video=data["video"],
                features=data.get("features") or list(FEATURES),
                sample_fps=data["sample_fps"],
                collection=collection,
                callback_url=data.get("callback_url", ""),
            )
        except BaseException:
            # No job, no file: whatever failed after the upload was stored.
            for stored in context["stored_videos"]:
                remove_file(stored.path)
            raise
        status_url = request.build_absolute_uri(reverse("video-detail", args=[job.pk]))
        body = self.OutputSerializer(
            {"job_id": job.pk, "status": job.status, "status_url": status_url}
        ).data
        return Response(body, status=202, headers={"Location": status_url})


class VideoJobListApi(_VideoView):
    endpoint_group = groups.VIDEO_STATUS

    @extend_schema(
        responses=VideoJobPageSerializer,
        operation_id="videos_list",
        parameters=[
            OpenApiParameter("page", int, description="Page number (1-based)."),
            OpenApiParameter("page_size", int, description="Items per page (≤ 500)."),
        ],
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            selectors.jobs_for_owner(owner=request.user), request, view=self
        )
        rows = VideoJobSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(rows)


class VideoJobDetailApi(_VideoView):
    endpoint_group = groups.VIDEO_STATUS

    @extend_schema(responses=VideoJobSerializer, operation_id="videos_retrieve")
    def get(self, request, job_id):
        job = selectors.get_job_for_owner(owner=request.user, job_id=job_id)
        return Response(VideoJobSerializer(job, context={"request": request}).data)

    @extend_schema(
        responses={204: OpenApiResponse(description="Cancelled (if running) and deleted.")},
        operation_id="videos_destroy",
    )
    def delete(self, request, job_id):
        job = selectors.get_job_for_owner(owner=request.user, job_id=job_id)
        services.delete_job(job=job)
        return Response(status=204)


class VideoJobResultsApi(_VideoView):
    endpoint_group = groups.VIDEO_STATUS

    @extend_schema(
        responses=DetectionPageSerializer,
        operation_id="videos_results",
        parameters=[
            OpenApiParameter(
                "kind", str, enum=[kind for kind, _ in VideoDetection.Kind.choices],
                description="Only detections of this kind.",
            ),
            OpenApiParameter("page", int, description="Page number (1-based)."),
            OpenApiParameter("page_size", int, description="Items per page (≤ 500)."),
        ],
    )
    def get(self, request, job_id):
        job = selectors.get_job_for_owner(owner=request.user, job_id=job_id)
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in VideoDetection.Kind.values:
            from visionera.api.errors import InvalidRequest

            raise InvalidRequest(f"kind must be one of {', '.join(VideoDetection.Kind.values)}")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            selectors.detections_for_job(job=job, kind=kind), request, view=self
        )
        response = paginator.get_paginated_response(DetectionSerializer(page, many=True).data)
        response.data = {
            **{key: value for key, value in response.data.items() if key != "results"},
            "job_id": str(job.pk),
            "status": job.status,
            "results": response.data["results"],
        }
        return response
