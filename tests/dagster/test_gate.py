"""Stop the line: the gate sensor and the blocking asset check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import dagster_pipelines

import runrecord
from runrecord_dagster import (
    ENTRYPOINT_TAG,
    finalize_dagster_run,
    runrecord_gate_check,
    runrecord_gate_sensor,
    with_runrecord_hooks,
)

UPSTREAM = "orders.ingest"


def _upstream_record(registry: runrecord.Registry, *, fail: bool) -> runrecord.RunRecord:
    """An upstream run of another pipeline, recorded with the in-process API."""
    try:
        with runrecord.run(UPSTREAM, registry=registry, command="ingest") as run:
            with run.stage("extract"):
                if fail:
                    raise RuntimeError("orders feed truncated at line 812")
    except RuntimeError:
        pass
    return run.record


def _tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    resources: dict[str, object],
    cursor: str | None,
) -> tuple[list[dg.RunRequest], str | None, str | None]:
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        data = sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.skip_message, data.cursor


def test_gate_sensor_requests_the_job_only_after_an_allowed_record(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    job = dg.define_asset_job("report_job", selection=[dagster_pipelines.summary])
    sensor = runrecord_gate_sensor(UPSTREAM, job)
    resources = {"runrecord": dagster_pipelines.resources(home)["runrecord"]}

    requests, skip, cursor = _tick(sensor, instance, resources, None)
    assert requests == []
    assert skip is not None
    assert "missing or invalid" in skip
    assert "no run record of 'orders.ingest'" in skip

    good = _upstream_record(registry, fail=False)
    requests, skip, cursor = _tick(sensor, instance, resources, cursor)
    [request] = requests
    assert request.run_key == good.run_id
    assert request.tags["runrecord/upstream_run_id"] == good.run_id
    # The same upstream record does not request the job twice.
    requests, skip, cursor = _tick(sensor, instance, resources, cursor)
    assert requests == []
    assert skip == f"no new record of 'orders.ingest' since {good.run_id}"


def test_gate_sensor_skips_with_the_upstream_error_and_records_the_consumer_once(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    job = dg.define_asset_job(
        "report_job", selection=[dagster_pipelines.summary], tags={ENTRYPOINT_TAG: "test.report"}
    )
    sensor = runrecord_gate_sensor(UPSTREAM, job)
    resources = {"runrecord": dagster_pipelines.resources(home)["runrecord"]}
    bad = _upstream_record(registry, fail=True)

    requests, skip, cursor = _tick(sensor, instance, resources, None)
    requests_again, skip_again, _ = _tick(sensor, instance, resources, cursor)

    assert requests == requests_again == []
    assert skip == skip_again
    assert skip is not None
    assert f"upstream {bad.run_id} is error" in skip
    assert "runtime_error: RuntimeError: orders feed truncated at line 812" in skip
    blocked = runrecord.latest_record("test.report", registry=registry)
    assert blocked is not None
    assert runrecord.validate_record(blocked, registry=registry).valid
    assert blocked.status == "error"
    [error] = blocked.errors
    assert error.type == "upstream_error"
    assert error.details is not None
    assert error.details["upstream_run_id"] == bad.run_id
    assert error.evidence[0].path == str(registry.record_dir / f"{bad.run_id}.run_record.json")
    records = sorted(p.name for p in registry.record_dir.glob("test.report-*.run_record.json"))
    assert records == [f"{blocked.run_id}.run_record.json"]  # one per blocking upstream record


def _gated_job(home: Path) -> dg.JobDefinition:
    gate = runrecord_gate_check(dagster_pipelines.ORDERS, UPSTREAM, stage="extract")
    job = dg.define_asset_job(
        "consume",
        selection=dg.AssetSelection.assets(dagster_pipelines.consumer)
        | dg.AssetSelection.checks(gate),
        tags={ENTRYPOINT_TAG: "test.consume"},
    )
    defs = dg.Definitions(
        assets=[dagster_pipelines.ORDERS, *with_runrecord_hooks([dagster_pipelines.consumer])],
        asset_checks=[gate],
        jobs=[job],
        resources=dagster_pipelines.resources(home),
    )
    return defs.resolve_job_def("consume")


def test_blocking_check_stops_the_downstream_asset_and_records_upstream_error(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    bad = _upstream_record(registry, fail=True)
    job = _gated_job(home)

    result = job.execute_in_process(instance=instance, raise_on_error=False)
    record = finalize_dagster_run(
        result, instance=instance, resource=dagster_pipelines.resources(home)["runrecord"]
    ).record

    assert not result.success
    assert result.is_node_untouched("consumer")
    assert instance.get_latest_materialization_event(dagster_pipelines.consumer.key) is None
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["upstream_status"].value == "error"
    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "error"
    [error] = record.errors
    assert error.type == "upstream_error"
    assert error.details is not None
    assert error.details["upstream_run_id"] == bad.run_id
    gate, consumer = record.stages
    assert (gate.node and gate.node.id, gate.status, gate.errors) == (
        "orders_runrecord_gate",
        "error",
        [error.error_id],
    )
    assert (consumer.node and consumer.node.id, consumer.status) == ("consumer", "skipped")
    assert consumer.skip_reasons[0].code == "upstream_failed"


def test_blocking_check_passes_on_a_success_record(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    good = _upstream_record(registry, fail=False)
    job = _gated_job(home)

    result = job.execute_in_process(instance=instance)
    record = finalize_dagster_run(
        result, instance=instance, resource=dagster_pipelines.resources(home)["runrecord"]
    ).record

    assert result.success
    assert record.status == "success"
    assert [(s.stage, s.status, s.node and s.node.id) for s in record.stages] == [
        ("extract", "success", "orders_runrecord_gate"),
        ("extract", "success", "consumer"),
    ]
    assert record.stages[0].evidence[0].path == str(
        registry.record_dir / f"{good.run_id}.run_record.json"
    )
