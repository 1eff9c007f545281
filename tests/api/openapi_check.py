"""Check a response against the served OpenAPI document (status documented, body valid)."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ncpa.api.app import OPENAPI_FILE

URN = "urn:ncpa-api"


@functools.cache
def document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(OPENAPI_FILE.read_text())
    return doc


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    return Registry().with_resource(URN, resource)


def _resolve(obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj:
        node: Any = document()
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def template_for(path: str) -> str:
    for template in document()["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return str(template)
    raise AssertionError(f"{path}: not in the OpenAPI document")


def check_response(method: str, path: str, status: int, content_type: str, body: Any) -> None:
    if status == 405:
        return  # aiohttp's own answer to an undocumented method (tested separately)
    template = template_for(path)
    op = document()["paths"][template].get(method.lower())
    assert op is not None, f"{method} {template}: not documented"
    responses = op["responses"]
    assert str(status) in responses, f"{method} {template}: status {status} not documented"
    response = _resolve(responses[str(status)])
    content = response.get("content")
    if not content:
        assert body in (b"", None), f"{method} {template} {status}: documented without a body"
        return
    media = content_type.split(";")[0].strip()
    assert media in content, f"{method} {template} {status}: content type {media} not documented"
    if media != "application/json":
        return
    pointer = json.dumps(["paths", template, method.lower()])  # only for the message
    schema = content[media]["schema"]
    validator = Draft202012Validator(
        {"$ref": URN + "#/" + _pointer_of(schema, template, method, status)},
        registry=_registry(),
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{pointer} {status}: {errors[0].message} at {list(errors[0].path)}"


def _pointer_of(schema: dict[str, Any], template: str, method: str, status: int) -> str:
    """JSON pointer of the response schema inside the document."""
    if "$ref" in schema:
        return str(schema["$ref"]).lstrip("#/")
    esc = template.replace("~", "~0").replace("/", "~1")
    return f"paths/{esc}/{method.lower()}/responses/{status}/content/application~1json/schema"
