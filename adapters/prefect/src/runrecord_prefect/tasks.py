"""Recorded tasks: ``@recorded_task`` in place of ``@task``, ``record_task`` on an existing one.

Inside a run of a recorded task, :func:`current_stage` is where the task reports on its
stage; the task's hook writes the stage when its final attempt ends.
"""

# ruff: noqa: PLC0415 - Prefect is imported where it is used: importing this package stays cheap

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

import runrecord
from runrecord_prefect._taskhook import attempt_report, task_hook
from runrecord_prefect._translate import STAGE_TAG_PREFIX, function_name, keep_stage, stage_for
from runrecord_prefect.hooks import recorder_of
from runrecord_prefect.stage import TaskStage

if TYPE_CHECKING:
    from prefect import Task

__all__ = ["current_stage", "record_task", "recorded_task"]

P = ParamSpec("P")
R = TypeVar("R")


def current_stage() -> TaskStage:
    """The stage of the task run this code runs in.

    Returns:
        The same :class:`TaskStage` for every call within one attempt of a task run; a
        retry starts with a fresh one, so counters are those of the attempt that ended it.

    Raises:
        ConfigError: Not inside a task run, the flow is not recorded, or the task has no
            recording hooks (use ``@recorded_task`` or ``record_task``).

    Examples:
        >>> current_stage()
        Traceback (most recent call last):
        ...
        runrecord.errors.ConfigError: current_stage() is called outside a Prefect task run ...
    """
    from prefect.context import FlowRunContext, TaskRunContext

    task_context = TaskRunContext.get()
    if task_context is None:
        raise runrecord.ConfigError(
            "current_stage() is called outside a Prefect task run",
            hint="call it inside a task decorated with @recorded_task",
        )
    task, task_run = task_context.task, task_context.task_run
    context = FlowRunContext.get()
    recorder = recorder_of(context.flow) if context is not None else None
    if context is None or context.flow is None or context.flow_run is None or recorder is None:
        raise runrecord.ConfigError(
            f"task {task.name!r} runs outside a recorded flow",
            hint="decorate the flow with @recorded_flow or wrap it with record_flow(flow)",
        )
    if task_hook not in task.on_completion_hooks:
        raise runrecord.ConfigError(
            f"task {task.name!r} has no recording hooks: what it reports would be lost",
            hint="decorate it with @recorded_task or wrap it with record_task(task)",
        )
    flow, flow_run = context.flow, context.flow_run

    def make() -> TaskStage:
        run_id, registry = recorder.opened(flow, flow_run)
        return TaskStage(run_id, stage_for(registry, task_run)[0], registry, task_run.run_count)

    return attempt_report(task_run, make)


def record_task(task: Task[P, R], *, stage: str | None = None) -> Task[P, R]:
    """Return a copy of an existing task whose every run is written as a stage.

    Args:
        task: The task.
        stage: The stage of the task's runs; by default the task function's name (or its
            ``runrecord.stage:<stage>`` tag, if it has one). Kept by the task's key in every
            process that makes the task, not as a tag: Prefect would make each run of a
            tagged task take and give back concurrency slots through its API. Only when the
            same function is recorded again with another stage does that copy get the tag.

    Returns:
        The task with runrecord's completion and failure hooks after its own.

    Examples:
        >>> from prefect import task
        >>> @task(tags=["nightly"])
        ... def clean(rows: list[int]) -> list[int]:
        ...     return sorted(set(rows))
        >>> recorded = record_task(clean, stage="transform")
        >>> sorted(recorded.tags), len(recorded.on_completion_hooks)
        (['nightly'], 1)
    """
    tags = {t for t in task.tags if not (stage and t.startswith(STAGE_TAG_PREFIX))}
    if stage is not None:
        runrecord.check_name(stage, what="stage name")
    named = stage or function_name(task.task_key)
    tagged = any(t.startswith(STAGE_TAG_PREFIX) for t in tags)
    if not tagged and not keep_stage(task.task_key, named):
        # The same function recorded twice with two stages: its key cannot tell them apart.
        tags.add(STAGE_TAG_PREFIX + named)
    hooks = [task_hook] if task_hook not in task.on_completion_hooks else []
    return task.with_options(
        tags=tags,
        on_completion=[*task.on_completion_hooks, *hooks],
        on_failure=[*task.on_failure_hooks, *hooks],
    )


@overload
def recorded_task(fn: Callable[P, R], /) -> Task[P, R]: ...
@overload
def recorded_task(
    *,
    stage: str | None = None,
    **task_options: Any,  # noqa: ANN401 - passed on to prefect.task as they are
) -> Callable[[Callable[P, R]], Task[P, R]]: ...
def recorded_task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    stage: str | None = None,
    **task_options: Any,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Use in place of ``@task``: every run of the task is a stage of the flow's record.

    Args:
        fn: The task function (when used as ``@recorded_task`` without arguments).
        stage: The stage of the task's runs; by default the function's name.
        **task_options: Anything ``@task`` takes (``retries=``, ``tags=``, hooks, ...).

    Returns:
        The recorded task, or a decorator that makes one.

    Examples:
        >>> @recorded_task(stage="load", retries=2)
        ... def write_rows(rows: list[int]) -> int:
        ...     return len(rows)
        >>> write_rows.retries, write_rows.name
        (2, 'write_rows')
    """
    from prefect import task

    if stage is not None:
        runrecord.check_name(stage, what="stage name")

    def decorate(function: Callable[P, R]) -> Task[P, R]:
        made: Task[P, R] = task(function, **task_options)
        return record_task(made, stage=stage)

    return decorate(fn) if fn is not None else decorate
