"""The listener plugin: records every DAG run with no DAG change.

Installed with ``runrecord-airflow``, it registers itself through the ``airflow.plugins``
entry point. Task hooks run in the task's process and write one stage per task instance
try; DAG-run hooks run in the scheduler and finalize the record from the DAG run's task
instances. Set ``RUNRECORD_AIRFLOW_LISTENER=off`` (also ``0``, ``false``, ``no``) to switch
it off, in every Airflow process. With the callbacks also on a DAG, each stage and the record
are still written once: stages are keyed by their try, and a finalizer that finds the
record promoted stops.

Examples:
    >>> from runrecord_airflow.listener import RunRecordPlugin, listener_enabled
    >>> RunRecordPlugin.name
    'runrecord'
    >>> listener_enabled({"RUNRECORD_AIRFLOW_LISTENER": "off"})
    False
"""

# Listener hooks receive Task SDK or ORM objects, by process: typed Any on purpose.
# ruff: noqa: ANN401
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

from runrecord_airflow._facts import (
    TaskFact,
    db_task_instances,
    fact_of,
    ident_of,
    registry_of,
    tally_of,
    try_started,
)
from runrecord_airflow._finalize import finalize
from runrecord_airflow._record import SWITCH, listener_enabled, quietly, record_task

__all__ = ["SWITCH", "RunRecordListener", "RunRecordPlugin", "listener_enabled"]


def _on_task(ti: Any, outcome: str, error: BaseException | None = None) -> None:
    if not listener_enabled():
        return
    state = str(getattr(getattr(ti, "state", None), "value", getattr(ti, "state", None)))
    if outcome == "failed" and state == "up_for_retry":
        return  # the try that ends the task instance is its stage

    def write() -> None:
        reg = registry_of(None)
        task = getattr(ti, "task", None)
        record_task(
            ident_of(ti.dag_id, ti.run_id, _dag_run_of(ti)),
            reg,
            fact_of(ti, task, reg),
            outcome=outcome,
            exception=error if isinstance(error, BaseException) else None,
            tally=tally_of(ti),
            log_url=getattr(ti, "log_url", None),
        )

    quietly(f"record the stage of task {ti.task_id}", write)


def _dag_run_of(ti: Any) -> Any:
    """The DagRun of a runtime task instance (task process) or an ORM one (scheduler)."""
    try:
        if hasattr(ti, "get_template_context"):
            return ti.get_template_context().get("dag_run")
        return ti.dag_run  # may need a session the scheduler no longer holds
    except Exception:  # noqa: BLE001 - without it the run's clear number is taken as 0
        return None


def _on_dag_run(dag_run: Any, failed: bool, msg: str | None) -> None:
    if not listener_enabled():
        return

    def write() -> None:
        reg = registry_of(None)
        dag = getattr(dag_run, "dag", None)

        def facts() -> Iterator[TaskFact]:
            for ti in db_task_instances(dag_run.dag_id, dag_run.run_id):
                task = dag.task_dict.get(ti.task_id) if dag is not None else None
                yield fact_of(ti, task, reg)

        finalize(
            ident_of(dag_run.dag_id, dag_run.run_id, dag_run), reg, facts, failed=failed, reason=msg
        )

    quietly(f"finalize the record of DAG run {dag_run.run_id}", write)


class RunRecordListener:
    """Airflow listener hooks; one instance is registered by :class:`RunRecordPlugin`."""

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        """Note that the try runs in this process (task process), for its counts."""
        if listener_enabled():
            try_started(task_instance)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        """Write the stage of a successful try (task process)."""
        _on_task(task_instance, "success")

    @hookimpl
    def on_task_instance_failed(
        self, previous_state: Any, task_instance: Any, error: BaseException | str | None
    ) -> None:
        """Write the stage of a failed try that will not be retried (task process or scheduler)."""
        _on_task(task_instance, "failed", error if isinstance(error, BaseException) else None)

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        """Write the stage of a task that skipped itself (task process)."""
        _on_task(task_instance, "skipped")

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        """Finalize the DAG run's record (scheduler)."""
        _on_dag_run(dag_run, False, msg)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        """Finalize the DAG run's record as ``error`` at least (scheduler)."""
        _on_dag_run(dag_run, True, msg)


class RunRecordPlugin(AirflowPlugin):
    """The plugin the ``airflow.plugins`` entry point names."""

    name = "runrecord"
    listeners = [RunRecordListener()]  # noqa: RUF012 - Airflow's own attribute
