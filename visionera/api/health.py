from django.db import connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class HealthApi(APIView):
    """Liveness and database reachability for load balancers; needs no key."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="health", auth=[], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ok"})
