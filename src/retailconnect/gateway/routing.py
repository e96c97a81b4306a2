"""One-pass JSON bodies: ``ParsedBodyRoute`` and the ``KeepParsed`` marker.

FastAPI reads a JSON body with ``json.loads`` and validates the resulting dicts with the model (python
mode): two passes over a ~2.6 KB order, the first building every intermediate dict and list.
``Model.model_validate_json(raw)`` does both in one pass in pydantic-core. A route of
``ParsedBodyRoute`` whose body parameter is ``Annotated[Model, KeepParsed]`` parses the raw body that way
first and hands FastAPI the model instance as the decoded JSON; ``KeepParsed`` (a wrap validator) then
keeps that instance instead of validating it again (a model's after-validators would run again on an
instance). A body the fast path refuses (invalid JSON, a validation error, another content type) goes
through FastAPI's path unchanged: ``json.loads`` gives dicts, which ``KeepParsed`` validates as before,
so error answers (the 422 problem document and its pointers) are FastAPI's. The wrap validator does not
change the JSON schema, so the OpenAPI document is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["KeepParsed", "ParsedBodyRoute"]

_JSON = b"application/json"


class _Parsed:
    """Holds the model parsed by the route (JSON never decodes to this type)."""

    __slots__ = ("model",)

    def __init__(self, model: BaseModel) -> None:
        self.model = model


def _keep_parsed(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if type(value) is _Parsed:
        return value.model
    return handler(value)


KeepParsed = WrapValidator(_keep_parsed)


class ParsedBodyRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        field = self.body_field
        if field is None or self._embed_body_fields or KeepParsed not in field.field_info.metadata:
            return handler
        model = field.field_info.annotation
        if not isinstance(model, type) or not issubclass(model, BaseModel):
            return handler
        parse = model.model_validate_json

        async def parse_then_handle(request: Request) -> Response:
            ctype = None
            for k, v in request.scope["headers"]:
                if k == b"content-type":
                    ctype = v
                    break
            # only the JSON media type (with or without parameters); anything else: FastAPI decides
            if ctype is not None and (ctype == _JSON or ctype.partition(b";")[0].strip().lower() == _JSON):
                body = await request.body()
                if body:
                    try:
                        request._json = _Parsed(parse(body))
                    except ValidationError:
                        pass  # FastAPI decodes and validates again and answers with its own errors
            return await handler(request)

        return parse_then_handle
