"""The multiprocess executor on a temporary instance: every step is its own process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import dagster_pipelines

import runrecord


def test_stages_are_written_from_the_step_subprocesses(
    mp_instance: dg.DagsterInstance, home: Path, registry: runrecord.Registry
) -> None:
    result = dagster_pipelines.execute_etl(mp_instance)
    assert result.success

    # Before finalization: the stage fragments, and which processes wrote them.
    run_id = runrecord.run_id_for(dagster_pipelines.ENTRYPOINT, result.run_id)
    staging = registry.record_dir / ".staging" / run_id
    writers = {}
    for fragment in staging.glob("*-stage-*.json"):
        data = json.loads(fragment.read_text())
        writers[data["stage"]["node"]["id"]] = data["writer"]["pid"]
    step_pids = {
        e.step_key: e.dagster_event.pid
        for e in mp_instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_START)
        if e.dagster_event is not None
    }
    assert writers == step_pids
    assert len(set(writers.values())) == 3
    assert os.getpid() not in writers.values()

    record = dagster_pipelines.finalize_etl(result, mp_instance, home)

    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "success"
    assert [s.stage for s in record.stages] == ["extract", "transform", "load"]
    assert record.counters.records_skipped == 2
    assert [o.promotion_status for o in record.outputs] == ["promoted"] * 3
    assert not staging.exists()


def test_a_killed_step_is_recorded_as_crashed_from_dagsters_events(
    mp_instance: dg.DagsterInstance, home: Path, registry: runrecord.Registry
) -> None:
    result = dagster_pipelines.execute_etl(mp_instance, crash=True)
    assert not result.success

    record = dagster_pipelines.finalize_etl(result, mp_instance, home)

    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "error"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "error"),
        ("load", "skipped"),
    ]
    [error] = record.errors
    assert (error.type, error.stage) == ("crashed", "transform")
    assert error.message.startswith("transform ended without reporting: its process died")
    assert "ChildProcessCrashException" in error.message
    assert error.remediation_hint
    assert record.stages[1].errors == [error.error_id]
    assert record.stages[2].skip_reasons[0].code == "upstream_failed"
