"""The API guide page's content, built from the OpenAPI schema and the error catalogue.

Endpoints, methods, parameters, responses and error codes come from drf-spectacular's
schema (the one /api/schema/ serves, generated once per process) and from
visionera.api.errors.CATALOGUE, so the guide cannot drift from the API. Only the worked
examples (a curl call, a response, a note) are written here, by operation id: a schema
does not say what a good example is.
"""

from __future__ import annotations

import functools
import re

from django.urls import Resolver404, resolve
from drf_spectacular.settings import spectacular_settings

from accounts.groups import DEFAULT_RATE_LIMITS, GROUP_LABELS

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
_PATH_PARAMETER = re.compile(r"\{[^}/]+\}")
_CHOICE_LIST = re.compile(r"(\n\s*\* `[^`]*` - [^\n]*)+\s*$")
# The guide's order of the schema's tags (the schema sorts paths alphabetically).
TAG_ORDER = ("faces", "collections", "vehicles", "body", "videos")

_BOX = '{"x": 112, "y": 64, "width": 180, "height": 180}'

# Worked examples by operation id. `{base}` becomes the site's address.
EXAMPLES = {
    "faces_compare": {
        "curl": 'curl -X POST {base}/api/faces/compare \\\n  -H "X-API-Key: $KEY" \\\n'
                "  -F source=@photo1.jpg -F target=@photo2.jpg",
        "response": '{\n  "match": true,\n  "similarity": 0.94,\n  "confidence": "high",\n'
                    '  "distance": 0.35,\n  "threshold": 0.6,\n'
                    '  "faces_detected": {"image1": 1, "image2": 1},\n'
                    f'  "source_face": {{"box": {_BOX}}},\n'
                    f'  "target_face": {{"box": {_BOX}}}\n}}',
        "notes": "similarity is in [0, 1] and falls as distance grows; match is distance ≤ "
                 "threshold. No face in either image → 400 no_face_detected with "
                 "faces_detected in the body.",
    },
    "faces_detect": {
        "curl": 'curl -X POST {base}/api/faces/detect -H "X-API-Key: $KEY" \\\n'
                "  -F image=@group.jpg -F attributes=age,gender",
        "response": '{\n  "count": 1,\n  "faces": [{\n'
                    f'    "box": {_BOX},\n'
                    '    "landmarks": {...},\n    "quality": 0.92,\n'
                    '    "attributes": {"age": 34, "gender": {"value": "female", '
                    '"confidence": 0.87}}\n  }]\n}',
        "notes": "Only the attributes asked for are returned.",
    },
    "faces_collections_create": {
        "curl": 'curl -X POST {base}/api/faces/collections -H "X-API-Key: $KEY" \\\n'
                "  -H 'Content-Type: application/json' -d '{\"name\": \"staff\"}'",
        "response": '{"id": "7b1c…", "name": "staff", "face_count": 0, '
                    '"created_at": "2026-01-01T12:00:00Z"}',
        "notes": "Another account's collection is answered 404, never 403.",
    },
    "faces_collection_faces_create": {
        "curl": "curl -X POST {base}/api/faces/collections/$COLLECTION/faces \\\n"
                '  -H "X-API-Key: $KEY" -F image=@obama.jpg -F label=obama \\\n'
                "  -F 'metadata={\"team\": \"blue\"}'",
        "response": f'{{"id": "c0ff…", "label": "obama", "box": {_BOX}, '
                    '"created_at": "2026-01-01T12:00:00Z"}',
        "notes": "The largest face of the image is enrolled under the label.",
    },
    "faces_search": {
        "curl": 'curl -X POST {base}/api/faces/search -H "X-API-Key: $KEY" \\\n'
                "  -F image=@crowd.jpg -F collection=$COLLECTION -F max_faces=3",
        "response": '{\n  "faces_detected": 3,\n'
                    f'  "search_face": {{"box": {_BOX}}},\n'
                    '  "matches": [{"face_id": "c0ff…", "label": "obama", '
                    '"similarity": 0.93, "distance": 0.33, "metadata": {}}],\n'
                    '  "faces": [{"box": {…}, "matches": […]}]\n}',
        "notes": "matches and search_face repeat the first (largest) face; matches are "
                 "sorted best first and only those within threshold.",
    },
    "faces_batch_match": {
        "curl": 'curl -X POST {base}/api/faces/batch-match -H "X-API-Key: $KEY" \\\n'
                "  -F images=@a.jpg -F images=@b.jpg -F images=@c.jpg",
        "response": '{\n  "images": [{"index": 0, "filename": "a.jpg", "faces_detected": 1}],\n'
                    '  "pairs": [{"a": 0, "b": 1, "similarity": 0.91, "distance": 0.38, '
                    '"match": true}],\n  "groups": [[0, 1], [2]]\n}',
        "notes": "An image with no face is in no group. Not on the Free plan.",
    },
    "vehicles_detect": {
        "curl": 'curl -X POST {base}/api/vehicles/detect -H "X-API-Key: $KEY" \\\n'
                "  -F image=@street.jpg -F plates=true",
        "response": '{\n  "vehicles": [{"type": "car", "confidence": 0.91, '
                    f'"box": {_BOX},\n    "plate": {{"text": "AB123CD", "confidence": 0.95, '
                    '"box": {…}}}],\n  "counts": {"car": 3, "truck": 1}\n}',
        "notes": "",
    },
    "body_analyze": {
        "curl": 'curl -X POST {base}/api/body/analyze -H "X-API-Key: $KEY" '
                "-F image=@people.jpg",
        "response": f'{{\n  "count": 2,\n  "people": [{{"box": {_BOX}, "confidence": 0.88,\n'
                    '    "keypoints": [{"name": "nose", "x": 201, "y": 98, '
                    '"score": 0.97}, …]}]\n}',
        "notes": "Keypoints: nose, left/right eye, ear, shoulder, elbow, wrist, hip, knee, "
                 "ankle (left_eye, right_knee, …), in image pixels.",
    },
    "videos_analyze": {
        "curl": 'curl -X POST {base}/api/videos/analyze -H "X-API-Key: $KEY" \\\n'
                "  -F video=@clip.mp4 -F features=faces,vehicles",
        "response": '{"job_id": "3f2a…", "status": "queued", '
                    '"status_url": "/api/videos/3f2a…"}',
        "notes": "202 Accepted with a Location header. Not on the Free plan.",
    },
    "videos_retrieve": {
        "curl": 'curl {base}/api/videos/$JOB -H "X-API-Key: $KEY"',
        "response": '{\n  "job_id": "3f2a…", "status": "processing", "progress": 40,\n'
                    '  "created_at": "…", "started_at": "…", "finished_at": null,\n'
                    '  "error": null, "summary": null,\n'
                    '  "results_url": "/api/videos/3f2a…/results"\n}',
        "notes": "status: queued → processing → completed | failed | cancelled.",
    },
}


@functools.cache
def api_schema() -> dict:
    """The OpenAPI schema, as /api/schema/ serves it; generated once per process (the URLs
    and serializers do not change while it runs)."""
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    return generator.get_schema(request=None, public=True)


def _resolve_ref(schema: dict, node: dict) -> dict:
    """The node a `$ref` (or drf-spectacular's one-item `allOf` around one, which carries
    the field's own default and description beside it) points to, merged with those."""
    if len(node.get("allOf", ())) == 1:
        own = {k: v for k, v in node.items() if k != "allOf"}
        return {**_resolve_ref(schema, node["allOf"][0]), **own}
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _description(text: str) -> str:
    """A field's description without the "* `a` - a" list drf-spectacular appends for
    choices (the type column names them)."""
    return _CHOICE_LIST.sub("", text or "").strip()


def _type_of(node: dict) -> str:
    if node.get("format") == "binary":
        return "file"
    if node.get("type") == "array":
        item = node.get("items", {})
        return "file (repeated)" if item.get("format") == "binary" else f"list of {_type_of(item)}"
    if "enum" in node:
        return "one of " + ", ".join(str(value) for value in node["enum"] if value)
    if node.get("type") == "object":
        return "JSON object"
    return node.get("type", "string")


def _limits_text(node: dict) -> str:
    facts = []
    if "default" in node:
        facts.append(f"default {node['default']}")
    if "minimum" in node and "maximum" in node:
        facts.append(f"{node['minimum']}–{node['maximum']}")
    elif "maximum" in node:
        facts.append(f"at most {node['maximum']}")
    if "minItems" in node:
        facts.append(f"at least {node['minItems']}")
    if "maxLength" in node:
        facts.append(f"up to {node['maxLength']} characters")
    return "; ".join(facts)


def _parameter(name, node, *, where, required, description="") -> dict:
    return {"name": name, "in": where, "type": _type_of(node), "required": required,
            "description": _description(description or node.get("description", "")),
            "limits": _limits_text(node)}


def _parameters(schema: dict, operation: dict) -> list[dict]:
    params = [
        _parameter(p["name"], p.get("schema", {}), where=p["in"],
                   required=p.get("required", False), description=p.get("description", ""))
        for p in operation.get("parameters", [])
    ]
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        body = _resolve_ref(schema, next(iter(content.values()))["schema"])
        required = set(body.get("required", []))
        params += [
            _parameter(name, _resolve_ref(schema, node), where="body", required=name in required)
            for name, node in body.get("properties", {}).items()
        ]
    return params


def _content_type(operation: dict, params: list[dict]) -> str:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return ""
    if any(p["type"].startswith("file") for p in params):
        return "multipart/form-data"
    return " or ".join(content)


def _responses(schema: dict, operation: dict) -> tuple[list[dict], list[dict]]:
    """(successes, errors): each with its status and what the schema says of it."""
    successes, errors = [], []
    for status, response in sorted(operation.get("responses", {}).items()):
        body = response.get("content", {}).get("application/json", {}).get("schema", {})
        row = {"status": status, "description": response.get("description", ""),
               "body": body.get("$ref", "").rsplit("/", 1)[-1]}
        (errors if status.isdigit() and int(status) >= 400 else successes).append(row)
    return successes, errors


def _group_of(path: str) -> str | None:
    """The endpoint group (rate limits, plans) of the view behind a schema path."""
    try:
        match = resolve(_PATH_PARAMETER.sub("x", path))
    except Resolver404:
        return None
    view = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    return getattr(view, "endpoint_group", None)


def _title(operation: dict, method: str, path: str) -> str:
    if operation.get("summary"):
        return operation["summary"]
    description = (operation.get("description") or "").strip()
    if description:
        return description.split(". ")[0].split("\n")[0].rstrip(".")
    words = operation.get("operationId", f"{method} {path}").replace("_", " ")
    return words[:1].upper() + words[1:]


def _limit_text(group: str) -> str:
    per_minute, per_second = DEFAULT_RATE_LIMITS[group]
    return f"{per_minute} requests/minute, burst {per_second}/second"


def endpoint_list(*, base: str) -> list[dict]:
    """Every operation of the schema, in path order, with what the guide shows of it."""
    schema = api_schema()
    endpoints = []
    for path, operations in schema["paths"].items():
        group = _group_of(path)
        for method in METHOD_ORDER:
            operation = operations.get(method)
            if operation is None:
                continue
            params = _parameters(schema, operation)
            successes, errors = _responses(schema, operation)
            example = EXAMPLES.get(operation["operationId"], {})
            endpoints.append({
                "id": operation["operationId"],
                "method": method.upper(),
                "path": path,
                "title": _title(operation, method, path),
                "description": operation.get("description", ""),
                "tags": operation.get("tags", []),
                "group": group,
                "group_label": GROUP_LABELS.get(group, ""),
                "limit": _limit_text(group) if group else "",
                "authenticated": bool(operation.get("security")),
                "content_type": _content_type(operation, params),
                "params": params,
                "successes": successes,
                "errors": errors,
                "curl": example.get("curl", "").replace("{base}", base),
                "response": example.get("response", ""),
                "notes": example.get("notes", ""),
            })
    return sorted(endpoints, key=_tag_rank)


def _tag_rank(endpoint: dict) -> tuple[int, int]:
    """By tag, then as the examples are ordered (compare before batch-match), then as the
    schema has them (sorted() is stable)."""
    tag = (endpoint["tags"] or [""])[0]
    examples = list(EXAMPLES)
    return (
        TAG_ORDER.index(tag) if tag in TAG_ORDER else len(TAG_ORDER),
        examples.index(endpoint["id"]) if endpoint["id"] in examples else len(examples),
    )
