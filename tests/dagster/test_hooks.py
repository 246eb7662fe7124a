"""Stage mapping, the counters helper, and attaching hooks to existing definitions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import dagster_pipelines
import pytest
from dagster_pipelines import RunAssets

import runrecord
from runrecord_dagster import (
    RunRecordIOManager,
    RunRecordResource,
    finalize_dagster_run,
    runrecord_hooks,
    with_runrecord_hooks,
)


def test_a_node_whose_stage_is_not_in_the_stage_set_is_a_config_error(
    run_assets: RunAssets, registry: runrecord.Registry
) -> None:
    result, record = run_assets([dagster_pipelines.oddly_named])

    assert result.success  # Dagster is fine; the record is not
    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "error"
    [error] = record.errors
    assert error.type == "config_error"
    assert "'oddly_named'" in error.message
    assert "runrecord/stage" in error.remediation_hint
    assert record.stages == []


def test_the_resource_maps_nodes_to_stages(run_assets: RunAssets) -> None:
    _, record = run_assets(
        [dagster_pipelines.oddly_named], resource={"stages": {"oddly_named": "transform"}}
    )

    assert record.status == "success"
    assert [(s.stage, s.node and s.node.id) for s in record.stages] == [
        ("transform", "oddly_named")
    ]


def test_the_resource_maps_jobs_to_entrypoints(home: Path, instance: dg.DagsterInstance) -> None:
    rr = RunRecordResource(
        registry_path=str(home / "runrecord.toml"),
        entrypoints={"ops_job": "test.ops"},
        webserver_url="http://dagster.example:3000/",
    )

    @dg.job(hooks=runrecord_hooks())
    def ops_job() -> None:
        dagster_pipelines.write_op(dagster_pipelines.read_op())

    io = RunRecordIOManager(runrecord=rr, base_dir=str(home / "data"), serializer="json")
    result = ops_job.execute_in_process(
        instance=instance, resources={"runrecord": rr, "io_manager": io}
    )
    record = finalize_dagster_run(result, instance=instance, resource=rr).record

    assert record.entrypoint.entrypoint_id == "test.ops"
    assert record.orchestrator is not None
    assert record.orchestrator.url == f"http://dagster.example:3000/runs/{result.run_id}"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("load", "success"),
    ]
    assert record.stages[1].counters.records_processed == 1
    # Op outputs go through the IO manager too: named and filed by step and output.
    assert [(o.name, o.artifact_family) for o in record.outputs] == [
        ("read_op.result", "read_op.result"),
        ("write_op.result", "write_op.result"),
    ]
    assert Path(record.outputs[0].path) == home / "data" / "read_op" / "result" / (
        result.run_id + ".json"
    )
    [inp] = record.inputs
    assert (inp.name, inp.resolution, inp.data_hash) == (
        "read_op.result",
        "present",
        record.outputs[0].data_hash,
    )
    assert result.output_for_node("write_op") == 42


def test_skipped_records_need_a_reason_code(
    run_assets: RunAssets, registry: runrecord.Registry
) -> None:
    result, record = run_assets([dagster_pipelines.unreasoned])

    assert not result.success
    assert runrecord.validate_record(record, registry=registry).valid
    [error] = record.errors
    assert error.type == "record_invalid"  # CountersError's taxonomy value
    assert "2 records counted as skipped without a reason code" in error.message
    assert error.exception is not None
    assert error.exception.class_ == "runrecord.errors.CountersError"


def test_a_miscount_fails_the_step_that_made_it(
    run_assets: RunAssets, registry: runrecord.Registry
) -> None:
    result, record = run_assets([dagster_pipelines.negative])

    assert not result.success  # stage_report().count refused it inside the step
    assert runrecord.validate_record(record, registry=registry).valid
    [stage] = record.stages
    assert (stage.stage, stage.status, stage.counters.records_seen) == ("extract", "error", 0)
    [error] = record.errors
    assert "non-negative" in error.message
    assert error.exception is not None
    assert error.exception.class_ == "runrecord.errors.CountersError"


def test_without_hooks_the_finalizer_still_records_every_step(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    res = dagster_pipelines.resources(home)
    result = dg.materialize(dagster_pipelines.ETL, resources=res, instance=instance)

    record = finalize_dagster_run(result, instance=instance, resource=res["runrecord"]).record

    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "success"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "success"),
        ("load", "success"),
    ]
    assert all(s.started_at and s.completed_at for s in record.stages)
    assert record.counters.records_seen == 0  # counters come from the hooks


def test_with_runrecord_hooks_attaches_to_assets_and_checks_and_passes_specs() -> None:
    @dg.asset_check(asset=dagster_pipelines.extract)
    def positive() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    spec = dg.AssetSpec("elsewhere")
    hooked, check, same = with_runrecord_hooks([dagster_pipelines.extract, positive, spec])

    assert isinstance(hooked, dg.AssetsDefinition)
    assert isinstance(check, dg.AssetsDefinition)  # an AssetChecksDefinition up to Dagster 1.10
    assert [k.name for k in check.check_keys] == ["positive"]
    assert {h.name for h in hooked.hook_defs} == {h.name for h in runrecord_hooks()}
    assert {h.name for h in check.hook_defs} == {h.name for h in runrecord_hooks()}
    assert same is spec
    assert not dagster_pipelines.extract.hook_defs  # the original is untouched


def test_with_runrecord_hooks_refuses_an_asset_job_with_a_hint() -> None:
    job = dg.define_asset_job("etl", selection=dagster_pipelines.ETL)

    with pytest.raises(runrecord.ConfigError, match="define_asset_job") as caught:
        with_runrecord_hooks([job])

    assert "hooks=runrecord_hooks()" in caught.value.remediation_hint


def test_a_retried_step_records_its_last_attempt_with_that_attempts_start(
    run_assets: RunAssets, registry: runrecord.Registry, instance: dg.DagsterInstance
) -> None:
    tries: list[int] = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=1), op_tags={"runrecord/stage": "extract"})
    def flaky() -> int:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("first try fails")
        return 1

    result, record = run_assets([flaky])

    assert result.success
    assert len(tries) == 2
    assert runrecord.validate_record(record, registry=registry).valid
    restarted = [
        e.timestamp
        for e in instance.all_logs(result.run_id)
        if e.dagster_event is not None and e.dagster_event.event_type_value == "STEP_RESTARTED"
    ]
    assert len(restarted) == 1
    last = [s for s in record.stages if s.node is not None and s.node.attempt == 2]
    assert [(s.stage, s.status) for s in last] == [("extract", "success")]
    assert last[0].started_at is not None
    assert last[0].started_at.timestamp() == pytest.approx(restarted[0], abs=1e-3)
