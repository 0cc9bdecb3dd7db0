"""Face endpoints: validate input, call a service, render the contract's shape."""

import json
import math

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts import groups
from faces import selectors, services
from faces.engine import DEFAULT_THRESHOLD, DETECTION_SIDE
from visionera.api.errors import InvalidRequest
from visionera.api.fields import CommaListField, DeferredImageUploadField, ImageUploadField
from visionera.api.pagination import PageNumberPagination
from visionera.api.serializers import BoxSerializer
from visionera.api.uploads import decodable_together
from visionera.api.views import EndpointView

THRESHOLD_HELP = (
    f"Largest descriptor distance that counts as the same person (default {DEFAULT_THRESHOLD},"
    " dlib's 99.38 %-on-LFW operating point). Lower is stricter."
)


def _threshold_field():
    return serializers.FloatField(
        required=False, min_value=0.0, max_value=2.0, default=DEFAULT_THRESHOLD,
        help_text=THRESHOLD_HELP,
    )

BATCH_DECODE_SIDE = 2 * DETECTION_SIDE
"""Batch-match only needs this many pixels on an image's longest side: the detector scans
DETECTION_SIDE px and finds faces of ~80 px there, so at twice that every detectable face
is ≥ 160 px and its 150 px aligned chip is cut without magnifying. Larger JPEGs are decoded
reduced by libjpeg (1/2, 1/4, 1/8), which bounds their memory; boxes are mapped back."""


class FaceBoxSerializer(serializers.Serializer):
    box = BoxSerializer()


class MatchSerializer(serializers.Serializer):
    face_id = serializers.UUIDField()
    label = serializers.CharField()
    similarity = serializers.FloatField()
    distance = serializers.FloatField()
    metadata = serializers.DictField()


class _FacesView(EndpointView):
    upload_files = 1


class FaceCompareApi(_FacesView):
    endpoint_group = groups.COMPARE
    upload_files = 2

    class InputSerializer(serializers.Serializer):
        # Headers checked here, pixels decoded by the service: one at a time when the two
        # would not fit one image's memory bound together (docs/HARDENING.md).
        source = DeferredImageUploadField(
            help_text="First face image (JPEG, PNG, WebP or GIF)."
        )
        target = DeferredImageUploadField(help_text="Second face image.")
        threshold = _threshold_field()

    class OutputSerializer(serializers.Serializer):
        match = serializers.BooleanField()
        similarity = serializers.FloatField(help_text="In [0, 1]; 0.5 at distance 0.6.")
        confidence = serializers.ChoiceField(choices=["high", "medium", "low"])
        distance = serializers.FloatField()
        threshold = serializers.FloatField()
        faces_detected = inline_serializer(
            "FacesDetected",
            {"image1": serializers.IntegerField(), "image2": serializers.IntegerField()},
        )
        source_face = FaceBoxSerializer()
        target_face = FaceBoxSerializer()

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="faces_compare",
        summary="1:1 face verification", tags=["faces"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        pending = (data["source"], data["target"])
        result = services.compare_faces(
            images=(image.decode() for image in pending),
            held_together=decodable_together(*(image.memory_pixels for image in pending)),
            threshold=data["threshold"],
        )
        return self.render(self.OutputSerializer, result)


class FaceDetectApi(_FacesView):
    endpoint_group = groups.COMPARE

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        attributes = CommaListField(
            choices=("age", "gender", "emotion"), required=False, default=list
        )

    class OutputSerializer(serializers.Serializer):
        class DetectedFaceSerializer(serializers.Serializer):
            box = BoxSerializer()
            landmarks = inline_serializer(
                "Landmark",
                {
                    "name": serializers.CharField(),
                    "x": serializers.IntegerField(),
                    "y": serializers.IntegerField(),
                },
                many=True,
            )
            quality = inline_serializer(
                "FaceQuality",
                {
                    "size": serializers.IntegerField(),
                    "sharpness": serializers.FloatField(),
                    "sharpness_raw": serializers.FloatField(),
                    "detection_score": serializers.FloatField(),
                },
            )
            attributes = serializers.DictField(
                help_text="Only those asked for: age, gender {value, confidence},"
                " emotion {value, confidence}."
            )

        faces = DetectedFaceSerializer(many=True)
        count = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="faces_detect",
        summary="Detect faces, landmarks, quality and attributes", tags=["faces"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        result = services.detect_faces(image=data["image"], attributes=data["attributes"])
        return self.render(self.OutputSerializer, result)


class FaceSearchApi(_FacesView):
    endpoint_group = groups.SEARCH

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        collection = serializers.CharField(help_text="The collection's id (or its name).")
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=5)
        threshold = _threshold_field()
        max_faces = serializers.IntegerField(required=False, min_value=1, max_value=20, default=1)

    class OutputSerializer(serializers.Serializer):
        class SearchedFaceSerializer(serializers.Serializer):
            box = BoxSerializer()
            matches = MatchSerializer(many=True)

        faces_detected = serializers.IntegerField()
        search_face = FaceBoxSerializer()
        matches = MatchSerializer(many=True)
        faces = SearchedFaceSerializer(many=True)

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="faces_search",
        summary="1:N search in a collection", tags=["faces"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        collection = selectors.collection_get(owner=request.user, reference=data["collection"])
        result = services.search_collection(
            collection=collection,
            image=data["image"],
            limit=data["limit"],
            threshold=data["threshold"],
            max_faces=data["max_faces"],
        )
        return self.render(self.OutputSerializer, result)


class BatchMatchApi(_FacesView):
    endpoint_group = groups.BATCH

    class InputSerializer(serializers.Serializer):
        images = serializers.ListField(
            # Decoded one at a time by the service, never all at once (docs/HARDENING.md).
            child=DeferredImageUploadField(reduce_to_side=BATCH_DECODE_SIDE),
            min_length=2,
            help_text="Repeat the field: 2 to the plan's batch size.",
        )
        threshold = _threshold_field()

        def validate_images(self, images):
            most = self.context["plan"].max_batch_images
            if len(images) > most:
                raise InvalidRequest(
                    f"images: {len(images)} sent; the {self.context['plan'].name} plan allows"
                    f" at most {most} per batch"
                )
            return images

    class OutputSerializer(serializers.Serializer):
        images = inline_serializer(
            "BatchImage",
            {
                "index": serializers.IntegerField(),
                "filename": serializers.CharField(),
                "faces_detected": serializers.IntegerField(),
                "box": BoxSerializer(allow_null=True),
            },
            many=True,
        )
        pairs = inline_serializer(
            "BatchPair",
            {
                "a": serializers.IntegerField(),
                "b": serializers.IntegerField(),
                "similarity": serializers.FloatField(),
                "distance": serializers.FloatField(),
                "match": serializers.BooleanField(),
            },
            many=True,
        )
        groups = serializers.ListField(
            child=serializers.ListField(child=serializers.IntegerField())
        )
        threshold = serializers.FloatField()

    def request_allowance(self):
        most = max(2, self.plan.max_batch_images)
        return self.plan_images_allowance(images=most, per_request=f"up to {most} images")

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="faces_batch_match",
        summary="N:N matching of a batch of images", tags=["faces"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        images = (pending.decode() for pending in data["images"])
        result = services.batch_match(images=images, threshold=data["threshold"])
        return self.render(self.OutputSerializer, result)


class CollectionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    face_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class CollectionListApi(_FacesView):
    endpoint_group = groups.SEARCH
    upload_files = 0
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)

    @extend_schema(
        responses=CollectionOutputSerializer(many=True), operation_id="faces_collections_list",
        summary="List collections", tags=["collections"],
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.collection_list(owner=request.user))
        return self.get_paginated_response(CollectionOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: CollectionOutputSerializer},
        operation_id="faces_collections_create", summary="Create a collection",
        tags=["collections"],
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        collection = services.create_collection(owner=request.user, name=data["name"])
        return self.render(CollectionOutputSerializer, collection, status=status.HTTP_201_CREATED)


class CollectionDetailApi(_FacesView):
    endpoint_group = groups.SEARCH
    upload_files = 0

    @extend_schema(
        responses=CollectionOutputSerializer, operation_id="faces_collections_retrieve",
        summary="Get a collection (by id or name)", tags=["collections"],
    )
    def get(self, request, collection_id):
        collection = selectors.collection_get(owner=request.user, reference=collection_id)
        return self.render(CollectionOutputSerializer, collection)

    @extend_schema(
        responses={204: None}, operation_id="faces_collections_destroy",
        summary="Delete a collection and its faces", tags=["collections"],
    )
    def delete(self, request, collection_id):
        collection = selectors.collection_get(owner=request.user, reference=collection_id)
        services.delete_collection(collection=collection)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EnrolledFaceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()
    metadata = serializers.DictField()
    box = BoxSerializer()
    created_at = serializers.DateTimeField()



METADATA_MAX_CHARACTERS = 10_000
METADATA_MAX_DEPTH = 16
METADATA_TOO_LONG = "must be at most 10 000 characters of JSON"


def metadata_problem(value, depth: int = 0) -> str | None:
    """What makes a parsed metadata object unstorable, or None. PostgreSQL's jsonb refuses
    NUL characters and lone surrogates (and a surrogate cannot even be written back out as
    UTF-8), so either would fail the enrolment or every later answer that shows the face.
    JSON has no infinity or NaN, though Python's parser reads `1e999` as one: neither
    database stores it (SQLite's JSON check failed the insert with a 500)."""
    if depth > METADATA_MAX_DEPTH:
        return f"must be nested at most {METADATA_MAX_DEPTH} levels deep"
    if isinstance(value, float) and not math.isfinite(value):
        return "must not contain infinite or NaN numbers"
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    elif isinstance(value, str):
        if "\x00" in value:
            return "must not contain NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must not contain unpaired surrogate characters"
        return None
    else:
        return None
    for item in items:
        if problem := metadata_problem(item, depth + 1):
            return problem
    return None

class CollectionFacesApi(_FacesView):
    endpoint_group = groups.SEARCH
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        image = ImageUploadField()
        label = serializers.CharField(max_length=200)
        metadata = serializers.JSONField(
            required=False, default=dict, help_text="A JSON object stored with the face."
        )

        def validate_metadata(self, value):
            if isinstance(value, str):
                if len(value) > METADATA_MAX_CHARACTERS:  # before parsing it
                    raise serializers.ValidationError(METADATA_TOO_LONG)
                try:
                    value = json.loads(value)
                except (ValueError, RecursionError):
                    raise serializers.ValidationError("must be a JSON object") from None
            if not isinstance(value, dict):
                raise serializers.ValidationError("must be a JSON object")
            if problem := metadata_problem(value):
                raise serializers.ValidationError(problem)
            if len(json.dumps(value)) > METADATA_MAX_CHARACTERS:
                raise serializers.ValidationError(METADATA_TOO_LONG)
            return value

    @extend_schema(
        responses=EnrolledFaceSerializer(many=True), operation_id="faces_collection_faces_list",
        summary="List a collection's faces", tags=["collections"],
    )
    def get(self, request, collection_id):
        collection = selectors.collection_get(owner=request.user, reference=collection_id)
        page = self.paginate_queryset(
            selectors.face_list(collection=collection, label=request.query_params.get("label"))
        )
        return self.get_paginated_response(EnrolledFaceSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: EnrolledFaceSerializer},
        operation_id="faces_collection_faces_create", summary="Enrol a face",
        tags=["collections"],
    )
    def post(self, request, collection_id):
        collection = selectors.collection_get(owner=request.user, reference=collection_id)
        data = self.validated(self.InputSerializer)
        face = services.enrol_face(
            collection=collection,
            image=data["image"],
            label=data["label"],
            metadata=data["metadata"],
        )
        return self.render(EnrolledFaceSerializer, face, status=status.HTTP_201_CREATED)


class CollectionFaceDetailApi(_FacesView):
    endpoint_group = groups.SEARCH
    upload_files = 0

    @extend_schema(
        responses={204: None}, operation_id="faces_collection_faces_destroy",
        summary="Delete a face", tags=["collections"],
    )
    def delete(self, request, collection_id, face_id):
        collection = selectors.collection_get(owner=request.user, reference=collection_id)
        services.delete_face(face=selectors.face_get(collection=collection, face_id=face_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
