from django.urls import path

from vehicles import api

app_name = "vehicles"

urlpatterns = [path("detect", api.VehicleDetectApi.as_view(), name="detect")]
