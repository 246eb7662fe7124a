"""Ready-made Airflow callbacks: a stage per task instance try, the record at the DAG run's end.

Task callbacks run in the task's process (or, for a task whose process died, in a child of
the dag-processor); DAG callbacks run in a child of the dag-processor. Every piece of state
goes through the run record store (a task's counts through XCom too, and its own process's
memory), so it does not matter which process runs what.

Examples:
    >>> from runrecord_airflow import callbacks
    >>> sorted(callbacks(default_args={"retries": 1}))
    ['default_args', 'on_failure_callback', 'on_success_callback']
    >>> sorted(callbacks()["default_args"])  # doctest: +NORMALIZE_WHITESPACE
    ['on_execute_callback', 'on_failure_callback', 'on_skipped_callback',
     'on_success_callback']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from runrecord import Registry
from runrecord_airflow._current import RegistryArg
from runrecord_airflow._facts import (
    TaskFact,
    db_task_instances,
    fact_of,
    ident_of,
    registry_of,
    stage_for,
    tally_of,
    try_started,
)
from runrecord_airflow._finalize import finalize
from runrecord_airflow._record import quietly, record_task

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["callbacks", "dag_callbacks", "task_callbacks"]

Callback = Callable[["Context"], None]


def _task_callback(outcome: str, registry: RegistryArg) -> Callback:
    def callback(context: Context) -> None:
        ti = context["ti"]

        def write() -> None:
            reg = registry_of(registry)
            record_task(
                ident_of(ti.dag_id, ti.run_id, context.get("dag_run")),
                reg,
                fact_of(ti, context.get("task"), reg),
                outcome=outcome,
                exception=_exception(context) if outcome == "failed" else None,
                tally=tally_of(ti),
                log_url=getattr(ti, "log_url", None),
            )

        quietly(f"record the stage of task {ti.task_id}", write)

    callback.__name__ = f"runrecord_task_{outcome}"
    callback.runrecord = True  # type: ignore[attr-defined] # tasks.py: this task is recorded
    return callback


def _started(context: Context) -> None:
    try_started(context["ti"])


def _exception(context: Context) -> BaseException | None:
    exc = context.get("exception")
    return exc if isinstance(exc, BaseException) else None


def task_callbacks(*, registry: RegistryArg = None) -> dict[str, Callback]:
    """Task callbacks that write one stage per task instance try.

    A try that Airflow will retry writes nothing: the try that ends the task instance is
    its stage (``node.attempt`` is its try number).

    Args:
        registry: The project registry or its path; by default ``RUNRECORD_REGISTRY``, else
            a ``runrecord.toml`` found upward from the working directory.

    Returns:
        ``on_execute_callback`` (it notes that the try runs in this process, so that its
        counts are read from memory), ``on_success_callback``, ``on_failure_callback`` and
        ``on_skipped_callback``, for a DAG's ``default_args`` or one operator.
    """
    return {
        "on_execute_callback": _started,
        "on_success_callback": _task_callback("success", registry),
        "on_failure_callback": _task_callback("failed", registry),
        "on_skipped_callback": _task_callback("skipped", registry),
    }


def _dag_facts(context: Context, registry: Registry) -> Callable[[], Iterator[TaskFact]]:
    dag, run_id = context["dag"], context["run_id"]

    def facts() -> Iterator[TaskFact]:
        states = _task_states(context, dag.dag_id, run_id)
        if states is None:  # in-process (dag.test()): the metadata DB is at hand
            for ti in db_task_instances(dag.dag_id, run_id):
                yield fact_of(ti, dag.task_dict.get(ti.task_id), registry)
            return
        for key, state in states.items():
            task_id, index = key, -1
            if key not in dag.task_dict and "_" in key:  # a mapped instance: <task>_<index>
                task_id, _, raw = key.rpartition("_")
                index = int(raw) if raw.isdigit() else -1
            yield TaskFact(
                task_id=task_id,
                state=str(getattr(state, "value", state)) if state is not None else None,
                stage=stage_for(dag.task_dict.get(task_id), task_id, registry),
                map_index=index,
            )

    return facts


def _task_states(context: Context, dag_id: str, run_id: str) -> Mapping[str, Any] | None:
    """Task states through the Execution API (dag-processor), or None outside a supervisor."""
    from airflow.sdk.execution_time import task_runner  # noqa: PLC0415

    if getattr(task_runner, "SUPERVISOR_COMMS", None) is None:
        return None
    states = task_runner.RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
    found = states.get(run_id, {})
    return found if isinstance(found, Mapping) else {}


def _dag_callback(failed: bool, registry: RegistryArg) -> Callback:
    def callback(context: Context) -> None:
        dag, run_id = context["dag"], context["run_id"]

        def write() -> None:
            reg = registry_of(registry)
            finalize(
                ident_of(dag.dag_id, run_id, context.get("dag_run")),
                reg,
                _dag_facts(context, reg),
                failed=failed,
                reason=str(context.get("reason") or "") or None,
            )

        quietly(f"finalize the record of DAG run {run_id}", write)

    callback.__name__ = "runrecord_dag_failure" if failed else "runrecord_dag_success"
    return callback


def dag_callbacks(*, registry: RegistryArg = None) -> dict[str, Callback]:
    """DAG callbacks that finalize the DAG run's record.

    Tasks that fired no callback get their stage here: ``upstream_failed`` and ``skipped``
    task instances a ``skipped`` stage with its reason code, a task that failed without
    leaving a stage (its process was killed) an ``error`` stage with ``crashed``.

    Args:
        registry: As for :func:`task_callbacks`.

    Returns:
        ``on_success_callback`` and ``on_failure_callback`` for the ``DAG``.
    """
    return {
        "on_success_callback": _dag_callback(False, registry),
        "on_failure_callback": _dag_callback(True, registry),
    }


def callbacks(
    *, default_args: Mapping[str, Any] | None = None, registry: RegistryArg = None
) -> dict[str, Any]:
    """Everything a DAG needs, as keyword arguments: ``DAG("sales", **callbacks())``.

    Callbacks already in ``default_args`` are kept: runrecord's are added after them.

    Args:
        default_args: The DAG's own default arguments.
        registry: As for :func:`task_callbacks`.

    Returns:
        ``default_args`` (with the task callbacks), ``on_success_callback`` and
        ``on_failure_callback``.
    """
    merged: dict[str, Any] = dict(default_args or {})
    for name, ours in task_callbacks(registry=registry).items():
        theirs = merged.get(name)
        if theirs is None:
            merged[name] = ours
        else:
            merged[name] = [*(theirs if isinstance(theirs, list) else [theirs]), ours]
    return {"default_args": merged, **dag_callbacks(registry=registry)}
