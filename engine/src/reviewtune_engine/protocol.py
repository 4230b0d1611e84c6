"""Validation of protocol messages against the JSON Schema generated from the TypeScript contracts."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import jsonschema

from reviewtune_engine.errors import EngineError


@cache
def _schemas() -> dict:
    return json.loads(resources.files("reviewtune_engine").joinpath("protocol.schema.json").read_text())


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schemas()[kind])


def protocol_version() -> int:
    return int(_schemas()["protocol"])


def validate_request(request: object) -> None:
    """Raises EngineError(invalid_request) naming the offending field."""
    validator = _validator("request")
    methods = [branch["properties"]["method"]["const"] for branch in _schemas()["request"]["oneOf"]]
    if isinstance(request, dict) and request.get("method") not in methods:
        raise EngineError("invalid_request", f"method: unknown method {request.get('method')!r} (expected one of {', '.join(methods)})", field="method")
    errors = sorted(validator.iter_errors(request), key=lambda e: len(list(e.absolute_path)))
    if not errors:
        return
    # oneOf over methods: report the branch of the request's own method when we can.
    method = request.get("method") if isinstance(request, dict) else None
    best = jsonschema.exceptions.best_match(errors)
    detail = best
    if best is not None and best.context:
        own = [e for e in best.context if method is not None and _branch_method(best, e) == method]
        if own:
            detail = jsonschema.exceptions.best_match(own)
    path = ".".join(str(p) for p in detail.absolute_path) if detail is not None else ""
    raise EngineError("invalid_request", f"{path or '(request)'}: {detail.message if detail else 'invalid'}", field=path or None)


def _branch_method(parent: jsonschema.ValidationError, error: jsonschema.ValidationError) -> str | None:
    index = error.schema_path[0] if error.schema_path else None
    # The request's oneOf over methods; a field's own anyOf (json_schema: one or one per prompt) is no method.
    if not isinstance(index, int) or "oneOf" not in parent.schema:
        return None
    branch = parent.schema["oneOf"][index]
    return branch.get("properties", {}).get("method", {}).get("const")


def validate_message(message: dict) -> None:
    """Checks an outgoing message (used by the tests and, cheaply, by the server in debug mode)."""
    _validator("message").validate(message)
