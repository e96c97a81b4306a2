"""Dead letters: the ``DeadLetter`` record (see ``api.py``) and helpers to present them."""

from __future__ import annotations

from .api import DeadLetter

__all__ = ["DeadLetter", "summary"]


def summary(d: DeadLetter, width: int = 80) -> str:
    """One line: ``#id group type subject: last error`` (for tables and logs)."""
    err = d.last_error.splitlines()[0] if d.last_error else ""
    line = f"#{d.id} {d.group} {d.event.type} {d.event.subject or '-'}: {err}"
    return line if len(line) <= width else line[: width - 1] + "…"
