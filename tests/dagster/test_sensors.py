"""The run status sensors, called directly on runs of a real instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import dagster_pipelines
import pytest

import runrecord
from runrecord_dagster import ENTRYPOINT_TAG, runrecord_run_status_sensors, with_runrecord_hooks


def _sensor(name: str) -> dg.RunStatusSensorDefinition:
    [sensor] = [s for s in runrecord_run_status_sensors() if s.name == name]
    return sensor


def _evaluate(
    sensor: dg.RunStatusSensorDefinition,
    instance: dg.DagsterInstance,
    run_id: str,
    event_type: dg.DagsterEventType,
    *,
    rr: object,
    repository: dg.RepositoryDefinition | None = None,
) -> str:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    [entry] = instance.all_logs(run_id, of_type=event_type)
    assert entry.dagster_event is not None
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=entry.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"runrecord": rr},
        repository_def=repository,
    )
    result = sensor(context)
    assert isinstance(result, dg.SkipReason)
    return str(result.skip_message)


def test_the_failure_sensor_finalizes_a_failed_run(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    res = dagster_pipelines.resources(home)
    result = dg.materialize(
        with_runrecord_hooks(dagster_pipelines.ETL),
        resources=res,
        instance=instance,
        run_config={"ops": {"transform": {"config": {"fail": True}}}},
        tags={ENTRYPOINT_TAG: "test.etl"},
        raise_on_error=False,
    )
    run_id = runrecord.run_id_for("test.etl", result.run_id)
    assert not (registry.record_dir / f"{run_id}.run_record.json").exists()

    message = _evaluate(
        _sensor("runrecord_finalize_failure"),
        instance,
        result.run_id,
        dg.DagsterEventType.RUN_FAILURE,
        rr=res["runrecord"],
    )

    path = registry.record_dir / f"{run_id}.run_record.json"
    assert message == f"recorded run {result.run_id} as error: {path}"
    record = runrecord.read_record(path)
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "error"),
        ("load", "skipped"),
    ]


# Passing repository_def to build_run_status_sensor_context is beta in Dagster.
@pytest.mark.filterwarnings("ignore:Parameter `repository_def`")
def test_the_success_sensor_leaves_runs_of_other_jobs_alone(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    res = dagster_pipelines.resources(home)
    result = dg.materialize(
        [dagster_pipelines.oddly_named], instance=instance
    )  # no runrecord wiring
    repository = dg.Definitions(
        jobs=[dg.define_asset_job("etl", selection=dagster_pipelines.ETL)],
        assets=dagster_pipelines.ETL,
    ).get_repository_def()

    message = _evaluate(
        _sensor("runrecord_finalize_success"),
        instance,
        result.run_id,
        dg.DagsterEventType.RUN_SUCCESS,
        rr=res["runrecord"],
        repository=repository,
    )

    assert message.endswith("records nothing here")
    assert list(registry.record_dir.glob("*.run_record.json")) == []


def test_a_canceled_run_that_never_started_still_gets_its_record(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    defs = dg.Definitions(
        assets=dagster_pipelines.ETL,
        jobs=[dg.define_asset_job("etl", selection=dagster_pipelines.ETL)],
        resources=dagster_pipelines.resources(home),
    )
    run = instance.create_run_for_job(job_def=defs.resolve_job_def("etl"))
    instance.report_run_canceled(run)  # canceled while queued: no step, no hook, no header

    message = _evaluate(
        _sensor("runrecord_finalize_canceled"),
        instance,
        run.run_id,
        dg.DagsterEventType.RUN_CANCELED,
        rr=dagster_pipelines.resources(home)["runrecord"],
    )

    assert message.startswith(f"recorded run {run.run_id} as error")
    record = runrecord.read_record(
        registry.record_dir / f"{runrecord.run_id_for('etl', run.run_id)}.run_record.json"
    )
    assert runrecord.validate_record(record, registry=registry).valid
    assert [(s.stage, s.status, s.skip_reasons[0].code) for s in record.stages] == [
        ("extract", "skipped", "upstream_failed"),
        ("transform", "skipped", "upstream_failed"),
        ("load", "skipped", "upstream_failed"),
    ]
    [error] = record.errors
    assert error.type == "cancelled"
    assert run.run_id in error.message


def test_a_run_that_failed_outside_any_step_is_an_error_with_dagsters_reason(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    defs = dg.Definitions(
        assets=dagster_pipelines.ETL,
        jobs=[dg.define_asset_job("etl", selection=dagster_pipelines.ETL)],
        resources=dagster_pipelines.resources(home),
    )
    run = instance.create_run_for_job(job_def=defs.resolve_job_def("etl"))
    instance.report_run_failed(run, "the run worker could not start: no such image")

    message = _evaluate(
        _sensor("runrecord_finalize_failure"),
        instance,
        run.run_id,
        dg.DagsterEventType.RUN_FAILURE,
        rr=dagster_pipelines.resources(home)["runrecord"],
    )

    assert message.startswith(f"recorded run {run.run_id} as error")
    record = runrecord.latest_record("etl", registry=registry)
    assert record is not None
    assert runrecord.validate_record(record, registry=registry).valid
    [error] = record.errors
    assert error.type == "runtime_error"
    assert "the run worker could not start: no such image" in error.message
