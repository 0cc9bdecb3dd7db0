"""OpenAPI bits: the X-API-Key scheme, the error envelope on every operation, closed objects."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from visionera.api.errors import catalogue_by_status

ErrorEnvelope = inline_serializer(
    name="ErrorEnvelope",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "status": serializers.IntegerField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "request_id": serializers.CharField(required=False),
            },
        )
    },
)


def error_description(error_classes) -> str:
    """One status's description in the schema: each of its codes and when it happens, from
    the error catalogue (visionera.api.errors.CATALOGUE), never written here."""
    return "\n".join(f"- `{error.code}`: {error.when}" for error in error_classes)


# Response objects whose contract is open: the error envelope may carry extra keys beside
# `error` (`faces_detected`, `details`), per API.md. Every other response object is closed.
OPEN_RESPONSE_COMPONENTS = frozenset({"ErrorEnvelope"})


class AutoSchema(openapi.AutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        # Views nest their serializers (FaceCompareApi.InputSerializer): name components
        # after the view so that two views' "Input" never collide.
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname and not getattr(getattr(serializer, "Meta", None), "ref_name", None):
            return qualname.split(".")[0].removesuffix("Api") + name
        return name

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, error_classes in catalogue_by_status().items():
            if str(status) in responses:
                continue
            responses[str(status)] = self._get_response_for_code(
                OpenApiResponse(
                    response=ErrorEnvelope, description=error_description(error_classes)
                ),
                str(status),
            )
        return responses


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def _component_refs(node, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _component_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _component_refs(value, found)


def close_response_objects(result, generator, request, public):
    """drf-spectacular postprocessing hook: `additionalProperties: false` on every object a
    response can hold (bar OPEN_RESPONSE_COMPONENTS).

    Bodies are rendered by their output serializers (EndpointView.render), so they never
    carry an undeclared key; closing the objects says so to client generators and lets the
    conformance tests catch a key that is not declared. drf-spectacular has no setting for
    this (it leaves objects open), hence the hook. Request objects stay open: DRF ignores
    unknown form fields, and the schema should not promise a rejection it does not make.
    """
    schemas = result.get("components", {}).get("schemas", {})
    pending: set[str] = set()
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                _component_refs(operation.get("responses", {}), pending)
    closed: set[str] = set()
    while pending:
        name = pending.pop()
        if name in closed or name not in schemas:
            continue
        closed.add(name)
        component = schemas[name]
        nested: set[str] = set()
        _component_refs(component, nested)
        pending |= nested - closed
        if (
            name not in OPEN_RESPONSE_COMPONENTS
            and component.get("type") == "object"
            and "properties" in component
            and "additionalProperties" not in component
        ):
            component["additionalProperties"] = False
    return result
