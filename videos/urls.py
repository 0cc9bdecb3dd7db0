from django.urls import path

from videos import api

app_name = "videos"

# Included under "api/videos" with no trailing slash, so each pattern starts with one.
urlpatterns = [
    path("", api.VideoJobListApi.as_view(), name="list"),
    path("/analyze", api.VideoAnalyzeApi.as_view(), name="analyze"),
    path("/<str:job_id>", api.VideoJobDetailApi.as_view(), name="detail"),
    path("/<str:job_id>/results", api.VideoJobResultsApi.as_view(), name="results"),
]
