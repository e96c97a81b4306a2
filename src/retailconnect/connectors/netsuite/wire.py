"""Pydantic models of the NetSuite REST payloads we read (lenient: NetSuite adds fields per account).

Numbers are parsed as ``Decimal`` (the client decodes JSON with ``parse_float=Decimal``); the JSON we
send is encoded by :func:`dumps` which writes ``Decimal`` as a plain JSON number (never via float).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RecordRef", "SalesOrder", "SalesOrderLine", "SuiteQLPage", "dumps", "loads"]


def dumps(obj: Any) -> str:
    """JSON text with ``Decimal`` written as a number literal (``12.50``), never through float."""
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class RecordRef(_Lenient):
    id: str | None = None
    refName: str | None = None
    externalId: str | None = None


class SalesOrderLine(_Lenient):
    line: int | None = None
    item: RecordRef | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    description: str | None = None
    tax1Amt: Decimal | None = None
    isClosed: bool | None = None
    itemType: Any = None


class SalesOrderLines(_Lenient):
    items: list[SalesOrderLine] | None = None


class SalesOrder(_Lenient):
    id: str | None = None
    tranId: str | None = None
    externalId: str | None = None
    tranDate: str | None = None
    entity: RecordRef | None = None
    currency: RecordRef | None = None
    otherRefNum: str | None = None
    memo: str | None = None
    email: str | None = None
    subtotal: Decimal | None = None
    discountTotal: Decimal | None = None
    taxTotal: Decimal | None = None
    shippingCost: Decimal | None = None
    total: Decimal | None = None
    orderStatus: RecordRef | None = None
    item: SalesOrderLines | None = None


class SuiteQLPage(_Lenient):
    links: list[dict[str, Any]] = Field(default_factory=list)
    count: int = 0
    hasMore: bool = False
    items: list[dict[str, Any]] = Field(default_factory=list)
    offset: int = 0
    totalResults: int | None = None
