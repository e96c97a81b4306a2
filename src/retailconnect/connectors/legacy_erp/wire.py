"""The legacy ERP's flat-file format: CSV files dropped into an inbound folder, acknowledged by files
in an outbound folder (the batch pattern of older ERPs and of many 3PL/EDI bridges).

Order file ``orders_<batch>.csv``: one row per order line, order fields repeated on each row::

    order_ref,order_date,customer_email,customer_name,currency,sku,quantity,unit_price,line_discount,
    line_tax,line_total,shipping_total,tax_total,order_total,taxes_included

Ack file ``ack_orders_<batch>.csv``: ``order_ref,status,doc_number,error`` with status ``created``,
``duplicate`` (already on file under that ref) or ``rejected``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

ORDER_COLUMNS = [
    "order_ref", "order_date", "customer_email", "customer_name", "currency", "sku", "quantity",
    "unit_price", "line_discount", "line_tax", "line_total", "shipping_total", "tax_total", "order_total",
    "taxes_included",
]  # fmt: skip
SHIPMENT_COLUMNS = [
    "shipment_ref",
    "order_ref",
    "sku",
    "quantity",
    "carrier",
    "tracking_number",
    "shipped_at",
]
ACK_COLUMNS = ["order_ref", "status", "doc_number", "error"]


def write_csv(columns: list[str], rows: Iterable[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow(row)
    return buf.getvalue()


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))
