"""Structured logging (structlog) with redaction, JSON lines in production, console output in a tty."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from .redaction import redact

__all__ = ["configure_logging", "get_logger", "redaction_processor"]


def redaction_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: credentials in any field (nested) are replaced before rendering."""
    return {
        k: (v if k in ("event", "timestamp", "level") else redact({k: v})[k]) for k, v in event_dict.items()
    }


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Configure structlog once at process start (the CLI calls it; libraries only call get_logger)."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redaction_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "retailconnect") -> Any:
    return structlog.get_logger(name)
