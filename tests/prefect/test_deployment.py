"""Deployment mode: flow runs of a real ``serve()`` runner, in processes of their own,
triggered through the API of a real Prefect server; and flow runs whose process is killed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.states import Cancelling
from prefect_support import (
    Served,
    prefect_env,
    records,
    start_process,
    stop_process,
    wait_for,
)

import runrecord

SLOW_FLOW = Path(__file__).resolve().parent / "slow_flow.py"


def trigger(deployment: str, **parameters: Any) -> UUID:
    flow_run = run_deployment(deployment, parameters=parameters, timeout=0)
    assert isinstance(flow_run, FlowRun)
    return flow_run.id


def final_state(flow_run_id: UUID, served: Served) -> Any:
    def probe() -> Any:
        assert served.runner.popen.poll() is None, f"the runner exited:\n{served.runner.tail()}"
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
        return state if state is not None and state.is_final() else None

    try:
        return wait_for(probe, timeout=240, what=f"flow run {flow_run_id} to end", interval=0.5)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; the runner's log ends:\n{served.runner.tail(80)}") from None


def promoted(registry: runrecord.Registry, run_id: str, served: Served) -> runrecord.RunRecord:
    """The run's record, once its finalizer (in whichever process) promoted it."""
    path = registry.record_dir / f"{run_id}.run_record.json"
    wait_for(path.exists, timeout=120, what=f"the record {path.name}\n{served.runner.tail()}")
    record = runrecord.read_record(path)
    report = runrecord.validate_record(record, registry=registry)
    assert report.valid, report.problems
    return record


def read_pid(signal_dir: Path) -> int:
    pid_file = signal_dir / "pid"

    def probe() -> str | None:
        return pid_file.read_text() if pid_file.exists() else None

    return int(wait_for(probe, timeout=240, what="the task's pid"))


def running_in_api(flow_run_id: UUID, task: str) -> None:
    """Wait until the API shows the flow run's task run of ``task`` running.

    Prefect's API learns of a task run from events its process sends a moment later: a
    process killed at once takes them along, and then no one, Prefect included, knows
    that the task ran. The tests kill a task that is well under way.
    """

    def probe() -> bool:
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
        return any(r.task_key.startswith(f"{task}-") and r.state_name == "Running" for r in runs)

    wait_for(probe, timeout=60, what=f"the API to show {task} running", interval=0.1)


def test_deployment_run_leaves_a_success_record(
    served: Served, example: ModuleType, tmp_path: Path
) -> None:
    example.write_orders(tmp_path / "data", "2026-11-24")
    flow_run_id = trigger(
        "shop-daily/runrecord-example", data_dir=str(tmp_path / "data"), day="2026-11-24"
    )
    assert final_state(flow_run_id, served).is_completed(), served.runner.tail()
    record = promoted(served.registry, runrecord.run_id_for("shop.daily", str(flow_run_id)), served)
    assert record.status == "success"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "success"),
        ("load", "success"),
    ]
    assert record.orchestrator is not None
    assert record.orchestrator.run_id == str(flow_run_id)
    prefect_ext = record.extensions["prefect"]
    assert isinstance(prefect_ext, dict)
    assert prefect_ext["deployment"] == "shop-daily/runrecord-example"
    [out] = record.outputs
    assert out.promotion_status == "promoted"
    assert out.path is not None
    assert out.data_hash == runrecord.hash_path(out.path)


def test_flow_process_killed_mid_task_is_finalized_by_the_runner(
    served: Served, tmp_path: Path
) -> None:
    flow_run_id = trigger("slow-flow/runrecord-slow", signal_dir=str(tmp_path))
    pid = read_pid(tmp_path)
    assert pid != served.runner.popen.pid  # the flow run's own process, a child of the runner
    running_in_api(flow_run_id, "wait_to_be_killed")
    os.kill(pid, signal.SIGKILL)

    assert final_state(flow_run_id, served).is_crashed()
    run_id = runrecord.run_id_for("tests.slow", str(flow_run_id))
    record = promoted(served.registry, run_id, served)  # no `runrecord recover` anywhere
    assert record.status == "error"
    assert record.completed_at is not None
    extract, transform, load = record.stages
    assert (extract.stage, extract.status, extract.counters.files_processed) == (
        "extract",
        "success",
        3,
    )
    assert (transform.stage, transform.status) == ("transform", "error")
    assert (load.stage, load.status) == ("load", "skipped")
    # The killed task's stage says how the flow run ended; the core adds no second crash.
    [crash] = [e for e in record.errors if e.type == "crashed"]
    assert crash.stage == "transform"
    assert "cut short when the flow run ended Crashed" in crash.message
    assert transform.errors == [crash.error_id]
    [why] = load.skip_reasons
    assert why.note is not None
    assert why.note.startswith("not reached; the flow run ended Crashed")
    # The finalizer ran in the runner, not in the killed process; it logs once it is done.
    done = f"runrecord: error record {served.registry.record_dir / run_id}"
    wait_for(
        lambda: done in served.runner.log.read_text(errors="replace"),
        timeout=120,
        what="the runner to log the record",
    )
    assert not (served.registry.record_dir / ".staging" / run_id).exists()


def test_cancelled_deployment_run_is_finalized_as_cancelled(served: Served, tmp_path: Path) -> None:
    flow_run_id = trigger("slow-flow/runrecord-slow", signal_dir=str(tmp_path))
    read_pid(tmp_path)
    running_in_api(flow_run_id, "wait_to_be_killed")
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Cancelling(), force=True)

    assert final_state(flow_run_id, served).is_cancelled()
    record = promoted(served.registry, runrecord.run_id_for("tests.slow", str(flow_run_id)), served)
    assert record.status == "error"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "error"),
        ("load", "skipped"),
    ]
    # The task cut short by the cancellation says so; the core adds no second error.
    [cancelled] = record.errors
    assert (cancelled.type, cancelled.stage) == ("cancelled", "transform")
    assert "cut short when the flow run ended Cancel" in cancelled.message
    assert record.stages[1].errors == [cancelled.error_id]


def test_when_nothing_survives_recover_writes_the_crashed_record(
    registry: runrecord.Registry, tmp_path: Path, prefect_api: str
) -> None:
    env = prefect_env(
        tmp_path / "home",
        PREFECT_API_URL=prefect_api,
        **{runrecord.REGISTRY_ENV_VAR: str(registry.source)},
    )
    lone = start_process([str(SLOW_FLOW), str(tmp_path)], env, tmp_path / "flow.log", cwd=tmp_path)
    try:
        pid = read_pid(tmp_path)
        assert pid == lone.popen.pid  # no runner: the flow ran in the process we started
        os.kill(pid, signal.SIGKILL)
        lone.popen.wait(60)
    finally:
        stop_process(lone)
    assert records(registry.record_dir) == []  # no hook anywhere could write it

    [outcome] = runrecord.recover(registry=registry)
    assert outcome.outcome == "recovered", outcome
    [record] = records(registry.record_dir)
    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "error"
    assert record.completed_at is None
    assert [e.type for e in record.errors] == ["crashed"]
    assert [(s.stage, s.status) for s in record.stages] == [("extract", "success")]
    assert record.orchestrator is not None
    assert record.orchestrator.job == "slow-flow"
