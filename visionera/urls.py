from django.contrib import admin
from django.urls import include, path
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from visionera.api import errors
from visionera.api.health import HealthApi
from visionera.metrics import metrics_view

urlpatterns = [
    # JSON unless YAML is asked for (?format=yaml or its Accept): the contract's "every
    # response body is JSON unless stated". drf-spectacular's default order puts YAML first.
    path("api/schema/", SpectacularAPIView.as_view(renderer_classes=[
        OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2,
    ]), name="schema"),
    path("api/health", HealthApi.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("api/faces/", include("faces.urls")),
    path("api/vehicles/", include("vehicles.urls")),
    path("api/body/", include("bodies.urls")),
    path("api/videos", include("videos.urls")),
    # The split view serves Swagger UI's init script from a URL: no inline script, strict CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("docs/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("dashboard.urls")),
    path("", include("accounts.urls")),
]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
