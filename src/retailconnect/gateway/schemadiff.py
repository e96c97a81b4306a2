"""Breaking-change detection between two OpenAPI documents or two sets of canonical JSON Schemas.

Breaking (what a client written against OLD could trip over in NEW):
- a route (path + method) or a canonical schema removed;
- a field removed (request, response or canonical object);
- a type narrowed (a value OLD accepted is refused by NEW: ``number`` -> ``integer``, nullable -> not,
  tighter ``maxLength``/``minLength``/``minimum``/``maximum``/``pattern`` on input);
- a new required field or parameter on input (request body, parameters, canonical objects);
- an enum changed: a value removed anywhere, or a value added to something the client reads (responses,
  canonical objects), where a strict client's enum no longer matches;
- a response type widened (a client may now get a type it never saw, e.g. ``null``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["Change", "diff_documents", "diff_paths", "load_document"]

Mode = Literal["request", "response", "model"]
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True, order=True)
class Change:
    location: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.location}: {self.detail}"


def load_document(path: Path) -> dict[str, Any]:
    """An OpenAPI document (a file with ``openapi``), one JSON Schema file, or a directory of schemas
    (``{"schemas": {name: schema}}``)."""
    if path.is_dir():
        schemas = {}
        for f in sorted(path.glob("*.json")):
            doc = json.loads(f.read_text())
            if isinstance(doc, dict) and "openapi" in doc:
                continue  # an OpenAPI document kept beside the schemas (schemas/openapi.v1.json)
            schemas[f.name.removesuffix(".json").removesuffix(".schema")] = doc
        if not schemas:
            raise ValueError(f"{path}: no *.json schema files")
        return {"schemas": schemas}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    if "openapi" in data:
        return data
    return {"schemas": {path.name.removesuffix(".json").removesuffix(".schema"): data}}


def diff_paths(old: Path, new: Path) -> list[Change]:
    return diff_documents(load_document(old), load_document(new))


def diff_documents(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if ("openapi" in old) != ("openapi" in new):
        raise ValueError("compare two OpenAPI documents or two schema sets, not one of each")
    if "openapi" in old:
        return sorted(set(_OpenApiDiff(old, new).run()))
    out: list[Change] = []
    for name, schema in old["schemas"].items():
        if name not in new["schemas"]:
            out.append(Change(name, "removed schema", f"canonical schema {name!r} is gone"))
            continue
        _SchemaDiff(schema, new["schemas"][name], out).compare(schema, new["schemas"][name], name, "model")
    return sorted(set(out))


class _SchemaDiff:
    def __init__(self, old_root: dict[str, Any], new_root: dict[str, Any], out: list[Change]) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.out = out
        self._seen: set[tuple[str, str, str]] = set()

    def _resolve(self, s: Any, root: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        ref = None
        depth = 0
        while isinstance(s, dict) and "$ref" in s and depth < 20:
            ref = s["$ref"]
            node: Any = root
            if not ref.startswith("#/"):
                return {}, ref
            for part in ref[2:].split("/"):
                node = (
                    node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
                )
            s = node
            depth += 1
        return (s if isinstance(s, dict) else {}), ref

    def _unwrap(self, s: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(schema without a nullable wrapper, nullable)"""
        for key in ("anyOf", "oneOf"):
            members = s.get(key)
            if isinstance(members, list):
                non_null = [m for m in members if not (isinstance(m, dict) and m.get("type") == "null")]
                if len(non_null) == 1 and len(members) == 2:
                    inner, _ = self._resolve(non_null[0], root)
                    return inner, True
        t = s.get("type")
        if isinstance(t, list) and "null" in t:
            rest = [x for x in t if x != "null"]
            return {**s, "type": rest[0] if len(rest) == 1 else rest}, True
        return s, False

    def _types(self, s: dict[str, Any], root: dict[str, Any]) -> set[str] | None:
        t = s.get("type")
        if isinstance(t, str):
            return {t}
        if isinstance(t, list):
            return set(t)
        for key in ("anyOf", "oneOf"):
            if isinstance(s.get(key), list):
                acc: set[str] = set()
                for m in s[key]:
                    sub = self._types(self._resolve(m, root)[0], root)
                    if sub is None:
                        return None
                    acc |= sub
                return acc
        if "properties" in s:
            return {"object"}
        if "const" in s or "enum" in s:
            return None
        return None  # any

    def add(self, location: str, kind: str, detail: str) -> None:
        self.out.append(Change(location or "(root)", kind, detail))

    def compare(self, old: Any, new: Any, loc: str, mode: Mode) -> None:
        o, oref = self._resolve(old, self.old_root)
        n, nref = self._resolve(new, self.new_root)
        key = (oref or f"@{id(o)}", nref or f"@{id(n)}", mode)
        if oref and nref:
            if key in self._seen:
                return
            self._seen.add(key)
        o, o_null = self._unwrap(o, self.old_root)
        n, n_null = self._unwrap(n, self.new_root)
        reads = mode in ("response", "model")
        writes = mode in ("request", "model")
        if writes and o_null and not n_null:
            self.add(loc, "narrowed type", "no longer accepts null")
        if reads and n_null and not o_null and mode == "response":
            self.add(loc, "changed type", "may now be null")
        ot, nt = self._types(o, self.old_root), self._types(n, self.new_root)
        if ot is not None and nt is not None and ot != nt:
            widened_num = {"integer"} <= ot and "number" in nt
            lost = {x for x in ot - nt if not (x == "integer" and "number" in nt)}
            gained = {x for x in nt - ot if not (x == "integer" and "number" in ot)}
            if lost and writes:
                self.add(loc, "narrowed type", f"{'|'.join(sorted(ot))} -> {'|'.join(sorted(nt))}")
            elif (lost or gained or (widened_num and mode == "response")) and mode == "response":
                self.add(loc, "changed type", f"{'|'.join(sorted(ot))} -> {'|'.join(sorted(nt))}")
            elif lost and mode == "model":
                pass  # already reported as narrowed
        self._enum(o, n, loc, mode)
        if writes:
            self._constraints(o, n, loc)
        op, np_ = o.get("properties"), n.get("properties")
        if isinstance(op, dict):
            np_ = np_ if isinstance(np_, dict) else {}
            for name, sub in op.items():
                where = f"{loc}.{name}" if loc else name
                if name not in np_:
                    if n.get("additionalProperties") is True and mode == "request":
                        continue
                    self.add(where, "removed field", "the field is gone")
                else:
                    self.compare(sub, np_[name], where, mode)
        if writes and isinstance(np_, dict):
            old_req = set(o.get("required", []) or [])
            for name in sorted(set(n.get("required", []) or []) - old_req):
                where = f"{loc}.{name}" if loc else name
                self.add(where, "new required field", "clients that omit it are now refused")
        oi, ni = o.get("items"), n.get("items")
        if isinstance(oi, dict) and isinstance(ni, dict):
            self.compare(oi, ni, f"{loc}[]", mode)

    def _enum(self, o: dict[str, Any], n: dict[str, Any], loc: str, mode: Mode) -> None:
        oe = o.get("enum") if "enum" in o else ([o["const"]] if "const" in o else None)
        ne = n.get("enum") if "enum" in n else ([n["const"]] if "const" in n else None)
        if oe is None or ne is None:
            if oe is not None and ne is None:
                return  # enum lifted: more accepted; responses may now carry anything
            if ne is not None and oe is None and mode in ("request", "model"):
                self.add(loc, "changed enum", f"now limited to {sorted(map(str, ne))}")
            return
        removed = [v for v in oe if v not in ne]
        added = [v for v in ne if v not in oe]
        if removed:
            self.add(loc, "changed enum", f"removed value(s) {sorted(map(str, removed))}")
        if added and mode in ("response", "model"):
            self.add(
                loc, "changed enum", f"added value(s) {sorted(map(str, added))} a strict client does not know"
            )

    def _constraints(self, o: dict[str, Any], n: dict[str, Any], loc: str) -> None:
        for key, tighter in (
            ("maxLength", lambda a, b: b < a),
            ("maxItems", lambda a, b: b < a),
            ("maximum", lambda a, b: b < a),
            ("exclusiveMaximum", lambda a, b: b < a),
            ("minLength", lambda a, b: b > a),
            ("minItems", lambda a, b: b > a),
            ("minimum", lambda a, b: b > a),
            ("exclusiveMinimum", lambda a, b: b > a),
        ):
            a, b = o.get(key), n.get(key)
            if b is not None and (a is None or (isinstance(a, int | float) and tighter(a, b))):
                self.add(loc, "narrowed type", f"{key} {a if a is not None else '(none)'} -> {b}")
        if n.get("pattern") and n.get("pattern") != o.get("pattern"):
            self.add(loc, "narrowed type", f"pattern {o.get('pattern')!r} -> {n.get('pattern')!r}")
        if (
            o.get("additionalProperties") is not False
            and n.get("additionalProperties") is False
            and "properties" in n
        ):
            self.add(loc, "narrowed type", "extra fields are now refused")


class _OpenApiDiff:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old = old
        self.new = new
        self.out: list[Change] = []
        self.sd = _SchemaDiff(old, new, self.out)

    def run(self) -> list[Change]:
        op_paths, np_paths = self.old.get("paths", {}), self.new.get("paths", {})
        for path, ops in op_paths.items():
            for method in _METHODS:
                if method not in ops:
                    continue
                route = f"{method.upper()} {path}"
                new_ops = np_paths.get(path, {})
                if method not in new_ops:
                    self.out.append(Change(route, "removed route", "the operation is gone"))
                    continue
                self._operation(route, ops[method], new_ops[method], ops, new_ops)
        return self.out

    def _params(
        self, op: dict[str, Any], path_item: dict[str, Any], root: dict[str, Any]
    ) -> dict[tuple[str, str], Any]:
        out = {}
        for p in [*path_item.get("parameters", []), *op.get("parameters", [])]:
            p, _ = self.sd._resolve(p, root)
            if p.get("in") and p.get("name"):
                name = p["name"].lower() if p["in"] == "header" else p["name"]
                out[(p["in"], name)] = p
        return out

    def _operation(
        self, route: str, o: dict[str, Any], n: dict[str, Any], opi: dict[str, Any], npi: dict[str, Any]
    ) -> None:
        op_, np_ = self._params(o, opi, self.old), self._params(n, npi, self.new)
        for key, p in np_.items():
            if p.get("required") and (key not in op_ or not op_[key].get("required")):
                self.out.append(
                    Change(f"{route} {key[0]}:{key[1]}", "new required field", "new required parameter")
                )
        for key, p in op_.items():
            if key in np_:
                self.sd.compare(
                    p.get("schema", {}), np_[key].get("schema", {}), f"{route} {key[0]}:{key[1]}", "request"
                )
            elif key[0] == "path":
                self.out.append(Change(f"{route} path:{key[1]}", "removed field", "path parameter is gone"))
        ob, nb = self._body(o, self.old), self._body(n, self.new)
        if ob is not None and nb is not None:
            self.sd.compare(ob, nb, f"{route} body", "request")
        elif nb is not None and ob is None and n.get("requestBody", {}).get("required"):
            self.out.append(Change(f"{route} body", "new required field", "a request body is now required"))
        for status, resp in o.get("responses", {}).items():
            if not str(status).startswith("2"):
                continue
            new_resp = n.get("responses", {}).get(status)
            if new_resp is None:
                self.out.append(Change(f"{route} {status}", "removed field", f"response {status} is gone"))
                continue
            os_, ns_ = self._json_schema(resp, self.old), self._json_schema(new_resp, self.new)
            if os_ is not None and ns_ is not None:
                self.sd.compare(os_, ns_, f"{route} {status}", "response")

    def _body(self, op: dict[str, Any], root: dict[str, Any]) -> Any:
        rb, _ = self.sd._resolve(op.get("requestBody"), root)
        return self._json_schema(rb, root) if rb else None

    def _json_schema(self, holder: dict[str, Any], root: dict[str, Any]) -> Any:
        holder, _ = self.sd._resolve(holder, root)
        for media, content in (holder.get("content") or {}).items():
            if "json" in media and isinstance(content, dict) and "schema" in content:
                return content["schema"]
        return None
