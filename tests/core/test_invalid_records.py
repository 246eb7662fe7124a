"""One mutation per case: each invalid record is rejected with exactly the expected rule.

Every case starts from a valid example record, changes one thing, and expects the set of
rule ids reported to be exactly the one named (plus any listed as natural consequences), at
the JSON pointer named. The base records are checked valid first, so the mutation is what
the validator reacts to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from example_records import EMPTY_SUCCESS, ERROR, NO_INPUT_MODE, PARTIAL_SUCCESS, SUCCESS

from runrecord import RULES, validate_record

Doc = dict[str, Any]

REQUIRED_TOP_LEVEL = (
    "run_record_version",
    "run_id",
    "created_at",
    "completed_at",
    "status",
    "project",
    "entrypoint",
    "stages",
    "inputs",
    "outputs",
    "schema_versions",
    "counters",
    "warnings",
    "errors",
    "environment",
)


@dataclass(frozen=True)
class Case:
    id: str
    base: str
    mutate: Callable[[Doc], object]
    rule: str
    pointer: str
    also: frozenset[str] = field(default_factory=frozenset)


def _set(path: str, value: object) -> Callable[[Doc], None]:
    """Return a mutation that sets the value at a /-separated path."""

    def mutate(doc: Doc) -> None:
        *parents, last = path.strip("/").split("/")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _delete(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = path.strip("/").split("/")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return mutate


def _swap_first_stages(doc: Doc) -> None:
    doc["stages"][0], doc["stages"][1] = doc["stages"][1], doc["stages"][0]


def _duplicate_error(doc: Doc) -> None:
    doc["errors"].append(dict(doc["errors"][0]))
    doc["counters"]["errors_count"] += 1


def _required_input_missing(doc: Doc) -> None:
    doc["inputs"][0].update(resolution="missing", manifest_path=None, data_hash=None)


def _required_output_not_written(doc: Doc) -> None:
    doc["outputs"][0].update(promotion_status="not_written", manifest_path=None, data_hash=None)
    doc["counters"]["artifacts_written"] = 0
    doc["schema_versions"]["written"] = {}


def _optional_output_not_written(doc: Doc) -> None:
    doc["outputs"].append(
        {
            **doc["outputs"][0],
            "name": "weekly_summary_pdf",
            "promotion_status": "not_written",
            "manifest_path": None,
            "data_hash": None,
            "required": False,
            "reason": "optional_failed",
            "record_count": None,
        }
    )


def _skip_stage(doc: Doc) -> None:
    stage = doc["stages"][3]
    stage.update(
        status="skipped",
        started_at=None,
        completed_at=None,
        warnings=[],
        skip_reasons=[{"code": "not_selected", "count": 1, "what": "stage", "note": None}],
    )
    stage["counters"]["warnings_count"] = 0
    doc["warnings"] = []
    doc["counters"]["warnings_count"] = 0


def _success_with_skipped_stage(doc: Doc) -> None:
    _skip_stage(doc)
    doc["outputs"].pop()
    doc["status"] = "success"


def _skip_records_without_reason(doc: Doc) -> None:
    doc["stages"][1]["skip_reasons"] = doc["stages"][1]["skip_reasons"][:1]


def _top_files_skipped(doc: Doc) -> None:
    doc["counters"]["files_skipped"] = 2
    doc["counters"]["files_seen"] = 26


def _stage_error_without_error(doc: Doc) -> None:
    doc["stages"][1]["errors"] = []
    doc["stages"][1]["counters"]["errors_count"] = 0


def _unknown_error_id(doc: Doc) -> None:
    doc["stages"][1]["errors"] = ["E-runtime_error-000000000000"]


def _error_of_other_stage(doc: Doc) -> None:
    doc["errors"][0]["stage"] = "load"


def _secret_in_extensions(doc: Doc) -> None:
    doc["extensions"] = {"source": "postgresql://etl:hunter2@db.internal/sales"}


def _records_stance_violation(doc: Doc) -> None:
    doc["stages"][0]["counters"]["records_seen"] = 10


def _no_input_mode_success(doc: Doc) -> None:
    doc["status"] = "success"


def _cases() -> list[Case]:
    cases = [
        Case(f"missing-{name}", SUCCESS, _delete(f"/{name}"), "schema.required", f"/{name}")
        for name in REQUIRED_TOP_LEVEL
    ]
    cases += [
        # controlled vocabularies
        Case("status-enum", SUCCESS, _set("/status", "succeeded"), "schema.enum", "/status"),
        Case(
            "stage-status-enum",
            SUCCESS,
            _set("/stages/0/status", "failed"),
            "schema.enum",
            "/stages/0/status",
        ),
        Case(
            "error-type-enum",
            ERROR,
            _set("/errors/0/type", "oops"),
            "schema.enum",
            "/errors/0/type",
        ),
        Case(
            "severity-enum",
            ERROR,
            _set("/errors/0/severity", "warning"),
            "schema.enum",
            "/errors/0/severity",
        ),
        Case(
            "evidence-kind-enum",
            ERROR,
            _set("/errors/0/evidence/0/kind", "screenshot"),
            "schema.enum",
            "/errors/0/evidence/0/kind",
        ),
        Case(
            "resolution-enum",
            SUCCESS,
            _set("/inputs/0/resolution", "absent"),
            "schema.enum",
            "/inputs/0/resolution",
        ),
        Case(
            "promotion-enum",
            SUCCESS,
            _set("/outputs/0/promotion_status", "done"),
            "schema.enum",
            "/outputs/0/promotion_status",
        ),
        Case(
            "skip-reason-enum",
            SUCCESS,
            _set("/stages/1/skip_reasons/0/code", "boring"),
            "schema.enum",
            "/stages/1/skip_reasons/0/code",
        ),
        Case(
            "warning-type-enum",
            PARTIAL_SUCCESS,
            _set("/warnings/0/type", "meh"),
            "schema.enum",
            "/warnings/0/type",
        ),
        # timestamps
        Case(
            "naive-timestamp",
            SUCCESS,
            _set("/created_at", "2026-11-26T06:00:02"),
            "timestamp.utc",
            "/created_at",
        ),
        Case(
            "non-utc-offset",
            SUCCESS,
            _set("/completed_at", "2026-11-26T08:00:11+02:00"),
            "timestamp.utc",
            "/completed_at",
        ),
        Case(
            "timestamp-not-iso",
            SUCCESS,
            _set("/stages/0/started_at", "yesterday"),
            "timestamp.format",
            "/stages/0/started_at",
        ),
        Case(
            "timestamp-epoch-number",
            ERROR,
            _set("/errors/0/recorded_at", 1795500000),
            "timestamp.format",
            "/errors/0/recorded_at",
        ),
        Case(
            "timestamp-impossible-date",
            SUCCESS,
            _set("/created_at", "2026-02-30T06:00:02Z"),
            "timestamp.format",
            "/created_at",
        ),
        # shape
        Case("unknown-top-field", SUCCESS, _set("/owner", "me"), "schema.unknown_field", "/owner"),
        Case(
            "unknown-stage-field",
            SUCCESS,
            _set("/stages/0/duration", 3),
            "schema.unknown_field",
            "/stages/0/duration",
        ),
        Case(
            "run-id-traversal", SUCCESS, _set("/run_id", "../etc/passwd"), "schema.name", "/run_id"
        ),
        Case("run-id-hidden", SUCCESS, _set("/run_id", ".hidden"), "schema.name", "/run_id"),
        Case("run-id-too-long", SUCCESS, _set("/run_id", "r" * 300), "schema.name", "/run_id"),
        Case("run-id-nul", SUCCESS, _set("/run_id", "a\x00b"), "schema.name", "/run_id"),
        Case(
            "entrypoint-slash",
            SUCCESS,
            _set("/entrypoint/entrypoint_id", "sales/daily"),
            "schema.name",
            "/entrypoint/entrypoint_id",
        ),
        Case(
            "negative-counter",
            SUCCESS,
            _set("/counters/files_seen", -1),
            "schema.range",
            "/counters/files_seen",
        ),
        Case(
            "counter-as-string",
            SUCCESS,
            _set("/counters/records_seen", "9657"),
            "schema.type",
            "/counters/records_seen",
        ),
        Case(
            "counter-as-bool",
            SUCCESS,
            _set("/stages/0/counters/files_seen", True),
            "schema.type",
            "/stages/0/counters/files_seen",
        ),
        Case(
            "stage-counter-missing",
            SUCCESS,
            _delete("/stages/2/counters/artifacts_written"),
            "schema.required",
            "/stages/2/counters/artifacts_written",
        ),
        Case(
            "extra-counter-bad-name",
            SUCCESS,
            _set("/counters/Rows-Loaded", 3),
            "schema.counter_name",
            "/counters",
        ),
        Case(
            "data-hash-format",
            SUCCESS,
            _set("/inputs/0/data_hash", "md5:abc"),
            "schema.hash",
            "/inputs/0/data_hash",
        ),
        Case(
            "evidence-without-target",
            ERROR,
            _delete("/errors/0/evidence/0/path"),
            "schema.evidence_target",
            "/errors/0/evidence/0",
        ),
        Case(
            "required-flag-as-string",
            SUCCESS,
            _set("/inputs/0/required", "true"),
            "schema.type",
            "/inputs/0/required",
        ),
        Case(
            "unknown-version",
            SUCCESS,
            _set("/run_record_version", "2.0.0"),
            "version.unknown",
            "/run_record_version",
        ),
        # semantic rules
        Case(
            "completed-before-created",
            SUCCESS,
            _set("/completed_at", "2026-11-26T05:00:00.000000Z"),
            "timestamp.order",
            "/completed_at",
        ),
        Case(
            "stage-ends-before-start",
            SUCCESS,
            _set("/stages/2/completed_at", "2026-11-26T06:00:00.000000Z"),
            "timestamp.order",
            "/stages/2/completed_at",
        ),
        Case(
            "completed-null-without-crash",
            SUCCESS,
            _set("/completed_at", None),
            "timestamp.completed_null",
            "/completed_at",
        ),
        Case(
            "input-path-with-nul",
            SUCCESS,
            _set("/inputs/0/path", "/data/orders\x00.csv"),
            "path.unsafe",
            "/inputs/0/path",
        ),
        Case(
            "stages-out-of-order",
            SUCCESS,
            _swap_first_stages,
            "stage.order",
            "/stages/1/started_at",
        ),
        Case(
            "success-stage-without-end",
            SUCCESS,
            _set("/stages/0/completed_at", None),
            "stage.times",
            "/stages/0",
        ),
        Case(
            "errors-count-top",
            ERROR,
            _set("/counters/errors_count", 1),
            "counters.errors_count",
            "/counters/errors_count",
        ),
        Case(
            "warnings-count-stage",
            PARTIAL_SUCCESS,
            _set("/stages/3/counters/warnings_count", 0),
            "counters.warnings_count",
            "/stages/3/counters/warnings_count",
        ),
        Case(
            "processed-exceeds-seen",
            SUCCESS,
            _set("/stages/0/counters/records_processed", 5000),
            "counters.processed_exceeds_seen",
            "/stages/0/counters/records_seen",
        ),
        Case(
            "skipped-records-unexplained",
            SUCCESS,
            _skip_records_without_reason,
            "counters.skip_reason",
            "/stages/1/counters/records_skipped",
        ),
        Case(
            "top-files-skipped-unexplained",
            SUCCESS,
            _top_files_skipped,
            "counters.skip_reason",
            "/counters/files_skipped",
        ),
        Case(
            "skipped-stage-without-reason",
            ERROR,
            _set("/stages/2/skip_reasons", []),
            "stage.skip_reason",
            "/stages/2/skip_reasons",
        ),
        Case(
            "error-stage-without-error",
            ERROR,
            _stage_error_without_error,
            "stage.status",
            "/stages/1/status",
        ),
        Case(
            "stage-error-id-unresolved",
            ERROR,
            _unknown_error_id,
            "ref.unresolved",
            "/stages/1/errors/0",
        ),
        Case("duplicate-error-id", ERROR, _duplicate_error, "ref.duplicate", "/errors"),
        Case(
            "stage-lists-error-of-other-stage",
            ERROR,
            _error_of_other_stage,
            "ref.stage_mismatch",
            "/stages/1/errors/0",
        ),
        Case(
            "success-with-error-object",
            ERROR,
            _set("/status", "success"),
            "status.error_facts",
            "/status",
        ),
        Case(
            "success-with-required-input-missing",
            SUCCESS,
            _required_input_missing,
            "status.error_facts",
            "/status",
            also=frozenset({"linkage.schema_versions"}),
        ),
        Case(
            "success-with-required-output-not-written",
            SUCCESS,
            _required_output_not_written,
            "status.error_facts",
            "/status",
        ),
        Case(
            "error-without-error-object",
            SUCCESS,
            _set("/status", "error"),
            "status.error_unexplained",
            "/status",
        ),
        Case(
            "partial-without-degraded-part",
            SUCCESS,
            _set("/status", "partial_success"),
            "status.partial_unjustified",
            "/status",
        ),
        Case(
            "partial-optional-output-without-reason",
            PARTIAL_SUCCESS,
            _set("/outputs/1/reason", None),
            "status.partial_unjustified",
            "/outputs/1/promotion_status",
        ),
        Case(
            "success-with-optional-output-missing",
            SUCCESS,
            _optional_output_not_written,
            "status.success_degraded",
            "/status",
        ),
        Case(
            "success-with-skipped-stage",
            PARTIAL_SUCCESS,
            _success_with_skipped_stage,
            "status.success_degraded",
            "/status",
        ),
        Case(
            "empty-success-with-records",
            EMPTY_SUCCESS,
            _set("/outputs/0/record_count", 12),
            "status.empty_unjustified",
            "/status",
        ),
        Case(
            "no-input-mode-as-success",
            NO_INPUT_MODE,
            _no_input_mode_success,
            "status.no_input_mode",
            "/status",
        ),
        Case(
            "present-input-without-manifest",
            SUCCESS,
            _set("/inputs/1/manifest_path", None),
            "linkage.input",
            "/inputs/1/manifest_path",
        ),
        Case(
            "promoted-output-without-hash",
            SUCCESS,
            _set("/outputs/0/data_hash", None),
            "linkage.output",
            "/outputs/0/data_hash",
        ),
        Case(
            "schema-versions-read-incomplete",
            SUCCESS,
            _set("/schema_versions/read", {"orders_bus": "2.1"}),
            "linkage.schema_versions",
            "/schema_versions/read",
        ),
        Case(
            "schema-versions-written-wrong",
            SUCCESS,
            _set("/schema_versions/written/sales_daily", ["1.0", "1.1"]),
            "linkage.schema_versions",
            "/schema_versions/written",
        ),
        Case(
            "artifacts-written-mismatch",
            SUCCESS,
            _set("/counters/artifacts_written", 2),
            "counters.artifacts_written",
            "/counters/artifacts_written",
        ),
        Case(
            "secret-in-environment",
            SUCCESS,
            _set("/environment/hostname", "etl-3 password=hunter2"),
            "secret.leak",
            "/environment/hostname",
        ),
        Case(
            "secret-in-command",
            SUCCESS,
            _set("/entrypoint/command", "python -m acme_sales.daily --api-key sk_live_abc123"),
            "secret.leak",
            "/entrypoint/command",
        ),
        Case(
            "secret-key-in-details",
            ERROR,
            _set("/errors/0/details", {"db_password": "hunter2"}),
            "secret.leak",
            "/errors/0/details/db_password",
        ),
        Case(
            "credentials-in-url",
            SUCCESS,
            _secret_in_extensions,
            "secret.leak",
            "/extensions/source",
        ),
    ]
    return cases


CASES = _cases()


def test_there_are_at_least_thirty_distinct_invalid_records() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 30
    # every rule a mutation of a well-formed record can trigger is exercised somewhere
    exercised = {c.rule for c in CASES}
    untested = {
        rule
        for rule in RULES
        if not rule.startswith(("json.", "registry.", "validator."))
        and rule not in exercised
        and rule not in {"schema.pattern", "run_id.filename"}  # the latter: a file-only rule
    }
    assert not untested


@pytest.mark.parametrize("base", [SUCCESS, EMPTY_SUCCESS, NO_INPUT_MODE, PARTIAL_SUCCESS, ERROR])
def test_bases_are_valid(load_example: Callable[[str], Doc], base: str) -> None:
    assert validate_record(load_example(base)).problems == ()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mutation_is_rejected_with_expected_rule(
    load_example: Callable[[str], Doc], case: Case
) -> None:
    doc = load_example(case.base)
    case.mutate(doc)
    report = validate_record(doc)
    rules = {p.rule for p in report.problems}
    assert case.rule in rules, report.problems
    assert rules <= {case.rule, *case.also}, report.problems
    assert case.pointer in {p.pointer for p in report.problems if p.rule == case.rule}
    assert not report.valid
    # the same verdict whatever form the record arrives in
    as_bytes = validate_record(json.dumps(doc).encode())
    assert {p.rule for p in as_bytes.problems} == rules


def test_semantic_problems_are_all_reported_at_once(load_example: Callable[[str], Doc]) -> None:
    doc = load_example(SUCCESS)
    doc["counters"]["artifacts_written"] = 7
    doc["stages"][0]["counters"]["files_processed"] = 99
    doc["environment"]["hostname"] = "token=abc123"
    rules = {p.rule for p in validate_record(doc).problems}
    assert rules == {
        "counters.artifacts_written",
        "counters.processed_exceeds_seen",
        "secret.leak",
    }


def test_schema_problems_are_all_reported_at_once(load_example: Callable[[str], Doc]) -> None:
    doc = load_example(SUCCESS)
    del doc["status"]
    doc["run_id"] = "../x"
    doc["counters"]["files_seen"] = -4
    pointers = {p.pointer for p in validate_record(doc).problems}
    assert pointers == {"/status", "/run_id", "/counters/files_seen"}


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "json.empty"),
        (b"   \n", "json.empty"),
        (b'{"run_id": "a", "run_id": "b"}', "json.duplicate_key"),
        (b'{"run_record_version": "1.0.0", "counters": {"files_seen": NaN}}', "json.syntax"),
        (b'{"run_record_version": "1.0.0", ', "json.syntax"),
        (b"\xff\xfe{}", "json.syntax"),
        (b"[1, 2, 3]", "json.not_object"),
        (b'"a run record"', "json.not_object"),
        (b"null", "json.not_object"),
        (b"[" * 100_000, "json.syntax"),
    ],
    ids=[
        "empty",
        "blank",
        "duplicate-key",
        "nan",
        "truncated",
        "not-utf8",
        "array",
        "string",
        "null",
        "too-deep",
    ],
)
def test_unreadable_documents(data: bytes, rule: str) -> None:
    report = validate_record(data)
    assert [p.rule for p in report.problems] == [rule]
    assert report.record is None


def test_truncated_example_file_is_rejected(tmp_path: Any, examples_dir: Any) -> None:
    data = (examples_dir / f"{SUCCESS}.run_record.json").read_bytes()
    broken = tmp_path / "torn.run_record.json"
    broken.write_bytes(data[: len(data) // 2])
    assert [p.rule for p in validate_record(broken).problems] == ["json.syntax"]


def test_a_record_file_is_named_after_its_run_id(tmp_path: Any, examples_dir: Any) -> None:
    data = (examples_dir / f"{SUCCESS}.run_record.json").read_bytes()
    (tmp_path / f"{SUCCESS}.run_record.json").write_bytes(data)
    assert validate_record(tmp_path / f"{SUCCESS}.run_record.json").valid
    renamed = tmp_path / "sales.daily-latest.run_record.json"
    renamed.write_bytes(data)
    report = validate_record(renamed)
    assert [(p.pointer, p.rule) for p in report.problems] == [("/run_id", "run_id.filename")]
    assert validate_record(data).valid  # bytes have no file name to disagree with


def test_missing_file_is_reported_not_raised(tmp_path: Any) -> None:
    report = validate_record(tmp_path / "nope.run_record.json")
    assert [p.rule for p in report.problems] == ["json.unreadable"]
    assert [p.rule for p in validate_record(str(tmp_path)).problems] == ["json.unreadable"]
