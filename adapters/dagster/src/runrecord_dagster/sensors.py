"""Sensors: run status sensors that finalize records, and a gate sensor for downstream jobs.

Sensors run in the code server (``dagster api grpc``), not in the steps: the run status
sensors are the one place that sees a step whose process was killed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

# Dagster resolves the sensors' annotations at definition time to find resource parameters.
from dagster import RunStatusSensorContext, SensorEvaluationContext

import runrecord
from runrecord_dagster.checks import DEFAULT_ALLOWED
from runrecord_dagster.finalize import finalize_dagster_run
from runrecord_dagster.resources import ENTRYPOINT_TAG, RESOURCE_KEY, RunRecordResource

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

    Job = dg.JobDefinition | UnresolvedAssetJobDefinition

__all__ = ["runrecord_gate_sensor", "runrecord_run_status_sensors"]

_STATUSES = {
    "success": dg.DagsterRunStatus.SUCCESS,
    "failure": dg.DagsterRunStatus.FAILURE,
    "canceled": dg.DagsterRunStatus.CANCELED,
}


def _finalize(context: RunStatusSensorContext, resource: RunRecordResource) -> dg.SkipReason:
    run = context.dagster_run
    registry = resource.registry()
    staged = runrecord.open_store(registry.record_location).is_open(resource.record_run_id(run))
    repository = context.repository_def
    if not staged and repository is not None and not repository.has_job(run.job_name):
        return dg.SkipReason(f"run {run.run_id} of job {run.job_name!r} records nothing here")
    try:
        result = finalize_dagster_run(run.run_id, instance=context.instance, resource=resource)
    except runrecord.RunRecordError as exc:  # the staging stays for `runrecord recover`
        context.log.error(f"runrecord: cannot finalize run {run.run_id}: {exc}")
        return dg.SkipReason(f"runrecord could not finalize run {run.run_id}: {exc}")
    return dg.SkipReason(f"recorded run {run.run_id} as {result.record.status}: {result.path}")


def runrecord_run_status_sensors(
    *,
    name: str = "runrecord_finalize",
    monitored_jobs: Sequence[Any] | None = None,
    minimum_interval_seconds: int | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> list[dg.RunStatusSensorDefinition]:
    """Run status sensors that write the record of every run that succeeds, fails or is canceled.

    Runs of every code location are watched (runs started with ``dagster job execute`` too);
    a run is recorded when it has staged fragments, or when its job is in this code location.

    Args:
        name: Prefix of the sensors' names (``<name>_success``, ``_failure``, ``_canceled``).
        monitored_jobs: Record only runs of these jobs (default: all, in every location).
        minimum_interval_seconds: Passed to Dagster.
        default_status: Running by default: records should not wait for someone to switch
            the sensors on.

    Returns:
        Three sensors; add them with ``Definitions(sensors=[*runrecord_run_status_sensors()])``.

    Examples:
        >>> sorted(s.name for s in runrecord_run_status_sensors())
        ['runrecord_finalize_canceled', 'runrecord_finalize_failure', 'runrecord_finalize_success']
    """
    sensors = []
    for suffix, status in _STATUSES.items():

        @dg.run_status_sensor(
            run_status=status,
            name=f"{name}_{suffix}",
            monitored_jobs=monitored_jobs,
            monitor_all_code_locations=None if monitored_jobs else True,
            minimum_interval_seconds=minimum_interval_seconds,
            default_status=default_status,
            description="runrecord: finalize the run's record",
        )
        def _sensor(context: RunStatusSensorContext, runrecord: RunRecordResource) -> dg.SkipReason:
            return _finalize(context, runrecord)

        sensors.append(_sensor)
    return sensors


def _job_entrypoint(job: Job, resource: RunRecordResource) -> str:
    tags = getattr(job, "tags", None) or {}
    return str(tags.get(ENTRYPOINT_TAG) or resource.entrypoints.get(job.name) or job.name)


def _record_blocked(
    resource: RunRecordResource, job: Job, verdict: runrecord.Verdict
) -> runrecord.FinalizeResult:
    """The consumer's own record: it did not start, because the upstream blocks it."""
    registry = resource.registry()
    entrypoint = _job_entrypoint(job, resource)
    run_id = runrecord.run_id_for(entrypoint, f"gate-{verdict.run_id}")
    if not runrecord.open_store(registry.record_location).has_record(run_id):
        runrecord.open_run(
            entrypoint,
            registry=registry,
            run_id=run_id,
            command=f"runrecord gate sensor for job {job.name}",
            orchestrator=runrecord.OrchestratorInfo(
                name="dagster", version=dg.__version__, job=job.name
            ),
            exist_ok=True,
        )
        _, error = runrecord.upstream_error(verdict)
        runrecord.write_note(run_id, registry=registry, errors=[error])
    return runrecord.finalize_run(run_id, registry=registry, exist_ok=True)


def runrecord_gate_sensor(
    upstream: str,
    job: Job,
    *,
    name: str | None = None,
    allowed: Collection[str] = DEFAULT_ALLOWED,
    record_blocked: bool = True,
    minimum_interval_seconds: int | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor that requests ``job`` once per new upstream record that passes the gate.

    When the upstream's newest record is not allowed, the tick is skipped with a reason that
    names the upstream status and its first error, and (``record_blocked``) the job's
    entrypoint gets one record of its own, ``error`` with ``upstream_error``, per blocking
    upstream record — so the line stops further down too.

    Args:
        upstream: The upstream entrypoint id.
        job: The downstream job (a job or an asset job).
        name: The sensor's name; ``<job>_runrecord_gate`` by default.
        allowed: Upstream statuses that pass.
        record_blocked: Write the blocked consumer's record.
        minimum_interval_seconds: Passed to Dagster.
        default_status: Passed to Dagster.

    Returns:
        The sensor; it needs the ``runrecord`` resource.

    Examples:
        >>> import dagster as dg
        >>> @dg.asset
        ... def report() -> int:
        ...     return 1
        >>> job = dg.define_asset_job("report_job", selection=[report])
        >>> runrecord_gate_sensor("shop.etl", job).name
        'report_job_runrecord_gate'
    """

    @dg.sensor(
        name=name or f"{job.name}_runrecord_gate",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        required_resource_keys={RESOURCE_KEY},
        description=f"runrecord gate: run {job.name} after each allowed record of {upstream!r}",
    )
    def _gate(context: SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        resource: RunRecordResource = getattr(context.resources, RESOURCE_KEY)
        verdict = runrecord.check_upstream(upstream, registry=resource.registry(), allowed=allowed)
        seen = f"{'passed' if verdict.passed else 'blocked'}:{verdict.run_id}"
        if verdict.passed and verdict.run_id:
            if context.cursor == seen:
                return dg.SkipReason(f"no new record of {upstream!r} since {verdict.run_id}")
            context.update_cursor(seen)
            return dg.RunRequest(
                run_key=verdict.run_id,
                tags={"runrecord/upstream": upstream, "runrecord/upstream_run_id": verdict.run_id},
            )
        if record_blocked and verdict.run_id and context.cursor != seen:
            _record_blocked(resource, job, verdict)
            context.update_cursor(seen)
        status = verdict.status.value if verdict.status else "missing or invalid"
        return dg.SkipReason(f"runrecord gate: upstream {upstream!r} is {status}: {verdict.reason}")

    return _gate
