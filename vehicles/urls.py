from django.urls import path

from vehicles import api

urlpatterns = [path("detect", api.VehicleDetectApi.as_view(), name="vehicles-detect")]
