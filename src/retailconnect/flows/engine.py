"""The one module that imports DBOS. Everything else in retailconnect speaks to durable execution here.

DBOS keeps one instance per process (decorators register on the class); :class:`Engine` owns its life:
``Engine(...).launch()`` with an explicit ``application_version`` and a stable ``executor_id``, Conductor
off; ``shutdown()`` destroys it (keeping the registry, so tests can launch again). A heartbeat thread
writes this executor's pulse to the store, and a recovery thread resumes the PENDING workflows of
executors that stopped beating (DBOS only recovers its own executor's workflows at start).

Workflow code uses the small async helpers below (``run_step``, ``recv``, ``send``, ``sleep``,
``workflow_id``), never ``dbos`` directly. Outside a workflow the CLI uses :class:`EngineClient`
(a ``DBOSClient``): list, inspect, send, cancel, resume, rewind without running a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig, SetEnqueueOptions, SetWorkflowID

from .tables import flow_executors

__all__ = [
    "Engine",
    "EngineClient",
    "StepRecord",
    "WorkflowInfo",
    "dbos_url_for",
    "recv",
    "run_step",
    "send",
    "sleep",
    "step_id",
    "workflow",
    "workflow_id",
]

log = logging.getLogger("retailconnect.flows.engine")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

APP_NAME = "retailconnect"


def dbos_url_for(store_url: str) -> str:
    """The DBOS system database beside the store: ``x.db`` -> ``x.dbos.db``; PostgreSQL: same URL."""
    if store_url.startswith("sqlite"):
        _base, _, path = store_url.partition(":///")
        stem = path[:-3] if path.endswith(".db") else path
        return f"sqlite:///{stem}.dbos.db"
    return store_url.replace("postgresql+psycopg://", "postgresql://")


def sqlite_system_engine(url: str, pool_size: int) -> sa.Engine:
    """The DBOS system database on SQLite, as DBOS builds it (IMMEDIATE transactions, long busy timeout,
    foreign keys) but in WAL mode with ``synchronous=NORMAL``, like the store. DBOS's own SQLite engine
    keeps the rollback journal: every step record then takes the file's exclusive lock against readers
    and waits out SQLite's busy back-off (sleeps of up to 100 ms), which capped a worker at ~10 flows/s.
    WAL + NORMAL survives a killed process (a power loss may lose the last commits, as for the store)."""
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


_end_hooks: list[Callable[[], Awaitable[None]]] = []


def on_workflow_end(hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook`` whenever a workflow function returns or raises (before DBOS records its outcome):
    the flows' batched step history is written there, so a finished workflow's history is complete."""
    if hook not in _end_hooks:
        _end_hooks.append(hook)


def workflow(name: str) -> Callable[[F], F]:
    """Register an async function as a durable workflow under a stable name."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            finally:
                for hook in _end_hooks:
                    try:
                        await hook()
                    except BaseException as exc:  # never the workflow's failure
                        log.warning("workflow end hook failed: %r", exc)

        return cast(F, DBOS.workflow(name=name)(run))

    return register


async def run_step(name: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` as a checkpointed step (its result is recorded; replay returns it without running)."""
    step: Any = DBOS.run_step_async
    return cast(T, await step({"name": name}, fn, *args, **kwargs))


async def recv(topic: str, timeout_s: float) -> Any:
    return await DBOS.recv_async(topic, timeout_seconds=timeout_s)


async def send(workflow_id: str, message: Any, topic: str, *, idempotency_key: str | None = None) -> None:
    await DBOS.send_async(workflow_id, message, topic, idempotency_key=idempotency_key)


async def sleep(seconds: float) -> None:
    await DBOS.sleep_async(seconds)


def workflow_id() -> str | None:
    return DBOS.workflow_id


def step_id() -> int | None:
    return DBOS.step_id


@dataclass(frozen=True)
class WorkflowInfo:
    workflow_id: str
    status: str
    name: str
    created_at: datetime | None
    updated_at: datetime | None
    queue: str | None
    executor_id: str | None
    error: str | None
    output: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "status": self.status,
            "name": self.name,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "queue": self.queue,
            "executor_id": self.executor_id,
            "error": self.error,
            "output": self.output
            if isinstance(self.output, str | int | float | dict | list | None)
            else repr(self.output),
        }


@dataclass(frozen=True)
class StepRecord:
    step_id: int
    name: str
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    child_workflow_id: str | None


def _ms(v: int | None) -> datetime | None:
    return datetime.fromtimestamp(v / 1000, UTC) if v else None


def _info(s: Any) -> WorkflowInfo:
    err = s.error
    return WorkflowInfo(
        workflow_id=s.workflow_id,
        status=str(s.status),
        name=s.name,
        created_at=_ms(s.created_at),
        updated_at=_ms(s.updated_at),
        queue=s.queue_name,
        executor_id=s.executor_id,
        error=None if err is None else f"{type(err).__name__}: {err}",
        output=s.output,
    )


def _step(s: Any) -> StepRecord:
    err = s.get("error")
    return StepRecord(
        step_id=int(s["function_id"]),
        name=str(s["function_name"]),
        started_at=_ms(s.get("started_at_epoch_ms")),
        ended_at=_ms(s.get("completed_at_epoch_ms")),
        error=None if err is None else f"{type(err).__name__}: {err}",
        child_workflow_id=s.get("child_workflow_id"),
    )


class Engine:
    """DBOS for this process: launch, queues, schedules, workflow control, dead-executor recovery."""

    def __init__(
        self,
        *,
        system_database_url: str,
        application_version: str,
        executor_id: str | None = None,
        store_engine: sa.Engine | None = None,
        notification_polling_s: float = 0.05,
        scheduler_polling_s: float = 5.0,
        heartbeat_s: float = 2.0,
        dead_after_s: float = 10.0,
        log_level: str = "ERROR",
        sys_db_pool_size: int = 64,
    ) -> None:
        self.system_database_url = system_database_url
        self.application_version = application_version
        self.executor_id = executor_id or f"{socket.gethostname()}-{os.getpid()}"
        self.store_engine = store_engine
        self.notification_polling_s = notification_polling_s
        self.scheduler_polling_s = scheduler_polling_s
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self.log_level = log_level
        self.sys_db_pool_size = sys_db_pool_size
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queues: dict[str, dict[str, Any]] = {}
        self._sys_engine: sa.Engine | None = None
        self.launched = False
        self.recovered: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------------
    def launch(self, *, listen: bool = True) -> None:
        """Start DBOS. ``listen=False`` (a gateway process): enqueue and inspect, run no workflow."""
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.system_database_url,
            "application_version": self.application_version,
            "executor_id": self.executor_id,
            "notification_listener_polling_interval_sec": self.notification_polling_s,
            "scheduler_polling_interval_sec": self.scheduler_polling_s,
            "log_level": self.log_level,
            "sys_db_pool_size": self.sys_db_pool_size,
        }
        if self.system_database_url.startswith("sqlite"):
            self._sys_engine = sqlite_system_engine(self.system_database_url, self.sys_db_pool_size)
            config["system_database_engine"] = self._sys_engine
        DBOS(config=config)
        if not listen:
            DBOS.listen_queues([])
        DBOS.launch()
        self.launched = True
        if self.store_engine is not None:
            self._beat()
            for target, name in ((self._heartbeat_loop, "heartbeat"), (self._recovery_loop, "recovery")):
                t = threading.Thread(target=target, name=f"rc-{name}", daemon=True)
                t.start()
                self._threads.append(t)

    def shutdown(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()
        if self.launched:
            DBOS.destroy(destroy_registry=False)
            self.launched = False
        if self._sys_engine is not None:
            self._sys_engine.dispose()
            self._sys_engine = None

    # -- queues ----------------------------------------------------------------------------------
    def register_queue(
        self,
        name: str,
        *,
        concurrency: int | None = None,
        rate: tuple[int, float] | None = None,
        polling_s: float = 0.1,
    ) -> None:
        limiter = {"limit": rate[0], "period": rate[1]} if rate else None
        DBOS.register_queue(
            name,
            global_concurrency=concurrency,
            limiter=limiter,  # type: ignore[arg-type]
            polling_interval_sec=polling_s,
            on_conflict="always_update",
        )
        self._queues[name] = {"concurrency": concurrency, "rate": rate}

    def set_queue_concurrency(self, name: str, concurrency: int | None) -> None:
        """0 pauses a queue for every worker (its workflows stay enqueued); a number resumes it."""
        q = DBOS.retrieve_queue(name)
        if q is not None:
            q.set_global_concurrency(concurrency)

    def queue_concurrency(self, name: str) -> int | None:
        q = DBOS.retrieve_queue(name)
        return None if q is None else q.global_concurrency

    # -- starting --------------------------------------------------------------------------------
    async def start(
        self,
        fn: Callable[..., Awaitable[Any]],
        *args: Any,
        workflow_id: str,
        queue: str | None = None,
        priority: int | None = None,
    ) -> str:
        """Start (or find) the workflow with this id: a second start with the same id is a no-op."""
        func: Any = fn
        handle: Any
        with SetWorkflowID(workflow_id):
            if queue is None:
                handle = await DBOS.start_workflow_async(func, *args)
            else:
                with SetEnqueueOptions(priority=priority):
                    handle = await DBOS.enqueue_workflow_async(queue, func, *args)
        return handle.get_workflow_id()

    async def result(self, workflow_id: str) -> Any:
        handle: Any = await DBOS.retrieve_workflow_async(workflow_id)
        return await handle.get_result()

    # -- inspection and control ------------------------------------------------------------------
    async def status(self, workflow_id: str) -> WorkflowInfo | None:
        s = await DBOS.get_workflow_status_async(workflow_id)
        return None if s is None else _info(s)

    async def workflows(
        self, *, status: str | None = None, prefix: str | None = None, limit: int | None = 100
    ) -> list[WorkflowInfo]:
        rows = await DBOS.list_workflows_async(
            status=status.upper() if status else None,
            workflow_id_prefix=prefix,
            limit=limit,
            sort_desc=True,
            load_input=False,
        )
        return [_info(s) for s in rows]

    async def steps(self, workflow_id: str) -> list[StepRecord]:
        return [_step(s) for s in await DBOS.list_workflow_steps_async(workflow_id)]

    async def send(self, workflow_id: str, message: Any, topic: str) -> None:
        await DBOS.send_async(workflow_id, message, topic)

    async def cancel(self, workflow_id: str) -> None:
        await DBOS.cancel_workflow_async(workflow_id)

    async def resume(self, workflow_id: str) -> None:
        await DBOS.resume_workflow_async(workflow_id)

    async def rewind(self, workflow_id: str, start_step: int, *, queue: str | None = None) -> None:
        """Run a finished (failed) workflow again from ``start_step``: earlier steps keep their results."""
        await DBOS.rewind_workflow_async(workflow_id, start_step=start_step, queue_name=queue)

    # -- schedules -------------------------------------------------------------------------------
    def schedule(self, name: str, fn: Callable[..., Awaitable[None]], cron: str, context: Any = None) -> None:
        sched: Any = {"schedule_name": name, "workflow_fn": fn, "schedule": cron, "context": context}
        DBOS.apply_schedules([sched])

    def trigger_schedule(self, name: str) -> str:
        return DBOS.trigger_schedule(name).get_workflow_id()

    # -- executors: heartbeat and recovery of dead ones -------------------------------------------
    def _beat(self) -> None:
        assert self.store_engine is not None
        t = flow_executors
        now = time.time()
        with self.store_engine.begin() as c:
            n = c.execute(
                t.update()
                .where(t.c.executor_id == self.executor_id)
                .values(heartbeat_at=now, recovered_at=None, recovered_by=None)
            ).rowcount
            if not n:
                c.execute(t.insert().values(executor_id=self.executor_id, heartbeat_at=now, started_at=now))

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self._beat()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)

    def recover_dead_executors(self) -> list[str]:
        """Claim executors silent for ``dead_after_s`` and re-enqueue their PENDING workflows here."""
        assert self.store_engine is not None
        t = flow_executors
        now = time.time()
        claimed: list[str] = []
        with self.store_engine.begin() as c:
            rows = c.execute(
                sa.select(t.c.executor_id).where(
                    t.c.executor_id != self.executor_id,
                    t.c.heartbeat_at < now - self.dead_after_s,
                    t.c.recovered_at.is_(None),
                )
            ).all()
            for (eid,) in rows:
                n = c.execute(
                    t.update()
                    .where(t.c.executor_id == eid, t.c.recovered_at.is_(None))
                    .values(recovered_at=now, recovered_by=self.executor_id)
                ).rowcount
                if n:
                    claimed.append(eid)
        if claimed:
            DBOS._recover_pending_workflows(claimed)
            self.recovered.extend(claimed)
            log.warning("recovered workflows of dead executors %s", claimed)
        return claimed

    def _recovery_loop(self) -> None:
        while not self._stop.wait(max(0.5, self.dead_after_s / 4)):
            try:
                self.recover_dead_executors()
            except Exception as exc:
                log.warning("dead-executor recovery failed: %s", exc)


class EngineClient:
    """Workflow inspection and control from outside a worker (the CLI), through the system database."""

    def __init__(self, system_database_url: str) -> None:
        self._c = DBOSClient(system_database_url=system_database_url)

    def close(self) -> None:
        self._c.destroy()

    def workflows(
        self, *, status: str | None = None, prefix: str | None = None, limit: int | None = 100
    ) -> list[WorkflowInfo]:
        rows = self._c.list_workflows(
            status=status.upper() if status else None,
            workflow_id_prefix=prefix,
            limit=limit,
            sort_desc=True,
            load_input=False,
        )
        return [_info(s) for s in rows]

    def status(self, workflow_id: str) -> WorkflowInfo | None:
        rows = self._c.list_workflows(workflow_ids=[workflow_id], load_input=False)
        return _info(rows[0]) if rows else None

    def steps(self, workflow_id: str) -> list[StepRecord]:
        return [_step(s) for s in self._c.list_workflow_steps(workflow_id)]

    def send(self, workflow_id: str, message: Any, topic: str) -> None:
        self._c.send(workflow_id, message, topic)

    def cancel(self, workflow_id: str) -> None:
        self._c.cancel_workflow(workflow_id)

    def resume(self, workflow_id: str) -> None:
        self._c.resume_workflow(workflow_id)

    def rewind(self, workflow_id: str, start_step: int, *, queue: str | None = None) -> None:
        self._c.rewind_workflow(workflow_id, start_step=start_step, queue_name=queue)

    def enqueue(
        self, workflow_name: str, queue: str, workflow_id: str, *args: Any, priority: int | None = None
    ) -> str:
        """Enqueue a registered workflow by name (a worker runs it)."""
        from dbos import EnqueueOptions

        opts: EnqueueOptions = {
            "workflow_name": workflow_name,
            "queue_name": queue,
            "workflow_id": workflow_id,
        }
        if priority is not None:
            opts["priority"] = priority
        return self._c.enqueue(opts, *args).get_workflow_id()


@contextlib.contextmanager
def client(system_database_url: str) -> Iterator[EngineClient]:
    c = EngineClient(system_database_url)
    try:
        yield c
    finally:
        c.close()


def run_coro_in_thread(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion from sync code that may itself be inside an event loop."""
    result: dict[str, Any] = {}

    def _run() -> None:
        try:
            result["v"] = asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:
            result["e"] = exc

    t = threading.Thread(target=_run)
    t.start()
    t.join()
    if "e" in result:
        raise result["e"]
    return result["v"]  # type: ignore[no-any-return]
