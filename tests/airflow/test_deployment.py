"""Deployment mode: a real api-server, scheduler and dag-processor (LocalExecutor, SQLite).

Task callbacks run in task processes, DAG callbacks in children of the dag-processor; a
task killed with SIGKILL leaves no callback at all. One deployment serves the whole module.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

from airflow_support import AirflowProject, Deployment, session_members, wait_for

import runrecord

RUN_TIMEOUT = 240.0


def _finished(deployment: Deployment, dag_id: str, run_id: str) -> runrecord.RunRecord:
    """Wait for the DAG run to end and its record to be promoted (DAG callbacks come later)."""
    wait_for(
        f"{dag_id} {run_id} to end",
        lambda: deployment.run_state(dag_id, run_id) in ("success", "failed"),
        RUN_TIMEOUT,
    )
    path = (
        deployment.registry.record_dir / f"{runrecord.run_id_for(dag_id, run_id)}.run_record.json"
    )
    wait_for(f"the record of {run_id}", path.exists, RUN_TIMEOUT)
    return runrecord.read_record(path)


def _kill_when_started(deployment: Deployment, name: str) -> int:
    pid_file = deployment.root / "control" / f"{name}.pid"
    pid = int(
        wait_for(
            f"task {name} to start", lambda: pid_file.exists() and pid_file.read_text(), RUN_TIMEOUT
        )
    )
    os.kill(pid, signal.SIGKILL)
    return pid


def test_callbacks_across_processes_leave_one_record(deployment: Deployment) -> None:
    record = _finished(deployment, "sales_daily", _trigger(deployment, "sales_daily", "deploy-ok"))
    assert record.status == "success"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "success"),
        ("load", "success"),
    ]
    assert record.counters.records_skipped == 1
    [out] = record.outputs
    assert out.data_hash == runrecord.hash_path(out.path)
    assert runrecord.validate_record(record, registry=deployment.registry).valid
    assert len(list(deployment.registry.record_dir.glob("sales_daily-deploy-ok-*.json"))) == 1


def test_sigkilled_task_is_recorded_as_crashed(deployment: Deployment) -> None:
    run_id = _trigger(deployment, "killed", "deploy-sigkill", {"name": "sigkill"})
    _kill_when_started(deployment, "sigkill")
    record = _finished(deployment, "killed", run_id)

    assert record.status == "error"
    stages = {s.node.id: s for s in record.stages if s.node}
    assert stages["extract"].status == "success"
    assert stages["transform"].status == "error"
    [crash] = [e for e in record.errors if e.error_id in stages["transform"].errors]
    assert crash.type == "crashed"
    assert stages["load"].status == "skipped"
    assert record.completed_at is not None  # finalized by the DAG callback, not recovered


def test_zombie_failure_callbacks_leave_one_stage(deployment: Deployment) -> None:
    run_id = _trigger(deployment, "killed", "deploy-zombie", {"name": "zombie"})
    pid_file = deployment.root / "control" / "zombie.pid"
    pid = int(
        wait_for(
            "the task to start", lambda: pid_file.exists() and pid_file.read_text(), RUN_TIMEOUT
        )
    )
    supervisor = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    for victim in (supervisor, pid):  # supervisor first: nobody reports the task's end
        os.kill(victim, signal.SIGKILL)
    record = _finished(deployment, "killed", run_id)

    transform = [s for s in record.stages if s.node and s.node.id == "transform"]
    assert len(transform) == 1
    assert transform[0].status == "error"
    assert record.status == "error"


def test_reschedule_sensor_waits_then_passes(deployment: Deployment) -> None:
    run_id = _trigger(deployment, "gated_on_plain", "deploy-gate")
    wait_for(
        "the gate to be rescheduled at least once",
        lambda: (
            deployment.task_states("gated_on_plain", run_id)["gate"]["state"] == "up_for_reschedule"
        ),
        RUN_TIMEOUT,
    )
    # Now the upstream gets its record: written through the core, as any producer would.
    with runrecord.run("plain_daily", registry=deployment.registry) as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
    record = _finished(deployment, "gated_on_plain", run_id)
    assert record.status == "success", (record.errors, record.stages)
    assert [s.stage for s in record.stages] == ["gate", "report"]


def _trigger(
    deployment: Deployment, dag_id: str, run_id: str, conf: dict[str, object] | None = None
) -> str:
    deployment.trigger(dag_id, run_id, conf)
    return run_id


def test_whole_deployment_killed_mid_run_is_recovered(airflow_project: AirflowProject) -> None:
    """dag.test() runs scheduler, executor and task in one process: kill that process."""
    import subprocess

    script = (
        "from airflow.dag_processing.dagbag import DagBag; import os;"
        "DagBag(dag_folder=os.environ['AIRFLOW__CORE__DAGS_FOLDER']).get_dag('killed')"
        ".test(run_conf={'name': 'whole'})"
    )
    control = airflow_project.root / "control"
    log = (airflow_project.root / "whole.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_for("the stalled task", (control / "whole.pid").exists, RUN_TIMEOUT)
    finally:
        for pid in session_members({proc.pid}):
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()
    time.sleep(0.1)
    results = runrecord.recover(registry=airflow_project.registry, older_than=timedelta(0))
    recovered = [r for r in results if r.run_id.startswith("killed-") and r.outcome == "recovered"]
    assert len(recovered) == 1
    record = runrecord.read_record(recovered[0].path or "")
    assert record.status == "error"
    assert record.completed_at is None
    assert [e.type for e in record.errors] == ["crashed"]
    assert [(s.stage, s.status) for s in record.stages] == [("extract", "success")]
