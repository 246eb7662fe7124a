"""The running task, as the task helpers see it: its DAG run's record and its stage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from runrecord import Registry
from runrecord_airflow._facts import ident_of, registry_of, stage_for
from runrecord_airflow._record import is_recorded, open_run
from runrecord_airflow.errors import NotInTaskError, StageMappingError

__all__ = ["CurrentTask", "RegistryArg", "current_task"]

RegistryArg = Registry | str | os.PathLike[str] | None


@dataclass(slots=True)
class CurrentTask:
    """The running task, as the helpers see it."""

    ti: Any
    run_id: str | None  # None: nothing records this run (no callbacks, listener off)
    stage: str
    registry: Registry


def current_task(registry: RegistryArg) -> CurrentTask:
    """The running task: its DAG run's record (opened here) and its stage.

    Raises:
        NotInTaskError: Called outside a running task.
        StageMappingError: The task maps to no stage of the registry.
    """
    from airflow.sdk import get_current_context  # noqa: PLC0415 - heavy; only inside a task

    try:
        context = get_current_context()
    except Exception as exc:  # noqa: BLE001 - Airflow raises a bare error outside a task
        raise NotInTaskError(f"no running Airflow task: {exc}") from None
    ti, task, reg = context["ti"], context.get("task"), registry_of(registry)
    if not is_recorded(task):
        return CurrentTask(ti, None, "", reg)
    stage = stage_for(task, ti.task_id, reg)
    if stage is None:
        raise StageMappingError(ti.task_id, reg.stages)
    run_id = open_run(ident_of(ti.dag_id, ti.run_id, context.get("dag_run")), reg)
    return CurrentTask(ti, run_id, stage, reg)
