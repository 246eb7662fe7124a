"""The gating sensor under ``dag.test()``: pass, fail fast, keep waiting."""

from __future__ import annotations

import pytest
from airflow_support import AirflowProject

pytestmark = pytest.mark.usefixtures("airflow_project")


def test_sensor_fails_fast_on_upstream_error(airflow_project: AirflowProject) -> None:
    upstream = airflow_project.record(
        "sales_daily_broken", airflow_project.run("sales_daily_broken")
    )
    assert upstream.status == "error"

    run = airflow_project.run("sales_report_blocked")  # the gate's timeout is 30 minutes
    assert run.state == "failed"
    gate = run.get_task_instance("gate")
    assert (gate.state, gate.try_number) == ("failed", 1)

    record = airflow_project.record("sales_report_blocked", run)
    assert record.status == "error"
    stages = {s.stage: s for s in record.stages}
    [refusal] = [e for e in record.errors if e.error_id in stages["gate"].errors]
    assert refusal.type == "upstream_error"
    assert refusal.details is not None
    assert refusal.details["upstream_run_id"] == upstream.run_id
    assert refusal.details["upstream_status"] == "error"
    assert stages["report"].status == "skipped"
    assert [r.code for r in stages["report"].skip_reasons] == ["upstream_failed"]
    assert len(record.stages) == 2  # the refusal is one stage, not one per writer


def test_sensor_passes_after_upstream_success(airflow_project: AirflowProject) -> None:
    upstream = airflow_project.record("sales_daily", airflow_project.run("sales_daily"))
    assert upstream.status == "success"

    run = airflow_project.run("sales_report")
    assert run.state == "success"
    record = airflow_project.record("sales_report", run)
    assert record.status == "success"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("gate", "success"),
        ("report", "success"),
    ]


def test_sensor_keeps_waiting_while_no_record_exists(airflow_project: AirflowProject) -> None:
    run = airflow_project.run("gate_waits")  # upstream 'never_ran'; timeout 1 s
    assert run.state == "failed"
    record = airflow_project.record("gate_waits", run)
    assert record.status == "error"
    [error] = record.errors
    # It waited out its timeout instead of failing fast: a missing record is not an error yet.
    assert error.type != "upstream_error"
    assert error.exception is not None
    assert error.exception.class_.endswith("AirflowSensorTimeout")


def test_sensor_in_an_unrecorded_dag_records_nothing(airflow_project: AirflowProject) -> None:
    """It still stops the line; it opens no run that nobody would finalize."""
    airflow_project.run("sales_daily_broken")
    run = airflow_project.run("gate_unrecorded")  # no callbacks, listener off
    assert run.state == "failed"
    gate = run.get_task_instance("gate")
    assert (gate.state, gate.try_number) == ("failed", 1)
    assert not airflow_project.has_record("gate_unrecorded", run)
    rid = airflow_project.record_id("gate_unrecorded", run)
    assert not (airflow_project.registry.record_dir / ".staging" / rid).exists()
