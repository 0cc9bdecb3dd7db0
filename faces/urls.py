from django.urls import path

from faces import api

urlpatterns = [
    path("compare", api.FaceCompareApi.as_view(), name="faces-compare"),
    path("detect", api.FaceDetectApi.as_view(), name="faces-detect"),
    path("search", api.FaceSearchApi.as_view(), name="faces-search"),
    path("batch-match", api.BatchMatchApi.as_view(), name="faces-batch-match"),
    path("collections", api.CollectionListApi.as_view(), name="collections"),
    path(
        "collections/<str:collection_id>",
        api.CollectionDetailApi.as_view(),
        name="collection-detail",
    ),
    path(
        "collections/<str:collection_id>/faces",
        api.CollectionFacesApi.as_view(),
        name="collection-faces",
    ),
    path(
        "collections/<str:collection_id>/faces/<str:face_id>",
        api.CollectionFaceDetailApi.as_view(),
        name="collection-face-detail",
    ),
]
