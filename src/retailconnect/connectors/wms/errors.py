"""WMS answers (RFC 9457 problem+json ``{"type","title","status","detail","code"}``) -> our errors."""

from __future__ import annotations

import json
from typing import Any

import httpx

from retailconnect.connectors._kit import classify_response
from retailconnect.errors import ConnectorError

__all__ = ["classify_wms"]


def classify_wms(
    resp: httpx.Response, *, operation: str, context: dict[str, Any] | None = None
) -> ConnectorError | None:
    if resp.status_code < 400:
        return None
    detail = None
    ctx = dict(context or {})
    try:
        body = json.loads(resp.content)
        if isinstance(body, dict):
            detail = body.get("detail") or body.get("title")
            if body.get("code"):
                ctx["wms_code"] = body["code"]
    except ValueError:
        pass
    msg = f"WMS {operation}: {detail or f'HTTP {resp.status_code}'}"
    return classify_response(resp, system="wms", operation=operation, message=msg, context=ctx)
