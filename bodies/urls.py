from django.urls import path

from bodies import api

app_name = "bodies"

urlpatterns = [path("analyze", api.BodyAnalyzeApi.as_view(), name="analyze")]
