"""The task hook that writes each task run's stage, and the reports it writes.

``current_stage()`` and the hook run in the thread (or process) that runs the task: the
stage of a task that finished is written before the flow goes on, and kept even if the
flow run's process dies later. Tasks of one flow run run in many threads at once, so the
reports of their current attempts are kept by task run id, under a lock.
"""

# ruff: noqa: PLC0415 - Prefect is imported where it is used: importing this package stays cheap

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import runrecord
from runrecord import ErrorType, StageStatus
from runrecord_prefect._translate import (
    node_of,
    reported,
    run_logger,
    stage_for,
    state_exception,
    utc,
)
from runrecord_prefect.hooks import recorder_of
from runrecord_prefect.stage import TaskStage

if TYPE_CHECKING:
    from uuid import UUID

    from prefect import Task
    from prefect.client.schemas.objects import State, TaskRun

__all__ = ["attempt_report", "pop_report", "task_hook"]

_lock = threading.Lock()
_reports: dict[UUID, TaskStage] = {}


def attempt_report(task_run: TaskRun, make: Callable[[], TaskStage]) -> TaskStage:
    """The report of the task run's current attempt, made on first use: a retry starts afresh."""
    with _lock:
        report = _reports.get(task_run.id)
    if report is None or report.attempt != task_run.run_count:
        report = make()  # outside the lock: it may open the run
        with _lock:
            _reports[task_run.id] = report
    return report


def pop_report(task_run: TaskRun) -> TaskStage | None:
    """Take the report of the task run's final attempt; None if that attempt reported nothing."""
    with _lock:
        report = _reports.pop(task_run.id, None)
    return report if report is not None and report.attempt == task_run.run_count else None


def task_hook(task: Task[..., Any], task_run: TaskRun, state: State) -> None:
    """Task ``on_completion``/``on_failure`` hook: write the task run's stage.

    What the task reported through :func:`runrecord_prefect.current_stage` in its final
    attempt is written with the attempt's state and times; a failure gets the exception's
    class and trace, unless the core recorded it already (a refused input, a failed
    promotion, the gate), which the stage then lists.
    """
    from prefect.context import FlowRunContext

    report = pop_report(task_run)
    context = FlowRunContext.get()
    recorder = recorder_of(context.flow) if context is not None else None
    if context is None or context.flow is None or context.flow_run is None or recorder is None:
        return  # a task of a flow that is not recorded
    with reported(run_logger(context.flow_run, context.flow), f"recording {task_run.name}"):
        run_id, registry = recorder.opened(context.flow, context.flow_run)
        stage, problem = stage_for(registry, task_run)
        report = report or TaskStage(run_id, stage, registry, task_run.run_count)
        report.errors += [problem] if problem else []
        exc = state_exception(state) if state.is_failed() else None
        if state.is_failed() and exc is None:  # the task returned a Failed state, say
            said = f"task run {task_run.name} ended {state.name}: {state.message or 'no message'}"
            report.error(ErrorType.RUNTIME_ERROR, said)
        node = node_of(task_run)

        def write() -> None:
            report.write(
                run_id,
                registry=registry,
                status=StageStatus.ERROR if state.is_failed() else StageStatus.SUCCESS,
                node=node,
                started_at=utc(task_run.start_time),
                completed_at=utc(task_run.end_time),
                exception=exc,
                key=f"{node.id}:{node.attempt}",
            )

        try:
            write()
        except runrecord.CountersError as bad:  # counters changed by hand: keep the stage
            report.counters.clear()
            report.skip_reasons.clear()
            report.errors.append(runrecord.error_from_exception(bad, stage=stage))
            write()
        if exc is not None and not runrecord.is_recorded(exc):
            runrecord.mark_recorded(exc)  # the flow that re-raises it does not record it again
