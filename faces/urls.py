from django.urls import path

from faces import api

# Included under "api/faces/": names are "faces:<name>" (the dashboard's collection pages
# are "dashboard:collection-detail" and so on, so no name means two things).
app_name = "faces"

urlpatterns = [
    path("compare", api.FaceCompareApi.as_view(), name="compare"),
    path("detect", api.FaceDetectApi.as_view(), name="detect"),
    path("search", api.FaceSearchApi.as_view(), name="search"),
    path("batch-match", api.BatchMatchApi.as_view(), name="batch-match"),
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
