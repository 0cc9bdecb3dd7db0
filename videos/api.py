"""Asynchronous video analysis endpoints (thin: validate, call a service, render)."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.response import Response

from accounts import groups
from bodies.serializers import KeypointSerializer
from vehicles.serializers import VehicleColourSerializer
from videos import selectors, services
from videos.models import VideoDetection, VideoJob
from videos.pipeline import FEATURES
from videos.uploads import VideoUploadField
from visionera.api.errors import InvalidRequest
from visionera.api.fields import CommaListField
from visionera.api.pagination import PageNumberPagination
from visionera.api.serializers import BoxSerializer
from visionera.api.views import EndpointView, RequestAllowance
from visionera.units import megabytes
from visionera.worker import embedded_worker


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


class FeatureCountsSerializer(serializers.Serializer):
    faces = serializers.IntegerField(required=False)
    vehicles = serializers.IntegerField(required=False)
    bodies = serializers.IntegerField(required=False)


class VideoSummarySerializer(serializers.Serializer):
    duration_seconds = serializers.FloatField()
    truncated = serializers.BooleanField(
        required=False,
        help_text="True when analysis stopped at a limit (the length, whatever the file's"
        " header claimed, or the sampled-frame budget), or the file ended (damaged or cut)"
        " short of its declared length; only analysed_seconds were seen.",
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
    status = serializers.ChoiceField(choices=VideoJob.Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.SerializerMethodField()
    summary = VideoSummarySerializer(allow_null=True)
    webhook = serializers.SerializerMethodField(
        help_text="The callback_url's outcome once delivered or failed for good, for every"
        " final status (a failed or cancelled job has no summary); null without a"
        " callback_url or while attempts go on."
    )
    results_url = serializers.SerializerMethodField()

    def get_error(self, job) -> str | None:
        return job.error or None

    @extend_schema_field(WebhookDeliverySerializer(allow_null=True))
    def get_webhook(self, job) -> dict | None:
        return selectors.webhook_outcome(job)

    def get_results_url(self, job) -> str:
        return self.context["request"].build_absolute_uri(reverse("videos:results", args=[job.pk]))


class VideoJobPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = VideoJobSerializer(many=True)


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
    colour = VehicleColourSerializer(required=False, help_text="vehicle: body colour")
    keypoints = KeypointSerializer(many=True, required=False, help_text="body: pose keypoints")

    def to_representation(self, detection):
        # The kind's own fields live in the row's JSON `payload`; lay them beside the common
        # ones and let the declared fields render them (undeclared keys never reach a client).
        flat = {
            "timestamp_ms": detection.timestamp_ms,
            "kind": detection.kind,
            "box": detection.box,
            **(detection.payload or {}),
        }
        return super().to_representation(flat)


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
        video = VideoUploadField(help_text="MP4, WebM, MOV or AVI; ≤ 500 MB and ≤ 10 minutes.")
        features = CommaListField(choices=FEATURES, required=False)
        sample_fps = serializers.FloatField(required=False, min_value=0.1, max_value=30, default=2)
        collection = serializers.CharField(required=False, help_text="Identify faces against it.")
        callback_url = serializers.CharField(
            required=False,
            trim_whitespace=False,
            help_text=(
                "Receives a signed POST (Standard Webhooks) when done. http(s) on a public"
                " address only: others are 400 `invalid_callback_url`."
            ),
        )

    class OutputSerializer(serializers.Serializer):
        job_id = serializers.UUIDField()
        status = serializers.CharField()
        status_url = serializers.URLField()

    def request_allowance(self):
        return RequestAllowance.for_files(
            file_bytes=settings.VISIONERA_MAX_VIDEO_BYTES,
            wording=f"the limit is {megabytes(settings.VISIONERA_MAX_VIDEO_BYTES)} per video",
        )

    @extend_schema(
        request=InputSerializer,
        responses={202: OutputSerializer},
        operation_id="videos_analyze",
        summary="Analyse a video (asynchronous job)",
        description="Queue a video for analysis; poll `status_url` or wait for the webhook.",
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        job = services.submit_video(
            owner=request.user,
            upload=data["video"],
            features=data.get("features"),
            sample_fps=data["sample_fps"],
            collection=data.get("collection"),
            callback_url=data.get("callback_url", ""),
        )
        status_url = request.build_absolute_uri(reverse("videos:detail", args=[job.pk]))
        return self.render(
            self.OutputSerializer,
            {"job_id": job.pk, "status": job.status, "status_url": status_url},
            status=202,
            headers={"Location": status_url},
        )


class VideoJobListApi(_VideoView):
    endpoint_group = groups.VIDEO_STATUS
    pagination_class = PageNumberPagination

    @extend_schema(
        responses=VideoJobPageSerializer,
        operation_id="videos_list",
        summary="List video jobs",
        parameters=[
            OpenApiParameter("page", int, description="Page number (1-based)."),
            OpenApiParameter("page_size", int, description="Items per page (≤ 500)."),
        ],
    )
    def get(self, request):
        jobs = self.paginate_queryset(selectors.job_list(owner=request.user))
        return self.render(VideoJobPageSerializer, self.paginator.page_body(jobs))


class VideoJobDetailApi(_VideoView):
    endpoint_group = groups.VIDEO_STATUS

    @extend_schema(
        responses=VideoJobSerializer, operation_id="videos_retrieve", summary="Get a video job"
    )
    def get(self, request, job_id):
        job = selectors.job_get(owner=request.user, job_id=job_id)
        return self.render(VideoJobSerializer, job)

    @extend_schema(
        responses={
            204: OpenApiResponse(
                description="A queued or running job is cancelled (kept, status `cancelled`;"
                " the worker stops at its next frame); a finished one is deleted."
            )
        },
        operation_id="videos_destroy",
        summary="Cancel or delete a video job",
    )
    def delete(self, request, job_id):
        job = selectors.job_get(owner=request.user, job_id=job_id)
        services.cancel_or_delete_job(job=job)
        return Response(status=204)


class VideoJobResultsApi(_VideoView):
    endpoint_group = groups.VIDEO_STATUS
    pagination_class = PageNumberPagination

    @extend_schema(
        responses=DetectionPageSerializer,
        operation_id="videos_results",
        summary="A video job's detections",
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
        job = selectors.job_get(owner=request.user, job_id=job_id)
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in VideoDetection.Kind.values:
            raise InvalidRequest(f"kind must be one of {', '.join(VideoDetection.Kind.values)}")
        detections = self.paginate_queryset(selectors.detection_list(job=job, kind=kind))
        return self.render(
            DetectionPageSerializer,
            self.paginator.page_body(detections, job_id=job.pk, status=job.status),
        )
