"""Finalize: assemble the fragments of a run into one record, validate it, promote it.

The status is derived from the facts (:mod:`runrecord.status`), never taken from a caller
except to make it worse. A record that fails validation is not promoted as it is: the run
is recorded as ``error`` with a ``record_invalid`` error naming the problems, and the
assembled attempt is kept as an evidence file — a record is always written.
"""

from __future__ import annotations

import functools
import gc
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, ParamSpec, TypeVar

from pydantic import JsonValue, ValidationError

from runrecord.environment import secret_values
from runrecord.errors import ConfigError, RecordExistsError, RunNotFoundError
from runrecord.fragments import Fragment, RunHeader
from runrecord.ids import check_name
from runrecord.model import (
    COUNTER_NAMES,
    Counters,
    ErrorObject,
    EvidencePointer,
    InputRef,
    OutputRef,
    RunRecord,
    SchemaVersions,
    SkipReason,
    StageRecord,
    WarningObject,
    format_timestamp,
)
from runrecord.recorder import (
    RegistryArg,
    _store,
    error_object,
    resolve_registry,
    warning_object,
)
from runrecord.redact import redact, redact_text
from runrecord.registry import Registry
from runrecord.status import assess
from runrecord.store import AnyStore, LatestPointer, StorePath
from runrecord.taxonomy import (
    ErrorType,
    EvidenceKind,
    PromotionStatus,
    ReasonCode,
    Resolution,
    Severity,
    Status,
    WarningType,
)
from runrecord.validate import Problem, read_record, validate_record

__all__ = ["FinalizeResult", "finalize_run", "staged_stages"]

P = ParamSpec("P")
R = TypeVar("R")

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


def _without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Pause cyclic garbage collection while ``function`` turns fragments into a record.

    Reading and assembling make tens of objects per fragment, all alive until the record
    is promoted and none in a reference cycle: the collector would walk them again and
    again, which made finalizing 10,000 fragments take half as long again as it needs to,
    and grow faster than the count. Reference counting still frees everything. Collection
    resumes (if it was on) when the last thread finalizing in this process is done.
    """

    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        global _gc_pausers, _gc_was_enabled  # noqa: PLW0603 - one process-wide switch
        with _gc_lock:
            if _gc_pausers == 0:
                _gc_was_enabled = gc.isenabled()
                gc.disable()
            _gc_pausers += 1
        try:
            return function(*args, **kwargs)
        finally:
            with _gc_lock:
                _gc_pausers -= 1
                if _gc_pausers == 0 and _gc_was_enabled:
                    gc.enable()

    return paused


@dataclass(frozen=True, slots=True)
class FinalizeResult:
    """What :func:`finalize_run` did.

    Attributes:
        record: The promoted record.
        path: Its file.
        created: False when the record already existed (``exist_ok=True``).
        problems: Validation problems of the assembled record, when it had to be written
            as ``record_invalid`` instead.
    """

    record: RunRecord
    path: StorePath
    created: bool = True
    problems: tuple[Problem, ...] = ()


def _read_fragments(store: AnyStore, run_id: str) -> tuple[list[Fragment], list[ErrorObject]]:
    fragments: list[Fragment] = []
    errors: list[ErrorObject] = []
    for path in store.fragment_paths(run_id):
        try:
            fragments.append(Fragment.model_validate_json(path.read_bytes()))
        except (OSError, ValidationError, ValueError) as exc:
            errors.append(
                error_object(
                    ErrorType.RECORD_INVALID,
                    f"fragment {path.name} is unreadable: {type(exc).__name__}",
                    details={"fragment": path.name},
                    remediation_hint="the fragment was corrupted on disk; the facts it held "
                    "are missing from this record — rerun the run",
                    evidence=[EvidencePointer(kind=EvidenceKind.FILE, path=str(path))],
                    key=f"fragment unreadable {type(exc).__name__}",
                )
            )
    return fragments, errors


@_without_gc
def staged_stages(run_id: str, *, registry: RegistryArg = None) -> list[StageRecord]:
    """The stage attempts an open run has recorded so far, in the order they were written.

    Orchestrator finalizers use it to tell which nodes left no stage (a killed task) before
    they write the missing ones and finalize. Error and warning lists hold ids.

    Args:
        run_id: The open run.
        registry: The registry locating the store, its path, or None to discover it.

    Returns:
        The stages; empty when the run is not open (or already finalized).
    """
    store = _store(resolve_registry(registry))
    fragments, _ = _read_fragments(store, check_name(run_id))
    stages = []
    for fragment in fragments:
        part = fragment.stage
        if part is None:
            continue
        counters = {**dict.fromkeys(COUNTER_NAMES, 0), **part.counters}
        counters["errors_count"] = len(fragment.errors) + len(part.error_refs)
        counters["warnings_count"] = len(fragment.warnings)
        stages.append(
            StageRecord(
                stage=part.stage,
                started_at=part.started_at,
                completed_at=part.completed_at,
                status=part.status,
                counters=Counters.model_validate(counters),
                warnings=[w.warning_id for w in fragment.warnings],
                errors=[*(e.error_id for e in fragment.errors), *part.error_refs],
                evidence=part.evidence,
                node=part.node,
                skip_reasons=part.skip_reasons,
            )
        )
    return stages


def _unique_ids(errors: list[ErrorObject], warnings: list[WarningObject]) -> None:
    """Make ids unique within the run: a repeated failure gets ``-2``, ``-3``, ..."""
    seen: dict[str, int] = {}
    for i, err in enumerate(errors):
        n = seen[err.error_id] = seen.get(err.error_id, 0) + 1
        if n > 1:
            errors[i] = err.model_copy(update={"error_id": f"{err.error_id}-{n}"})
    seen.clear()
    for i, warn in enumerate(warnings):
        n = seen[warn.warning_id] = seen.get(warn.warning_id, 0) + 1
        if n > 1:
            warnings[i] = warn.model_copy(update={"warning_id": f"{warn.warning_id}-{n}"})


def _mentions(objects: Sequence[ErrorObject | WarningObject], key: str, name: str) -> bool:
    return any(o.details is not None and o.details.get(key) == name for o in objects)


def _assemble(
    header: RunHeader,
    fragments: Sequence[Fragment],
    unreadable: Sequence[ErrorObject],
    registry: Registry,
    *,
    completed_at: datetime | None,
    crashed: bool,
    failure: ErrorObject | None,
) -> RunRecord:
    run_errors: list[ErrorObject] = [*unreadable]
    run_warnings: list[WarningObject] = []
    run_counters: dict[str, int] = {}
    run_skips: list[SkipReason] = []
    inputs: list[InputRef] = []
    outputs: list[OutputRef] = []
    staged: list[tuple[Fragment, list[ErrorObject], list[WarningObject]]] = []

    for fragment in fragments:
        errs, warns = list(fragment.errors), list(fragment.warnings)
        if fragment.kind == "stage" and fragment.stage is not None:
            staged.append((fragment, errs, warns))
            continue
        run_errors += errs
        run_warnings += warns
        if fragment.input is not None:
            inputs.append(fragment.input)
        if fragment.output is not None:
            outputs.append(fragment.output)
        for name, value in fragment.counters.items():
            run_counters[name] = run_counters.get(name, 0) + value
        run_skips += fragment.skip_reasons

    # Facts that need an explanation get one, so that no error status goes unexplained.
    no_input = header.entrypoint.entrypoint_id in registry.no_input_entrypoints
    every = [*run_errors, *(e for _, errs, _ in staged for e in errs)]
    for i, inp in enumerate(inputs):
        if inp.resolution is not Resolution.MISSING or not inp.required:
            continue
        if no_input:
            inputs[i] = inp.model_copy(update={"reason": ReasonCode.NO_INPUT_MODE})
        elif not _mentions(every, "input", inp.name):
            run_errors.append(
                error_object(
                    ErrorType.INPUT_MISSING,
                    f"required input {inp.name!r} is missing at {inp.path}",
                    details={"input": inp.name, "path": inp.path},
                )
            )
    for out in outputs:
        if out.promotion_status is PromotionStatus.PROMOTED:
            continue
        if out.required and not _mentions(every, "output", out.name):
            run_errors.append(
                error_object(
                    ErrorType.OUTPUT_MISSING
                    if out.promotion_status is PromotionStatus.NOT_WRITTEN
                    else ErrorType.PROMOTION_FAILED,
                    f"required output {out.name!r} is {out.promotion_status}",
                    details={"output": out.name, "path": out.path},
                    remediation_hint="fix the stage errors before it and rerun",
                )
            )
        elif not out.required and not _mentions(run_warnings, "output", out.name):
            run_warnings.append(
                warning_object(
                    WarningType.OPTIONAL_OUTPUT_MISSING,
                    f"optional output {out.name!r} is {out.promotion_status}",
                    details={"output": out.name},
                )
            )
    if crashed:
        run_errors.append(_crash_error(header, staged))
    if failure is not None:
        run_errors.append(failure)

    # Ids unique across the run; stages list the ids of their objects.
    all_errors = [*run_errors, *(e for _, errs, _ in staged for e in errs)]
    all_warnings = [*run_warnings, *(w for _, _, warns in staged for w in warns)]
    _unique_ids(all_errors, all_warnings)
    stage_errors, stage_warnings = (
        iter(all_errors[len(run_errors) :]),
        iter(all_warnings[len(run_warnings) :]),
    )
    stages: list[tuple[Fragment, StageRecord]] = []
    for fragment, errs, warns in staged:
        part = fragment.stage
        assert part is not None  # noqa: S101 - filtered above
        ids = [next(stage_errors).error_id for _ in errs] + part.error_refs
        wids = [next(stage_warnings).warning_id for _ in warns]
        counters = {**dict.fromkeys(COUNTER_NAMES, 0), **part.counters}
        counters["errors_count"], counters["warnings_count"] = len(ids), len(wids)
        stages.append(
            (
                fragment,
                StageRecord(
                    stage=part.stage,
                    started_at=part.started_at,
                    completed_at=part.completed_at,
                    status=part.status,
                    counters=Counters.model_validate(counters),
                    warnings=list(wids),
                    errors=list(ids),
                    evidence=part.evidence,
                    node=part.node,
                    skip_reasons=part.skip_reasons,
                ),
            )
        )
    # Execution order: by start time; stages that never ran follow, in the order written.
    stages.sort(
        key=lambda fs: (
            fs[1].started_at is None,
            fs[1].started_at or fs[0].written_at,
            fs[0].written_at,
        )
    )

    totals = dict.fromkeys(COUNTER_NAMES, 0)
    for _, stage in stages:
        for name, value in stage.counters.as_dict().items():
            totals[name] = totals.get(name, 0) + value
    for name, value in run_counters.items():
        totals[name] = totals.get(name, 0) + value
    totals["errors_count"], totals["warnings_count"] = len(all_errors), len(all_warnings)
    totals["artifacts_written"] = sum(
        o.promotion_status is PromotionStatus.PROMOTED for o in outputs
    )

    read: dict[str, list[str]] = {}
    for inp in inputs:
        if inp.schema_version is not None and inp.resolution is not Resolution.MISSING:
            read.setdefault(inp.artifact_family, [])
            if inp.schema_version not in read[inp.artifact_family]:
                read[inp.artifact_family].append(inp.schema_version)
    written: dict[str, list[str]] = {}
    for out in outputs:
        if out.promotion_status is PromotionStatus.PROMOTED and out.schema_version is not None:
            written.setdefault(out.artifact_family, [])
            if out.schema_version not in written[out.artifact_family]:
                written[out.artifact_family].append(out.schema_version)

    end = None
    if not crashed:
        stamps = [
            header.created_at,
            *(t for _, s in stages for t in (s.started_at, s.completed_at) if t),
        ]
        stamps += [e.recorded_at for e in all_errors] + [w.recorded_at for w in all_warnings]
        # Clocks of other machines may run ahead: never end before anything recorded.
        end = max([completed_at or datetime.now(UTC), *stamps])

    record = RunRecord(
        run_record_version="1.0.0",
        run_id=header.run_id,
        created_at=header.created_at,
        completed_at=end,
        status=Status.SUCCESS,
        project=header.project,
        entrypoint=header.entrypoint,
        stages=[s for _, s in stages],
        inputs=inputs,
        outputs=outputs,
        schema_versions=SchemaVersions(
            read={k: v[0] if len(v) == 1 else v for k, v in read.items()},
            written={k: v[0] if len(v) == 1 else v for k, v in written.items()},
        ),
        counters=Counters.model_validate(totals),
        warnings=sorted(all_warnings, key=lambda w: w.recorded_at),
        errors=sorted(all_errors, key=lambda e: e.recorded_at),
        environment=header.environment,
        orchestrator=header.orchestrator,
        skip_reasons=run_skips,
        extensions=header.extensions,
    )
    return record.model_copy(update={"status": assess(record).derived})


def _crash_error(
    header: RunHeader, staged: Sequence[tuple[Fragment, list[ErrorObject], list[WarningObject]]]
) -> ErrorObject:
    finished = [f.stage.stage for f, _, _ in staged if f.stage is not None]
    last = f"; the last stage recorded was {finished[-1]!r}" if finished else "; no stage finished"
    where = "" if header.detached else f" (pid {header.writer.pid} on {header.writer.host})"
    return error_object(
        ErrorType.CRASHED,
        f"the run ended before it was finalized{where}: recovered from {len(finished)} "
        f"finished stage{'s' if len(finished) != 1 else ''}{last}",
        details={
            "host": header.writer.host,
            "pid": header.writer.pid,
            "stages_recovered": len(finished),
        },
        severity=Severity.FATAL,
        key="the run ended before it was finalized",
    )


def _invalid_fallback(
    record: RunRecord, problems: Sequence[Problem], evidence: StorePath | None
) -> RunRecord:
    """An ``error`` record that names the problems and is valid whatever they were."""
    listed: list[JsonValue] = [
        {"pointer": p.pointer, "rule": p.rule, "message": p.message} for p in problems[:50]
    ]
    invalid = error_object(
        ErrorType.RECORD_INVALID,
        f"the assembled record failed validation ({len(problems)} problem"
        f"{'s' if len(problems) != 1 else ''}: "
        + "; ".join(f"{p.pointer or '/'} [{p.rule}]" for p in problems[:5])
        + ")",
        details={"problems": redact(listed)},
        remediation_hint="fix the code that reported inconsistent facts (counters, skip "
        "reasons, stage names); the assembled attempt is kept as evidence",
        evidence=[EvidencePointer(kind=EvidenceKind.FILE, path=str(evidence))] if evidence else [],
        key="the assembled record failed validation",
    )
    errors = [*record.errors, invalid]
    first = record.model_copy(
        update={
            "status": Status.ERROR,
            "errors": errors,
            "counters": record.counters.model_copy(update={"errors_count": len(errors)}),
        }
    )
    if validate_record(first).valid:
        return first
    # Stages or counters are what is wrong: keep identity, inputs, outputs and errors;
    # the stages live on in the evidence file.
    zero = dict.fromkeys(COUNTER_NAMES, 0)
    zero["errors_count"] = len(errors)
    zero["warnings_count"] = len(record.warnings)
    zero["artifacts_written"] = sum(
        o.promotion_status is PromotionStatus.PROMOTED for o in record.outputs
    )
    second = first.model_copy(
        update={"stages": [], "counters": Counters.model_validate(zero), "skip_reasons": []}
    )
    if validate_record(second).valid:
        return second
    errors = [invalid]
    return second.model_copy(
        update={
            "inputs": [],
            "outputs": [],
            "warnings": [],
            "errors": errors,
            "schema_versions": SchemaVersions(read={}, written={}),
            "extensions": {},
            "counters": Counters.model_validate(
                {**dict.fromkeys(COUNTER_NAMES, 0), "errors_count": 1}
            ),
        }
    )


@_without_gc
def finalize_run(
    run_id: str,
    *,
    registry: RegistryArg = None,
    completed_at: datetime | None = None,
    status: Status | str | None = None,
    reason: str | None = None,
    ending: Literal["crashed", "cancelled"] | None = None,
    exist_ok: bool = False,
    _crashed: bool = False,
) -> FinalizeResult:
    """Assemble an open run's fragments into one record and promote it.

    Reads the header and every fragment, orders stages by execution, sums stage counters
    into the run's counters, explains every error fact (a missing required input or
    output without an error object gets one), derives the status, validates, promotes
    ``<run_record_dir>/<run_id>.run_record.json`` (atomic, create-exclusive, read-only),
    moves the entrypoint's ``latest`` pointer, and only then removes the staging.

    Args:
        run_id: The open run.
        registry: The registry locating the store (the run's own registry, saved in its
            header when it was opened, decides optional outputs and no-input mode).
        completed_at: When the run completed; now by default.
        status: Ask for a worse status than the facts give: only ``error`` can be asked
            for (with ``reason``, recorded as an error when the facts are not already an
            error); a better status than the facts allow is never given.
        reason: Why the caller asks for ``error``, or how the run ended (``ending``).
        ending: How an orchestrator saw the run end when that was not by itself: its
            process ``crashed`` (killed, lost) or it was ``cancelled``. Recorded as that
            error (with ``reason``), so the run is ``error``, the same wording from every
            adapter.
        exist_ok: When the record already exists, return it instead of raising (for
            orchestrator callbacks that may fire twice).

    Returns:
        What was promoted.

    Raises:
        RunNotFoundError: The run was never opened.
        RecordExistsError: The record exists (and not ``exist_ok``).
        ConfigError: ``status`` asks for something other than ``error``.
        ResourceError: The store refused a write; the staging is kept for ``recover``.
    """
    reg = resolve_registry(registry)
    check_name(run_id)
    store = _store(reg)
    if store.has_record(run_id):
        return _existing(store, run_id, exist_ok)
    raw = store.read_header(run_id)
    if raw is None:
        raise RunNotFoundError(
            f"no open run {run_id} in {store.root}",
            hint="open it with runrecord.open_run(...) first, with the same registry",
        )
    header = RunHeader.model_validate_json(raw)
    failure = None
    if status is not None and Status(status) is not Status.ERROR:
        raise ConfigError(
            f"cannot ask for status {status}: only 'error' can be asked for",
            hint="success, empty_success and partial_success follow from the recorded facts",
        )
    said = redact_text(reason or "no reason given", extra=secret_values())
    if ending == "crashed":
        failure = error_object(
            ErrorType.CRASHED,
            f"the run's process ended before the run did: {said}",
            severity=Severity.FATAL,
            remediation_hint=ErrorType.CRASHED.remediation,
            key="the run's process ended before the run did",
        )
    elif ending == "cancelled":
        failure = error_object(
            ErrorType.CANCELLED,
            f"the run was cancelled: {said}",
            severity=Severity.FATAL,
            key="the run was cancelled",
        )
    elif status is not None:
        failure = error_object(
            ErrorType.RUNTIME_ERROR,
            f"marked as error by the caller: {said}",
            remediation_hint="read the caller's reason and the logs of the run",
            key="marked as error by the caller",
        )
    run_registry = Registry.model_validate(header.registry)
    fragments, unreadable = _read_fragments(store, run_id)
    record = _assemble(
        header,
        fragments,
        unreadable,
        run_registry,
        completed_at=completed_at,
        crashed=_crashed,
        failure=None,
    )
    # The orchestrator saw the run crash or be cancelled, or asks for error: unless the facts
    # say so already, what it saw becomes an error of the record.
    said_already = failure is not None and (
        any(e.type == failure.type for e in record.all_errors())
        if ending is not None
        else record.status is Status.ERROR
    )
    if failure is not None and not said_already:
        record = _assemble(
            header,
            fragments,
            unreadable,
            run_registry,
            completed_at=completed_at,
            crashed=_crashed,
            failure=failure,
        )
    report = validate_record(record, registry=run_registry)
    problems = report.problems
    if problems:
        attempt = store.write_evidence(run_id, "invalid-record.json", _dump_attempt(record))
        record = _invalid_fallback(record, problems, attempt)
    try:
        path = store.promote(run_id, record.to_json())
    except RecordExistsError:
        return _existing(store, run_id, exist_ok)
    store.update_latest(
        LatestPointer(
            entrypoint_id=record.entrypoint.entrypoint_id,
            run_id=record.run_id,
            created_at=format_timestamp(record.created_at),
            status=record.status.value,
        )
    )
    store.remove_staging(run_id)
    return FinalizeResult(record=record, path=path, created=True, problems=problems)


def _dump_attempt(record: RunRecord) -> bytes:
    return json.dumps(record.model_dump(mode="json"), indent=2).encode() + b"\n"


def _existing(store: AnyStore, run_id: str, exist_ok: bool) -> FinalizeResult:
    path = store.record_path(run_id)
    if not exist_ok:
        raise RecordExistsError(
            f"run {run_id} is already finalized at {path}",
            hint="records are never overwritten; pass exist_ok=True to accept the existing one",
        )
    record = read_record(path)
    if store.has_staging(run_id):
        store.remove_staging(run_id)
    return FinalizeResult(record=record, path=path, created=False)
