"""The end of a DAG run: write the stages of tasks that left none, then promote the record.

Runs in the dag-processor (DAG callbacks), the scheduler (listener) or in-process
(``dag.test()``); whichever finalizer comes first promotes, the others find the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import runrecord
from runrecord import NodeRef, Registry
from runrecord_airflow._facts import RunIdent, TaskFact
from runrecord_airflow._record import open_run, record_task
from runrecord_airflow.errors import StageMappingError

__all__ = ["finalize"]

_WAIT_FOR_TASKS = 5.0  # seconds a finalizer waits for the stages of tasks that just ended


def finalize(
    ident: RunIdent,
    registry: Registry,
    tasks: Callable[[], Iterable[TaskFact]],
    *,
    failed: bool,
    reason: str | None = None,
) -> runrecord.FinalizeResult:
    """Finalize a DAG run: write the stages of tasks that left none, then promote the record.

    ``tasks`` is read again while stages of tasks that ended are still due: Airflow learns
    how a try ended before the try's own callbacks write its stage.
    """
    try:
        rid = open_run(ident, registry)
    except runrecord.RecordExistsError:  # another finalizer (callback or listener) was first
        return runrecord.finalize_run(ident.record_id, registry=registry, exist_ok=True)
    deadline = time.monotonic() + _WAIT_FOR_TASKS
    while True:
        nodes = [s.node for s in runrecord.staged_stages(rid, registry=registry) if s.node]
        missing = [t for t in tasks() if not _has_stage(nodes, t.node)]
        due = [t for t in missing if t.stage and t.state in ("success", "failed")]
        if not due or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for fact in (t for t in missing if t.stage is not None):
        # A success whose callback never came still gets its stage (its counts are lost).
        record_task(ident, registry, fact, outcome=fact.state or "failed")
    unmapped = sorted({t.task_id for t in missing if t.stage is None})
    if unmapped:
        error = runrecord.error_from_exception(StageMappingError(unmapped, registry.stages))
        runrecord.write_note(rid, registry=registry, errors=[error])
    return runrecord.finalize_run(
        rid,
        registry=registry,
        exist_ok=True,
        status="error" if failed else None,
        reason=f"Airflow marked DAG run {ident.run_id} failed: {reason or 'no reason given'}",
    )


def _has_stage(nodes: list[NodeRef], node: NodeRef) -> bool:
    return any(n.id == node.id and node.attempt in (n.attempt, None) for n in nodes)
