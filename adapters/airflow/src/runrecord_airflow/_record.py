"""Plain facts -> runrecord calls: open the DAG run's record, write a task try's stage.

The same code serves a task process, the dag-processor and the scheduler: all state goes
through the run record store. Every stage is written with a key naming its try, so a hook
that fires twice (callbacks and listener, a zombie's failure callback) records it once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

import runrecord
from runrecord import Registry, RunRecordError
from runrecord_airflow._facts import RunIdent, TaskFact

__all__ = ["SWITCH", "is_recorded", "listener_enabled", "open_run", "quietly", "record_task"]

log = logging.getLogger("runrecord_airflow")

SWITCH = "RUNRECORD_AIRFLOW_LISTENER"
"""Environment variable that switches the listener off (``off``, ``0``, ``false``, ``no``)."""


def listener_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the listener records (read at every hook call, so a change applies at once)."""
    return environ.get(SWITCH, "on").strip().lower() not in {"off", "0", "false", "no"}


def is_recorded(task: object) -> bool:
    """Whether a task's DAG run is recorded: by runrecord's callbacks, or by the listener."""
    hooks = getattr(task, "on_success_callback", None) or []
    hooks = hooks if isinstance(hooks, list) else [hooks]
    return listener_enabled() or any(getattr(h, "runrecord", False) for h in hooks)


_UNREPORTED: dict[str, Literal["upstream_failed", "not_selected", "crashed"]] = {
    "upstream_failed": "upstream_failed",
    "skipped": "not_selected",
    "failed": "crashed",
}


def open_run(ident: RunIdent, registry: Registry) -> str:
    """Open the DAG run's record (every process may call this; the first one writes)."""
    from airflow import __version__  # noqa: PLC0415 - only where Airflow runs

    extensions: dict[str, Any] = {"run_type": ident.run_type, "clear_number": ident.clear_number}
    if ident.logical_date is not None:
        extensions["logical_date"] = ident.logical_date.isoformat()
    return runrecord.open_run(
        ident.dag_id,
        registry=registry,
        run_id=ident.record_id,
        command="",
        config={"dag_run_conf": dict(ident.conf or {})},
        orchestrator=runrecord.OrchestratorInfo(
            name="airflow",
            version=str(__version__),
            run_id=ident.run_id,
            job=ident.dag_id,
            attempt=ident.clear_number + 1,
        ),
        extensions={"airflow": extensions},
        detached=True,
        exist_ok=True,
    )


def quietly(what: str, action: Callable[[], object]) -> None:
    """Run a recording action from an Airflow hook: log a failure, never raise it.

    Airflow swallows hook exceptions anyway; logging here names what was lost.
    """
    try:
        action()
    except RunRecordError as exc:
        log.error("runrecord: could not %s: %s", what, exc)
    except Exception:
        log.exception("runrecord: could not %s", what)


def record_task(
    ident: RunIdent,
    registry: Registry,
    fact: TaskFact,
    *,
    outcome: str,
    exception: BaseException | None = None,
    tally: Mapping[str, Any] | None = None,
    log_url: str | None = None,
) -> None:
    """Write the stage of one task instance try, keyed by the try.

    ``outcome`` is how the try ended, in Airflow's words (``success``, ``failed``,
    ``skipped``, ``upstream_failed``; any other state at the DAG run's end counts as
    ``failed``). A failure without an exception is a task whose process died (the hook
    runs elsewhere, or the finalizer found it): its stage is ``error`` with ``crashed``.
    ``tally``: the counters and skip reasons the task reported (:func:`~.tasks.count`).
    """
    if fact.stage is None:
        log.warning("runrecord: task %s maps to no stage; the finalizer flags it", fact.task_id)
        return
    rid = open_run(ident, registry)
    if outcome != "success" and exception is None:
        runrecord.write_unreported_stage(
            rid,
            fact.stage,
            outcome=_UNREPORTED.get(outcome, "crashed"),
            node=fact.node,
            registry=registry,
            started_at=fact.start_date,
            completed_at=fact.end_date,
            detail=None if fact.state in ("failed", None) else f"Airflow left it {fact.state}",
        )
        return
    url = runrecord.EvidencePointer(
        kind=runrecord.EvidenceKind.URL, ref=log_url, note="Airflow task log"
    )
    facts: dict[str, Any] = {
        "registry": registry,
        "started_at": fact.start_date,
        "completed_at": fact.end_date,
        "node": fact.node,
        "evidence": [url] if log_url else [],
        "exception": exception,
        "key": fact.key,
    }
    tally = tally or {}
    skips = [runrecord.SkipReason.model_validate(s) for s in tally.get("skip_reasons", [])]
    status = "success" if exception is None else "error"
    try:
        runrecord.write_stage(
            rid,
            fact.stage,
            status=status,
            counters=tally.get("counters"),
            skip_reasons=skips,
            **facts,
        )
    except runrecord.CountersError as bad:  # the task reported inconsistent counts
        error = runrecord.error_from_exception(bad, stage=fact.stage)
        runrecord.write_stage(rid, fact.stage, status="error", errors=[error], **facts)
