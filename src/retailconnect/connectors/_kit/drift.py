"""Contract drift: a connector's wire models report fields the vendor sent that the model did not expect,
and expected fields the vendor did not send, per system and API version, before it breaks a flow.

Connectors do not import observability. They validate vendor payloads with a pydantic *validation
context* carrying a :class:`DriftSink` (the hub injects one; ``observability.drift.DriftRecorder``
implements it)::

    class Order(DriftChecked):           # wire model
        id: int
        ...

    wire.Order.model_validate(raw, context=drift_context(sink, "shopify", "2025-01"))

or call :func:`check_drift` directly for models that cannot inherit, or :func:`check_keys` in a mapper
that reads raw dicts (the sink is ``MapContext.drift``). Without a sink nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ModelWrapValidatorHandler, ValidationInfo, model_validator

__all__ = ["DriftChecked", "DriftSink", "check_drift", "check_keys", "drift_context", "model_drift"]


@runtime_checkable
class DriftSink(Protocol):
    def record(
        self,
        *,
        system: str,
        api_version: str | None,
        model: str,
        unexpected: Iterable[str],
        missing: Iterable[str],
        example: Mapping[str, Any],
    ) -> None: ...


def _names(model_cls: type[BaseModel]) -> tuple[set[str], set[str]]:
    """(every accepted key, the keys the model expects to receive)."""
    accepted: set[str] = set()
    expected: set[str] = set()
    optional: set[str] = set(getattr(model_cls, "__drift_optional__", ()))
    for name, f in model_cls.model_fields.items():
        keys = {name}
        if f.alias:
            keys.add(f.alias)
        va = f.validation_alias
        if isinstance(va, str):
            keys.add(va)
        accepted |= keys
        if name not in optional and (f.alias or name) not in optional:
            expected.add(f.alias or name)
    return accepted, expected


def model_drift(model_cls: type[BaseModel], payload: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Pure: (unexpected keys, missing expected keys) of one payload object against a model."""
    accepted, expected = _names(model_cls)
    keys = set(payload)
    return sorted(keys - accepted), sorted(k for k in expected if k not in keys)


def check_drift(
    sink: DriftSink | None,
    *,
    system: str,
    api_version: str | None,
    model_cls: type[BaseModel],
    payload: Any,
) -> tuple[list[str], list[str]]:
    """Compare ``payload`` with ``model_cls`` and report any drift to ``sink``; returns the drift."""
    if not isinstance(payload, Mapping):
        return [], []
    unexpected, missing = model_drift(model_cls, payload)
    if sink is not None and (unexpected or missing):
        sink.record(
            system=system,
            api_version=api_version,
            model=model_cls.__name__,
            unexpected=unexpected,
            missing=missing,
            example=payload,
        )
    return unexpected, missing


def check_keys(
    sink: DriftSink | None,
    *,
    system: str,
    api_version: str | None,
    model: str,
    payload: Any,
    expected: Iterable[str],
    known: Iterable[str] = (),
) -> tuple[list[str], list[str]]:
    """For mappers that read raw dicts: ``expected`` keys the vendor documents as always sent, ``known``
    keys it may send. Anything else is unexpected; an expected key absent is missing. Reports to
    ``sink`` (``MapContext.drift``) and returns (unexpected, missing)."""
    if not isinstance(payload, Mapping):
        return [], []
    exp = set(expected)
    keys = set(payload)
    unexpected = sorted(keys - exp - set(known))
    missing = sorted(exp - keys)
    if sink is not None and (unexpected or missing):
        sink.record(
            system=system,
            api_version=api_version,
            model=model,
            unexpected=unexpected,
            missing=missing,
            example=payload,
        )
    return unexpected, missing


def drift_context(sink: DriftSink | None, system: str, api_version: str | None) -> dict[str, Any]:
    """The pydantic validation context a :class:`DriftChecked` model reads."""
    return {"drift_sink": sink, "drift_system": system, "drift_api_version": api_version}


class DriftChecked(BaseModel):
    """Mixin for wire models: reports drift when validated with :func:`drift_context` (nested models too).

    List fields the vendor legitimately omits in ``__drift_optional__`` so they are not reported missing."""

    __drift_optional__: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="wrap")
    @classmethod
    def _record_drift(cls, data: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo) -> Any:
        ctx = info.context if isinstance(info.context, dict) else None
        if ctx and ctx.get("drift_sink") is not None and isinstance(data, Mapping):
            check_drift(
                ctx["drift_sink"],
                system=str(ctx.get("drift_system") or "unknown"),
                api_version=ctx.get("drift_api_version"),
                model_cls=cls,
                payload=data,
            )
        return handler(data)
