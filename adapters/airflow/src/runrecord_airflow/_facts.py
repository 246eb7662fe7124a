"""Airflow objects -> plain facts: the DAG run's identity, a task instance try, its stage.

Duck-typed on purpose (hence ``Any``): the same code reads the Task SDK's runtime objects
(task process, dag-processor) and the ORM objects (scheduler), which share no base class.
"""
# ruff: noqa: ANN401

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import runrecord
from runrecord import NodeRef, Registry

__all__ = [
    "STAGE_PARAM",
    "TALLY_KEY",
    "RunIdent",
    "TaskFact",
    "db_task_instances",
    "fact_of",
    "ident_of",
    "registry_of",
    "stage_for",
    "tally_of",
    "utc",
]

STAGE_PARAM = "runrecord_stage"
"""Task param naming a task's stage explicitly: ``@task(params={"runrecord_stage": "load"})``."""

TALLY_KEY = "runrecord_tally"
"""XCom key under which a task's reported counters and skip reasons travel."""


@dataclass(frozen=True, slots=True)
class RunIdent:
    """One Airflow DAG run, as every process sees it."""

    dag_id: str
    run_id: str
    clear_number: int = 0
    logical_date: datetime | None = None
    run_type: str | None = None
    conf: Mapping[str, Any] | None = None

    @property
    def record_id(self) -> str:
        """The run record's id: deterministic, so that every process finds the same run.

        A cleared DAG run reruns under the same Airflow run id: each clear is a new record.
        """
        external = self.run_id if not self.clear_number else f"{self.run_id}~{self.clear_number}"
        return runrecord.run_id_for(self.dag_id, external)


@dataclass(frozen=True, slots=True)
class TaskFact:
    """One task instance try, as a hook or a finalizer sees it (times in UTC)."""

    task_id: str
    state: str | None
    stage: str | None
    map_index: int = -1
    try_number: int | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None

    @property
    def node(self) -> NodeRef:
        """The stage's node: the task id (``[i]`` for a mapped instance) and the try."""
        name = self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"
        return NodeRef(id=name, attempt=self.try_number or None)

    @property
    def key(self) -> str:
        """The key of the try's stage write: one stage per try, whoever writes it."""
        return f"{self.node.id}:{self.node.attempt}"


def stage_for(task: object, task_id: str, registry: Registry) -> str | None:
    """The stage a task maps to, or None when it maps to none.

    In order: the task's ``runrecord_stage`` param; the task id itself; the innermost
    enclosing task group (its full id, then its own name) that is a declared stage.
    """
    params = getattr(task, "params", None) or {}
    explicit = _value(params.get(STAGE_PARAM) if hasattr(params, "get") else None)
    if isinstance(explicit, str) and explicit:
        return explicit
    parts = task_id.split(".")
    candidates = [task_id]
    for i in range(len(parts) - 1, 0, -1):
        candidates += [".".join(parts[:i]), parts[i - 1]]
    return next((c for c in candidates if c in registry.stages), None)


def utc(when: datetime | None) -> datetime | None:
    """A plain UTC datetime (Airflow hands out pendulum datetimes, or naive UTC ones)."""
    if when is None:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return datetime.fromtimestamp(when.timestamp(), UTC)


def _value(obj: object) -> Any:
    return getattr(obj, "value", obj)


def registry_of(registry: Registry | str | os.PathLike[str] | None) -> Registry:
    """The registry given, else the one named by ``RUNRECORD_REGISTRY`` or found upward."""
    return registry if isinstance(registry, Registry) else runrecord.load_registry(registry)


def ident_of(dag_id: str, run_id: str, dag_run: object | None) -> RunIdent:
    """The DAG run's identity from any of Airflow's DagRun objects (or none)."""
    conf = getattr(dag_run, "conf", None)
    run_type = _value(getattr(dag_run, "run_type", None))
    return RunIdent(
        dag_id=dag_id,
        run_id=run_id,
        clear_number=int(getattr(dag_run, "clear_number", 0) or 0),
        logical_date=utc(getattr(dag_run, "logical_date", None)),
        run_type=str(run_type) if run_type is not None else None,
        conf=conf if isinstance(conf, Mapping) else None,
    )


def fact_of(ti: Any, task: object, registry: Registry) -> TaskFact:
    """A task instance's facts; ``task`` is its operator (None when unknown)."""
    state = _value(getattr(ti, "state", None))
    return TaskFact(
        task_id=ti.task_id,
        state=str(state) if state is not None else None,
        stage=stage_for(task, ti.task_id, registry),
        map_index=getattr(ti, "map_index", None) or -1,
        try_number=getattr(ti, "try_number", None) or None,
        start_date=utc(getattr(ti, "start_date", None)),
        end_date=utc(getattr(ti, "end_date", None)),
    )


_TRIES_HERE: dict[tuple[object, ...], dict[str, Any]] = {}
"""The tally of every task try whose body runs in this process, by try."""


def _try_key(ti: Any) -> tuple[object, ...]:
    return (
        ti.dag_id,
        ti.run_id,
        ti.task_id,
        getattr(ti, "map_index", -1),
        getattr(ti, "try_number", None),
    )


def try_started(ti: Any) -> None:
    """Note that the body of ``ti``'s try runs in this process (nothing counted yet)."""
    _TRIES_HERE[_try_key(ti)] = {}


def local_tally(ti: Any) -> dict[str, Any] | None:
    """The tally of a try whose body runs in this process, or None for a try of elsewhere."""
    return _TRIES_HERE.get(_try_key(ti))


def tally_of(ti: Any) -> Mapping[str, Any] | None:
    """Counters and skip reasons the task reported, if any could be read.

    From process memory when the try's body ran here (the usual case: Airflow runs a task's
    callbacks and listener hooks in its process), else through XCom (a failure callback run
    elsewhere after the task's process was lost).
    """
    local = local_tally(ti)
    if local is not None:
        return local or None
    if not hasattr(ti, "xcom_pull"):  # an ORM task instance (scheduler): no counts there
        return None
    try:
        index = getattr(ti, "map_index", -1)
        if index is not None and index >= 0:
            value = ti.xcom_pull(task_ids=ti.task_id, key=TALLY_KEY, map_indexes=index)
        else:
            value = ti.xcom_pull(task_ids=ti.task_id, key=TALLY_KEY)
    except Exception:  # noqa: BLE001 - no XCom backend reachable: counts are lost, not the stage
        return None
    return value if isinstance(value, Mapping) else None


def db_task_instances(dag_id: str, run_id: str) -> list[Any]:
    """The DAG run's task instances from the metadata DB (scheduler, ``dag.test()``)."""
    from airflow.models.taskinstance import TaskInstance  # noqa: PLC0415 - DB side only
    from airflow.utils.session import create_session  # noqa: PLC0415
    from sqlalchemy import select  # noqa: PLC0415

    with create_session() as session:
        query = select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
        )
        tis = list(session.scalars(query))
        for ti in tis:
            session.expunge(ti)
    return tis
