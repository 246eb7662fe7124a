"""Property tests: valid records round-trip, and the validator never raises.

1. A strategy builds semantically consistent run records for a *target* status (stages in
   execution order, counters that add up, skip reasons that explain skips, ids that
   resolve, linkage of inputs and outputs to ``schema_versions``, a status derived from the
   facts). Every generated record must survive model → JSON → model unchanged and be
   reported valid in every input form.
2. ``validate_record`` is fed arbitrary JSON values, JSON documents, bytes, paths and
   mutations of the example records; it must always return a report whose problems name
   known rules, and never fall back to ``validator.internal``.
"""

from __future__ import annotations

import copy
import json
import operator
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import runrecord
from runrecord import (
    COUNTER_NAMES,
    RUN_STAGE,
    Counters,
    Entrypoint,
    Environment,
    ErrorObject,
    ErrorType,
    EvidenceKind,
    EvidencePointer,
    ExceptionInfo,
    GitInfo,
    InputRef,
    NodeRef,
    OrchestratorInfo,
    OutputRef,
    Project,
    PromotionStatus,
    ReasonCode,
    Resolution,
    RunRecord,
    SchemaVersions,
    Severity,
    SkipReason,
    SkipUnit,
    StageRecord,
    StageStatus,
    Status,
    Toolchain,
    ValidationReport,
    WarningObject,
    WarningType,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "records"
SUCCESS_EXAMPLE = "sales.daily-20261126T060002Z-3f9a1c"
CRASHED_EXAMPLE = "sales.daily-20261124T060003Z-e6f013"
NOWHERE = "/nonexistent-runrecord-property-tests"
"""A directory that does not exist: every path under it is unreadable, whatever follows."""

# --- leaf strategies ----------------------------------------------------------------------


def _clean(text: str) -> bool:
    """True when the validator's secret scan leaves ``text`` alone (redaction is a no-op)."""
    return runrecord.redact_text(text) == text


def _safe_key(key: str) -> bool:
    return not runrecord.is_secret_key(key) and _clean(key)


_NAME_HEAD = string.ascii_letters + string.digits + "_-"

any_text = st.text(max_size=30).filter(_clean)
"""Any string (possibly empty) the secret scan does not flag."""
texts = st.text(min_size=1, max_size=30).filter(_clean)
# Data paths never hold control characters (the writer refuses them; rule path.unsafe).
path_texts = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30
).filter(_clean)
"""A contract ``Text``: non-empty."""
names = st.builds(
    operator.add, st.sampled_from(_NAME_HEAD), st.text(_NAME_HEAD + ".", max_size=127)
).filter(_clean)
"""Filename-safe names (run id, project, entrypoint, stage, family)."""
stage_names = names.filter(lambda n: n != RUN_STAGE)
families = names.filter(_safe_key)
"""Family names are keys of ``schema_versions`` whose values are strings: never secret keys."""
object_ids = st.builds(
    operator.add, st.sampled_from(_NAME_HEAD), st.text(_NAME_HEAD + ".:", max_size=60)
).filter(_clean)
hashes = st.builds(
    "{}:{}".format,
    st.sampled_from(["blake3", "sha256"]),
    st.text("0123456789abcdef", min_size=64, max_size=64),
)
versions = st.one_of(st.builds("{}.{}".format, st.integers(0, 20), st.integers(0, 20)), texts)
counts = st.integers(min_value=0, max_value=10**6) | st.integers(min_value=0)
utc_times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # st.datetimes takes naive bounds
    max_value=datetime(2099, 12, 31),
    timezones=st.just(UTC),
)
extra_counter_names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(
    lambda n: n not in COUNTER_NAMES
)
extra_counters = st.dictionaries(extra_counter_names, counts, max_size=2)

safe_json: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=10).filter(_safe_key), children, max_size=3)
    ),
    max_leaves=8,
)
"""JSON values for ``details`` and ``extensions``: nothing secret-looking."""
kinds = st.sampled_from(EvidenceKind)
notes = st.none() | any_text
json_objects = st.dictionaries(st.text(max_size=10).filter(_safe_key), safe_json, max_size=3)

evidence = st.one_of(
    st.builds(EvidencePointer, kind=kinds, path=any_text, ref=st.none() | any_text, note=notes),
    st.builds(EvidencePointer, kind=kinds, path=st.none(), ref=any_text, note=notes),
)
exceptions = st.builds(
    lambda cls, trace: ExceptionInfo.model_validate({"class": cls, "trace": trace}),
    texts,
    st.none() | any_text,
)
nodes = st.builds(NodeRef, id=texts, attempt=st.none() | st.integers(min_value=0))


def skip_reasons(unit: SkipUnit) -> st.SearchStrategy[SkipReason]:
    """Skip reasons for ``unit``; a stage reason always counts 1."""
    return st.builds(
        SkipReason,
        code=st.sampled_from(ReasonCode),
        count=st.just(1) if unit is SkipUnit.STAGE else st.integers(1, 10**4),
        what=st.just(unit),
        note=st.none() | any_text,
    )


environments = st.builds(
    Environment,
    hostname=st.none() | any_text,
    os=texts,
    arch=texts,
    python_version=st.none() | any_text,
    toolchain=st.builds(Toolchain, name=texts, version=texts),
    git=st.none()
    | st.builds(
        GitInfo,
        commit=st.none() | st.text("0123456789abcdef", min_size=7, max_size=64),
        dirty=st.none() | st.booleans(),
    ),
    dependency_lock_hash=st.none() | hashes,
    config_fingerprint=hashes,
)
orchestrators = st.builds(
    OrchestratorInfo,
    name=texts,
    version=st.none() | any_text,
    run_id=st.none() | any_text,
    job=st.none() | any_text,
    attempt=st.none() | st.integers(),
    url=st.none() | any_text,
)

# --- the record strategy ------------------------------------------------------------------

_STAGE_STATUSES = {
    Status.SUCCESS: [StageStatus.SUCCESS],
    Status.EMPTY_SUCCESS: [StageStatus.SUCCESS],
    Status.PARTIAL_SUCCESS: [StageStatus.SUCCESS, StageStatus.SKIPPED],
    Status.ERROR: list(StageStatus),
}


@st.composite
def run_records(draw: st.DrawFn, status: Status) -> RunRecord:
    """Build a valid run record whose facts derive exactly ``status``.

    Errors, failed stages, missing required inputs and unpromoted required outputs appear
    only for ``error`` (which always holds at least one error object); skipped stages and
    unpromoted optional outputs only for ``error`` and ``partial_success`` (with a reason
    code whenever the run is ``partial_success``); ``empty_success`` is reached through a
    no-input-mode input or through promoted outputs that all have zero records.
    """
    error_ok = status is Status.ERROR
    degrade_ok = status in {Status.PARTIAL_SUCCESS, Status.ERROR}
    # How the target status is guaranteed (beyond what random choices give).
    force = draw(st.sampled_from(["stage", "output"]))  # partial_success
    empty_via_outputs = draw(st.booleans())  # empty_success

    now = draw(utc_times)
    created_at = now
    used_ids: set[str] = set()

    def tick() -> datetime:
        nonlocal now
        now += timedelta(microseconds=draw(st.integers(0, 10**8)))
        return now

    def object_id(kind: str, type_: str, stage: str) -> str:
        if draw(st.booleans()):
            candidate = runrecord.stable_id(kind, type_, stage, {"seq": len(used_ids)})
        else:
            candidate = draw(object_ids)
        base, n = candidate[:100], 0
        while candidate in used_ids or not _clean(candidate):
            candidate, n = f"{base}.{n}", n + 1
        used_ids.add(candidate)
        return candidate

    def error_object(stage: str) -> ErrorObject:
        type_ = draw(st.sampled_from(ErrorType))
        return ErrorObject(
            error_id=object_id("E", type_.value, stage),
            type=type_,
            stage=stage,
            message=draw(texts),
            details=draw(st.none() | json_objects),
            exception=draw(st.none() | exceptions),
            evidence=draw(st.lists(evidence, max_size=2)),
            remediation_hint=draw(texts),
            severity=draw(st.sampled_from(Severity)),
            recorded_at=tick(),
        )

    def warning_object(stage: str) -> WarningObject:
        type_ = draw(st.sampled_from(WarningType))
        return WarningObject(
            warning_id=object_id("W", type_.value, stage),
            type=type_,
            stage=stage,
            message=draw(texts),
            details=draw(st.none() | json_objects),
            evidence=draw(st.lists(evidence, max_size=2)),
            recorded_at=tick(),
        )

    def counters(
        reasons: list[SkipReason], n_errors: int, n_warnings: int, artifacts: int
    ) -> Counters:
        values: dict[str, int] = {}
        for unit in (SkipUnit.FILES, SkipUnit.RECORDS):
            skipped = sum(r.count for r in reasons if r.what is unit)
            processed = draw(counts)
            values[f"{unit}_seen"] = processed + skipped + draw(counts)
            values[f"{unit}_processed"] = processed
            values[f"{unit}_skipped"] = skipped
        values["artifacts_written"] = artifacts
        values["errors_count"] = n_errors
        values["warnings_count"] = n_warnings
        values.update(draw(extra_counters))
        return Counters.model_validate(values)

    errors: list[ErrorObject] = []
    warnings: list[WarningObject] = []

    # Stages, in execution order.
    plan = [
        (name, draw(st.sampled_from(_STAGE_STATUSES[status])))
        for name in draw(st.lists(stage_names, max_size=4, unique=True))
    ]
    if (
        status is Status.PARTIAL_SUCCESS
        and force == "stage"
        and all(s is not StageStatus.SKIPPED for _, s in plan)
    ):
        taken = {name for name, _ in plan}
        extra = draw(stage_names.filter(lambda n: n not in taken))
        plan.insert(draw(st.integers(0, len(plan))), (extra, StageStatus.SKIPPED))

    stages: list[StageRecord] = []
    for name, stage_status in plan:
        started_at: datetime | None = None
        completed_at: datetime | None = None
        if stage_status is not StageStatus.SKIPPED or draw(st.booleans()):
            started_at = tick()
        stage_warnings: list[str | WarningObject] = []
        for _ in range(draw(st.integers(0, 2))):
            warning = warning_object(name)
            if draw(st.booleans()):
                stage_warnings.append(warning)  # embedded in the stage
            else:
                warnings.append(warning)
                stage_warnings.append(warning.warning_id)
        stage_errors: list[str | ErrorObject] = []
        if stage_status is StageStatus.ERROR:
            for _ in range(draw(st.integers(1, 2))):
                error = error_object(name)
                if draw(st.booleans()):
                    stage_errors.append(error)
                else:
                    errors.append(error)
                    stage_errors.append(error.error_id)
        if stage_status is StageStatus.SUCCESS or (started_at is not None and draw(st.booleans())):
            completed_at = tick()
        reasons = [
            *draw(st.lists(skip_reasons(SkipUnit.FILES), max_size=2)),
            *draw(st.lists(skip_reasons(SkipUnit.RECORDS), max_size=2)),
        ]
        if stage_status is StageStatus.SKIPPED:
            reasons.append(draw(skip_reasons(SkipUnit.STAGE)))
        stages.append(
            StageRecord(
                stage=name,
                started_at=started_at,
                completed_at=completed_at,
                status=stage_status,
                counters=counters(
                    reasons, len(stage_errors), len(stage_warnings), draw(st.integers(0, 3))
                ),
                warnings=stage_warnings,
                errors=stage_errors,
                evidence=draw(st.lists(evidence, max_size=2)),
                node=draw(st.none() | nodes),
                skip_reasons=draw(st.permutations(reasons)),
            )
        )

    # Run-level errors and warnings (stage "run"), listed by no stage.
    if error_ok:
        errors.extend(error_object(RUN_STAGE) for _ in range(draw(st.integers(0, 2))))
        if not any(s.errors for s in stages) and not errors:
            errors.append(error_object(RUN_STAGE))
    warnings.extend(warning_object(RUN_STAGE) for _ in range(draw(st.integers(0, 2))))

    # Inputs, and the versions they were read with.
    read: dict[str, list[str]] = {}
    inputs: list[InputRef] = []
    for _ in range(draw(st.integers(0, 3))):
        required = draw(st.booleans())
        resolutions = [Resolution.PRESENT, Resolution.SUBSTITUTED]
        if not required or status is not Status.SUCCESS:
            resolutions.append(Resolution.MISSING)
        resolution = draw(st.sampled_from(resolutions))
        family = draw(families)
        reason: ReasonCode | None = None
        manifest_path = data_hash = version = None
        if resolution is Resolution.MISSING:
            if required and not error_ok:
                reason = ReasonCode.NO_INPUT_MODE  # anything else would be an error fact
            else:
                reason = draw(st.none() | st.sampled_from(ReasonCode))
        else:
            manifest_path, data_hash, version = draw(path_texts), draw(hashes), draw(versions)
            if version not in read.setdefault(family, []):
                read[family].append(version)
        inputs.append(
            InputRef(
                name=draw(texts),
                artifact_family=family,
                path=draw(path_texts),
                manifest_path=manifest_path,
                data_hash=data_hash,
                schema_version=version,
                required=required,
                resolution=resolution,
                reason=reason,
            )
        )
    if status is Status.EMPTY_SUCCESS and not empty_via_outputs:
        inputs.insert(
            draw(st.integers(0, len(inputs))),
            InputRef(
                name=draw(texts),
                artifact_family=draw(families),
                path=draw(path_texts),
                manifest_path=None,
                data_hash=None,
                schema_version=None,
                required=True,
                resolution=Resolution.MISSING,
                reason=ReasonCode.NO_INPUT_MODE,
            ),
        )

    # Outputs, and the versions they were written with.
    written: dict[str, list[str]] = {}
    outputs: list[OutputRef] = []
    empty_outputs = status is Status.EMPTY_SUCCESS and empty_via_outputs
    n_outputs = draw(st.integers(1 if empty_outputs else 0, 3))
    force_output = status is Status.PARTIAL_SUCCESS and force == "output"
    for i in range(n_outputs + force_output):
        forced = i == n_outputs  # the extra, degraded output partial_success needs
        required = False if forced else draw(st.booleans())
        allowed = error_ok if required else degrade_ok
        if forced:
            promotion = draw(st.sampled_from([PromotionStatus.STAGED, PromotionStatus.NOT_WRITTEN]))
        elif allowed and not empty_outputs:
            promotion = draw(st.sampled_from(PromotionStatus))
        else:
            promotion = PromotionStatus.PROMOTED
        out_reason: ReasonCode | None = None
        if promotion is not PromotionStatus.PROMOTED and not required:
            codes = st.sampled_from(ReasonCode)
            out_reason = draw(codes if status is Status.PARTIAL_SUCCESS else st.none() | codes)
        family = draw(families)
        manifest_path = data_hash = version = None
        record_count: int | None = None
        if promotion is not PromotionStatus.NOT_WRITTEN:
            drawn = draw(versions)
            manifest_path, data_hash, version = draw(path_texts), draw(hashes), drawn
            record_count = 0 if empty_outputs else draw(st.none() | counts)
            listed = written.setdefault(family, [])
            if promotion is PromotionStatus.PROMOTED and drawn not in listed:
                listed.append(drawn)
        outputs.append(
            OutputRef(
                name=draw(texts),
                artifact_family=family,
                path=draw(path_texts),
                manifest_path=manifest_path,
                data_hash=data_hash,
                schema_version=version,
                promotion_status=promotion,
                required=required,
                reason=out_reason,
                record_count=record_count,
            )
        )
    if status is Status.SUCCESS and outputs and all(o.record_count == 0 for o in outputs):
        # All promoted with zero records would be empty_success.
        count = draw(st.none() | st.integers(min_value=1))
        outputs[-1] = outputs[-1].model_copy(update={"record_count": count})

    def version_sets(by_family: dict[str, list[str]]) -> dict[str, str | list[str]]:
        result: dict[str, str | list[str]] = {}
        for family, listed in by_family.items():
            if not listed:
                continue
            one = len(listed) == 1 and draw(st.booleans())
            result[family] = listed[0] if one else listed
        return result

    # Run-level skips (outside any stage), then the run counters: the stages' summed.
    run_reasons = [
        *draw(st.lists(skip_reasons(SkipUnit.FILES), max_size=1)),
        *draw(st.lists(skip_reasons(SkipUnit.RECORDS), max_size=1)),
    ]
    run_values: dict[str, int] = {}
    for unit in (SkipUnit.FILES, SkipUnit.RECORDS):
        run_skipped = sum(r.count for r in run_reasons if r.what is unit)
        run_processed = draw(st.integers(0, 100))
        for key, extra_count in (
            ("seen", run_processed + run_skipped + draw(st.integers(0, 100))),
            ("processed", run_processed),
            ("skipped", run_skipped),
        ):
            name = f"{unit}_{key}"
            run_values[name] = extra_count + sum(getattr(s.counters, name) for s in stages)
    run_values["artifacts_written"] = sum(
        o.promotion_status is PromotionStatus.PROMOTED for o in outputs
    )
    run_values["errors_count"] = len(errors)
    run_values["warnings_count"] = len(warnings)
    run_values.update(draw(extra_counters))

    record = RunRecord(
        run_record_version="1.0.0",
        run_id=draw(names),
        created_at=created_at,
        # Only a run that crashed before finalization has no completion time.
        completed_at=(
            draw(st.none() | st.just(tick()))
            if any(e.type is ErrorType.CRASHED for e in errors)
            else tick()
        ),
        status=Status.SUCCESS,  # placeholder: derived below
        project=Project(
            project_id=draw(names), project_name=draw(texts), repo_path=draw(st.none() | any_text)
        ),
        entrypoint=Entrypoint(
            entrypoint_id=draw(names),
            entrypoint_name=draw(st.none() | any_text),
            command=draw(st.none() | any_text),
        ),
        stages=stages,
        inputs=inputs,
        outputs=outputs,
        schema_versions=SchemaVersions(read=version_sets(read), written=version_sets(written)),
        counters=Counters.model_validate(run_values),
        warnings=draw(st.permutations(warnings)),
        errors=draw(st.permutations(errors)),
        environment=draw(environments),
        orchestrator=draw(st.none() | orchestrators),
        skip_reasons=run_reasons,
        extensions=draw(json_objects),
    )
    return record.model_copy(update={"status": runrecord.assess(record).derived})


# --- 1. valid records round-trip ----------------------------------------------------------


_SCHEMA = jsonschema.Draft202012Validator(runrecord.load_schema())


def _problems(report: ValidationReport) -> list[str]:
    return [str(p) for p in report.problems]


@pytest.mark.parametrize("status", list(Status))
@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_records_round_trip(status: Status, data: st.DataObject) -> None:
    record = data.draw(run_records(status), label="record")
    event(f"{len(record.stages)} stages, {len(record.all_errors())} errors")

    # The strategy reaches the status it was asked for (so every status is covered).
    assert record.status is status
    assert runrecord.assess(record).derived is status

    blob = record.to_json()
    assert RunRecord.model_validate_json(blob) == record
    assert runrecord.read_record(blob) == record
    assert RunRecord.model_validate_json(blob).to_json() == blob  # byte-stable

    # The shipped JSON Schema agrees with the models.
    assert [e.message for e in _SCHEMA.iter_errors(json.loads(blob))] == []

    for source in (record, blob, json.loads(blob)):
        report = runrecord.validate_record(source)
        assert _problems(report) == []
        assert report.valid
        assert report.record == record


# --- 2. the validator never raises --------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
# Object keys are often the contract's field names, so that values land where they matter.
FIELD_NAMES = sorted(
    {
        name
        for model in (
            RunRecord,
            StageRecord,
            Counters,
            SkipReason,
            ErrorObject,
            WarningObject,
            EvidencePointer,
            InputRef,
            OutputRef,
            SchemaVersions,
            Environment,
        )
        for name in model.model_fields
    }
    | {"class"}
)
json_keys = st.sampled_from(FIELD_NAMES) | st.text()
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(json_keys, children),
    max_leaves=30,
)


def _check(report: object) -> ValidationReport:
    """Assert the invariants every report holds, whatever was validated."""
    assert isinstance(report, ValidationReport)
    assert isinstance(report.problems, tuple)
    for problem in report.problems:
        assert isinstance(problem, runrecord.Problem)
        assert problem.rule in runrecord.RULES, problem
        assert problem.rule != "validator.internal", problem
        assert problem.pointer == "" or problem.pointer.startswith("/"), problem
        assert problem.message
    assert report.valid is (not report.problems)
    if report.valid:
        assert report.record is not None
    else:
        assert len(report.problems) >= 1
    return report


@settings(max_examples=200, deadline=None)
@given(value=st.none() | st.booleans() | st.integers() | st.floats() | json_values)
@example(value={"run_record_version": []})
def test_never_raises_on_json_values(value: Any) -> None:
    # A ``str`` source is a path: plain strings are covered by the path test below.
    if isinstance(value, str):
        value = {"run_record_version": value}
    report = _check(runrecord.validate_record(value))
    assert not report.valid


@settings(max_examples=200, deadline=None)
@given(
    value=json_values,
    ensure_ascii=st.booleans(),
    indent=st.none() | st.integers(0, 4),
)
@example(value={"run_record_version": {}}, ensure_ascii=True, indent=None)
def test_never_raises_on_json_documents(value: Any, ensure_ascii: bool, indent: int | None) -> None:
    blob = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent).encode()
    report = _check(runrecord.validate_record(blob))
    assert not report.valid


_EXAMPLE_BLOBS = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.run_record.json"))]


@st.composite
def damaged_examples(draw: st.DrawFn) -> bytes:
    """An example record's bytes, truncated or with one byte replaced."""
    blob = draw(st.sampled_from(_EXAMPLE_BLOBS))
    at = draw(st.integers(0, len(blob) - 1))
    if draw(st.booleans()):
        return blob[:at]
    return blob[:at] + bytes([draw(st.integers(0, 255))]) + blob[at + 1 :]


@settings(max_examples=250, deadline=None)
@given(blob=st.binary() | damaged_examples())
def test_never_raises_on_bytes(blob: bytes) -> None:
    _check(runrecord.validate_record(blob))


@settings(max_examples=150, deadline=None)
@given(name=st.text())
@example(name="run\x00record.json")
def test_unreadable_paths_are_reported(name: str) -> None:
    # Under a directory that does not exist, no path can be read, whatever ``name`` holds.
    path = f"{NOWHERE}/{name}"
    for source in (path, Path(path)):
        report = _check(runrecord.validate_record(source))
        assert [p.rule for p in report.problems] == ["json.unreadable"]


# --- mutations of the example records -----------------------------------------------------

_EXAMPLE_DOCS: dict[str, dict[str, Any]] = {
    p.name.removesuffix(".run_record.json"): json.loads(p.read_text())
    for p in sorted(EXAMPLES.glob("*.run_record.json"))
}

JsonPath = tuple[str | int, ...]


def _paths(value: Any, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Every path to a nested value, parents before children (the root excluded)."""
    children: Any = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


_EXAMPLE_PATHS = {run_id: list(_paths(doc)) for run_id, doc in _EXAMPLE_DOCS.items()}

# Values close to what records hold, so that some mutations stay valid and reach the
# semantic rules, mixed with arbitrary JSON.
plausible_values: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        [
            0,
            1,
            -1,
            2**63,
            "",
            "run",
            "extract",
            "1.0",
            "2026-11-26T06:00:02Z",
            "2026-11-26T06:00:02.5+00:00",
            "2026-11-26T06:00:02",
            "2026-11-26T06:00:02+01:00",
            "2026-02-30T06:00:02Z",
            "2026-11-26",
            "password=hunter2",
            "blake3:" + "0" * 64,
            "md5:" + "0" * 32,
            [],
            {},
            None,
            True,
        ]
    ),
    st.sampled_from(
        [
            *Status,
            *StageStatus,
            *Resolution,
            *PromotionStatus,
            *ReasonCode,
            *SkipUnit,
            *ErrorType,
            *WarningType,
        ]
    ).map(str),
    st.integers(0, 100_000),
    json_values,
)


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    """An example record with one nested value replaced, or one key deleted."""
    run_id = draw(st.sampled_from(sorted(_EXAMPLE_DOCS)))
    doc = copy.deepcopy(_EXAMPLE_DOCS[run_id])
    paths = _EXAMPLE_PATHS[run_id]
    # Top-level fields half of the time: few of them, and each one matters.
    path = draw(st.sampled_from([p for p in paths if len(p) == 1]) | st.sampled_from(paths))
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
        event("deleted a key")
    else:
        parent[path[-1]] = draw(plausible_values)
        event("replaced a value")
    return doc


def test_examples_are_valid() -> None:
    """The mutation test starts from valid records."""
    assert len(_EXAMPLE_DOCS) >= 4
    for run_id, doc in _EXAMPLE_DOCS.items():
        assert _problems(runrecord.validate_record(doc)) == [], run_id


@settings(max_examples=300, deadline=None)
@given(doc=mutated_examples())
@example(doc={**_EXAMPLE_DOCS[SUCCESS_EXAMPLE], "run_record_version": ["1.0.0"]})
def test_never_raises_on_mutated_examples(doc: dict[str, Any]) -> None:
    from_mapping = _check(runrecord.validate_record(doc))
    blob = json.dumps(doc, indent=2).encode()
    from_bytes = _check(runrecord.validate_record(blob))
    event("valid" if from_mapping.valid else "invalid")

    # A parsed document and its bytes get the same answer.
    assert from_bytes.valid is from_mapping.valid
    assert [(p.pointer, p.rule) for p in from_bytes.problems] == [
        (p.pointer, p.rule) for p in from_mapping.problems
    ]
    if from_mapping.record is not None:
        # Past the schema, the model form gets the same answer as the parsed document.
        from_model = _check(runrecord.validate_record(from_mapping.record))
        assert [(p.pointer, p.rule) for p in from_model.problems] == [
            (p.pointer, p.rule) for p in from_mapping.problems
        ]
    if from_mapping.valid:
        # A record the validator accepts is written back as a record it accepts.
        record = from_mapping.record
        assert record is not None
        assert from_bytes.record == record
        assert _problems(runrecord.validate_record(record)) == []
        assert _problems(runrecord.validate_record(record.to_json())) == []
        assert RunRecord.model_validate_json(record.to_json()) == record


# --- timestamps ---------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(when=st.datetimes(timezones=st.just(UTC)))
@example(when=datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC))
def test_any_accepted_timestamp_round_trips(when: datetime) -> None:
    # The model accepts any aware UTC datetime; what it writes, it must read back.
    doc = {**_EXAMPLE_DOCS[CRASHED_EXAMPLE], "created_at": when, "completed_at": None}
    record = RunRecord.model_validate(doc)
    assert record.created_at == when
    assert _problems(runrecord.validate_record(record)) == []
    assert RunRecord.model_validate_json(record.to_json()) == record
