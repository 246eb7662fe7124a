"""The validator: schema checks plus the rules a JSON Schema cannot express.

:func:`validate_record` accepts a :class:`~runrecord.model.RunRecord`, a parsed mapping,
bytes or a path, and returns a :class:`ValidationReport` listing *every* problem, each
with a JSON pointer, a rule id (see :data:`RULES`) and a message. It never raises on
malformed input. Semantic rules run once the record is well-formed (it passes the schema);
until then the report holds the schema problems.

:func:`read_record` is the strict reader for code: it returns the record or raises.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from runrecord.errors import RecordInvalidError, RunRecordError, SchemaMismatchError
from runrecord.ids import ID_PATTERN, NAME_PATTERN
from runrecord.model import (
    HASH_PATTERN,
    UNION_TAGS,
    Counters,
    ErrorObject,
    RunRecord,
    StageRecord,
    WarningObject,
)
from runrecord.objectstore import ObjectPath, is_url
from runrecord.reader import JsonSyntaxError, known_versions, parse_json, upgrade
from runrecord.redact import escape_pointer, find_secrets
from runrecord.registry import Registry
from runrecord.status import assess
from runrecord.taxonomy import (
    RUN_STAGE,
    PromotionStatus,
    ReasonCode,
    Resolution,
    SkipUnit,
    StageStatus,
    Status,
)

__all__ = ["RULES", "Problem", "RecordSource", "ValidationReport", "read_record", "validate_record"]

RecordSource = RunRecord | Mapping[str, Any] | bytes | str | os.PathLike[str] | ObjectPath
"""What :func:`validate_record` accepts: a model, a parsed JSON object, the record's bytes,
or the path of a record file (``str`` is always a path)."""

RULES: dict[str, str] = {
    # reading
    "json.unreadable": "The file cannot be read (missing, a directory, no permission).",
    "json.empty": "The document is empty.",
    "json.syntax": "Not one strict UTF-8 JSON document: truncated, corrupt, NaN or Infinity.",
    "json.duplicate_key": "An object has the same key twice.",
    "json.not_object": "The document is not a JSON object.",
    "version.unknown": "`run_record_version` is not a version this library knows "
    "(a `schema_mismatch`).",
    # schema
    "schema.required": "A required field is missing.",
    "schema.unknown_field": "A field the contract does not define; extra data belongs under "
    "`extensions`.",
    "schema.type": "A value has the wrong JSON type.",
    "schema.enum": "A value is not in its controlled vocabulary.",
    "schema.range": "A number or length is out of range (negative counter, empty string).",
    "schema.name": "A run id, entrypoint, project, stage, family or object id is not "
    "filename-safe (`[A-Za-z0-9._-]`, at most 128 characters, no leading dot).",
    "schema.hash": 'A hash is not `"<algorithm>:<hex>"` with blake3 or sha256.',
    "schema.pattern": "A value does not match its pattern (git commit).",
    "schema.evidence_target": "An evidence pointer has neither `path` nor `ref`.",
    "schema.counter_name": "An extra counter name is not snake_case.",
    "timestamp.format": "A timestamp is not ISO 8601 (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`).",
    "timestamp.utc": "A timestamp is naive or not in UTC.",
    # semantic
    "timestamp.order": "An end time is earlier than its start (`completed_at` < `created_at` "
    "or a stage's `completed_at` < `started_at`).",
    "timestamp.completed_null": "`completed_at` is null but the record holds no `crashed` "
    "error (only a run that ended before finalization has no completion time).",
    "run_id.filename": "The file's name is not `<run_id>.run_record.json` for the run id it "
    "holds (a renamed or copied record).",
    "path.unsafe": "An input or output path holds control characters (NUL, newline, ...).",
    "stage.order": "Stages are not in execution order (`started_at` decreases).",
    "stage.times": "A successful stage lacks `started_at` or `completed_at`.",
    "stage.status": "A stage's status disagrees with its errors (error without an error "
    "object, success with one).",
    "stage.skip_reason": "A skipped stage has no skip reason with `what: stage`.",
    "counters.errors_count": "`errors_count` differs from the number of error objects at "
    "that level.",
    "counters.warnings_count": "`warnings_count` differs from the number of warning objects "
    "at that level.",
    "counters.processed_exceeds_seen": "processed + skipped exceeds seen, for files or records.",
    "counters.skip_reason": "Skipped files or records lack reason codes (in a stage, the "
    "reason counts must add up to the skipped counter).",
    "counters.artifacts_written": "`artifacts_written` differs from the number of promoted "
    "outputs.",
    "ref.unresolved": "A stage's error or warning id names no object in the record.",
    "ref.duplicate": "Two error or warning objects share an id.",
    "ref.stage_mismatch": "A stage lists an error or warning whose `stage` is another stage.",
    "linkage.input": "A present or substituted input lacks `manifest_path` or `data_hash`, or "
    "(in a run that is not `error`) `schema_version`.",
    "linkage.output": "A staged or promoted output lacks `manifest_path`, `data_hash` or "
    "`schema_version`.",
    "linkage.schema_versions": "`schema_versions` does not list the version of an input read "
    "or an output written.",
    "status.error_facts": "The facts require `error` (an error object, a failed stage, a "
    "missing required input, an unpromoted required output) but the status is not `error`.",
    "status.error_unexplained": "The status is `error` but the record holds no error object.",
    "status.partial_unjustified": "`partial_success` without an optional part that failed or "
    "was skipped, or such a part lacks a reason code.",
    "status.success_degraded": "`success` or `empty_success` although optional parts failed "
    "or stages were skipped (that is `partial_success`).",
    "status.empty_unjustified": "`empty_success` without a declared no-input mode or valid "
    "empty outputs (all promoted, manifests, `record_count` 0).",
    "status.no_input_mode": "A required input is absent under `no_input_mode` but the status "
    "is neither `empty_success` nor `error`.",
    "secret.leak": "A value looks like a secret (password=, token, credentials in a URL, "
    "a private key); redact it before writing.",
    # registry-aware (only when a registry is given)
    "registry.project": "`project.project_id` differs from the registry's.",
    "registry.stage": "A stage name is not in the registry's stage set.",
    "registry.optional_output": "An output is `required: false` but the registry does not "
    "declare it optional.",
    "registry.optional_stage": "A stage was skipped in a run that is not `error`, but the "
    "registry does not declare it optional.",
    "registry.no_input_mode": "`no_input_mode` is used by an entrypoint the registry does "
    "not list in `no_input_entrypoints`.",
    "registry.records_stance": "Record counters are non-zero although the registry says "
    "records are not a concept.",
    "validator.internal": "The validator itself failed; please report it with the record.",
}
"""Every rule id the validator reports, with what it means."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a record.

    Attributes:
        pointer: JSON pointer (RFC 6901) of the offending value; ``""`` is the whole document.
        rule: Rule id, a key of :data:`RULES`.
        message: What is wrong, for a person.
    """

    pointer: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of validating one record.

    Attributes:
        source: What was validated (a path, or a description such as ``<bytes>``).
        problems: Every problem found, in document order of discovery.
        record: The parsed record when it passed the schema, else ``None`` (a record with
            only semantic problems is still returned, for inspection).
    """

    source: str
    problems: tuple[Problem, ...]
    record: RunRecord | None

    @property
    def valid(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def raise_if_invalid(self) -> RunRecord:
        """Return the record, or raise when there are problems.

        Returns:
            The valid record.

        Raises:
            SchemaMismatchError: The record's version is unknown.
            RecordInvalidError: Any other problem.
        """
        if self.record is not None and not self.problems:
            return self.record
        rules = {p.rule for p in self.problems}
        summary = "; ".join(str(p) for p in self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        if "version.unknown" in rules:
            raise SchemaMismatchError(
                f"{self.source}: {summary}",
                problems=self.problems,
                hint=f"this library reads run_record_version {', '.join(known_versions())}; "
                "upgrade runrecord to read newer records",
            )
        raise RecordInvalidError(
            f"{self.source}: invalid run record: {summary}{more}",
            problems=self.problems,
            hint="run `runrecord validate` on the file for every problem; fix the producer, "
            "never the promoted record",
        )


def validate_record(source: RecordSource, *, registry: Registry | None = None) -> ValidationReport:
    """Validate a run record and report every problem.

    Args:
        source: A :class:`RunRecord`, a parsed JSON object, the record's bytes, a path
            (``str`` or path-like) to a record file, or an object storage URL or
            :class:`~runrecord.objectstore.ObjectPath` of one.
        registry: The project registry; when given, registry-aware rules run too (stage
            set, optional outputs and stages, no-input entrypoints, records stance).

    Returns:
        The report; ``report.valid`` is True when nothing is wrong. Never raises on
        malformed input.

    Examples:
        >>> report = validate_record(b'{"run_record_version": "1.0.0"}')
        >>> report.valid, report.problems[0].rule
        (False, 'schema.required')
        >>> validate_record(b'{"run_record_version": "9.0.0"}').problems[0].rule
        'version.unknown'
    """
    if isinstance(source, str) and is_url(source):
        source = ObjectPath.from_url(source)
    described = _describe(source)
    try:
        return _validate(source, described, registry)
    except Exception as exc:  # noqa: BLE001 - the validator reports, it never raises
        problem = Problem("", "validator.internal", f"validator failed: {type(exc).__name__}")
        return ValidationReport(described, (problem,), None)


def read_record(source: RecordSource, *, registry: Registry | None = None) -> RunRecord:
    """Read and validate a run record.

    Args:
        source: As for :func:`validate_record`.
        registry: As for :func:`validate_record`.

    Returns:
        The valid record.

    Raises:
        SchemaMismatchError: The record's ``run_record_version`` is unknown.
        RecordInvalidError: The record is unreadable or invalid; ``problems`` lists why.
    """
    return validate_record(source, registry=registry).raise_if_invalid()


def _file(source: object) -> Path | ObjectPath | None:
    """The file or object a source names, if it names one."""
    if isinstance(source, ObjectPath):
        return source
    if isinstance(source, str | os.PathLike):
        return Path(source)
    return None


def _describe(source: object) -> str:
    if isinstance(source, ObjectPath):
        return str(source)
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, RunRecord):
        return f"<record {source.run_id}>"
    if isinstance(source, bytes | bytearray | memoryview):
        return "<bytes>"
    return f"<{type(source).__name__}>"


def _validate(source: object, described: str, registry: Registry | None) -> ValidationReport:
    # ``source`` is typed ``object``: callers without type checking pass anything.
    def fail(rule: str, message: str, pointer: str = "") -> ValidationReport:
        return ValidationReport(described, (Problem(pointer, rule, message),), None)

    obj: Any
    if isinstance(source, RunRecord):
        obj = source.model_dump(mode="json")
    elif isinstance(source, Mapping):
        obj = source
    else:
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
        elif (file := _file(source)) is not None:
            try:
                data = file.read_bytes()
            except (OSError, ValueError, RunRecordError) as exc:  # ValueError: a NUL in the path
                return fail("json.unreadable", f"cannot read {described}: {exc}")
        else:
            return fail("json.not_object", f"cannot validate a {type(source).__name__}")
        if not data.strip():
            return fail("json.empty", "the document is empty")
        try:
            obj = parse_json(data)
        except JsonSyntaxError as exc:
            return fail("json.duplicate_key" if exc.duplicate_key else "json.syntax", str(exc))

    if not isinstance(obj, Mapping):
        return fail("json.not_object", f"a run record is a JSON object, not {_json_type(obj)}")
    version = obj.get("run_record_version")
    if isinstance(version, str) and version not in known_versions():
        return fail(
            "version.unknown",
            f"run_record_version {version[:32]!r} is unknown; this library reads "
            f"{', '.join(known_versions())}",
            "/run_record_version",
        )
    obj = upgrade(dict(obj))

    try:
        record = RunRecord.model_validate(obj)
    except ValidationError as exc:
        schema_problems = tuple(_schema_problem(e) for e in exc.errors(include_url=False))
        return ValidationReport(described, schema_problems, None)

    problems = [*_semantic_problems(record), *_secret_problems(obj)]
    if (file := _file(source)) is not None:
        name = file.name
        if name != f"{record.run_id}{RECORD_SUFFIX}":
            problems.append(
                Problem(
                    "/run_id",
                    "run_id.filename",
                    f"file {name!r} holds run {record.run_id!r}; a record's file is "
                    f"{record.run_id}{RECORD_SUFFIX}",
                )
            )
    if registry is not None:
        problems.extend(_registry_problems(record, registry))
    return ValidationReport(described, tuple(problems), record)


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# --- schema problems -------------------------------------------------------------------

_PATTERN_RULES = {
    NAME_PATTERN: "schema.name",
    ID_PATTERN: "schema.name",
    HASH_PATTERN: "schema.hash",
}
_TYPE_RULES = {
    "missing": "schema.required",
    "extra_forbidden": "schema.unknown_field",
    "enum": "schema.enum",
    "literal_error": "schema.enum",
    "timestamp_format": "timestamp.format",
    "timestamp_not_utc": "timestamp.utc",
    "evidence_target": "schema.evidence_target",
    "counter_name": "schema.counter_name",
    "greater_than_equal": "schema.range",
    "string_too_short": "schema.range",
    "string_too_long": "schema.range",
    "too_short": "schema.range",
}


def _schema_problem(error: ErrorDetails) -> Problem:
    loc = [part for part in error["loc"] if part not in UNION_TAGS]
    pointer = "".join(f"/{escape_pointer(str(part))}" for part in loc)
    kind = error["type"]
    field = str(loc[-1]) if loc else "record"
    if kind == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        rule = _PATTERN_RULES.get(pattern, "schema.pattern")
    else:
        rule = _TYPE_RULES.get(kind, "schema.type")
    if kind == "missing":
        message = f"required field {field!r} is missing"
    elif kind == "extra_forbidden":
        message = f"unknown field {field!r}; put extra data under 'extensions'"
    elif rule == "schema.name":
        message = (
            f"{field} {_short(error.get('input'))} is not filename-safe "
            "([A-Za-z0-9._-], 1-128 characters, no leading dot)"
        )
    else:
        message = f"{error['msg']} (got {_short(error.get('input'))})"
    return Problem(pointer, rule, message)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- semantic problems -----------------------------------------------------------------


def _semantic_problems(record: RunRecord) -> Iterator[Problem]:
    yield from _timestamp_problems(record)
    yield from _path_problems(record)
    yield from _counter_problems("", record.counters, len(record.errors), len(record.warnings))
    yield from _top_skip_reason_problems(record)
    yield from _reference_problems(record)
    for i, stage in enumerate(record.stages):
        yield from _stage_problems(f"/stages/{i}", stage)
    yield from _linkage_problems(record)
    yield from _status_problems(record)


RECORD_SUFFIX = ".run_record.json"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _path_problems(record: RunRecord) -> Iterator[Problem]:
    for kind, refs in (("inputs", record.inputs), ("outputs", record.outputs)):
        for i, ref in enumerate(refs):
            for name in ("path", "manifest_path"):
                value = getattr(ref, name)
                if value is not None and _CONTROL_RE.search(value):
                    yield Problem(
                        f"/{kind}/{i}/{name}", "path.unsafe", f"{name} holds control characters"
                    )


def _timestamp_problems(record: RunRecord) -> Iterator[Problem]:
    if record.completed_at is None and not any(e.type == "crashed" for e in record.all_errors()):
        yield Problem(
            "/completed_at",
            "timestamp.completed_null",
            "completed_at is null but no crashed error says why the run never completed",
        )
    if record.completed_at is not None and record.completed_at < record.created_at:
        yield Problem("/completed_at", "timestamp.order", "completed_at is earlier than created_at")
    last_start = None
    for i, stage in enumerate(record.stages):
        if stage.started_at is None:
            continue
        if stage.completed_at is not None and stage.completed_at < stage.started_at:
            yield Problem(
                f"/stages/{i}/completed_at",
                "timestamp.order",
                f"stage {stage.stage!r} completed before it started",
            )
        if last_start is not None and stage.started_at < last_start:
            yield Problem(
                f"/stages/{i}/started_at",
                "stage.order",
                f"stage {stage.stage!r} started before the stage listed ahead of it; list "
                "stages in execution order",
            )
        last_start = stage.started_at


def _counter_problems(
    ptr: str, counters: Counters, n_errors: int, n_warnings: int
) -> Iterator[Problem]:
    if counters.errors_count != n_errors:
        yield Problem(
            f"{ptr}/counters/errors_count",
            "counters.errors_count",
            f"errors_count is {counters.errors_count} but there are {n_errors} error objects",
        )
    if counters.warnings_count != n_warnings:
        yield Problem(
            f"{ptr}/counters/warnings_count",
            "counters.warnings_count",
            f"warnings_count is {counters.warnings_count} but there are {n_warnings} "
            "warning objects",
        )
    for unit in ("files", "records"):
        seen = getattr(counters, f"{unit}_seen")
        done = getattr(counters, f"{unit}_processed") + getattr(counters, f"{unit}_skipped")
        if done > seen:
            yield Problem(
                f"{ptr}/counters/{unit}_seen",
                "counters.processed_exceeds_seen",
                f"{unit}_processed + {unit}_skipped = {done} exceeds {unit}_seen = {seen}",
            )


def _top_skip_reason_problems(record: RunRecord) -> Iterator[Problem]:
    reasons = [*record.skip_reasons, *(r for s in record.stages for r in s.skip_reasons)]
    for unit in (SkipUnit.FILES, SkipUnit.RECORDS):
        skipped = getattr(record.counters, f"{unit}_skipped")
        if skipped and not any(r.what is unit for r in reasons):
            yield Problem(
                f"/counters/{unit}_skipped",
                "counters.skip_reason",
                f"{skipped} {unit} skipped but no skip reason for {unit} in the record",
            )


def _reference_problems(record: RunRecord) -> Iterator[Problem]:
    for kind, objects in (("error", record.all_errors()), ("warning", record.all_warnings())):
        seen: set[str] = set()
        for obj in objects:
            oid = _id_of(obj)
            if oid in seen:
                yield Problem(
                    f"/{kind}s", "ref.duplicate", f"two {kind} objects share the id {oid!r}"
                )
            seen.add(oid)
    error_stage = {e.error_id: e.stage for e in record.errors}
    warning_stage = {w.warning_id: w.stage for w in record.warnings}
    for i, stage in enumerate(record.stages):
        for kind, items, index in (
            ("error", stage.errors, error_stage),
            ("warning", stage.warnings, warning_stage),
        ):
            for j, item in enumerate(items):
                item_stage = index.get(item) if isinstance(item, str) else item.stage
                ptr = f"/stages/{i}/{kind}s/{j}"
                if isinstance(item, str) and item not in index:
                    yield Problem(
                        ptr, "ref.unresolved", f"{kind} id {item!r} names no {kind} object"
                    )
                elif item_stage not in (stage.stage, None):
                    yield Problem(
                        ptr,
                        "ref.stage_mismatch",
                        f"stage {stage.stage!r} lists {kind} {_id_of(item)!r} of stage "
                        f"{item_stage!r}",
                    )


def _id_of(item: str | ErrorObject | WarningObject) -> str:
    if isinstance(item, str):
        return item
    return item.error_id if isinstance(item, ErrorObject) else item.warning_id


def _stage_problems(ptr: str, stage: StageRecord) -> Iterator[Problem]:
    yield from _counter_problems(ptr, stage.counters, len(stage.errors), len(stage.warnings))
    if stage.status is StageStatus.ERROR and not stage.errors:
        yield Problem(
            f"{ptr}/status", "stage.status", f"stage {stage.stage!r} is error without an error"
        )
    if stage.status is not StageStatus.ERROR and stage.errors:
        yield Problem(
            f"{ptr}/status",
            "stage.status",
            f"stage {stage.stage!r} is {stage.status} but lists errors",
        )
    if stage.status is StageStatus.SUCCESS and None in (stage.started_at, stage.completed_at):
        yield Problem(
            ptr, "stage.times", f"successful stage {stage.stage!r} needs both start and end times"
        )
    if stage.status is StageStatus.SKIPPED and not any(
        r.what is SkipUnit.STAGE for r in stage.skip_reasons
    ):
        yield Problem(
            f"{ptr}/skip_reasons",
            "stage.skip_reason",
            f"skipped stage {stage.stage!r} needs a skip reason with what: stage",
        )
    for unit in (SkipUnit.FILES, SkipUnit.RECORDS):
        skipped = getattr(stage.counters, f"{unit}_skipped")
        explained = sum(r.count for r in stage.skip_reasons if r.what is unit)
        if skipped != explained:
            yield Problem(
                f"{ptr}/counters/{unit}_skipped",
                "counters.skip_reason",
                f"{unit}_skipped is {skipped} but skip reasons account for {explained}",
            )


def _linkage_problems(record: RunRecord) -> Iterator[Problem]:
    read, written = record.schema_versions.read, record.schema_versions.written
    # An input whose manifest is missing or unreadable has no known schema version; the
    # run is then an error whose errors say so.
    input_fields = ["manifest_path", "data_hash"]
    if record.status is not Status.ERROR:
        input_fields.append("schema_version")
    for i, inp in enumerate(record.inputs):
        if inp.resolution is Resolution.MISSING:
            continue
        for name in input_fields:
            if getattr(inp, name) is None:
                yield Problem(
                    f"/inputs/{i}/{name}",
                    "linkage.input",
                    f"input {inp.name!r} is {inp.resolution} but has no {name}",
                )
        if inp.schema_version is not None and not _lists(
            read, inp.artifact_family, inp.schema_version
        ):
            yield Problem(
                "/schema_versions/read",
                "linkage.schema_versions",
                f"schema_versions.read lacks {inp.artifact_family}: {inp.schema_version}",
            )
    promoted = 0
    for i, out in enumerate(record.outputs):
        if out.promotion_status is PromotionStatus.NOT_WRITTEN:
            continue
        promoted += out.promotion_status is PromotionStatus.PROMOTED
        for name in ("manifest_path", "data_hash", "schema_version"):
            if getattr(out, name) is None:
                yield Problem(
                    f"/outputs/{i}/{name}",
                    "linkage.output",
                    f"output {out.name!r} is {out.promotion_status} but has no {name}",
                )
        if (
            out.promotion_status is PromotionStatus.PROMOTED
            and out.schema_version is not None
            and not _lists(written, out.artifact_family, out.schema_version)
        ):
            yield Problem(
                "/schema_versions/written",
                "linkage.schema_versions",
                f"schema_versions.written lacks {out.artifact_family}: {out.schema_version}",
            )
    if record.counters.artifacts_written != promoted:
        yield Problem(
            "/counters/artifacts_written",
            "counters.artifacts_written",
            f"artifacts_written is {record.counters.artifacts_written} but {promoted} outputs "
            "are promoted",
        )


def _lists(versions: Mapping[str, str | list[str]], family: str, version: str) -> bool:
    listed = versions.get(family)
    return listed == version or (isinstance(listed, list) and version in listed)


def _status_problems(record: RunRecord) -> Iterator[Problem]:
    facts = assess(record)
    status = record.status
    if facts.error_facts and status is not Status.ERROR:
        causes = "; ".join(f.message for f in facts.error_facts[:3])
        yield Problem("/status", "status.error_facts", f"status is {status} but {causes}")
        return
    if status is Status.ERROR:
        if not record.all_errors():
            yield Problem(
                "/status",
                "status.error_unexplained",
                "status is error but the record holds no error object saying why",
            )
        return
    if status is Status.PARTIAL_SUCCESS:
        if not facts.degraded:
            yield Problem(
                "/status",
                "status.partial_unjustified",
                "status is partial_success but no optional output failed and no stage was skipped",
            )
        for fact in facts.degraded:
            if fact.reason is None:
                yield Problem(
                    fact.pointer,
                    "status.partial_unjustified",
                    f"{fact.message} without a reason code",
                )
        return
    if facts.degraded:
        yield Problem(
            "/status",
            "status.success_degraded",
            f"status is {status} but {facts.degraded[0].message}; that is partial_success",
        )
    if facts.no_input_mode and status is not Status.EMPTY_SUCCESS:
        yield Problem(
            "/status",
            "status.no_input_mode",
            f"status is {status} but a required input is absent under no_input_mode",
        )
    if status is Status.EMPTY_SUCCESS and not (facts.no_input_mode or facts.empty_outputs):
        yield Problem(
            "/status",
            "status.empty_unjustified",
            "status is empty_success but there is neither a no_input_mode input nor a set of "
            "promoted outputs with manifests and record_count 0",
        )


def _secret_problems(obj: Mapping[str, Any]) -> Iterator[Problem]:
    for pointer in find_secrets(obj):
        yield Problem(pointer, "secret.leak", "value looks like a secret; redact it")


# --- registry-aware problems -----------------------------------------------------------


def _registry_problems(record: RunRecord, registry: Registry) -> Iterator[Problem]:
    if record.project.project_id != registry.project_id:
        yield Problem(
            "/project/project_id",
            "registry.project",
            f"project_id {record.project.project_id!r} differs from the registry's "
            f"{registry.project_id!r}",
        )
    allowed = {*registry.stages, RUN_STAGE}
    named = [(f"/stages/{i}/stage", s.stage) for i, s in enumerate(record.stages)]
    named += [(f"/errors/{i}/stage", e.stage) for i, e in enumerate(record.errors)]
    named += [(f"/warnings/{i}/stage", w.stage) for i, w in enumerate(record.warnings)]
    for pointer, name in named:
        if name not in allowed:
            yield Problem(
                pointer,
                "registry.stage",
                f"stage {name!r} is not in the registry's stages {list(registry.stages)}",
            )
    for i, out in enumerate(record.outputs):
        if not out.required and out.name not in registry.optional_outputs:
            yield Problem(
                f"/outputs/{i}/required",
                "registry.optional_output",
                f"output {out.name!r} is required: false but not in optional_outputs",
            )
    if record.status is not Status.ERROR:
        for i, stage in enumerate(record.stages):
            if stage.status is StageStatus.SKIPPED and stage.stage not in registry.optional_stages:
                yield Problem(
                    f"/stages/{i}/status",
                    "registry.optional_stage",
                    f"stage {stage.stage!r} was skipped but is not in optional_stages",
                )
    entry = record.entrypoint.entrypoint_id
    for i, inp in enumerate(record.inputs):
        if inp.reason is ReasonCode.NO_INPUT_MODE and entry not in registry.no_input_entrypoints:
            yield Problem(
                f"/inputs/{i}/reason",
                "registry.no_input_mode",
                f"entrypoint {entry!r} is not in no_input_entrypoints",
            )
    if registry.records_stance is not None:
        levels = [("", record.counters)]
        levels += [(f"/stages/{i}", s.counters) for i, s in enumerate(record.stages)]
        for ptr, counters in levels:
            for name in ("records_seen", "records_processed", "records_skipped"):
                if getattr(counters, name):
                    yield Problem(
                        f"{ptr}/counters/{name}",
                        "registry.records_stance",
                        f"{name} must stay 0: the registry says records are not a concept",
                    )
