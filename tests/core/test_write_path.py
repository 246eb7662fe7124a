"""The write path with real processes: crashes, concurrent writers, immutability, safety."""

from __future__ import annotations

import gc
import inspect
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

import pytest

import runrecord
from runrecord import Registry

STAGES = ["extract", "transform", "load"]


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """A registry written to a file, so that child processes can load it too."""
    path = tmp_path / "runrecord.toml"
    path.write_text(
        'project_id = "acme"\nproject_name = "Acme"\nrun_record_dir = "records"\n'
        f"stages = {json.dumps(STAGES)}\n"
    )
    return runrecord.load_registry(path)


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _records(registry: Registry) -> list[Path]:
    return runrecord.Store(registry.record_dir).record_paths()


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# --- in-process runs -------------------------------------------------------------------


def test_a_successful_run_leaves_one_valid_read_only_record(registry: Registry) -> None:
    with runrecord.run("acme.daily", registry=registry, command="acme --day 1") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=5, records_processed=4)
            stage.skip(1, "duplicate")
    records = _records(registry)
    assert records == [run.record_path]
    assert runrecord.validate_record(run.record_path, registry=registry).valid
    assert isinstance(run.record_path, Path)
    assert stat.S_IMODE(run.record_path.stat().st_mode) & 0o222 == 0
    assert run.record.status == "success"
    assert run.record.counters.records_skipped == 1
    store = runrecord.Store(registry.record_dir)
    assert store.staged_run_ids() == []
    pointer = store.read_latest("acme.daily")
    assert pointer is not None
    assert pointer.run_id == run.run_id


def test_an_exception_is_recorded_with_its_trace_as_evidence_and_reraised(
    registry: Registry,
) -> None:
    with pytest.raises(KeyError, match="currency"):
        with runrecord.run("acme.daily", registry=registry) as run:
            raise KeyError("currency")
    record = runrecord.read_record(run.record_path)
    assert record.status == "error"
    (error,) = record.errors
    assert error.type == "runtime_error"
    assert error.exception is not None
    assert error.exception.class_ == "builtins.KeyError"
    assert error.exception.trace is None  # the trace is an evidence file, not inline
    trace = Path(error.evidence[0].path or "")
    assert "KeyError: 'currency'" in trace.read_text()
    assert trace.is_relative_to(registry.record_dir)


def test_a_failing_stage_is_recorded_once(registry: Registry) -> None:
    with pytest.raises(ZeroDivisionError):
        with runrecord.run("acme.daily", registry=registry) as run:
            with run.stage("extract"):
                pass
            with run.stage("transform"):
                _ = 1 / 0
    record = run.record
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "error"),
    ]
    assert [e.type for e in record.errors] == ["runtime_error"]
    assert record.stages[1].errors == [record.errors[0].error_id]


def test_interrupt_is_recorded_as_cancelled(registry: Registry) -> None:
    with pytest.raises(KeyboardInterrupt):
        with runrecord.run("acme.daily", registry=registry) as run:
            raise KeyboardInterrupt
    assert [e.type for e in run.record.errors] == ["cancelled"]


def test_unknown_stage_and_bad_counters_are_refused_before_anything_is_written(
    registry: Registry,
) -> None:
    with runrecord.run("acme.daily", registry=registry) as run:
        with pytest.raises(runrecord.ConfigError, match="not in the registry's stages"):
            run.stage("publish")
        with run.stage("extract") as stage:
            with pytest.raises(runrecord.CountersError):
                stage.count(records_seen=-1)
            with pytest.raises(runrecord.CountersError):
                stage.count(records_skipped=3)  # no reason code
            with pytest.raises(runrecord.CountersError):
                stage.count(errors_count=1)  # derived
            with pytest.raises(runrecord.CountersError):
                stage.count(records_seen=True)
            stage.count(records_seen=3, records_skipped=3, skip_reason="filtered")
    assert run.record.status == "success"
    assert run.record.stages[0].skip_reasons[0].code == "filtered"


# --- processes -------------------------------------------------------------------------

_OPEN = """
import sys, runrecord
run_id = runrecord.open_run("acme.daily", registry=sys.argv[1], run_id=sys.argv[2],
                            detached=True, exist_ok=True)
runrecord.write_stage(run_id, sys.argv[3], registry=sys.argv[1],
                      counters={"records_seen": 2, "records_processed": 2})
print(run_id)
"""


def test_stages_written_by_two_processes_are_finalized_by_a_third(registry: Registry) -> None:
    run_id = runrecord.new_run_id("acme.daily")
    source = str(registry.source)
    children = [_python(_OPEN, source, run_id, stage) for stage in ("extract", "transform")]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert out.strip() == run_id
    finalizer = _python(
        "import sys, runrecord; print(runrecord.finalize_run(sys.argv[2], registry=sys.argv[1])"
        ".record.status)",
        source,
        run_id,
    )
    out, err = finalizer.communicate(timeout=120)
    assert finalizer.returncode == 0, err
    assert out.strip() == "success"
    record = runrecord.read_record(runrecord.Store(registry.record_dir).record_path(run_id))
    assert sorted(s.stage for s in record.stages) == ["extract", "transform"]
    assert record.counters.records_seen == 4
    assert record.orchestrator is None


_KILLED = """
import sys, time, runrecord
with runrecord.run("acme.daily", registry=sys.argv[1]) as run:
    with run.stage("extract") as stage:
        stage.count(records_seen=7, records_processed=7)
    print(run.run_id, flush=True)
    time.sleep(300)
"""


def test_a_sigkilled_run_is_recovered_into_exactly_one_crashed_record(
    registry: Registry,
) -> None:
    child = _python(_KILLED, str(registry.source))
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    assert run_id, child.stderr.read() if child.stderr else ""
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    child.stdout.close()
    if child.stderr:
        child.stderr.close()
    assert _records(registry) == []  # nothing finalized it

    outcomes = runrecord.recover(registry=registry)
    assert [(o.run_id, o.outcome) for o in outcomes] == [(run_id, "recovered")]
    (path,) = _records(registry)
    record = runrecord.read_record(path, registry=registry)
    assert record.status == "error"
    assert record.completed_at is None
    assert [e.type for e in record.errors] == ["crashed"]
    assert [s.stage for s in record.stages] == ["extract"]
    assert record.counters.records_seen == 7

    again = runrecord.recover(registry=registry)
    assert again == []
    assert _records(registry) == [path]


def test_recover_leaves_live_runs_alone(registry: Registry) -> None:
    with runrecord.run("acme.daily", registry=registry) as run:
        with run.stage("extract"):
            pass
        outcomes = runrecord.recover(registry=registry)
        assert [(o.run_id, o.outcome) for o in outcomes] == [(run.run_id, "live")]
        assert _records(registry) == []
    assert run.record.status == "success"


# --- immutability ----------------------------------------------------------------------


def test_a_second_promotion_is_refused_and_the_first_record_is_unchanged(
    registry: Registry,
) -> None:
    with runrecord.run("acme.daily", registry=registry) as run:
        pass
    original = run.record_path.read_bytes()
    store = runrecord.Store(registry.record_dir)
    with pytest.raises(runrecord.RecordExistsError):
        store.promote(run.run_id, b"{}")
    with pytest.raises(runrecord.RecordExistsError):
        runrecord.open_run("acme.daily", registry=registry, run_id=run.run_id)
    with pytest.raises(runrecord.RecordExistsError):
        runrecord.write_stage(run.run_id, "extract", registry=registry)
    with pytest.raises(runrecord.RecordExistsError):
        runrecord.finalize_run(run.run_id, registry=registry)
    assert runrecord.finalize_run(run.run_id, registry=registry, exist_ok=True).created is False
    assert run.record_path.read_bytes() == original


def test_latest_pointer_never_moves_back(registry: Registry) -> None:
    older = runrecord.open_run("acme.daily", registry=registry, command="x")
    with runrecord.run("acme.daily", registry=registry) as newer:
        pass
    runrecord.finalize_run(older, registry=registry)
    pointer = runrecord.Store(registry.record_dir).read_latest("acme.daily")
    assert pointer is not None
    assert pointer.run_id == newer.run_id
    verdict = runrecord.check_upstream("acme.daily", registry=registry)
    assert verdict.run_id == newer.run_id


# --- safety ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run_id", ["../x", "/abs", "", "r" * 300, "a\x00b", ".hidden", "a/b", "line\nbreak"]
)
def test_hostile_run_ids_are_refused_with_nothing_written(
    registry: Registry, tmp_path: Path, run_id: str
) -> None:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(runrecord.UnsafeNameError):
        runrecord.open_run("acme.daily", registry=registry, run_id=run_id)
    with pytest.raises(runrecord.UnsafeNameError):
        with runrecord.run("acme.daily", registry=registry, run_id=run_id):
            pass
    with pytest.raises(runrecord.UnsafeNameError):
        runrecord.open_run(run_id, registry=registry)
    assert sorted(tmp_path.rglob("*")) == before


def test_planted_secrets_are_absent_from_every_written_byte(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_WAREHOUSE_PASSWORD", "env-secret-8c1f")
    out = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with runrecord.run(
            "acme.daily",
            registry=registry,
            command="acme --token cmd-secret-77aa --day 1",
            config={"warehouse": {"password": "config-secret-42", "host": "db"}},
        ) as run:
            with run.stage("extract") as stage:
                stage.warn("records_skipped", "login with api_key=warn-secret-19 failed")
                stage.evidence("log", tmp_path / "x.log", note="token: note-secret-31")
            with run.output("out", out, artifact_family="report", schema_version="1") as w:
                w.path.write_text("data")
            raise RuntimeError(
                "connect failed: password=exc-secret-5d via postgresql://etl:url-secret-9@db "
                "using env-secret-8c1f"
            )
    secrets = [
        "env-secret-8c1f",
        "cmd-secret-77aa",
        "config-secret-42",
        "warn-secret-19",
        "note-secret-31",
        "exc-secret-5d",
        "url-secret-9",
    ]
    written = [*_all_files(registry.record_dir), *tmp_path.glob("out.txt*")]
    assert run.record_path in written
    for path in written:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (path, secret)
    assert runrecord.validate_record(run.record_path).valid


def _set_writable(path: Path, writable: bool) -> None:
    if os.geteuid() == 0:  # root ignores permission bits, not the immutable attribute
        subprocess.run(["chattr", "-i" if writable else "+i", str(path)], check=True)
    else:
        path.chmod(0o700 if writable else 0o500)


def test_an_unwritable_store_is_a_resource_error_that_keeps_fragments(
    registry: Registry,
) -> None:
    with pytest.raises(runrecord.ResourceError, match="cannot promote") as caught:
        with runrecord.run("acme.daily", registry=registry) as run:
            with run.stage("extract"):
                pass
            _set_writable(registry.record_dir, False)
    try:
        assert "recover" in caught.value.remediation_hint
        assert _records(registry) == []
        assert runrecord.Store(registry.record_dir).is_open(run.run_id)
    finally:
        _set_writable(registry.record_dir, True)
    result = runrecord.finalize_run(run.run_id, registry=registry)
    assert result.record.status == "success"
    assert [s.stage for s in result.record.stages] == ["extract"]


def test_the_demo_writes_its_four_records(tmp_path: Path) -> None:
    from runrecord.demo import run_demo

    records = run_demo(tmp_path / "demo")
    assert [r.status for r in records] == ["success", "error", "error", "error"]
    assert records[1].errors[0].type == "runtime_error"
    assert records[2].errors[0].type == "upstream_error"
    assert records[3].errors[0].type == "crashed"
    assert records[3].completed_at is None
    paths = runrecord.Store(tmp_path / "demo" / "artifacts" / "run_records").record_paths()
    assert len(paths) == 4
    assert all(runrecord.validate_record(p).valid for p in paths)
    with pytest.raises(runrecord.ConfigError, match="not empty"):
        run_demo(tmp_path / "demo")


def test_run_ids_derived_from_an_orchestrators_run_id_are_stable_and_safe() -> None:
    airflow = "scheduled__2026-11-26T06:00:00+00:00"
    run_id = runrecord.run_id_for("sales_daily", airflow)
    assert run_id == runrecord.run_id_for("sales_daily", airflow)
    assert runrecord.check_name(run_id) == run_id
    assert run_id.startswith("sales_daily-scheduled__2026-11-26T06-00-00")
    # ids that read the same once made safe stay distinct
    assert runrecord.run_id_for("d", "a:b") != runrecord.run_id_for("d", "a+b")
    for hostile in ["../../etc", "/abs", "x" * 10_000, "a\x00b", "", "\u2215slash"]:
        derived = runrecord.run_id_for("d" * 120, hostile)
        assert runrecord.check_name(derived) == derived
    with pytest.raises(runrecord.UnsafeNameError):
        runrecord.run_id_for("../dag", "x")


def test_staged_stages_lists_what_an_open_run_recorded(registry: Registry) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    runrecord.write_stage(
        run_id, "extract", registry=registry, node=runrecord.NodeRef(id="t1", attempt=1)
    )
    runrecord.write_stage(run_id, "load", registry=registry, exception=ValueError("boom"))
    staged = runrecord.staged_stages(run_id, registry=registry)
    assert [(s.stage, s.status, s.node.id if s.node else None) for s in staged] == [
        ("extract", "success", "t1"),
        ("load", "error", None),
    ]
    assert staged[1].counters.errors_count == 1
    runrecord.finalize_run(run_id, registry=registry)
    assert runrecord.staged_stages(run_id, registry=registry) == []


def test_finalizing_pauses_cyclic_garbage_collection_and_restores_it(registry: Registry) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    for i in range(300):  # enough objects to trigger collections, were the collector on
        runrecord.write_stage(
            run_id, "extract", registry=registry, node=runrecord.NodeRef(id=f"t{i}", attempt=1)
        )
    finalizing = {
        inspect.unwrap(f).__code__ for f in (runrecord.finalize_run, runrecord.staged_stages)
    }
    collections: list[str] = []  # those that started inside the finalizer's calls

    def seen(phase: str, info: dict[str, int]) -> None:
        frame = sys._getframe(1) if phase == "start" else None
        while frame is not None:
            if frame.f_code in finalizing:
                collections.append(frame.f_code.co_name)
            frame = frame.f_back

    gc.callbacks.append(seen)
    try:
        assert len(runrecord.staged_stages(run_id, registry=registry)) == 300
        runrecord.finalize_run(run_id, registry=registry)
    finally:
        gc.callbacks.remove(seen)
    assert collections == []
    assert gc.isenabled()
    with pytest.raises(runrecord.RunNotFoundError):  # restored when finalizing fails, too
        runrecord.finalize_run("acme.never-opened", registry=registry)
    assert gc.isenabled()
    gc.disable()  # and a caller's choice to keep it off is kept
    try:
        runrecord.finalize_run(run_id, registry=registry, exist_ok=True)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("path", ["", "a\x00b", "out\nput.csv", "x" * 5000, "tab\there"])
def test_hostile_data_paths_are_refused_before_the_file_system_is_touched(
    registry: Registry, tmp_path: Path, path: str
) -> None:
    with runrecord.run("acme.daily", registry=registry) as run:
        with pytest.raises(runrecord.UnsafeNameError):
            run.output("out", path, artifact_family="report", schema_version="1")
        with pytest.raises(runrecord.UnsafeNameError):
            run.input("in", path, artifact_family="orders")
        with pytest.raises(runrecord.UnsafeNameError):
            run.input("in", tmp_path / "missing.csv", artifact_family="orders", fallbacks=[path])
    assert run.record.status == "success"
    assert run.record.inputs == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records", "runrecord.toml"]


def test_output_paths_are_normalized(registry: Registry, tmp_path: Path) -> None:
    with runrecord.run("acme.daily", registry=registry) as run:
        with run.output(
            "out", tmp_path / "a" / ".." / "out.csv", artifact_family="report", schema_version="1"
        ) as out:
            out.path.write_text("x")
    assert run.record.outputs[0].path == str(tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "x"


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: runrecord.error_object("runtime_error", "m", stage="../x"), "UnsafeNameError"),
        (lambda: runrecord.error_object("nonsense", "m"), "ConfigError"),
        (lambda: runrecord.error_object("runtime_error", "m", severity="warning"), "ConfigError"),
        (lambda: runrecord.warning_object("records_skipped", "m", stage=""), "UnsafeNameError"),
        (lambda: runrecord.warning_object("bogus", "m"), "ConfigError"),
        (
            lambda: runrecord.error_object("runtime_error", "m", details={"x": {1, 2}}),  # type: ignore[dict-item]
            "ConfigError",
        ),
    ],
)
def test_error_and_warning_builders_refuse_bad_values_with_typed_errors(
    build: object, error: str
) -> None:
    with pytest.raises(getattr(runrecord, error)):
        build()  # type: ignore[operator]


def test_a_failure_that_cannot_be_written_never_leaves_a_clean_record(
    registry: Registry,
) -> None:
    staging = None
    try:
        with pytest.raises(runrecord.ResourceError):
            with runrecord.run("acme.daily", registry=registry) as run:
                with run.stage("extract"):
                    pass
                staging = runrecord.Store(registry.record_dir).staging_dir(run.run_id)
                _set_writable(staging, False)  # the stage below cannot be written
                with run.stage("load"):
                    pass
    finally:
        if staging is not None:
            _set_writable(staging, True)
    record = runrecord.read_record(runrecord.Store(registry.record_dir).record_path(run.run_id))
    assert record.status == "error"
    assert "not recorded in full" in record.errors[0].message
    assert [s.stage for s in record.stages] == ["extract"]


def test_orchestrator_helpers_for_unreported_nodes_and_repeated_callbacks(
    registry: Registry,
) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    node = runrecord.NodeRef(id="extract_orders", attempt=1)
    for _ in range(2):  # a callback firing twice for one try is recorded once
        runrecord.write_stage(run_id, "extract", registry=registry, node=node, key="extract:1")
        runrecord.write_unreported_stage(
            run_id,
            "transform",
            outcome="crashed",
            node=runrecord.NodeRef(id="t", attempt=1),
            registry=registry,
        )
        runrecord.write_unreported_stage(
            run_id,
            "load",
            outcome="upstream_failed",
            registry=registry,
            node=runrecord.NodeRef(id="l", attempt=0),
        )
    # Asking for error when the facts already say error adds no second reason.
    record = runrecord.finalize_run(
        run_id, registry=registry, status="error", reason="DAG run failed"
    ).record
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "error"),
        ("load", "skipped"),
    ]
    assert [e.type for e in record.errors] == ["crashed"]
    assert record.stages[2].skip_reasons[0].code == "upstream_failed"


def test_asking_for_error_on_clean_facts_records_the_reason(registry: Registry) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    runrecord.write_stage(run_id, "extract", registry=registry)
    record = runrecord.finalize_run(
        run_id, registry=registry, status="error", reason="the scheduler saw password=x1 fail"
    ).record
    assert record.status == "error"
    assert record.errors[0].message.endswith("password=[REDACTED] fail")


def test_output_writer_works_from_a_run_id(registry: Registry, tmp_path: Path) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    with runrecord.output_writer(
        run_id,
        "out",
        tmp_path / "o.csv",
        artifact_family="t",
        schema_version="1",
        registry=registry,
    ) as out:
        out.path.write_text("x")
        out.record_count = 1
    assert out.ref is not None
    assert out.ref.promotion_status == "promoted"
    record = runrecord.finalize_run(run_id, registry=registry).record
    assert record.outputs[0].manifest_path == str(tmp_path / "o.csv.manifest.json")


def test_a_node_that_failed_where_no_hook_ran_is_an_error_stage(registry: Registry) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    runrecord.write_unreported_stage(
        run_id,
        "load",
        outcome="failed",
        node=runrecord.NodeRef(id="load_orders", attempt=2),
        exception_class="builtins.KeyError",
        detail="'currency' (token=abc123)",
        registry=registry,
    )
    record = runrecord.finalize_run(run_id, registry=registry).record
    (error,) = record.errors
    assert (error.type, error.stage, error.message) == (
        "runtime_error",
        "load",
        "KeyError: 'currency' (token=[REDACTED]",  # the value runs to the next space
    )
    assert error.exception is not None
    assert error.exception.class_ == "builtins.KeyError"
    assert record.stages[0].node == runrecord.NodeRef(id="load_orders", attempt=2)


def test_upstream_error_is_the_same_for_every_consumer(registry: Registry) -> None:
    with pytest.raises(KeyError), runrecord.run("acme.daily", registry=registry):
        raise KeyError("x")
    verdict = runrecord.check_upstream("acme.daily", registry=registry)
    refusal, error = runrecord.upstream_error(verdict, stage="extract")
    assert isinstance(refusal, runrecord.UpstreamError)
    assert (error.type, error.stage, error.severity) == ("upstream_error", "extract", "fatal")
    assert error.details is not None
    assert error.details["upstream_status"] == "error"
    assert error.evidence[0].path == str(verdict.path)
    with (
        pytest.raises(runrecord.UpstreamError),
        runrecord.run("acme.weekly", registry=registry) as run,
    ):
        with run.stage("extract"):
            run.gate("acme.daily")
    (recorded,) = run.record.errors
    assert recorded.error_id == error.error_id  # stable across consumers and runs
    assert run.record.stages[0].errors == [recorded.error_id]


def test_a_callback_and_a_finalizer_for_one_try_record_it_once_and_leave_no_orphan(
    registry: Registry,
) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    node = runrecord.NodeRef(id="load_orders", attempt=1)
    # The finalizer saw the try end without a stage and wrote it ...
    runrecord.write_unreported_stage(
        run_id, "load", outcome="crashed", node=node, registry=registry
    )
    # ... then the late failure callback of the same try arrives: nothing more is written.
    runrecord.write_stage(
        run_id,
        "load",
        registry=registry,
        node=node,
        exception=KeyError("late"),
        key="load_orders:1",
    )
    runrecord.write_note(
        run_id,
        registry=registry,
        key="unmapped",
        errors=[runrecord.error_object("config_error", "x")],
    )
    runrecord.write_note(
        run_id,
        registry=registry,
        key="unmapped",
        errors=[runrecord.error_object("config_error", "x")],
    )
    store = runrecord.Store(registry.record_dir)
    assert not store.evidence_dir(run_id).exists()  # no trace stored for the duplicate
    record = runrecord.finalize_run(run_id, registry=registry).record
    assert sorted(e.type for e in record.errors) == ["config_error", "crashed"]
    assert len(record.stages) == 1


def test_a_stage_report_is_kept_anywhere_and_written_when_the_task_ends(
    registry: Registry,
) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    report = runrecord.StageReport("transform")
    report.count(records_seen=5, records_processed=4)
    report.skip(1, "filtered", note="test accounts")
    report.warn("records_skipped", "one test account")
    report.evidence("log", "/var/log/etl/transform.log")
    with pytest.raises(runrecord.CountersError):
        report.count(records_skipped=2)
    report.write(run_id, registry=registry, node=runrecord.NodeRef(id="t", attempt=1), key="t:1")
    report.write(run_id, registry=registry, node=runrecord.NodeRef(id="t", attempt=1), key="t:1")
    record = runrecord.finalize_run(run_id, registry=registry).record
    (stage,) = record.stages
    assert (stage.counters.records_seen, stage.counters.records_skipped) == (5, 1)
    assert stage.skip_reasons[0].note == "test accounts"
    assert record.warnings[0].stage == "transform"
    assert stage.evidence[0].path == "/var/log/etl/transform.log"


@pytest.mark.parametrize("ending", ["crashed", "cancelled"])
def test_an_orchestrator_reports_how_a_run_ended(
    registry: Registry, ending: Literal["crashed", "cancelled"]
) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    runrecord.write_stage(run_id, "extract", registry=registry)
    runrecord.write_unreported_stage(
        run_id,
        "load",
        outcome="upstream_failed",
        detail="after t ended",
        node=runrecord.NodeRef(id="l", attempt=0),
        registry=registry,
    )
    record = runrecord.finalize_run(
        run_id, registry=registry, ending=ending, reason="the runner saw it go"
    ).record
    assert record.status == "error"
    assert record.completed_at is not None  # finalized by whoever saw it end
    (error,) = record.errors
    assert (error.type, error.stage) == (ending, "run")
    assert "the runner saw it go" in error.message
    assert record.stages[1].skip_reasons[0].note == "after t ended"


@pytest.mark.parametrize("ending", ["crashed", "cancelled"])
def test_how_a_run_ended_is_not_said_twice(
    registry: Registry, ending: Literal["crashed", "cancelled"]
) -> None:
    run_id = runrecord.open_run("acme.daily", registry=registry, command="x", detached=True)
    runrecord.write_unreported_stage(
        run_id,
        "transform",
        outcome=ending,
        node=runrecord.NodeRef(id="t", attempt=1),
        registry=registry,
    )
    record = runrecord.finalize_run(run_id, registry=registry, ending=ending, reason="x").record
    assert [(e.type, e.stage) for e in record.errors] == [(ending, "transform")]


def test_mark_recorded_is_public_for_adapters() -> None:
    exc = ValueError("x")
    assert not runrecord.is_recorded(exc)
    error = runrecord.error_object("runtime_error", "x", stage="load")
    runrecord.mark_recorded(exc, error)
    assert runrecord.is_recorded(exc)
    assert runrecord.recorded_error(exc) == (error.error_id, "load")
