"""One-pass JSON bodies (ParsedBodyRoute + KeepParsed): same answers, one validation per request."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

from retailconnect.gateway.routing import KeepParsed, ParsedBodyRoute

seen: list[str] = []


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str
    quantity: int

    @field_validator("sku")
    @classmethod
    def _mode(cls, v: str, info: ValidationInfo) -> str:
        seen.append(f"field:{info.mode}")
        return v

    @model_validator(mode="after")
    def _after(self) -> Item:
        seen.append("after")
        return self


def _app() -> FastAPI:
    router = APIRouter(route_class=ParsedBodyRoute)

    @router.post("/items")
    async def post_item(item: Annotated[Item, KeepParsed]) -> dict[str, Any]:
        assert isinstance(item, Item)
        return {"sku": item.sku, "quantity": item.quantity}

    app = FastAPI()
    app.include_router(router)
    return app


async def _post(content: bytes, ctype: str | None = "application/json") -> httpx.Response:
    headers = {"content-type": ctype} if ctype else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
        return await c.post("/items", content=content, headers=headers)


async def test_json_body_is_validated_once_in_json_mode():
    seen.clear()
    r = await _post(b'{"sku": "A-1", "quantity": 2}', "application/json; charset=utf-8")
    assert r.status_code == 200 and r.json() == {"sku": "A-1", "quantity": 2}
    assert seen == ["field:json", "after"]  # no second validation of the parsed instance


async def test_refused_bodies_get_fastapis_errors():
    seen.clear()
    r = await _post(b'{"sku": "A-1", "quantity": "many", "extra": 1}')
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert locs == {("body", "quantity"), ("body", "extra")}
    r = await _post(b'{"sku": "A-1", "quan')
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = await _post(b'{"sku": "A-1", "quantity": 2}', "text/plain")  # not JSON: FastAPI refuses it as before
    assert r.status_code == 422


def test_openapi_schema_is_the_models():
    schema = _app().openapi()["components"]["schemas"]["Item"]
    assert schema["required"] == ["sku", "quantity"] and schema["additionalProperties"] is False
