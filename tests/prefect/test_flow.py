"""Recorded flows run in this process against a real Prefect server."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, cast
from uuid import UUID

import pytest
from prefect import flow, get_client, task
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import State
from prefect.states import Failed
from prefect_support import records

import runrecord
from runrecord_prefect import (
    current_stage,
    gate,
    record_flow,
    record_task,
    recorded_flow,
    recorded_task,
)


def only_record(registry: runrecord.Registry) -> runrecord.RunRecord:
    found = records(registry.record_dir)
    assert len(found) == 1, [r.run_id for r in found]
    report = runrecord.validate_record(found[0], registry=registry)
    assert report.valid, report.problems
    return found[0]


def artifacts_of(flow_run_id: UUID) -> list[Any]:
    """The markdown artifacts of a flow run (Prefect adds result artifacts of its own)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return [a for a in found if a.type == "markdown"]


def test_three_task_flow_leaves_one_valid_success_record(
    registry: runrecord.Registry, example: ModuleType, tmp_path: Path
) -> None:
    example.write_orders(tmp_path / "data", "2026-11-24")
    state = example.shop_daily(str(tmp_path / "data"), "2026-11-24", return_state=True)
    assert state.is_completed()
    record = only_record(registry)

    assert record.status == "success"
    assert [s.stage for s in record.stages] == ["extract", "transform", "load"]
    starts = [s.started_at for s in record.stages if s.started_at is not None]
    assert len(starts) == 3
    assert starts == sorted(starts)
    extract, transform, load = record.stages
    # Counters reported from inside the tasks, the duplicate skipped with its reason code.
    assert (extract.counters.records_seen, extract.counters.files_processed) == (5, 1)
    assert (transform.counters.records_processed, transform.counters.records_skipped) == (4, 1)
    assert [r.code for r in transform.skip_reasons] == ["duplicate"]
    assert load.counters.records_processed == 3
    assert record.counters.records_seen == 5 + 5 + 3
    # Each stage names its task run and attempt.
    assert all(s.node is not None and s.node.attempt == 1 for s in record.stages)
    assert extract.node is not None
    assert extract.node.id.startswith("extract-")

    [inp] = record.inputs
    assert inp.resolution == "present"
    assert inp.data_hash is not None
    [out] = record.outputs
    assert out.promotion_status == "promoted"
    assert out.path is not None
    assert out.data_hash == runrecord.hash_path(out.path)
    assert out.manifest_path is not None
    assert json.loads(Path(out.manifest_path).read_text())["data_hash"] == out.data_hash

    flow_run_id = state.state_details.flow_run_id
    assert record.orchestrator is not None
    assert record.orchestrator.name == "prefect"
    assert record.orchestrator.run_id == str(flow_run_id)
    assert (record.orchestrator.job, record.orchestrator.attempt) == ("shop-daily", 1)
    assert record.run_id == runrecord.run_id_for("shop.daily", str(flow_run_id))

    [artifact] = artifacts_of(flow_run_id)
    assert artifact.key == "runrecord-shop-daily"
    assert artifact.type == "markdown"
    assert str(registry.record_dir / f"{record.run_id}.run_record.json") in artifact.data
    assert "| transform |" in artifact.data
    assert "success" in artifact.data


def test_failing_task_leaves_error_record_with_its_exception_and_skipped_downstream(
    registry: runrecord.Registry, example: ModuleType, tmp_path: Path
) -> None:
    example.write_orders(tmp_path / "data", "2026-11-25", bad=True)
    state = example.shop_daily(str(tmp_path / "data"), "2026-11-25", return_state=True)
    assert state.is_failed()
    record = only_record(registry)

    assert record.status == "error"
    extract, transform, load = record.stages
    assert (extract.stage, extract.status, extract.counters.records_seen) == (
        "extract",
        "success",
        5,
    )
    assert (transform.stage, transform.status) == ("transform", "error")
    [error] = record.errors  # the flow re-raised the task's exception: recorded once
    assert error.type == "runtime_error"
    assert error.stage == "transform"
    assert error.exception is not None
    assert error.exception.class_ == "builtins.ValueError"
    assert transform.errors == [error.error_id]
    assert (load.stage, load.status, load.started_at) == ("load", "skipped", None)
    assert [(r.code, r.what) for r in load.skip_reasons] == [("upstream_failed", "stage")]
    assert record.outputs == []
    [artifact] = artifacts_of(state.state_details.flow_run_id)
    assert "runtime_error" in artifact.data
    assert "error" in artifact.data


def test_task_that_never_ran_after_a_failed_upstream_is_skipped(
    registry: runrecord.Registry,
) -> None:
    @task
    def extract() -> int:
        raise RuntimeError("source unreachable")

    @task
    def load(n: int) -> int:
        return n

    @recorded_flow(name="plain-tasks")  # plain @task: recorded from the Prefect API
    def plain_tasks() -> None:
        load.submit(cast(int, extract.submit())).wait()  # a future as argument

    # Prefect calls the run Completed (the flow only waited); the record says error.
    assert plain_tasks(return_state=True).is_completed()
    record = only_record(registry)
    assert record.status == "error"
    by_stage = {s.stage: s for s in record.stages}
    assert by_stage["extract"].status == "error"
    [failure] = [e for e in record.errors if e.stage == "extract"]
    assert failure.type == "runtime_error"
    assert "source unreachable" in failure.message
    assert by_stage["load"].status == "skipped"
    [why] = by_stage["load"].skip_reasons
    assert why.code == "upstream_failed"
    # Prefect's NotReady message, naming the upstream task run, is the reason's note.
    assert by_stage["extract"].node is not None
    extract_run_id = by_stage["extract"].node.id.split("(")[-1].rstrip(")")
    assert why.note is not None
    assert extract_run_id in why.note
    assert by_stage["load"].node is not None
    assert by_stage["load"].node.attempt == 0


def test_retried_task_is_success_with_attempts_and_last_attempts_counters(
    registry: runrecord.Registry,
) -> None:
    attempts: list[int] = []

    @recorded_task(retries=2, stage="extract")
    def flaky() -> None:
        attempts.append(1)
        current_stage().count(records_seen=5, records_processed=5)
        if len(attempts) == 1:
            raise ConnectionError("first attempt fails")

    @recorded_flow(name="retries")
    def retries() -> None:
        flaky()

    assert retries(return_state=True).is_completed()
    record = only_record(registry)
    assert record.status == "success"
    assert record.errors == []
    [stage] = record.stages
    assert stage.node is not None
    assert stage.node.attempt == 2
    assert stage.counters.records_seen == 5  # not 10: the failed attempt's counts are gone


def test_task_returning_a_failed_state_is_an_error_stage_with_prefects_message(
    registry: runrecord.Registry,
) -> None:
    @recorded_task(stage="extract")
    def give_up() -> State[None]:
        current_stage().count(records_seen=4, records_processed=0)
        return Failed(message="quota exceeded")

    @recorded_flow(name="gives-up")
    def gives_up() -> None:
        give_up()

    # Prefect calls the run Completed (nothing was raised); the record says error.
    assert gives_up(return_state=True).is_completed()
    record = only_record(registry)
    assert record.status == "error"
    [error] = record.errors
    assert (error.type, error.stage, error.exception) == ("runtime_error", "extract", None)
    assert error.message.endswith("ended Failed: quota exceeded")
    [stage] = record.stages
    assert (stage.status, stage.errors) == ("error", [error.error_id])
    assert stage.counters.records_seen == 4


def test_tasks_submitted_concurrently_all_appear_as_stages(registry: runrecord.Registry) -> None:
    threads: set[int] = set()

    @recorded_task(stage="transform")
    def square(n: int) -> int:
        threads.add(threading.get_ident())
        current_stage().count(records_seen=1, records_processed=1)
        return n * n

    @recorded_task(stage="load")
    def total(values: list[Any]) -> int:  # futures, resolved by Prefect
        current_stage().count(records_seen=len(values), records_processed=len(values))
        return sum(values)

    @recorded_flow(name="fan-out")
    def fan_out() -> int:
        squares = square.map(range(6))
        extra = square.submit(10)
        return total.submit([*squares, extra]).result()

    assert fan_out() == 55 + 100
    assert threading.get_ident() not in threads  # the task runner's threads ran them
    record = only_record(registry)
    assert record.status == "success"
    stages = [s.stage for s in record.stages]
    assert stages.count("transform") == 7
    assert stages[-1] == "load"
    nodes = [s.node.id for s in record.stages if s.node is not None]
    assert len(set(nodes)) == 8
    assert record.counters.records_processed == 7 + 7


# Prefect's own async client leaves a socket to the server open when asyncio.run() closes
# its loop (a plain @flow does it too); that is not what this test is about.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_async_flow_and_tasks_are_recorded(registry: runrecord.Registry) -> None:
    @recorded_task(stage="extract")
    async def fetch(n: int) -> int:
        current_stage().count(records_seen=n, records_processed=n)
        return n

    @recorded_task(stage="load")
    async def store(n: int) -> None:
        raise ValueError(f"cannot store {n} rows")

    @recorded_flow(name="async-flow")
    async def async_flow() -> None:
        await store(await fetch(3))

    async def main() -> Any:
        return await async_flow(return_state=True)

    assert asyncio.run(main()).is_failed()
    record = only_record(registry)
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("load", "error"),
    ]
    assert record.counters.records_processed == 3
    [error] = record.errors
    assert error.exception is not None
    assert (error.stage, error.exception.class_) == ("load", "builtins.ValueError")


class Halt(BaseException):
    """Not an Exception: Prefect takes the flow run for crashed."""


def test_flow_raising_a_base_exception_is_recorded_as_crashed(
    registry: runrecord.Registry,
) -> None:
    @recorded_task(stage="extract")
    def extract() -> None:
        current_stage().count(files_seen=2, files_processed=2)

    @recorded_flow(name="halting")
    def halting() -> None:
        extract()
        raise Halt("operator pulled the plug")

    with pytest.raises(Halt):
        halting()
    record = only_record(registry)
    assert record.status == "error"
    by_type = {str(e.type): e for e in record.errors}
    assert sorted(by_type) == ["crashed", "runtime_error"]
    crash, raised = by_type["crashed"], by_type["runtime_error"]
    # How Prefect saw the run end, worded by the core, with Prefect's own message ...
    assert (crash.stage, crash.severity) == ("run", "fatal")
    assert "operator pulled the plug" in crash.message
    # ... and the exception that ended it, with its class and trace.
    assert raised.exception is not None
    assert raised.exception.class_.endswith("Halt")
    assert [e.note for e in raised.evidence] == ["traceback"]
    assert [(s.stage, s.status) for s in record.stages] == [("extract", "success")]


def test_gate_fails_downstream_fast_on_upstream_error_and_lets_it_run_after_success(
    registry: runrecord.Registry, example: ModuleType, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    example.write_orders(data, "2026-11-24")
    example.write_orders(data, "2026-11-25", bad=True)
    assert example.shop_daily(str(data), "2026-11-24", return_state=True).is_completed()
    assert example.shop_weekly(str(data), "2026-11-24", return_state=True).is_completed()
    assert (data / "weekly-2026-11-24.csv").exists()

    assert example.shop_daily(str(data), "2026-11-25", return_state=True).is_failed()
    blocked = example.shop_weekly(str(data), "2026-11-25", return_state=True)
    assert blocked.is_failed()
    assert not (data / "weekly-2026-11-25.csv").exists()  # the report task never ran

    daily_ok, weekly_ok, daily_bad, weekly_blocked = records(registry.record_dir)
    assert [r.status for r in (daily_ok, weekly_ok, daily_bad)] == ["success", "success", "error"]
    assert weekly_blocked.status == "error"
    [refusal] = weekly_blocked.errors
    assert (refusal.type, refusal.stage, refusal.severity) == ("upstream_error", "run", "fatal")
    assert refusal.details is not None
    assert refusal.details["upstream_run_id"] == daily_bad.run_id
    assert [e.path for e in refusal.evidence] == [
        str(registry.record_dir / f"{daily_bad.run_id}.run_record.json")
    ]
    assert [(s.stage, s.status) for s in weekly_blocked.stages] == [("report", "skipped")]
    verdict = runrecord.check_upstream("shop.weekly", registry=registry)
    assert not verdict.passed  # and so the line stays stopped further down


def test_gate_inside_a_task_is_that_tasks_stage_error(registry: runrecord.Registry) -> None:
    @recorded_task(stage="extract")
    def guarded() -> None:
        gate("nothing.upstream")

    @recorded_flow(name="gated-task")
    def gated_task() -> None:
        guarded()

    assert gated_task(return_state=True).is_failed()
    record = only_record(registry)
    [refusal] = record.errors
    assert (refusal.type, refusal.stage) == ("upstream_error", "extract")
    assert record.stages[0].errors == [refusal.error_id]


def test_wrapping_an_existing_flow_keeps_the_users_hooks(registry: runrecord.Registry) -> None:
    fired: list[str] = []

    def mine(name: str) -> Any:
        def hook(*_: object) -> None:
            fired.append(name)

        return hook

    @task(on_completion=[mine("task completion")], tags=["nightly"])
    def users_task() -> None:
        current_stage().count(records_seen=2, records_processed=2)

    recorded_task_ = record_task(users_task, stage="load")
    assert recorded_task_.tags == {"nightly"}  # the stage is no tag: tags cost API calls

    @flow(
        name="users-flow",
        on_running=[mine("running")],
        on_completion=[mine("completion")],
        on_failure=[mine("failure")],
    )
    def users_flow(fail: bool) -> None:
        recorded_task_()
        if fail:
            raise ValueError("asked to fail")

    recorded = record_flow(users_flow, entrypoint="users.flow")
    assert len(users_flow.on_completion_hooks) == 1  # the original flow is untouched
    assert recorded(False) is None
    assert recorded(True, return_state=True).is_failed()
    assert fired == [
        "running",
        "task completion",
        "completion",
        "running",
        "task completion",
        "failure",
    ]
    ok, failed = records(registry.record_dir)
    assert (ok.status, failed.status) == ("success", "error")
    assert ok.entrypoint.entrypoint_id == "users.flow"
    assert [(s.stage, s.counters.records_seen) for s in ok.stages] == [("load", 2)]

    @recorded_flow(name="decorated", on_completion=[mine("decorated")])
    def decorated() -> None:
        return None

    decorated()
    assert fired[-1] == "decorated"
    assert len(records(registry.record_dir)) == 3


def test_input_refusal_is_recorded_once_and_listed_by_its_stage(
    registry: runrecord.Registry, tmp_path: Path
) -> None:
    @recorded_task(stage="extract")
    def read_orders() -> None:
        current_stage().input("orders", tmp_path / "missing.csv", artifact_family="orders")

    @recorded_flow(name="missing-input")
    def missing_input() -> None:
        read_orders()

    assert missing_input(return_state=True).is_failed()
    record = only_record(registry)
    [refusal] = record.errors
    assert (refusal.type, refusal.stage) == ("input_missing", "extract")
    [stage] = record.stages
    assert stage.errors == [refusal.error_id]
    assert stage.status == "error"
    [inp] = record.inputs
    assert inp.resolution == "missing"


def test_failed_output_block_records_the_output_as_not_written(
    registry: runrecord.Registry, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "totals.csv"

    @recorded_task(stage="load")
    def write() -> None:
        with current_stage().output(
            "totals", target, artifact_family="totals", schema_version="1"
        ) as out:
            out.path.write_text("half a file")
            raise OSError("disk went away")

    @recorded_flow(name="bad-output")
    def bad_output() -> None:
        write()

    assert bad_output(return_state=True).is_failed()
    record = only_record(registry)
    [output] = record.outputs
    assert output.promotion_status == "not_written"
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    assert {e.type for e in record.errors} == {"runtime_error", "output_missing"}


def test_task_mapped_to_an_unknown_stage_is_kept_under_run_with_a_config_error(
    registry: runrecord.Registry,
) -> None:
    @recorded_task
    def publish() -> None:  # "publish" is not in the registry's stages
        current_stage().count(records_seen=3, records_processed=3)

    @recorded_flow(name="unknown-stage")
    def unknown_stage() -> None:
        publish()

    assert unknown_stage(return_state=True).is_completed()  # Prefect's run is not touched
    record = only_record(registry)
    assert record.status == "error"
    [problem] = record.errors
    assert problem.type == "config_error"
    assert "'publish'" in problem.message
    assert "runrecord.stage:" in problem.remediation_hint
    [stage] = record.stages
    assert stage.stage == "run"
    assert stage.counters.records_seen == 3


@pytest.mark.parametrize(
    ("miscount", "message"),
    [
        ({"records_seen": -1}, "must be a non-negative integer"),
        ({"records_skipped": 1}, "without a reason code"),
        ({"errors_count": 1}, "is derived from the errors"),
        ({"Rows Upserted": 1}, "is not snake_case"),
    ],
)
def test_a_miscount_fails_the_task_that_made_it(
    registry: runrecord.Registry, miscount: dict[str, Any], message: str
) -> None:
    went_on: list[bool] = []

    @recorded_task(stage="transform")
    def dedupe() -> None:
        stage = current_stage()
        stage.count(records_seen=2, records_processed=2)
        stage.count(**miscount)
        went_on.append(True)

    @recorded_flow(name="miscount", stages=("transform", "load"))
    def miscounting() -> None:
        dedupe()

    state = miscounting(return_state=True)
    assert state.is_failed()
    with pytest.raises(runrecord.CountersError, match=message):
        state.result()
    assert went_on == []  # the task stopped where it miscounted
    record = only_record(registry)
    assert record.status == "error"
    [error] = record.errors  # the flow re-raised it: recorded once, by the task's stage
    assert (error.type, error.stage) == ("record_invalid", "transform")
    assert error.exception is not None
    assert error.exception.class_ == "runrecord.errors.CountersError"
    transform, load = record.stages
    assert (transform.status, transform.errors) == ("error", [error.error_id])
    assert transform.counters.records_seen == 2  # what was counted before is kept
    assert (load.status, load.skip_reasons[0].code) == ("skipped", "upstream_failed")


def test_counters_set_by_hand_that_the_core_refuses_keep_the_stage(
    registry: runrecord.Registry,
) -> None:
    @recorded_task(stage="transform")
    def dedupe() -> None:
        stage = current_stage()
        stage.count(records_seen=3, records_processed=2)
        stage.counters["records_skipped"] = 1  # by hand: no skip reason accounts for it

    @recorded_flow(name="by-hand")
    def by_hand() -> None:
        dedupe()

    assert by_hand(return_state=True).is_completed()  # checked when the stage is written
    record = only_record(registry)
    assert record.status == "error"
    [problem] = record.errors
    assert (problem.type, problem.stage) == ("record_invalid", "transform")
    assert "skip reasons account for 0" in problem.message
    [stage] = record.stages
    assert (stage.status, stage.errors) == ("error", [problem.error_id])
    assert stage.node is not None
    assert stage.node.id.startswith("dedupe-")
    assert stage.counters.records_seen == 0  # the refused counters are not recorded


def test_current_stage_needs_a_recorded_task_of_a_recorded_flow(
    registry: runrecord.Registry,
) -> None:
    with pytest.raises(runrecord.ConfigError, match="outside a Prefect task run"):
        current_stage()

    @task
    def plain() -> None:
        current_stage()

    @flow
    def unrecorded() -> None:
        record_task(plain)()

    with pytest.raises(runrecord.ConfigError, match="outside a recorded flow"):
        unrecorded()

    @recorded_flow(name="hookless")
    def hookless() -> None:
        plain()

    with pytest.raises(runrecord.ConfigError, match="no recording hooks") as raised:
        hookless()
    assert "@recorded_task" in raised.value.remediation_hint
    record = only_record(registry)  # the plain task is recorded from the Prefect API
    assert record.status == "error"
    assert [(s.stage, s.status) for s in record.stages] == [("run", "error")]
    messages = [e.message for e in record.errors if e.type == "config_error"]
    assert any("no recording hooks" in m for m in messages)  # the flow's exception
    assert any("maps to stage 'plain'" in m for m in messages)  # "plain" is no stage


def test_decorating_refuses_what_cannot_be_recorded() -> None:
    @flow(name="Daily sales report")
    def spaced() -> None:
        return None

    with pytest.raises(runrecord.UnsafeNameError, match="entrypoint="):
        record_flow(spaced)
    recorded = record_flow(spaced, entrypoint="sales.report")
    with pytest.raises(runrecord.ConfigError, match="already recorded"):
        record_flow(recorded, entrypoint="sales.report")
    with pytest.raises(runrecord.ConfigError, match="registry file not found"):
        record_flow(spaced, entrypoint="sales.report", registry="/nonexistent/runrecord.toml")
    with pytest.raises(runrecord.UnsafeNameError):
        recorded_task(stage="../load")


def test_without_a_registry_the_flow_runs_and_the_problem_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(runrecord.REGISTRY_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)

    @recorded_flow(name="unregistered")
    def unregistered() -> int:
        return 7

    with caplog.at_level("ERROR"):
        assert unregistered() == 7
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("runrecord:")]
    assert messages, caplog.text
    assert all("no project registry found" in m and "RUNRECORD_REGISTRY" in m for m in messages)


def test_plain_tasks_beside_recorded_ones_are_recorded_from_the_api(
    registry: runrecord.Registry,
) -> None:
    @recorded_task(stage="extract")
    def read() -> list[int]:
        current_stage().count(records_seen=3, records_processed=3)
        return [3, 1, 2]

    @task
    def transform(rows: list[int]) -> list[int]:  # plain: no hook, only the API knows it
        return sorted(rows)

    @task
    def load(rows: list[int]) -> int:  # plain, in the task runner's thread
        return len(rows)

    @recorded_flow(name="mixed-tasks")
    def mixed_tasks() -> int:
        return load.submit(transform(read())).result()

    assert mixed_tasks() == 3
    record = only_record(registry)
    assert record.status == "success"
    # The finalizer waited for the API to know the plain task runs: every one is a stage.
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "success"),
        ("load", "success"),
    ]
    extract, transform_, load_ = record.stages
    assert extract.counters.records_seen == 3
    assert transform_.counters.records_seen == 0  # a plain task reports nothing
    assert load_.node is not None
    assert load_.node.id.startswith("load-")


def test_a_recorded_task_that_never_ran_gets_its_stage_without_a_tag(
    registry: runrecord.Registry,
) -> None:
    @recorded_task(stage="extract")
    def fetch() -> int:
        raise RuntimeError("source unreachable")

    @recorded_task(stage="load")  # its function's name is no stage: only stage= says "load"
    def store(n: int) -> int:
        return n

    @recorded_flow(name="never-ran")
    def never_ran() -> None:
        store.submit(cast(int, fetch.submit())).wait()

    assert store.tags == set()
    assert never_ran(return_state=True).is_completed()
    record = only_record(registry)
    # The finalizer read the task run that never ran from the API and found its stage by
    # the task's key, in this process.
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "error"),
        ("load", "skipped"),
    ]
    assert [r.code for r in record.stages[1].skip_reasons] == ["upstream_failed"]
    assert not [e for e in record.errors if e.type == "config_error"]


def test_one_function_recorded_as_two_stages_keeps_both(registry: runrecord.Registry) -> None:
    def copy_rows(rows: list[int]) -> list[int]:
        current_stage().count(records_seen=len(rows), records_processed=len(rows))
        return list(rows)

    as_extract = record_task(task(copy_rows), stage="extract")
    as_load = record_task(task(copy_rows), stage="load")
    # One task key, two stages: the second copy carries its stage as a tag.
    assert as_extract.task_key == as_load.task_key
    assert as_load.tags == {"runrecord.stage:load"}

    @recorded_flow(name="two-stages")
    def two_stages() -> None:
        as_load([*as_extract([1, 2]), 3])  # other inputs: Prefect 3.4 would take it as cached

    two_stages()
    record = only_record(registry)
    assert record.status == "success"
    assert [(s.stage, s.counters.records_seen) for s in record.stages] == [
        ("extract", 2),
        ("load", 3),
    ]
