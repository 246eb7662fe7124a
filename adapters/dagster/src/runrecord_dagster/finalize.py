"""Finalize the record of a finished Dagster run: one record per run.

The run status sensors (:mod:`.sensors`) call :func:`finalize_dagster_run` in deployments;
call it yourself after an in-process run (``materialize``, ``execute_in_process``,
``execute_job``). Steps that left no stage fragment get one from Dagster's own events: a
step whose process was killed (no hook ran there) is ``error`` with a ``crashed`` error, a
step that never ran because something upstream failed is ``skipped`` with
``upstream_failed``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

import dagster as dg

import runrecord
from runrecord_dagster.hooks import _attempt_key
from runrecord_dagster.resources import RunRecordResource

if TYPE_CHECKING:
    from dagster import DagsterInstance, DagsterRun
    from dagster._core.execution.stats import RunStepKeyStatsSnapshot
    from dagster_shared.error import SerializableErrorInfo

__all__ = ["finalize_dagster_run"]

_ENDED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


class _HasRunId(Protocol):
    @property
    def run_id(self) -> str: ...


def _when(stamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if stamp else None


def _user_error(error: SerializableErrorInfo | None) -> SerializableErrorInfo | None:
    """The innermost error of Dagster's chain: the user's exception, or the crash."""
    for _ in range(10):
        if error is None or (error.cause or error.context) is None:
            break
        error = error.cause or error.context
    return error


def _failed_step(
    run_id: str,
    stage: str,
    *,
    node: runrecord.NodeRef,
    stats: RunStepKeyStatsSnapshot,
    failure: SerializableErrorInfo | None,
    registry: runrecord.Registry,
) -> None:
    """The stage of a step that failed and recorded nothing (killed, or no hooks attached)."""
    user = _user_error(failure)
    outcome: Literal["crashed", "failed"]
    if user is None or user.cls_name == "ChildProcessCrashException" or not stats.end_time:
        outcome, cls = "crashed", None
        detail = f"its process died ({user.cls_name if user else 'no error reported'})"
    else:
        outcome, cls, detail = "failed", user.cls_name, user.message.strip()
    runrecord.write_unreported_stage(
        run_id,
        stage,
        outcome=outcome,
        node=node,
        registry=registry,
        started_at=_when(stats.start_time),
        completed_at=_when(stats.end_time),
        detail=detail,
        exception_class=cls,
    )


def finalize_dagster_run(
    run: str | _HasRunId,
    *,
    instance: DagsterInstance,
    resource: RunRecordResource | None = None,
) -> runrecord.FinalizeResult:
    r"""Write the one record of a finished Dagster run (idempotent).

    Args:
        run: The Dagster run id, or a result with a ``run_id`` (``materialize(...)``).
        instance: The instance the run ran on (pass one to ``materialize(instance=...)``).
        resource: The resource the run used; by default one that discovers the registry.

    Returns:
        What was promoted (or the existing record, when it was already finalized).

    Raises:
        runrecord.RunNotFoundError: No such Dagster run in ``instance``.
        runrecord.ConfigError: The run has not ended yet, or no valid registry.

    Examples:
        >>> import pathlib, tempfile
        >>> from runrecord_dagster import RunRecordResource, with_runrecord_hooks
        >>> registry = pathlib.Path(tempfile.mkdtemp()) / "runrecord.toml"
        >>> _ = registry.write_text('project_id = "demo"\nproject_name = "Demo"\nstages = ["load"]')
        >>> rr = RunRecordResource(registry_path=str(registry))
        >>> @dg.asset
        ... def load() -> int:
        ...     return 1
        >>> instance = dg.DagsterInstance.ephemeral()
        >>> result = dg.materialize(
        ...     with_runrecord_hooks([load]), resources={"runrecord": rr}, instance=instance
        ... )
        >>> finalize_dagster_run(result, instance=instance, resource=rr).record.status
        <Status.SUCCESS: 'success'>
    """
    dagster_id = run if isinstance(run, str) else run.run_id
    found: DagsterRun | None = instance.get_run_by_id(dagster_id)
    if found is None:
        raise runrecord.RunNotFoundError(
            f"no Dagster run {dagster_id} in this instance",
            hint="pass the instance the run ran on: materialize(..., instance=instance)",
        )
    if found.status not in _ENDED:
        raise runrecord.ConfigError(
            f"Dagster run {dagster_id} is {found.status.value}; it has not ended",
            hint="finalize a run after it succeeded, failed or was canceled",
        )
    res = resource or RunRecordResource()
    registry = res.registry()
    run_id = res.record_run_id(found)
    if not runrecord.open_store(registry.record_location).has_record(run_id):
        res.open(found, registry)
        _fill_in(instance, found, res, registry, run_id)
    succeeded = found.status is dg.DagsterRunStatus.SUCCESS
    failures = (
        [] if succeeded else instance.all_logs(dagster_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    )
    why = failures[-1].message if failures else f"the Dagster run ended {found.status.value}"
    stats = instance.get_run_record_by_id(dagster_id)
    return runrecord.finalize_run(
        run_id,
        registry=registry,
        completed_at=_when(stats.end_time if stats else None),
        # Dagster saw a failure: when the facts hold no error (it failed outside any
        # step), Dagster's reason becomes one.
        status=None if succeeded else "error",
        reason=why,
        exist_ok=True,
    )


def _fill_in(
    instance: DagsterInstance,
    run: DagsterRun,
    res: RunRecordResource,
    registry: runrecord.Registry,
    run_id: str,
) -> None:
    """Write the stages no hook wrote, and the run-level errors only Dagster knows."""
    done = {s.node.id for s in runrecord.staged_stages(run_id, registry=registry) if s.node}
    plan = instance.get_execution_plan_snapshot(str(run.execution_plan_snapshot_id))
    tags = {s.key.split("[")[0]: dict(s.tags or {}) for s in plan.steps}
    planned = list(plan.step_keys_to_execute or [s.key for s in plan.steps])
    if done.issuperset(planned) and not any("[?]" in k for k in planned):
        stats = {}  # every step has its stage, and none was mapped at run time
    else:
        stats = {s.step_key: s for s in instance.get_run_step_stats(run.run_id)}
    # Dynamic steps are planned as "op[?]" and run as "op[key]": only those that ran count.
    keys = [k for k in planned if "[?]" not in k] + [k for k in stats if k not in planned]
    missing = [k for k in keys if k not in done]
    logged = (
        instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE) if missing else []
    )
    failures = {
        e.step_key: e.dagster_event.step_failure_data.error
        for e in logged
        if e.dagster_event is not None and e.step_key
    }
    for key in missing:
        try:
            stage = res.stage_name(key, tags.get(key.split("[")[0], {}), registry.stages)
        except runrecord.ConfigError as exc:
            error = runrecord.error_from_exception(exc, details={"step_key": key})
            runrecord.write_note(run_id, registry=registry, errors=[error])
            continue
        st = stats.get(key)
        state = st.status.value if st is not None and st.status is not None else None
        node = runrecord.NodeRef(id=key, attempt=st.attempts if st else None)
        if st is None:  # never started
            failed = run.status is not dg.DagsterRunStatus.SUCCESS
            outcome: Literal["upstream_failed", "not_selected"] = (
                "upstream_failed" if failed else "not_selected"
            )
            runrecord.write_unreported_stage(
                run_id, stage, outcome=outcome, node=node, registry=registry
            )
        elif state == "SKIPPED":  # Dagster skips a step whose input was not yielded
            runrecord.write_stage(
                run_id,
                stage,
                registry=registry,
                status="skipped",
                reason="upstream_empty",
                node=node,
            )
        elif state == "SUCCESS":  # no hooks attached: the stage without its counters
            runrecord.write_stage(
                run_id,
                stage,
                registry=registry,
                node=node,
                started_at=_when(st.start_time),
                completed_at=_when(st.end_time),
                key=_attempt_key(key, st.attempts),
            )
        else:  # failed (or still running when the run ended) and reported nothing
            _failed_step(
                run_id, stage, node=node, stats=st, failure=failures.get(key), registry=registry
            )
    if run.status is dg.DagsterRunStatus.CANCELED:
        why = f"the Dagster run {run.run_id} was canceled"
        cancelled = runrecord.error_object("cancelled", why)
        runrecord.write_note(run_id, registry=registry, errors=[cancelled])
