from django.urls import path

from bodies import api

urlpatterns = [path("analyze", api.BodyAnalyzeApi.as_view(), name="body-analyze")]
