"""Batched writes of the readable step history (``flow_steps``).

A step that succeeds on its first attempt (nearly all of them) does not write its row at once: the row
joins the process's :class:`HistoryWriter`, which writes what has gathered in one transaction when a
workflow ends (before DBOS records its outcome, so a finished workflow's history is complete for any
reader), every ``interval_s`` and on :meth:`HistoryWriter.flush`. Rows about retries, failures and skips
are written at once, after a flush, so the history keeps its order. The price: a process killed mid-
workflow loses the rows of steps it finished since the last write (the steps themselves are durable in
DBOS; only their readable line is missing). The gain: one store transaction per workflow for its
history instead of one per step; on SQLite they compete for the one write lock with everything else.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .tables import flow_steps

__all__ = ["HistoryWriter"]

log = logging.getLogger("retailconnect.flows")


class HistoryWriter:
    def __init__(self, store: Any, *, interval_s: float = 0.2, max_rows: int = 500) -> None:
        self.store = store
        self.interval_s = interval_s
        self.max_rows = max_rows
        self.flushes = 0
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="rc-flow-history", daemon=True)
            self._thread.start()

    def add(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.max_rows
        if full or self._thread is None:
            self._wake.set()
            if self._thread is None:  # not started (tests building services by hand): write now
                self.flush()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def flush(self) -> int:
        """Write what has gathered (one transaction); returns the rows written."""
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                with self.store.begin() as c:
                    c.execute(flow_steps.insert(), rows)
            except Exception:
                with self._lock:  # keep them for the next flush
                    self._rows[:0] = rows[-10 * self.max_rows :]
                raise
            self.flushes += 1
            return len(rows)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:
                log.warning("step history flush failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self.flush()
        except Exception as exc:
            log.warning("step history flush failed at close: %s", exc)
