"""Prefect's objects in the record's terms: stages, nodes, times, exceptions, the orchestrator.

Shared by the flow hooks, the task hook, the gate and the finalizer's reading of task runs;
and the one place where a runrecord refusal inside a hook becomes a log line.
"""

# ruff: noqa: PLC0415 - Prefect is imported where it is used: importing this package stays cheap

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import runrecord
from runrecord import NodeRef

if TYPE_CHECKING:
    import logging

    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun, State, TaskRun
    from pydantic import JsonValue

__all__ = [
    "STAGE_TAG_PREFIX",
    "function_name",
    "keep_stage",
    "node_of",
    "orchestrator_block",
    "reported",
    "run_logger",
    "stage_for",
    "state_exception",
    "utc",
]

STAGE_TAG_PREFIX = "runrecord.stage:"
"""A task tagged ``runrecord.stage:<name>`` is recorded as stage ``<name>``."""

# The stage of every recorded task this process made, by task key (the function's name and
# a hash of its code: the same in every process that imports the task's module). Not a tag:
# Prefect makes every run of a tagged task take and give back tag concurrency slots through
# the API. Written when tasks are made, read by the hooks and by the flow's finalizer.
_stages: dict[str, str] = {}
_stages_lock = threading.Lock()


def keep_stage(task_key: str, stage: str) -> bool:
    """Remember the stage of a recorded task's runs, by its task key.

    Returns:
        False when another recorded task with the same key (the same function, recorded
        twice) has another stage: this one then needs its stage as a tag.
    """
    with _stages_lock:
        return _stages.setdefault(task_key, stage) == stage


def function_name(task_key: str) -> str:
    """The task function's name in a Prefect task key (``<function name>-<hash>``)."""
    return task_key.rsplit("-", 1)[0]


def utc(value: datetime | None) -> datetime | None:
    """A Prefect timestamp (a ``datetime`` subclass) as a plain UTC ``datetime``."""
    return None if value is None else datetime.fromtimestamp(value.timestamp(), tz=UTC)


def node_of(task_run: TaskRun) -> NodeRef:
    """The task run as a stage's node: the name the UI shows, the unique id, the attempt.

    ``"<node id>:<attempt>"`` is the key its stage is written with, by whichever of the
    task hook and the finalizer comes first.
    """
    return NodeRef(id=f"{task_run.name} ({task_run.id})", attempt=task_run.run_count)


def stage_for(
    registry: runrecord.Registry, task_run: TaskRun
) -> tuple[str, runrecord.ErrorObject | None]:
    """The stage of a task run: its stage tag, else its recorded task's, else its function's name.

    Returns:
        The stage, and a ``config_error`` when that stage is not in the registry (the task
        run is then recorded under the ``run`` stage, so that nothing about it is lost).
    """
    tagged = sorted(
        t.removeprefix(STAGE_TAG_PREFIX) for t in task_run.tags if t.startswith(STAGE_TAG_PREFIX)
    )
    stage = tagged[0] if tagged else _stages.get(task_run.task_key)
    stage = stage or function_name(task_run.task_key)
    if stage == runrecord.RUN_STAGE or stage in registry.stages:
        return stage, None
    problem = runrecord.error_object(
        runrecord.ErrorType.CONFIG_ERROR,
        f"task run {task_run.name} maps to stage {stage!r}, which is not in the registry's "
        f"stages {list(registry.stages)}",
        remediation_hint=f"give the task its stage: recorded_task(stage=...) (or the tag "
        f"'{STAGE_TAG_PREFIX}<stage>'), or add {stage!r} to the registry's stages",
        key=f"task maps to unknown stage {stage}",
    )
    return runrecord.RUN_STAGE, problem


def state_exception(state: State) -> BaseException | None:
    """The exception a final state holds in this process's memory, if any.

    Read from the state's data (a result record, or the exception itself) rather than with
    ``state.result()``, which fetches stored results and returns a coroutine in async code.
    """
    data = state.data
    value = getattr(data, "result", data)
    return value if isinstance(value, BaseException) else None


def orchestrator_block(
    flow: Flow[..., Any], flow_run: FlowRun
) -> tuple[runrecord.OrchestratorInfo, dict[str, JsonValue]]:
    """The ``orchestrator`` block, and the Prefect details kept in ``extensions.prefect``."""
    import prefect
    from prefect.utilities.urls import url_for

    details: dict[str, JsonValue] = {"flow_run_name": flow_run.name}
    if flow_run.deployment_id is not None:
        details["deployment_id"] = str(flow_run.deployment_id)
        with contextlib.suppress(Exception):  # the name is a nicety; the id is what counts
            with prefect.get_client(sync_client=True) as client:
                deployment = client.read_deployment(flow_run.deployment_id)
            details["deployment"] = f"{flow.name}/{deployment.name}"
    if flow_run.work_pool_name:
        details["work_pool"] = flow_run.work_pool_name
    info = runrecord.OrchestratorInfo(
        name="prefect",
        version=prefect.__version__,
        run_id=str(flow_run.id),
        job=flow.name,
        attempt=max(flow_run.run_count, 1),
        url=url_for(flow_run),
    )
    return info, {"prefect": details}


def run_logger(flow_run: FlowRun, flow: Flow[..., Any] | None) -> logging.LoggerAdapter[Any]:
    """The flow run's logger: its lines show in the Prefect UI with the run's own."""
    from prefect.logging.loggers import flow_run_logger

    return flow_run_logger(flow_run, flow)


@contextlib.contextmanager
def reported(logger: logging.LoggerAdapter[Any], what: str) -> Iterator[None]:
    """Log a runrecord refusal as one line with its hint; the flow run itself goes on."""
    try:
        yield
    except runrecord.RunRecordError as exc:
        logger.error(
            "runrecord: %s failed: %s; staged fragments are kept for `runrecord recover`",
            what,
            exc,
        )
