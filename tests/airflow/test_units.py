"""The adapter's public pieces outside a DAG run: wiring, switches, typed errors."""

from __future__ import annotations

import pytest

import runrecord
import runrecord_airflow
from runrecord_airflow._facts import TALLY_KEY, local_tally, tally_of, try_started
from runrecord_airflow.listener import listener_enabled


def _mine(callback: object) -> bool:
    return bool(getattr(callback, "runrecord", False))


def test_callbacks_keep_the_dags_own_callbacks() -> None:
    def alert(context: object) -> None:
        pass

    wiring = runrecord_airflow.callbacks(default_args={"retries": 2, "on_failure_callback": alert})
    args = wiring["default_args"]
    assert args["retries"] == 2
    assert args["on_failure_callback"][0] is alert
    assert _mine(args["on_failure_callback"][1])
    assert _mine(args["on_success_callback"])
    assert callable(wiring["on_success_callback"])
    assert callable(wiring["on_failure_callback"])


@pytest.mark.parametrize(
    ("value", "enabled"),
    [("off", False), ("0", False), ("FALSE", False), ("no", False), ("on", True), ("1", True)],
)
def test_switch_values(value: str, enabled: bool) -> None:
    assert listener_enabled({runrecord_airflow.SWITCH: value}) is enabled
    assert listener_enabled({}) is True


def test_helpers_outside_a_task_raise_a_typed_error() -> None:
    with pytest.raises(runrecord_airflow.NotInTaskError) as caught:
        runrecord_airflow.count(records_seen=1)
    assert isinstance(caught.value, runrecord.ConfigError)
    assert "inside a task" in caught.value.remediation_hint


@pytest.mark.parametrize(
    ("counters", "reason"),
    [({"records_seen": -1}, None), ({"records_seen": 1.5}, None), ({"records_skipped": 2}, None)],
)
def test_bad_counts_fail_at_the_call(counters: dict[str, object], reason: str | None) -> None:
    with pytest.raises(runrecord.CountersError):
        runrecord_airflow.count(skip_reason=reason, **counters)  # type: ignore[arg-type]


def test_stage_mapping_error_names_the_fix() -> None:
    error = runrecord_airflow.StageMappingError("clean", ["extract"])
    assert error.error_type == "config_error"
    assert "runrecord_stage" in error.remediation_hint


def test_run_ids_are_filename_safe_and_deterministic() -> None:
    airflow_run_id = "scheduled__2026-11-26T06:00:00+00:00"
    first = runrecord.run_id_for("sales_daily", airflow_run_id)
    assert first == runrecord.run_id_for("sales_daily", airflow_run_id)
    assert runrecord.check_name(first) == first
    assert ":" not in first
    assert "+" not in first
    assert first != runrecord.run_id_for("sales_daily", "scheduled__2026-11-26T06-00-00-00-00")


class _TryOfAnotherProcess:
    """A task instance as a failure callback sees it after the task's process was lost."""

    dag_id, run_id, task_id, map_index, try_number = "sales", "manual__1", "load", -1, 1
    pulls = 0

    def xcom_pull(self, task_ids: str, key: str, **kwargs: object) -> object:
        self.pulls += 1
        return {"counters": {"records_seen": 3}, "skip_reasons": []} if key == TALLY_KEY else None


def test_counts_are_read_from_memory_when_the_try_ran_here_else_from_xcom() -> None:
    ti = _TryOfAnotherProcess()
    assert tally_of(ti) == {"counters": {"records_seen": 3}, "skip_reasons": []}
    assert ti.pulls == 1

    try_started(ti)  # the try's body runs in this process: its counts are in memory
    assert tally_of(ti) is None  # nothing counted, and XCom is not asked
    local = local_tally(ti)
    assert local is not None
    local.update({"counters": {"records_seen": 1}, "skip_reasons": []})
    assert tally_of(ti) == {"counters": {"records_seen": 1}, "skip_reasons": []}
    assert ti.pulls == 1
