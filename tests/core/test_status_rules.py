"""Every status rule of the contract, as the library implements it, in one table.

Each case performs a real run against a fresh store in ``tmp_path`` (through the in-process
API or the low-level fragment API) and states the status, error types, warning types and
reason codes its record must carry. The status is derived from the facts, never trusted:
for every case the promoted record is the only record of its run, it validates (also
against the registry), its status is ``assess(record).derived`` and its counters agree
with its error and warning objects.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import runrecord
from runrecord import (
    ConfigError,
    ErrorType,
    InputMissingError,
    IntegrityError,
    ManifestError,
    PromotionError,
    PromotionStatus,
    Registry,
    Resolution,
    RunRecord,
    SchemaMismatchError,
    StageStatus,
    Status,
    UpstreamError,
)
from runrecord.manifest import write_manifest

STAGES = ("extract", "transform", "load", "publish")
OPTIONAL_OUTPUT = "summary_pdf"
OPTIONAL_STAGE = "publish"
NO_INPUT_ENTRYPOINT = "sales.backfill"
UPSTREAM_RUN_ID = "orders.extract-20261126T050000Z-1a2b3c"


@dataclass
class Ctx:
    """What a case builder gets: a fresh directory and a registry whose store is in it."""

    tmp: Path
    reg: Registry
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def record_dir(self) -> Path:
        return self.reg.record_dir

    def data(self, name: str, content: bytes = b"id,amount\n1,9.5\n2,3.0\n") -> Path:
        path = self.tmp / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def input_with_manifest(
        self, name: str, content: bytes = b"id,amount\n1,9.5\n2,3.0\n", schema_version: str = "2"
    ) -> Path:
        path = self.data(name, content)
        manifest = runrecord.build_manifest(
            path,
            artifact_family="orders",
            schema_version=schema_version,
            record_count=content.count(b"\n") - 1,
            producing_run_id=UPSTREAM_RUN_ID,
        )
        write_manifest(manifest, runrecord.manifest_path_for(path))
        return path

    def out(self, name: str) -> Path:
        return self.tmp / "out" / name


def make_registry(tmp: Path) -> Registry:
    return Registry(
        project_id="acme-sales",
        project_name="ACME sales pipelines",
        stages=STAGES,
        run_record_dir=str(tmp / "records"),
        optional_outputs=(OPTIONAL_OUTPUT,),
        optional_stages=(OPTIONAL_STAGE,),
        no_input_entrypoints=(NO_INPUT_ENTRYPOINT,),
    )


def write_csv(path: Path, rows: int) -> None:
    path.write_text("id,amount\n" + "".join(f"{i},1.0\n" for i in range(rows)))


# --- builders: each performs one real run and returns its run id ---------------------


def build_success(ctx: Ctx) -> str:
    src = ctx.input_with_manifest("orders.csv")
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        run.input("orders", src, artifact_family="orders", stage="extract")
        with run.stage("extract") as stage:
            stage.count(records_seen=10, records_processed=8)
            stage.skip(2, "duplicate")
        with run.stage("transform") as stage:
            stage.count(
                records_seen=8, records_processed=7, records_skipped=1, skip_reason="filtered"
            )
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 7)
            out.record_count = 7
    return run.run_id


def build_warning_only(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=2, records_processed=2)
            stage.warn("schema_drift_handled", "column 'note' added upstream; ignored")
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 2)
            out.record_count = 2
    return run.run_id


def build_stage_error_object(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=5, records_processed=2)
            stage.error("input_invalid", "3 rows failed validation", details={"rows": 3})
    return run.run_id


def build_run_error_object(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
        run.error("config_error", "no warehouse configured for this region")
    return run.run_id


def build_stage_exception(ctx: Ctx) -> str:
    handle = runrecord.run("sales.daily", registry=ctx.reg, command="sales daily")
    with pytest.raises(ValueError, match="bad amount"), handle as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
        with run.stage("transform"):
            raise ValueError("bad amount 'x'")
    return handle.run_id


def build_run_block_exception(ctx: Ctx) -> str:
    handle = runrecord.run("sales.daily", registry=ctx.reg, command="sales daily")
    with pytest.raises(KeyError), handle as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
        raise KeyError("region")
    return handle.run_id


def build_required_input_missing(ctx: Ctx) -> str:
    handle = runrecord.run("sales.daily", registry=ctx.reg, command="sales daily")
    with pytest.raises(InputMissingError), handle as run:
        run.input("orders", ctx.tmp / "data" / "nope.csv", artifact_family="orders")
    return handle.run_id


def build_no_input_mode(ctx: Ctx) -> str:
    with runrecord.run(NO_INPUT_ENTRYPOINT, registry=ctx.reg, command="backfill") as run:
        ref = run.input("orders", ctx.tmp / "data" / "nope.csv", artifact_family="orders")
        ctx.notes["ref"] = ref
        with run.stage("extract") as stage:
            stage.count(records_seen=0)
    return run.run_id


def build_optional_input_missing(ctx: Ctx) -> str:
    src = ctx.input_with_manifest("orders.csv")
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        run.input("orders", src, artifact_family="orders")
        run.input(
            "returns", ctx.tmp / "data" / "returns.csv", artifact_family="returns", required=False
        )
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 2)
            out.record_count = 2
    return run.run_id


def build_substituted(ctx: Ctx) -> str:
    fallback = ctx.input_with_manifest("orders-yesterday.csv")
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        run.input(
            "orders",
            ctx.tmp / "data" / "orders-today.csv",
            artifact_family="orders",
            fallbacks=[fallback],
        )
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 2)
            out.record_count = 2
    return run.run_id


def build_integrity_error(ctx: Ctx) -> str:
    src = ctx.input_with_manifest("orders.csv", b"id,amount\n1,9.5\n")
    src.write_bytes(b"id,amount\n1,9.6\n")  # one byte changed after the manifest
    handle = runrecord.run("sales.daily", registry=ctx.reg, command="sales daily")
    with pytest.raises(IntegrityError), handle as run:
        run.input("orders", src, artifact_family="orders")
    return handle.run_id


def build_manifest_missing(ctx: Ctx) -> str:
    src = ctx.data("orders.csv")
    handle = runrecord.run("sales.daily", registry=ctx.reg, command="sales daily")
    with pytest.raises(ManifestError), handle as run:
        run.input("orders", src, artifact_family="orders")
    return handle.run_id


def build_schema_mismatch(ctx: Ctx) -> str:
    src = ctx.input_with_manifest("orders.csv", schema_version="2")
    handle = runrecord.run("sales.daily", registry=ctx.reg, command="sales daily")
    with pytest.raises(SchemaMismatchError), handle as run:
        run.input("orders", src, artifact_family="orders", accept_schema_versions={"3", "4"})
    return handle.run_id


def build_required_output_not_written(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
        with (
            contextlib.suppress(RuntimeError),
            run.output(
                "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
            ) as out,
        ):
            out.path.write_text("id\n")
            raise RuntimeError("disk went away")
    return run.run_id


def build_promotion_failed(ctx: Ctx) -> str:
    final = ctx.out("sales.csv")
    final.parent.mkdir(parents=True)
    final.write_bytes(b"earlier run's bytes\n")
    handle = runrecord.run("sales.daily", registry=ctx.reg, command="sales daily")
    with pytest.raises(PromotionError), handle as run:
        with run.output("sales", final, artifact_family="sales", schema_version="1") as out:
            ctx.notes["staged"] = out.path
            write_csv(out.path, 3)
            out.record_count = 3
    return handle.run_id


def build_optional_output_not_written(ctx: Ctx) -> str:
    with runrecord.run("sales.weekly", registry=ctx.reg, command="sales weekly") as run:
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 4)
            out.record_count = 4
        try:
            with run.output(
                OPTIONAL_OUTPUT,
                ctx.out("summary.pdf"),
                artifact_family="report",
                schema_version="1",
            ):
                raise OSError("renderer crashed")
        except OSError:
            pass
    return run.run_id


def build_optional_output_promotion_failed(ctx: Ctx) -> str:
    final = ctx.out("summary.pdf")
    final.parent.mkdir(parents=True)
    final.write_bytes(b"earlier run's summary\n")
    with runrecord.run("sales.weekly", registry=ctx.reg, command="sales weekly") as run:
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 4)
            out.record_count = 4
        with (
            pytest.raises(PromotionError),
            run.output(OPTIONAL_OUTPUT, final, artifact_family="report", schema_version="1") as out,
        ):
            out.path.write_bytes(b"this run's summary\n")
            out.record_count = 1
    return run.run_id


def build_optional_stage_skipped(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=3, records_processed=3)
        run.skip_stage(OPTIONAL_STAGE, "not_selected", note="publishing is off on weekends")
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 3)
            out.record_count = 3
    return run.run_id


def build_required_stage_skipped(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=3, records_processed=3)
        run.skip_stage("load", "upstream_empty")
        with run.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 3)
            out.record_count = 3
    ctx.notes["problems"] = run.result.problems if run.result else ()
    return run.run_id


def build_empty_outputs(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=0)
        for name in ("sales", "refunds"):
            with run.output(
                name, ctx.out(f"{name}.csv"), artifact_family="sales", schema_version="1"
            ) as out:
                write_csv(out.path, 0)
                out.record_count = 0
    return run.run_id


def build_caller_asks_error(ctx: Ctx) -> str:
    run_id = runrecord.open_run("sales.daily", registry=ctx.reg, command="sales daily")
    runrecord.write_stage(
        run_id, "extract", registry=ctx.reg, counters={"records_seen": 2, "records_processed": 2}
    )
    ctx.notes["result"] = runrecord.finalize_run(
        run_id, registry=ctx.reg, status="error", reason="operator aborted the load"
    )
    return run_id


def _refuse_better_statuses(ctx: Ctx, run_id: str) -> None:
    for asked in ("success", "partial_success", "empty_success"):
        with pytest.raises(ConfigError, match="only 'error' can be asked for"):
            runrecord.finalize_run(run_id, registry=ctx.reg, status=asked)
        assert not (ctx.record_dir / f"{run_id}.run_record.json").exists()


def build_caller_asks_better_than_facts(ctx: Ctx) -> str:
    run_id = runrecord.open_run("sales.daily", registry=ctx.reg, command="sales daily")
    failure = runrecord.error_object("input_invalid", "3 rows failed validation", stage="extract")
    runrecord.write_stage(
        run_id, "extract", registry=ctx.reg, errors=[failure], counters={"records_seen": 3}
    )
    _refuse_better_statuses(ctx, run_id)
    runrecord.finalize_run(run_id, registry=ctx.reg)
    return run_id


def build_caller_asks_partial_on_success(ctx: Ctx) -> str:
    run_id = runrecord.open_run("sales.daily", registry=ctx.reg, command="sales daily")
    runrecord.write_stage(
        run_id, "extract", registry=ctx.reg, counters={"records_seen": 2, "records_processed": 2}
    )
    _refuse_better_statuses(ctx, run_id)
    runrecord.finalize_run(run_id, registry=ctx.reg)
    return run_id


def build_counters_break_contract(ctx: Ctx) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as run:
        with run.stage("extract") as stage:
            stage.count(records_seen=3, records_processed=5)
    ctx.notes["problems"] = run.result.problems if run.result else ()
    return run.run_id


def _upstream(ctx: Ctx, *, fail: bool) -> str:
    with runrecord.run("sales.daily", registry=ctx.reg, command="sales daily") as up:
        with up.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
            if fail:
                stage.error("input_invalid", "every row failed validation")
        with up.output(
            "sales", ctx.out("sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 1)
            out.record_count = 1
    ctx.notes["upstream"] = up.run_id
    return up.run_id


def build_gate_blocked(ctx: Ctx) -> str:
    _upstream(ctx, fail=True)
    handle = runrecord.run("sales.weekly", registry=ctx.reg, command="sales weekly")
    with pytest.raises(UpstreamError), handle as run:
        run.gate("sales.daily", stage="extract")
        with run.stage("extract"):  # never reached: the line stopped
            pytest.fail("the gate let the run go on")
    return handle.run_id


def build_gate_no_upstream_record(ctx: Ctx) -> str:
    handle = runrecord.run("sales.weekly", registry=ctx.reg, command="sales weekly")
    with pytest.raises(UpstreamError, match="nothing to trust"), handle as run:
        run.gate("sales.daily")
    return handle.run_id


def build_gate_passes(ctx: Ctx) -> str:
    _upstream(ctx, fail=False)
    with runrecord.run("sales.weekly", registry=ctx.reg, command="sales weekly") as run:
        ctx.notes["verdict"] = run.gate("sales.daily", stage="extract")
        with run.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
        with run.output(
            "weekly", ctx.out("weekly.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            write_csv(out.path, 1)
            out.record_count = 1
    return run.run_id


# --- extra checks for some cases -------------------------------------------------------


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def check_success(record: RunRecord, ctx: Ctx) -> None:
    assert record.counters.records_skipped == 3
    assert record.counters.artifacts_written == 1
    assert [s.status for s in record.stages] == [StageStatus.SUCCESS] * 2


def check_stage_error_object(record: RunRecord, ctx: Ctx) -> None:
    stage = only(record.stages)
    error = only(record.errors)
    assert stage.status is StageStatus.ERROR
    assert stage.errors == [error.error_id]
    assert error.stage == "extract"
    assert error.details == {"rows": 3}


def check_stage_exception(record: RunRecord, ctx: Ctx) -> None:
    error = only(record.errors)
    assert error.stage == "transform"
    assert error.exception is not None
    assert error.exception.class_ == "builtins.ValueError"
    assert "bad amount" in error.message
    assert [s.status for s in record.stages] == [StageStatus.SUCCESS, StageStatus.ERROR]
    traces = [e.path for e in error.evidence if e.path]
    assert traces
    assert all(Path(p).is_file() for p in traces)


def check_input_missing(record: RunRecord, ctx: Ctx) -> None:
    inp = only(record.inputs)
    assert inp.resolution is Resolution.MISSING
    assert inp.required


def check_no_input_mode(record: RunRecord, ctx: Ctx) -> None:
    inp = only(record.inputs)
    assert inp.resolution is Resolution.MISSING
    assert inp.required
    assert inp.reason == "no_input_mode"
    assert ctx.notes["ref"].reason == "no_input_mode"
    assert runrecord.assess(record).no_input_mode


def check_manifest_missing(record: RunRecord, ctx: Ctx) -> None:
    inp = only(record.inputs)
    assert inp.resolution is Resolution.PRESENT
    assert inp.schema_version is None
    assert only(record.errors).details == {"input": "orders", "path": inp.path}


def check_substituted(record: RunRecord, ctx: Ctx) -> None:
    inp = only(record.inputs)
    assert inp.resolution is Resolution.SUBSTITUTED
    assert inp.path.endswith("orders-yesterday.csv")


def check_promotion_failed(record: RunRecord, ctx: Ctx) -> None:
    out = only(record.outputs)
    assert out.promotion_status is PromotionStatus.STAGED
    assert out.required
    assert ctx.out("sales.csv").read_bytes() == b"earlier run's bytes\n"
    staged: Path = ctx.notes["staged"]
    assert staged.read_text().startswith("id,amount\n")
    assert record.counters.artifacts_written == 0


def check_output_not_written(record: RunRecord, ctx: Ctx) -> None:
    out = only(record.outputs)
    assert out.promotion_status is PromotionStatus.NOT_WRITTEN
    assert out.required
    assert not ctx.out("sales.csv").exists()
    assert only(record.errors).details == {"output": "sales", "path": out.path}


def check_optional_output(record: RunRecord, ctx: Ctx) -> None:
    by_name = {o.name: o for o in record.outputs}
    summary = by_name[OPTIONAL_OUTPUT]
    assert summary.promotion_status is PromotionStatus.NOT_WRITTEN
    assert not summary.required
    assert summary.reason == "optional_failed"
    assert by_name["sales"].promotion_status is PromotionStatus.PROMOTED
    assert record.counters.artifacts_written == 1


def check_optional_stage(record: RunRecord, ctx: Ctx) -> None:
    skipped = [s for s in record.stages if s.status is StageStatus.SKIPPED]
    assert [s.stage for s in skipped] == [OPTIONAL_STAGE]
    assert [(r.code, r.what) for r in skipped[0].skip_reasons] == [("not_selected", "stage")]


def _named_rules(record: RunRecord) -> set[str]:
    error = next(e for e in record.errors if e.type is ErrorType.RECORD_INVALID)
    assert error.details is not None
    problems = error.details["problems"]
    assert isinstance(problems, list)
    return {p["rule"] for p in problems if isinstance(p, dict) and isinstance(p["rule"], str)}


def check_required_stage_skipped(record: RunRecord, ctx: Ctx) -> None:
    assert "registry.optional_stage" in _named_rules(record)
    assert "registry.optional_stage" in {p.rule for p in ctx.notes["problems"]}


def check_empty_outputs(record: RunRecord, ctx: Ctx) -> None:
    assert runrecord.assess(record).empty_outputs
    assert [o.record_count for o in record.outputs] == [0, 0]
    assert all(o.promotion_status is PromotionStatus.PROMOTED for o in record.outputs)


def check_caller_error(record: RunRecord, ctx: Ctx) -> None:
    error = only(record.errors)
    assert "operator aborted the load" in error.message
    assert ctx.notes["result"].record == record


def check_counters(record: RunRecord, ctx: Ctx) -> None:
    assert "counters.processed_exceeds_seen" in _named_rules(record)
    assert "counters.processed_exceeds_seen" in {p.rule for p in ctx.notes["problems"]}
    evidence = [e.path for e in only(record.errors).evidence if e.path]
    assert evidence
    assert all(Path(p).is_file() for p in evidence)


def check_gate_blocked(record: RunRecord, ctx: Ctx) -> None:
    error = only(record.errors)
    assert error.details is not None
    assert error.details["upstream"] == "sales.daily"
    assert error.details["upstream_status"] == "error"
    assert error.details["upstream_run_id"] == ctx.notes["upstream"]
    assert record.stages == []


def check_gate_passes(record: RunRecord, ctx: Ctx) -> None:
    verdict = ctx.notes["verdict"]
    assert verdict.passed
    assert verdict.status is Status.SUCCESS
    assert verdict.run_id == ctx.notes["upstream"]


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Ctx], str]
    status: Status
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    reasons: frozenset[str] = frozenset()
    other_records: int = 0
    check: Callable[[RunRecord, Ctx], None] | None = None


CASES = [
    Case(
        "success-records-skipped-lower-nothing",
        build_success,
        Status.SUCCESS,
        reasons=frozenset({"duplicate", "filtered"}),
        check=check_success,
    ),
    Case(
        "warning-lowers-nothing",
        build_warning_only,
        Status.SUCCESS,
        warnings=("schema_drift_handled",),
    ),
    Case(
        "stage-error-object",
        build_stage_error_object,
        Status.ERROR,
        errors=("input_invalid",),
        check=check_stage_error_object,
    ),
    Case("run-error-object", build_run_error_object, Status.ERROR, errors=("config_error",)),
    Case(
        "exception-escapes-stage",
        build_stage_exception,
        Status.ERROR,
        errors=("runtime_error",),
        check=check_stage_exception,
    ),
    Case(
        "exception-escapes-run-block",
        build_run_block_exception,
        Status.ERROR,
        errors=("runtime_error",),
    ),
    Case(
        "required-input-missing",
        build_required_input_missing,
        Status.ERROR,
        errors=("input_missing",),
        check=check_input_missing,
    ),
    Case(
        "required-input-missing-no-input-mode",
        build_no_input_mode,
        Status.EMPTY_SUCCESS,
        reasons=frozenset({"no_input_mode"}),
        check=check_no_input_mode,
    ),
    Case(
        "optional-input-missing",
        build_optional_input_missing,
        Status.SUCCESS,
        warnings=("optional_input_missing",),
    ),
    Case(
        "input-substituted",
        build_substituted,
        Status.SUCCESS,
        warnings=("input_substituted",),
        check=check_substituted,
    ),
    Case("integrity-error", build_integrity_error, Status.ERROR, errors=("integrity_error",)),
    Case(
        "manifest-missing",
        build_manifest_missing,
        Status.ERROR,
        errors=("manifest_mismatch",),
        check=check_manifest_missing,
    ),
    Case(
        "schema-version-not-accepted",
        build_schema_mismatch,
        Status.ERROR,
        errors=("schema_mismatch",),
    ),
    Case(
        "required-output-not-written",
        build_required_output_not_written,
        Status.ERROR,
        errors=("output_missing",),
        check=check_output_not_written,
    ),
    Case(
        "required-output-promotion-failed",
        build_promotion_failed,
        Status.ERROR,
        errors=("promotion_failed",),
        check=check_promotion_failed,
    ),
    Case(
        "optional-output-not-written",
        build_optional_output_not_written,
        Status.PARTIAL_SUCCESS,
        warnings=("optional_output_missing",),
        reasons=frozenset({"optional_failed"}),
        check=check_optional_output,
    ),
    Case(
        "optional-output-promotion-failed",
        build_optional_output_promotion_failed,
        Status.PARTIAL_SUCCESS,
        warnings=("optional_output_missing",),
        reasons=frozenset({"optional_failed"}),
    ),
    Case(
        "optional-stage-skipped",
        build_optional_stage_skipped,
        Status.PARTIAL_SUCCESS,
        reasons=frozenset({"not_selected"}),
        check=check_optional_stage,
    ),
    Case(
        "non-optional-stage-skipped",
        build_required_stage_skipped,
        Status.ERROR,
        errors=("record_invalid",),
        reasons=frozenset({"upstream_empty"}),
        check=check_required_stage_skipped,
    ),
    Case("all-outputs-empty", build_empty_outputs, Status.EMPTY_SUCCESS, check=check_empty_outputs),
    Case(
        "caller-asks-error",
        build_caller_asks_error,
        Status.ERROR,
        errors=("runtime_error",),
        check=check_caller_error,
    ),
    Case(
        "caller-asks-better-than-error-facts",
        build_caller_asks_better_than_facts,
        Status.ERROR,
        errors=("input_invalid",),
    ),
    Case("caller-asks-better-than-success", build_caller_asks_partial_on_success, Status.SUCCESS),
    Case(
        "counters-break-contract",
        build_counters_break_contract,
        Status.ERROR,
        errors=("record_invalid",),
        check=check_counters,
    ),
    Case(
        "upstream-gate-blocked",
        build_gate_blocked,
        Status.ERROR,
        errors=("upstream_error",),
        other_records=1,
        check=check_gate_blocked,
    ),
    Case(
        "upstream-gate-no-record",
        build_gate_no_upstream_record,
        Status.ERROR,
        errors=("upstream_error",),
    ),
    Case(
        "upstream-gate-passes",
        build_gate_passes,
        Status.SUCCESS,
        other_records=1,
        check=check_gate_passes,
    ),
]


def reason_codes(record: RunRecord) -> set[str]:
    codes: set[str | None] = {i.reason for i in record.inputs}
    codes |= {o.reason for o in record.outputs}
    codes |= {r.code for s in record.stages for r in s.skip_reasons}
    codes |= {r.code for r in record.skip_reasons}
    return {str(c) for c in codes if c is not None}


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_status_rule(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ctx = Ctx(tmp_path, make_registry(tmp_path))

    run_id = case.build(ctx)

    # Exactly one record for the run, promoted under its own name; staging removed.
    path = ctx.record_dir / f"{run_id}.run_record.json"
    files = sorted(ctx.record_dir.glob("*.run_record.json"))
    mine = [p for p in files if json.loads(p.read_bytes())["run_id"] == run_id]
    assert mine == [path]
    assert len(files) == 1 + case.other_records
    assert not (ctx.record_dir / ".staging" / run_id).exists()

    # It validates, alone and against the registry.
    report = runrecord.validate_record(path)
    assert report.valid, [str(p) for p in report.problems]
    with_registry = runrecord.validate_record(path, registry=ctx.reg)
    assert with_registry.valid, [str(p) for p in with_registry.problems]
    record = runrecord.read_record(path, registry=ctx.reg)
    assert record.run_id == run_id

    # The status is the one the facts give, and the expected one.
    assert record.status is runrecord.assess(record).derived
    assert record.status is case.status
    assert sorted(e.type.value for e in record.errors) == sorted(case.errors)
    assert sorted(w.type.value for w in record.warnings) == sorted(case.warnings)
    assert reason_codes(record) == set(case.reasons)

    # Counters agree with the objects, at run and stage level.
    assert record.counters.errors_count == len(record.errors) == len(record.all_errors())
    assert record.counters.warnings_count == len(record.warnings) == len(record.all_warnings())
    for stage in record.stages:
        assert stage.counters.errors_count == len(stage.errors)
        assert stage.counters.warnings_count == len(stage.warnings)

    if case.check is not None:
        case.check(record, ctx)
