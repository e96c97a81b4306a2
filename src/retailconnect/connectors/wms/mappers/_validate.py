"""Validate a WMS document against its JSON Schema; failures become MappingError with a JSON path."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from retailconnect.errors import MappingError

from ..schemas import SCHEMAS


@cache
def _validator(name: str, data_only: bool) -> Draft202012Validator:
    schema = SCHEMAS[name]
    if data_only:
        schema = {"$schema": schema["$schema"], **schema["properties"]["data"]}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate(name: str, payload: Any) -> dict[str, Any]:
    """The ``data`` object of an event (envelope or bare data accepted), or the request body, validated."""
    is_event = "." in name
    data_only = is_event and not (isinstance(payload, dict) and "data" in payload and "type" in payload)
    errors = sorted(_validator(name, data_only).iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        raise MappingError(
            f"not a valid WMS {name} document: {err.message}", context={"path": path, "schema": name}
        )
    if is_event and not data_only:
        data: dict[str, Any] = payload["data"]
        return data
    result: dict[str, Any] = payload
    return result


def envelope_meta(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict) and "data" in payload and "type" in payload:
        return {k: payload.get(k) for k in ("id", "type", "occurred_at", "warehouse")}
    return {}
