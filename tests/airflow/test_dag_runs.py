"""Records of real DAG runs under ``dag.test()``: callbacks, listener, both, neither."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow_support import AirflowProject

import runrecord

pytestmark = pytest.mark.usefixtures("airflow_project")


def _shape(record: runrecord.RunRecord) -> dict[str, Any]:
    """What must not depend on who recorded the run (callbacks or listener)."""
    return {
        "status": record.status,
        "stages": [
            (s.stage, s.status, s.node.id if s.node else None, s.node.attempt if s.node else None)
            for s in record.stages
        ],
        "stage_counters": [s.counters.as_dict() for s in record.stages],
        "counters": record.counters.as_dict(),
        "outputs": [
            (o.name, o.promotion_status, o.data_hash, o.record_count) for o in record.outputs
        ],
        "inputs": [(i.name, i.resolution, i.data_hash) for i in record.inputs],
        "errors": sorted((e.type, e.stage) for e in record.errors),
    }


def test_three_task_dag_leaves_one_success_record(airflow_project: AirflowProject) -> None:
    run = airflow_project.run("sales_daily")
    assert run.state == "success"
    record = airflow_project.record("sales_daily", run)

    assert record.status == "success"
    assert [s.stage for s in record.stages] == ["extract", "transform", "load"]
    assert [s.node.id for s in record.stages if s.node] == ["extract", "transform", "load"]
    starts = [s.started_at for s in record.stages if s.started_at is not None]
    assert len(starts) == 3
    assert starts == sorted(starts)
    transform = record.stages[1]
    assert (transform.counters.records_seen, transform.counters.records_processed) == (4, 3)
    assert transform.counters.records_skipped == 1
    assert [(r.code, r.count) for r in transform.skip_reasons] == [("duplicate", 1)]
    assert record.counters.records_seen == 4 + 4 + 3
    assert record.orchestrator is not None
    assert (record.orchestrator.name, record.orchestrator.job) == ("airflow", "sales_daily")
    assert record.orchestrator.run_id == run.run_id
    airflow_facts = record.extensions["airflow"]
    assert isinstance(airflow_facts, dict)
    assert airflow_facts["logical_date"]

    [orders] = record.inputs
    assert orders.resolution == "present"
    [out] = record.outputs
    assert out.promotion_status == "promoted"
    assert out.record_count == 3
    assert out.data_hash == runrecord.hash_path(out.path)
    manifest = runrecord.read_manifest(out.manifest_path or "")
    assert manifest.data_hash == out.data_hash
    assert manifest.producing_run_id == record.run_id
    assert record.counters.artifacts_written == 1
    assert not (airflow_project.registry.record_dir / ".staging" / record.run_id).exists()


def test_failing_middle_task_gives_error_record(airflow_project: AirflowProject) -> None:
    run = airflow_project.run("sales_daily_broken")
    assert run.state == "failed"
    record = airflow_project.record("sales_daily_broken", run)

    assert record.status == "error"
    stages = {s.stage: s for s in record.stages}
    assert [s.stage for s in record.stages] == ["extract", "transform", "load"]
    assert stages["extract"].status == "success"
    assert stages["transform"].status == "error"
    [error] = [e for e in record.errors if e.error_id in stages["transform"].errors]
    assert error.type == "runtime_error"
    assert error.exception is not None
    assert error.exception.class_ == "builtins.ValueError"
    assert "cannot parse amount" in error.message
    assert stages["load"].status == "skipped"
    assert [(r.code, r.what) for r in stages["load"].skip_reasons] == [("upstream_failed", "stage")]
    assert record.outputs == []  # load never ran: nothing was promoted


@pytest.mark.parametrize("listener", ["off", "on"])
def test_refused_input_is_the_stages_only_error(
    airflow_project: AirflowProject, monkeypatch: pytest.MonkeyPatch, listener: str
) -> None:
    """The input's refusal is recorded once, by the input, and the stage lists it."""
    monkeypatch.setenv("RUNRECORD_AIRFLOW_LISTENER", listener)  # on: two hooks see the failure
    run = airflow_project.run("missing_input")
    assert run.state == "failed"
    record = airflow_project.record("missing_input", run)

    assert record.status == "error"
    [stage] = record.stages
    assert stage.status == "error"
    [error] = record.errors
    assert error.type == "input_missing"
    assert stage.errors == [error.error_id]
    [orders] = record.inputs
    assert orders.resolution == "missing"


def test_retried_task_records_its_last_try(airflow_project: AirflowProject) -> None:
    run = airflow_project.run("retried")
    assert run.state == "success"
    record = airflow_project.record("retried", run)

    assert record.status == "success"
    [stage] = record.stages
    assert stage.node is not None
    assert (stage.node.id, stage.node.attempt) == ("extract", 2)
    assert stage.counters.records_processed == 3
    assert record.errors == []


def test_task_groups_and_params_map_to_stages(airflow_project: AirflowProject) -> None:
    run = airflow_project.run("mapped_stages")
    record = airflow_project.record("mapped_stages", run)

    mapped = {s.node.id: s.stage for s in record.stages if s.node}
    assert mapped == {"transform.dedupe": "transform", "write_rows": "load"}
    # A task that maps to no stage is not lost: the run says so, and ends in error.
    assert record.status == "error"
    [error] = record.errors
    assert error.type == "config_error"
    assert "unmapped_task" in error.message


def test_listener_alone_records_the_same(
    airflow_project: AirflowProject, listener_on: None
) -> None:
    by_callbacks = airflow_project.record("sales_daily", airflow_project.run("sales_daily"))
    by_listener = airflow_project.record("plain_daily", airflow_project.run("plain_daily"))
    assert _shape(by_listener) == _shape(by_callbacks)
    assert by_listener.entrypoint.entrypoint_id == "plain_daily"


def test_listener_alone_records_failures_the_same(
    airflow_project: AirflowProject, listener_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRECORD_AIRFLOW_LISTENER", "off")
    by_callbacks = airflow_project.record(
        "sales_daily_broken", airflow_project.run("sales_daily_broken")
    )
    monkeypatch.setenv("RUNRECORD_AIRFLOW_LISTENER", "on")
    by_listener = airflow_project.record(
        "plain_daily_broken", airflow_project.run("plain_daily_broken")
    )
    assert _shape(by_listener) == _shape(by_callbacks)


def test_callbacks_and_listener_together_record_once(
    airflow_project: AirflowProject, listener_on: None
) -> None:
    run = airflow_project.run("sales_daily")
    record = airflow_project.record("sales_daily", run)
    assert [s.stage for s in record.stages] == ["extract", "transform", "load"]
    assert record.status == "success"
    records = list(airflow_project.registry.record_dir.glob(f"{record.run_id}*"))
    assert [p.name for p in records] == [f"{record.run_id}.run_record.json"]


def test_switched_off_listener_records_nothing(airflow_project: AirflowProject) -> None:
    run = airflow_project.run("plain_daily")
    assert run.state == "success"
    assert not airflow_project.has_record("plain_daily", run)
    rid = airflow_project.record_id("plain_daily", run)
    assert not (airflow_project.registry.record_dir / ".staging" / rid).exists()
    # The task helpers still did their work: the output and its manifest are there.
    out = airflow_project.root / "data" / "out" / rid / "daily_sales.csv"
    manifest = runrecord.read_manifest(runrecord.manifest_path_for(out))
    runrecord.verify(out, manifest)
    assert manifest.record_count == 3


def test_a_miscount_fails_the_task_that_made_it(airflow_project: AirflowProject) -> None:
    run = airflow_project.run("miscounted")
    assert run.state == "failed"  # count() refused it inside the task
    record = airflow_project.record("miscounted", run)
    assert record.status == "error"
    [stage] = record.stages
    assert stage.status == "error"
    [error] = record.errors
    assert error.error_id in stage.errors
    assert (error.type, error.exception.class_ if error.exception else None) == (
        "record_invalid",
        "runrecord.errors.CountersError",
    )
    assert "errors_count is derived" in error.message


def test_every_record_of_the_session_is_valid(airflow_project: AirflowProject) -> None:
    airflow_project.run("sales_daily")
    paths = sorted(Path(airflow_project.registry.record_dir).glob("*.run_record.json"))
    assert paths
    for path in paths:
        report = runrecord.validate_record(path, registry=airflow_project.registry)
        assert report.valid, (path.name, report.problems)
