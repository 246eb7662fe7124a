"""Task runs that left no stage of their own, recorded from the Prefect API at finalization.

The task hook writes a task run's stage where the task ran. Prefect fires no hook for a
task that never ran (its upstream failed), whose process was killed, or that is a plain
``@task``: the flow's finalizer gives each of those a stage from its state in the API.
"""

# ruff: noqa: PLC0415 - Prefect is imported where it is used: importing this package stays cheap

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import runrecord
from runrecord_prefect._translate import node_of, stage_for, utc

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.client.schemas.objects import FlowRun, TaskRun

__all__ = ["record_task_runs"]

SETTLE_SECONDS = 10.0
"""How long finalization waits at most for the API's view of the task runs to settle."""

_OUTCOMES: dict[str, Literal["upstream_failed", "failed", "crashed", "cancelled"]] = {
    "PENDING": "upstream_failed",  # Prefect's NotReady: an upstream did not complete
    "SCHEDULED": "upstream_failed",
    "PAUSED": "upstream_failed",
    "FAILED": "failed",
    "CRASHED": "crashed",
    "CANCELLED": "cancelled",
    "CANCELLING": "cancelled",
}
_EPOCH = datetime.fromtimestamp(0, tz=UTC)


def _read_task_runs(flow_run_id: UUID, *, interrupted: bool, recorded: set[str]) -> list[TaskRun]:
    """The flow run's task runs, once the API's view of them holds still.

    Prefect fills the API from events, a moment after they happen: the view is taken as
    settled when it knows every task run whose stage was recorded, did not change between
    two reads and, unless the flow run was ``interrupted`` (its task runs still running
    then were cut short and will never move again), shows none still running or about to
    run that has no stage.
    """
    import prefect
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + SETTLE_SECONDS
    previous: set[tuple[UUID, str | None]] | None = None
    with prefect.get_client(sync_client=True) as client:
        while True:
            runs: list[TaskRun] = []
            while page := client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                limit=200,
                offset=len(runs),
            ):
                runs += page
            view = {(r.id, r.state_name) for r in runs}
            nodes = {node_of(r).id: r for r in runs}
            moving = not interrupted and any(
                r.state_name in ("Pending", "Running", "Retrying") and node not in recorded
                for node, r in nodes.items()
            )
            settled = view == previous and not moving and recorded <= nodes.keys()
            if settled or time.monotonic() > deadline:
                return sorted(runs, key=lambda r: r.created or _EPOCH)
            previous = view
            time.sleep(0.25)


def record_task_runs(
    run_id: str,
    registry: runrecord.Registry,
    flow_run: FlowRun,
    interrupted: Literal["crashed", "cancelled"] | None,
    why: str,
) -> None:
    """Give every task run of the flow run that left no stage one from its API state.

    Args:
        run_id: The open run.
        registry: The registry of the run.
        flow_run: The flow run.
        interrupted: ``crashed`` or ``cancelled`` when the flow run did not end by itself:
            a task run still running then (or crashed by the signal that ended it) went
            down with it, and is recorded as ``crashed`` or ``cancelled`` like the run. A
            task run still running after a run that ended by itself is ``crashed`` too: it
            can no longer report.
        why: How the flow run ended, as Prefect said ("the flow run ended Crashed: ..."),
            for the task runs cut short by it.
    """
    staged = runrecord.staged_stages(run_id, registry=registry)
    recorded = {s.node.id for s in staged if s.node is not None}
    known = _read_task_runs(flow_run.id, interrupted=interrupted is not None, recorded=recorded)
    for task_run in known:
        node = node_of(task_run)
        if node.id in recorded:
            continue
        stage, problem = stage_for(registry, task_run)
        if problem is not None:
            runrecord.write_note(run_id, registry=registry, errors=[problem], key=node.id)
        kind = task_run.state_type.value if task_run.state_type is not None else "PENDING"
        detail = task_run.state.message if task_run.state is not None else None
        if kind == "RUNNING" or (interrupted is not None and kind == "CRASHED"):
            kind = "CANCELLED" if interrupted == "cancelled" else "CRASHED"
            detail = f"{'cut short' if interrupted else 'still running'} when {why}"
        started, ended = utc(task_run.start_time), utc(task_run.end_time)
        if kind in _OUTCOMES:
            runrecord.write_unreported_stage(
                run_id,
                stage,
                outcome=_OUTCOMES[kind],
                node=node,
                registry=registry,
                started_at=started,
                completed_at=ended,
                detail=detail,
            )
        else:  # COMPLETED: a plain @task, which reported nothing of its own
            runrecord.write_stage(
                run_id,
                stage,
                registry=registry,
                node=node,
                started_at=started,
                completed_at=ended,
                key=f"{node.id}:{node.attempt}",
            )
