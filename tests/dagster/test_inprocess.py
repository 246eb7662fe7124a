"""In-process runs (``materialize``): records, stages, inputs and outputs, failures."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import dagster as dg
import dagster_pipelines
import pytest
from dagster_pipelines import RunAssets

import runrecord
from runrecord_dagster import finalize_dagster_run


def _valid(record: runrecord.RunRecord, registry: runrecord.Registry) -> None:
    report = runrecord.validate_record(record, registry=registry)
    assert report.valid, report.problems


def test_three_assets_leave_one_valid_success_record(
    run_assets: RunAssets, registry: runrecord.Registry
) -> None:
    result, record = run_assets()

    assert result.success
    _valid(record, registry)
    assert record.status == "success"
    assert [p.name for p in registry.record_dir.glob("*.run_record.json")] == [
        f"{record.run_id}.run_record.json"
    ]
    assert record.run_id == runrecord.run_id_for("test.etl", result.run_id)
    assert record.orchestrator is not None
    assert (record.orchestrator.name, record.orchestrator.run_id) == ("dagster", result.run_id)
    assert (record.orchestrator.job, record.orchestrator.attempt) == (
        "__ephemeral_asset_job__",
        1,
    )
    # Three stages, in execution order, each naming its asset, with the counters reported.
    assert [(s.stage, s.status, s.node.id if s.node else None) for s in record.stages] == [
        ("extract", "success", "extract"),
        ("transform", "success", "transform"),
        ("load", "success", "load"),
    ]
    starts = [s.started_at for s in record.stages]
    assert all(a is not None and b is not None and a <= b for a, b in itertools.pairwise(starts))
    extract, transform, _ = record.stages
    assert (extract.counters.files_seen, extract.counters.records_processed) == (1, 6)
    assert extract.evidence[0].path == str(Path(dagster_pipelines.__file__).absolute())
    assert (transform.counters.records_seen, transform.counters.records_skipped) == (6, 2)
    assert [(r.code, r.count) for r in transform.skip_reasons] == [("duplicate", 2)]
    assert [w.type for w in record.warnings] == ["records_skipped"]
    assert transform.warnings == [record.warnings[0].warning_id]
    assert record.counters.records_seen == 6 + 6 + 4
    assert record.counters.artifacts_written == 3


def test_outputs_are_promoted_with_manifests_that_match_the_files(
    run_assets: RunAssets, registry: runrecord.Registry, home: Path
) -> None:
    result, record = run_assets()

    assert [(o.name, o.promotion_status) for o in record.outputs] == [
        ("extract", "promoted"),
        ("transform", "promoted"),
        ("load", "promoted"),
    ]
    for output in record.outputs:
        path = Path(output.path)
        assert path.parent.parent == home / "data"
        assert path.name == f"{result.run_id}.pkl"
        manifest = runrecord.read_manifest(Path(str(output.manifest_path)))
        assert manifest.data_hash == output.data_hash == runrecord.hash_path(path)
        assert manifest.producing_run_id == record.run_id
        runrecord.verify(path, manifest)  # raises on a mismatch
    families = {o.name: (o.artifact_family, o.schema_version) for o in record.outputs}
    assert families == {
        "extract": ("test.raw", "2"),
        "transform": ("transform", "3"),
        "load": ("test.totals", "1"),
    }
    assert [o.record_count for o in record.outputs] == [6, 4, None]
    assert record.schema_versions.written == {"test.raw": "2", "transform": "3", "test.totals": "1"}
    # The materializations link to the data, its hash and the record.
    event = result.get_asset_materialization_events()[1].materialization
    meta = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    assert meta["runrecord/data_hash"] == record.outputs[1].data_hash
    assert meta["runrecord/path"] == record.outputs[1].path
    assert meta["runrecord/record"] == str(registry.record_dir / f"{record.run_id}.run_record.json")


def test_inputs_are_recorded_present_with_their_schema_versions(run_assets: RunAssets) -> None:
    _, record = run_assets()

    assert [(i.name, i.resolution, i.artifact_family, i.schema_version) for i in record.inputs] == [
        ("extract", "present", "test.raw", "2"),
        ("transform", "present", "transform", "3"),
    ]
    assert [i.path for i in record.inputs] == [o.path for o in record.outputs[:2]]
    assert [i.data_hash for i in record.inputs] == [o.data_hash for o in record.outputs[:2]]
    assert record.schema_versions.read == {"test.raw": "2", "transform": "3"}


def test_a_failing_middle_asset_gives_one_error_record(
    run_assets: RunAssets, registry: runrecord.Registry
) -> None:
    result, record = run_assets(run_config={"ops": {"transform": {"config": {"fail": True}}}})

    assert not result.success
    _valid(record, registry)
    assert record.status == "error"
    stages = {s.stage: s for s in record.stages}
    assert [s.stage for s in record.stages] == ["extract", "transform", "load"]
    failing = stages["transform"]
    assert failing.status == "error"
    [error] = record.errors
    assert failing.errors == [error.error_id]
    assert error.type == "runtime_error"
    assert error.stage == "transform"
    assert error.exception is not None
    assert error.exception.class_ == "dagster_pipelines.BadDataError"
    assert "row 3 has a negative amount" in error.message
    assert error.remediation_hint
    trace = Path(str(error.evidence[0].path)).read_text()
    assert "BadDataError" in trace
    assert "dagster_pipelines.py" in trace
    # Downstream of the failure: skipped with upstream_failed, nothing promoted for it.
    assert stages["load"].status == "skipped"
    assert [(r.code, r.what) for r in stages["load"].skip_reasons] == [("upstream_failed", "stage")]
    assert [o.name for o in record.outputs] == ["extract"]
    assert record.counters.artifacts_written == 1


def test_a_modified_input_fails_the_consuming_step_with_integrity_error(
    run_assets: RunAssets, registry: runrecord.Registry
) -> None:
    _, first = run_assets()
    tampered = Path(first.outputs[2].path)  # load's output, read by summary in the next run
    tampered.chmod(0o644)
    tampered.write_bytes(tampered.read_bytes() + b"\x00")

    result, record = run_assets(
        [*dagster_pipelines.ETL, dagster_pipelines.summary], selection=["summary"]
    )

    assert not result.success
    assert result.get_failed_step_keys() == {"summary"}
    _valid(record, registry)
    assert record.status == "error"
    [summary] = record.stages
    assert (summary.stage, summary.status, summary.node and summary.node.id) == (
        "report",
        "error",
        "summary",
    )
    [error] = record.errors  # recorded once, by the input, and listed by its stage
    assert error.type == "integrity_error"
    assert summary.errors == [error.error_id]
    [inp] = record.inputs
    assert (inp.name, inp.path, inp.data_hash) == (
        "load",
        str(tampered),
        first.outputs[2].data_hash,
    )
    assert record.outputs == []


def test_an_upstream_never_materialized_is_a_missing_input(
    run_assets: RunAssets, registry: runrecord.Registry
) -> None:
    result, record = run_assets(
        [*dagster_pipelines.ETL, dagster_pipelines.summary], selection=["summary"]
    )

    assert not result.success
    _valid(record, registry)
    [inp] = record.inputs
    assert (inp.name, inp.resolution) == ("load", "missing")
    assert [e.type for e in record.errors] == ["input_missing"]


def test_a_schema_version_the_consumer_does_not_accept_is_a_schema_mismatch(
    run_assets: RunAssets,
) -> None:
    @dg.asset(
        ins={"load": dg.AssetIn(metadata={"runrecord/accept_schema_versions": ["2"]})},
        op_tags={"runrecord/stage": "report"},
    )
    def strict(load: dict[str, int]) -> int:
        return load["rows"]

    run_assets()
    result, record = run_assets([*dagster_pipelines.ETL, strict], selection=["strict"])

    assert not result.success
    assert [e.type for e in record.errors] == ["schema_mismatch"]
    assert "reads ['2']" in record.errors[0].message


def test_partitions_are_part_of_the_path_and_of_the_record(
    run_assets: RunAssets, home: Path, instance: dg.DagsterInstance
) -> None:
    from runrecord_dagster import ENTRYPOINT_TAG, RunRecordResource, with_runrecord_hooks

    res = dagster_pipelines.resources(home)
    result = dg.materialize(
        with_runrecord_hooks([dagster_pipelines.daily, dagster_pipelines.daily_copy]),
        partition_key="2026-11-26",
        resources=res,
        instance=instance,
        tags={ENTRYPOINT_TAG: "test.daily"},
    )
    rr: RunRecordResource = res["runrecord"]
    record = finalize_dagster_run(result, instance=instance, resource=rr).record

    assert record.status == "success"
    assert [o.name for o in record.outputs] == ["daily[2026-11-26]", "daily_copy[2026-11-26]"]
    assert [i.name for i in record.inputs] == ["daily[2026-11-26]"]
    path = Path(record.outputs[1].path)
    assert path.relative_to(home / "data").parts == (
        "daily_copy",
        "2026-11-26",
        f"{result.run_id}.pkl",
    )
    assert record.outputs[1].record_count == 2


def test_json_serializer_and_dagster_row_count(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    from runrecord_dagster import RunRecordIOManager, RunRecordResource, with_runrecord_hooks

    rr = RunRecordResource(registry_path=str(home / "runrecord.toml"))
    io = RunRecordIOManager(runrecord=rr, base_dir=str(home / "data"), serializer="json")
    result = dg.materialize(
        with_runrecord_hooks([dagster_pipelines.counted]),
        resources={"runrecord": rr, "io_manager": io},
        instance=instance,
    )
    record = finalize_dagster_run(result, instance=instance, resource=rr).record

    [out] = record.outputs
    assert out.path.endswith(".json")
    assert json.loads(Path(out.path).read_text()) == {"ids": [1, 2, 3]}
    assert out.record_count == 3
    # No entrypoint tag and no mapping: the job name is the entrypoint.
    assert record.entrypoint.entrypoint_id == "__ephemeral_asset_job__"


def test_finalize_is_idempotent_and_refuses_unknown_runs(
    run_assets: RunAssets, instance: dg.DagsterInstance, home: Path
) -> None:
    result, record = run_assets()
    rr = dagster_pipelines.resources(home)["runrecord"]

    again = finalize_dagster_run(result.run_id, instance=instance, resource=rr)

    assert not again.created
    assert again.record == record
    with pytest.raises(runrecord.RunNotFoundError, match="no Dagster run nope"):
        finalize_dagster_run("nope", instance=instance, resource=rr)


def test_an_output_that_cannot_be_written_is_recorded_as_not_written(
    home: Path, instance: dg.DagsterInstance, registry: runrecord.Registry
) -> None:
    from runrecord_dagster import RunRecordIOManager, RunRecordResource, with_runrecord_hooks

    @dg.asset(op_tags={"runrecord/stage": "extract"})
    def ids() -> set[int]:
        return {1, 2}  # not JSON

    rr = RunRecordResource(registry_path=str(home / "runrecord.toml"))
    io = RunRecordIOManager(runrecord=rr, base_dir=str(home / "data"), serializer="json")
    result = dg.materialize(
        with_runrecord_hooks([ids]),
        resources={"runrecord": rr, "io_manager": io},
        instance=instance,
        raise_on_error=False,
    )
    record = finalize_dagster_run(result, instance=instance, resource=rr).record

    assert not result.success
    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "error"
    [out] = record.outputs
    assert (out.name, out.promotion_status, out.data_hash) == ("ids", "not_written", None)
    assert sorted(e.type for e in record.errors) == ["output_missing", "runtime_error"]
    [stage] = record.stages
    [stage_error] = [e for e in record.errors if e.error_id in stage.errors]
    assert stage_error.exception is not None
    assert stage_error.exception.class_ == "builtins.TypeError"
    assert list((home / "data" / "ids").iterdir()) == []  # the staged file is gone
