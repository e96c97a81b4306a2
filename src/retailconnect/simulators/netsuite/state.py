"""The simulated NetSuite account: records with internal ids, external-id index, upsert/transform rules."""

from __future__ import annotations

import copy
import threading
from decimal import Decimal
from typing import Any

from .problems import SimError

RECORD_TYPES = {
    "salesOrder": "SO",
    "customer": "C",
    "inventoryItem": "I",
    "itemFulfillment": "IF",
    "invoice": "INV",
    "cashSale": "CS",
    "customerPayment": "PYMT",
    "returnAuthorization": "RMA",
    "creditMemo": "CM",
    "cashRefund": "CR",
}
TRANSFORMS = {("salesOrder", "itemFulfillment"), ("salesOrder", "returnAuthorization"), ("salesOrder", "invoice"),
              ("salesOrder", "cashSale"), ("returnAuthorization", "creditMemo"), ("returnAuthorization", "cashRefund")}  # fmt: skip
SUBLISTS = ("item", "package", "apply")
CURRENCIES = {"1": "USD", "2": "GBP", "3": "CAD", "4": "EUR"}
SO_STATUS = {
    "B": "Pending Fulfillment",
    "D": "Partially Fulfilled",
    "F": "Pending Billing",
    "H": "Closed",
}


def _dec(v: Any) -> Decimal:
    if v is None or v == "":
        return Decimal(0)
    return Decimal(str(v))


def _num(d: Decimal) -> Any:
    """Decimal kept (the app's JSON encoder writes it as a number)."""
    return d


class NetSuiteState:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.reset()

    # -- setup -----------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in RECORD_TYPES}
            self.eids: dict[str, dict[str, str]] = {t: {} for t in RECORD_TYPES}
            self.next_id: dict[str, int] = dict.fromkeys(RECORD_TYPES, 100)
            self.stats: dict[tuple[str, str], dict[str, int]] = {}
            items = self.settings.get("items") or []
            if isinstance(items, dict):
                items = [{"sku": k, "price": v} for k, v in items.items()]
            for it in items:
                self.add_item(it)
            for c in self.settings.get("customers") or []:
                self.add_customer(c)

    def _new_id(self, rtype: str) -> str:
        self.next_id[rtype] += 1
        return str(self.next_id[rtype])

    def add_item(self, it: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            sku = str(it["sku"])
            existing = next((r for r in self.records["inventoryItem"].values() if r["itemId"] == sku), None)
            rec = existing or {"id": self._new_id("inventoryItem")}
            rec.update(
                {
                    "itemId": sku,
                    "displayName": it.get("title") or it.get("displayName") or sku,
                    "isInactive": bool(it.get("inactive", False)),
                    "basePrice": _dec(it["price"]) if it.get("price") is not None else None,
                }
            )
            self.records["inventoryItem"][rec["id"]] = rec
            return rec

    def add_customer(self, c: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            cid = self._new_id("customer")
            rec = {
                "id": cid,
                "entityId": c.get("entityId") or c.get("email") or f"CUST{cid}",
                "email": c.get("email"),
                "firstName": c.get("firstName") or c.get("first_name"),
                "lastName": c.get("lastName") or c.get("last_name"),
                "isPerson": True,
                "creditHoldOverride": {"id": "ON" if c.get("creditHold") else "AUTO"},
            }
            if c.get("externalId"):
                rec["externalId"] = c["externalId"]
                self.eids["customer"][c["externalId"]] = cid
            self.records["customer"][cid] = rec
            return rec

    # -- lookups ---------------------------------------------------------------------------------
    def resolve(self, rtype: str, ref: str) -> dict[str, Any] | None:
        if rtype not in self.records:
            raise SimError(404, "INVALID_PARAMETER", f"Record type '{rtype}' does not exist.")
        if ref.startswith("eid:"):
            rid = self.eids[rtype].get(ref[4:])
            return self.records[rtype].get(rid) if rid else None
        return self.records[rtype].get(ref)

    def item_rows(self) -> list[dict[str, Any]]:
        return [
            {"id": r["id"], "itemid": r["itemId"], "displayname": r["displayName"],
             "isinactive": "T" if r["isInactive"] else "F",
             "_price": None if r["basePrice"] is None else format(r["basePrice"], "f")}
            for r in self.records["inventoryItem"].values()
        ]  # fmt: skip

    def customer_rows(self) -> list[dict[str, Any]]:
        return [{"id": r["id"], "email": r.get("email")} for r in self.records["customer"].values()]

    def so_rows(self) -> list[dict[str, Any]]:
        return [
            {"id": r["id"], "tranid": r.get("tranId"), "externalid": r.get("externalId"), "otherrefnum": r.get("otherRefNum")}
            for r in self.records["salesOrder"].values()
        ]  # fmt: skip

    # -- validation ------------------------------------------------------------------------------
    def _item_line(self, i: int, line: dict[str, Any], faults: dict[str, Any]) -> dict[str, Any]:
        path = f"item.items[{i}].item"
        ref = line.get("item") or {}
        iid = str(ref.get("id")) if isinstance(ref, dict) and ref.get("id") is not None else None
        if line.get("itemType") == "Discount" or (
            isinstance(ref, dict) and ref.get("refName") == "Discount" and not iid
        ):
            out = dict(line)
            out["item"] = {"id": iid or "-6", "refName": "Discount"}
            out["itemType"] = "Discount"
            return out
        item = self.records["inventoryItem"].get(iid or "")
        if item is None:
            raise SimError(
                400,
                "INVALID_KEY_OR_REF",
                f"Error while accessing resource: You have entered an Invalid Field Value {iid or ref} "
                "for the following field: item",
                path,
            )
        if item["isInactive"]:
            raise SimError(
                400, "USER_ERROR", f"The item {item['itemId']} is inactive and cannot be sold.", path
            )
        rejects = faults.get("reject_skus") or {}
        if isinstance(rejects, list):
            rejects = dict.fromkeys(rejects, "")
        if item["itemId"] in rejects:
            msg = (
                rejects[item["itemId"]] or f"Item {item['itemId']} cannot be sold: the item is not available."
            )
            raise SimError(400, "USER_ERROR", msg, path)
        out = dict(line)
        out["item"] = {"id": item["id"], "refName": item["itemId"]}
        qty = _dec(line.get("quantity", 1))
        rate = _dec(line.get("rate")) if line.get("rate") is not None else (item["basePrice"] or Decimal(0))
        out["quantity"] = _num(qty)
        out["rate"] = _num(rate)
        out.setdefault("amount", _num(rate * qty))
        out.setdefault("isClosed", False)
        out.setdefault("quantityFulfilled", 0)
        return out

    def _check_sales_order(
        self, body: dict[str, Any], existing: dict[str, Any] | None, faults: dict[str, Any]
    ) -> None:
        entity = body.get("entity") or (existing or {}).get("entity")
        if not entity:
            raise SimError(400, "USER_ERROR", "Please enter value(s) for: Customer", "entity")
        cust = self.records["customer"].get(str(entity.get("id")))
        if cust is None:
            raise SimError(
                400, "INVALID_KEY_OR_REF", f"Invalid entity reference key {entity.get('id')}.", "entity"
            )
        holds = [e.lower() for e in faults.get("credit_hold_emails") or []]
        override = (cust.get("creditHoldOverride") or {}).get("id", "AUTO")  # absent on upserted customers
        if override == "ON" or (cust.get("email") or "").lower() in holds:
            raise SimError(
                400,
                "USER_ERROR",
                f"Customer {cust['entityId']} is on credit hold. The transaction cannot be saved.",
                "entity",
            )
        if faults.get("closed_period"):
            raise SimError(
                400,
                "USER_ERROR",
                "The transaction date you specified is not within the date range of your accounting period.",
                "tranDate",
            )

    # -- writes ----------------------------------------------------------------------------------
    def _finish(self, rtype: str, rec: dict[str, Any]) -> None:
        if rtype == "customer":  # NetSuite fills these on every customer, however it was created
            rec.setdefault("entityId", rec.get("email") or f"CUST{rec['id']}")
            rec.setdefault("isPerson", True)
            rec.setdefault("creditHoldOverride", {"id": "AUTO"})
        cur = rec.get("currency")
        if isinstance(cur, dict) and not cur.get("refName") and str(cur.get("id")) in CURRENCIES:
            cur["refName"] = CURRENCIES[str(cur["id"])]
        ent = rec.get("entity")
        if isinstance(ent, dict) and ent.get("id"):
            c = self.records["customer"].get(str(ent["id"]))
            if c:
                ent["refName"] = c["entityId"]
        items = (rec.get("item") or {}).get("items")
        if items is not None:
            for n, ln in enumerate(items, start=1):
                ln.setdefault("line", n)
        if rtype in ("salesOrder", "creditMemo", "cashRefund", "invoice", "cashSale") and items is not None:
            sub = sum((_dec(ln.get("amount")) for ln in items), Decimal(0))
            tax = sum((_dec(ln.get("tax1Amt")) for ln in items), Decimal(0))
            ship = _dec(rec.get("shippingCost"))
            disc = _dec(rec.get("discountTotal"))
            rec["subtotal"] = _num(sub)
            rec["taxTotal"] = _num(tax)
            rec["total"] = _num(sub + disc + tax + ship)
        if rtype == "salesOrder":
            lines = [ln for ln in items or [] if ln.get("itemType") != "Discount"]
            if lines and all(ln.get("isClosed") for ln in lines):
                code = "H"
            elif lines and all(_dec(ln.get("quantityFulfilled")) >= _dec(ln.get("quantity")) for ln in lines):
                code = "F"
            elif any(_dec(ln.get("quantityFulfilled")) > 0 for ln in lines):
                code = "D"
            else:
                code = "B"
            rec["orderStatus"] = {"id": code, "refName": SO_STATUS[code]}

    def _prepare(self, rtype: str, body: dict[str, Any], existing: dict[str, Any] | None, faults: dict[str, Any],
                 replace: set[str]) -> dict[str, Any]:  # fmt: skip
        body = copy.deepcopy(body)
        if rtype == "salesOrder":
            self._check_sales_order(body, existing, faults)
        if rtype in ("salesOrder", "creditMemo", "cashRefund") and "item" in body:
            lines = [
                ln
                if ("line" in ln and "item" not in ln and existing is not None)
                else self._item_line(i, ln, faults)
                for i, ln in enumerate((body.get("item") or {}).get("items") or [])
            ]
            body["item"] = {"items": lines}
        if existing is None:
            return body
        merged = copy.deepcopy(existing)
        for k, v in body.items():
            if k in SUBLISTS and isinstance(v, dict) and k not in replace:
                # NetSuite's default on update: lines with "line" update that line, others are added.
                old = (merged.get(k) or {}).get("items") or []
                for ln in v.get("items") or []:
                    target = next(
                        (o for o in old if ln.get("line") is not None and o.get("line") == ln.get("line")),
                        None,
                    )
                    if target is not None:
                        target.update({kk: vv for kk, vv in ln.items() if kk != "line"})
                    else:
                        ln = dict(ln)
                        ln.pop("line", None)
                        ln["line"] = max([o.get("line", 0) for o in old] + [0]) + 1
                        old.append(ln)
                merged[k] = {"items": old}
            else:
                merged[k] = v
        return merged

    def upsert(
        self, rtype: str, eid: str, body: dict[str, Any], faults: dict[str, Any], replace: set[str]
    ) -> tuple[str, bool]:
        with self.lock:
            existing = self.resolve(rtype, "eid:" + eid)
            rec = self._prepare(rtype, body, existing, faults, replace)
            rec["externalId"] = eid
            if existing is None:
                rid = self._new_id(rtype)
                rec["id"] = rid
                rec.setdefault("tranId", f"{RECORD_TYPES[rtype]}{rid}")
                self.eids[rtype][eid] = rid
                self.stats[(rtype, rid)] = {"created": 1, "updated": 0}
            else:
                rid = existing["id"]
                self.stats.setdefault((rtype, rid), {"created": 0, "updated": 0})["updated"] += 1
            self._finish(rtype, rec)
            self.records[rtype][rid] = rec
            return rid, existing is None

    def create(self, rtype: str, body: dict[str, Any], faults: dict[str, Any]) -> str:
        with self.lock:
            eid = body.get("externalId")
            if eid and eid in self.eids[rtype]:
                raise SimError(
                    400, "USER_ERROR", "A record with this external ID already exists.", "externalId"
                )
            rec = self._prepare(rtype, body, None, faults, set())
            rid = self._new_id(rtype)
            rec["id"] = rid
            rec.setdefault("tranId", f"{RECORD_TYPES[rtype]}{rid}")
            if eid:
                self.eids[rtype][eid] = rid
            self.stats[(rtype, rid)] = {"created": 1, "updated": 0}
            self._finish(rtype, rec)
            self.records[rtype][rid] = rec
            return rid

    def patch(self, rtype: str, ref: str, body: dict[str, Any], faults: dict[str, Any]) -> str:
        with self.lock:
            existing = self.resolve(rtype, ref)
            if existing is None:
                raise SimError(
                    404,
                    "NONEXISTENT_ID",
                    "The record instance does not exist. Provide a valid record instance ID.",
                )
            rec = self._prepare(rtype, body, existing, {}, set())
            self._finish(rtype, rec)
            self.records[rtype][existing["id"]] = rec
            self.stats.setdefault((rtype, existing["id"]), {"created": 0, "updated": 0})["updated"] += 1
            return str(existing["id"])

    def delete(self, rtype: str, ref: str) -> None:
        with self.lock:
            existing = self.resolve(rtype, ref)
            if existing is None:
                raise SimError(
                    404,
                    "NONEXISTENT_ID",
                    "The record instance does not exist. Provide a valid record instance ID.",
                )
            del self.records[rtype][existing["id"]]
            if existing.get("externalId"):
                self.eids[rtype].pop(existing["externalId"], None)

    def transform(self, src_type: str, src_id: str, target: str, body: dict[str, Any]) -> str:
        with self.lock:
            if (src_type, target) not in TRANSFORMS:
                raise SimError(
                    400, "INVALID_PARAMETER", f"Transformation from {src_type} to {target} is not supported."
                )
            src = self.resolve(src_type, src_id)
            if src is None:
                raise SimError(
                    404,
                    "NONEXISTENT_ID",
                    "The record instance does not exist. Provide a valid record instance ID.",
                )
            eid = body.get("externalId")
            if eid and eid in self.eids[target]:
                raise SimError(
                    400, "USER_ERROR", "A record with this external ID already exists.", "externalId"
                )
            src_lines = {ln["line"]: ln for ln in (src.get("item") or {}).get("items") or []}
            wanted = (body.get("item") or {}).get("items")
            if wanted is None:
                wanted = [{"orderLine": n, "quantity": ln.get("quantity")} for n, ln in src_lines.items()
                          if ln.get("itemType") != "Discount"]  # fmt: skip
            lines = []
            for i, w in enumerate(wanted):
                if w.get("itemReceive") is False:
                    continue
                sl = src_lines.get(int(w.get("orderLine", 0)))
                if sl is None:
                    raise SimError(
                        400,
                        "INVALID_KEY_OR_REF",
                        f"Invalid orderLine {w.get('orderLine')}.",
                        f"item.items[{i}].orderLine",
                    )
                qty = _dec(w.get("quantity", sl.get("quantity")))
                if target == "itemFulfillment":
                    left = _dec(sl.get("quantity")) - _dec(sl.get("quantityFulfilled"))
                    if sl.get("isClosed") or qty > left:
                        raise SimError(
                            400,
                            "USER_ERROR",
                            f"You can not fulfill more than the remaining quantity ({left}) of {sl['item'].get('refName')}.",
                            f"item.items[{i}].quantity",
                        )
                lines.append({"orderLine": sl["line"], "item": dict(sl["item"]), "quantity": _num(qty),
                              "rate": sl.get("rate"), "amount": _num(_dec(sl.get("rate")) * qty)})  # fmt: skip
            if not lines:
                raise SimError(
                    400, "USER_ERROR", "You must enter at least one line item for this transaction.", "item"
                )
            if target == "itemFulfillment":
                for ln in lines:
                    sl = src_lines[ln["orderLine"]]
                    sl["quantityFulfilled"] = _num(_dec(sl.get("quantityFulfilled")) + _dec(ln["quantity"]))
                self._finish(src_type, src)
            rid = self._new_id(target)
            rec = {k: v for k, v in body.items() if k not in ("item",)}
            rec.update({"id": rid, "tranId": f"{RECORD_TYPES[target]}{rid}", "createdFrom": {"id": src["id"], "refName": src.get("tranId")},
                        "entity": src.get("entity"), "currency": src.get("currency"), "item": {"items": lines}})  # fmt: skip
            if eid:
                self.eids[target][eid] = rid
            self.stats[(target, rid)] = {"created": 1, "updated": 0}
            self._finish(target, rec)
            self.records[target][rid] = rec
            return rid

    # -- views for tests -------------------------------------------------------------------------
    def sales_orders_view(self) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for rid, rec in self.records["salesOrder"].items():
                st = self.stats.get(("salesOrder", rid), {"created": 0, "updated": 0})
                out.append(
                    {
                        "id": rid,
                        "externalId": rec.get("externalId"),
                        "tranId": rec.get("tranId"),
                        "entity": (rec.get("entity") or {}).get("id"),
                        "status": (rec.get("orderStatus") or {}).get("refName"),
                        "total": rec.get("total"),
                        "lines": [
                            {
                                "line": ln.get("line"),
                                "sku": (ln.get("item") or {}).get("refName"),
                                "quantity": ln.get("quantity"),
                                "rate": ln.get("rate"),
                                "amount": ln.get("amount"),
                                "isClosed": ln.get("isClosed", False),
                                "quantityFulfilled": ln.get("quantityFulfilled", 0),
                            }
                            for ln in (rec.get("item") or {}).get("items") or []
                        ],
                        "created_count": st["created"],
                        "updated_count": st["updated"],
                    }
                )
            return out

    def records_view(self, rtype: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
        """Every record of ``rtype`` with its created/updated counts; ``fields`` keeps only those (a cheap
        view for polling: no deep copy of the sublists)."""
        with self.lock:
            out = []
            for rid, rec in self.records[rtype].items():
                st = self.stats.get((rtype, rid), {"created": 0, "updated": 0})
                counts = {"created_count": st["created"], "updated_count": st["updated"]}
                if fields is None:
                    out.append({**copy.deepcopy(rec), **counts})
                else:
                    row = {**rec, **counts}
                    out.append({f: copy.deepcopy(row.get(f)) for f in fields})
            return out
