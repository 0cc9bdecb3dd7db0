"""Every API response checked against /api/schema/: the status is documented for the
operation and the body matches that status's schema, `additionalProperties: false` included.

The validator is schemathesis's own response check (already pinned for the schema fuzzing),
applied to responses the test client got with real requests: real fixture photos in,
whatever the API answered out. tests/conftest.py runs it on every response of the suite.
"""

import json
from functools import cache

import jsonschema
import requests
import schemathesis
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response as SchemathesisResponse

SCHEMA_PATH = "/api/schema/"


@cache
def raw_schema() -> dict:
    """The schema /api/schema/ serves, generated in-process (no request needed)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


@cache
def loaded_schema():
    return schemathesis.openapi.from_dict(raw_schema())


@cache
def _envelope_validator() -> jsonschema.Draft7Validator:
    schema = {"$ref": "#/components/schemas/ErrorEnvelope", **raw_schema()}
    return jsonschema.Draft7Validator(schema)


def operations() -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation in the schema."""
    return sorted(
        (method.upper(), path)
        for path, item in raw_schema()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def is_api_response(response) -> bool:
    path = response.wsgi_request.path
    return path.startswith("/api/") and not path.startswith(SCHEMA_PATH)


class SchemaMismatch(AssertionError):
    pass


def assert_conforms(response) -> None:
    """Fail unless `response` (a Django test-client response) is what the schema documents."""
    if not is_api_response(response) or response.streaming:
        return
    request = response.wsgi_request
    where = f"{request.method} {request.path} → {response.status_code}"
    operation = loaded_schema().find_operation_by_path(request.method, request.path)
    if operation is None:
        # No such operation (an unknown path or method): only an error can answer it, and
        # every error is the envelope.
        if response.status_code < 400:
            raise SchemaMismatch(f"{where}: a success for an operation the schema lacks")
        errors = sorted(_envelope_validator().iter_errors(_json(response, where)), key=str)
        if errors:
            raise SchemaMismatch(f"{where}: not the error envelope: {errors[0].message}")
        return
    if operation.responses.find_by_status_code(response.status_code) is None:
        raise SchemaMismatch(f"{where}: status not documented for {operation.label}")
    prepared = requests.Request(
        request.method, f"http://testserver{request.get_full_path()}"
    ).prepare()
    converted = SchemathesisResponse(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.headers.items()},
        content=response.content,
        request=prepared,
        elapsed=0.0,
        verify=True,
    )
    try:
        operation.validate_response(converted)
    except (Failure, FailureGroup) as error:
        failures = error.exceptions if isinstance(error, FailureGroup) else [error]
        messages = "\n".join(f"- {fail.title}: {fail.message}" for fail in failures)
        raise SchemaMismatch(f"{where}: the body breaks the schema\n{messages}") from None


def _json(response, where: str):
    try:
        return json.loads(response.content)
    except ValueError:
        raise SchemaMismatch(f"{where}: the body is not JSON") from None
