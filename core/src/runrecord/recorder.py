"""The write path for runs whose pieces happen in different processes.

An orchestrator runs tasks in other processes, often on other machines, and the process
that opens a run is not the one that ends it. Each piece therefore goes to the store as its
own immutable fragment, and all state lives there, never in memory:

1. :func:`open_run` writes the run header (idempotent with ``exist_ok=True``);
2. :func:`write_stage`, :func:`resolve_input`, :func:`promote_output`,
   :func:`write_output` and :func:`write_note` each write one fragment;
3. :func:`runrecord.finalize_run` assembles and promotes the record.

The in-process API (:func:`runrecord.run`) is the same path in one process. Every string
is redacted before it is written; every name is checked before a byte is written.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import secrets
import shlex
import sys
import traceback
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal, TypeVar, overload

from pydantic import BaseModel, JsonValue, ValidationError

from runrecord import hashing
from runrecord._fs import rename_noreplace
from runrecord.environment import capture_environment, secret_values
from runrecord.errors import (
    ConfigError,
    CountersError,
    InputMissingError,
    IntegrityError,
    ManifestError,
    PromotionError,
    RecordExistsError,
    ResourceError,
    RunNotFoundError,
    RunRecordError,
    SchemaMismatchError,
)
from runrecord.fragments import Fragment, RunHeader, StagePart, Writer
from runrecord.ids import check_name, check_path, stable_id
from runrecord.manifest import (
    MANIFEST_SUFFIX,
    Manifest,
    build_manifest,
    manifest_path_for,
    read_manifest,
    verify,
    write_manifest,
)
from runrecord.model import (
    COUNTER_NAMES,
    Entrypoint,
    ErrorObject,
    EvidencePointer,
    ExceptionInfo,
    InputRef,
    NodeRef,
    OrchestratorInfo,
    OutputRef,
    Project,
    SkipReason,
    WarningObject,
)
from runrecord.objectstore import ObjectPath, ObjectStore, is_url, promote_to_object
from runrecord.redact import json_may_hold_secret, redact, redact_text
from runrecord.registry import Registry, load_registry
from runrecord.store import AnyStore, Store, StorePath
from runrecord.taxonomy import (
    RUN_STAGE,
    ErrorType,
    EvidenceKind,
    PromotionStatus,
    ReasonCode,
    Resolution,
    Severity,
    SkipUnit,
    StageStatus,
    WarningType,
)

__all__ = [
    "RegistryArg",
    "check_counts",
    "error_from_exception",
    "error_object",
    "new_run_id",
    "open_run",
    "promote_output",
    "resolve_input",
    "resolve_registry",
    "warning_object",
    "write_note",
    "write_output",
    "write_stage",
    "write_unreported_stage",
]

RegistryArg = Registry | str | os.PathLike[str] | None
"""A registry, the path of a registry file, or None to discover it."""

MAX_MESSAGE = 1024
MAX_TRACE = 64 * 1024
_DERIVED_COUNTERS = frozenset({"errors_count", "warnings_count"})
_EXCEPTION_TYPES: tuple[tuple[type[BaseException], ErrorType], ...] = (
    (TimeoutError, ErrorType.TIMEOUT),
    (KeyboardInterrupt, ErrorType.CANCELLED),
    (MemoryError, ErrorType.RESOURCE_ERROR),
)


def resolve_registry(registry: RegistryArg) -> Registry:
    """Return ``registry`` itself, or load it from a path, or discover it.

    Raises:
        ConfigError: No registry found, or it is invalid.
    """
    if isinstance(registry, Registry):
        return registry
    return load_registry(registry)


def _now() -> datetime:
    return datetime.now(UTC)


def _dump(model: BaseModel) -> bytes:
    """Serialize a fragment with every string redacted."""
    secrets_here = secret_values()
    text = model.model_dump_json()
    if not json_may_hold_secret(text, extra=secrets_here):  # most fragments: nothing to walk
        return text.encode()
    raw = model.model_dump(mode="json")
    data = redact(raw, extra=secrets_here)
    if data != raw:
        type(model).model_validate(data)  # what was redacted must leave it valid
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _short(text: str) -> str:
    text = text.strip() or "(no message)"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def new_run_id(entrypoint_id: str, now: datetime | None = None) -> str:
    """Make a fresh, filename-safe run id: ``<entrypoint>-<UTC time>-<random>``.

    Examples:
        >>> from datetime import datetime, UTC
        >>> new_run_id("sales.daily", datetime(2026, 11, 26, 6, 0, 2, tzinfo=UTC))[:29]
        'sales.daily-20261126T060002Z-'
    """
    stamp = (now or _now()).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{entrypoint_id[:100]}-{stamp}-{secrets.token_hex(5)}"


def _check_stage(registry: Registry, stage: str) -> str:
    check_name(stage, what="stage name")
    if stage != RUN_STAGE and stage not in registry.stages:
        raise ConfigError(
            f"stage {stage!r} is not in the registry's stages {list(registry.stages)}",
            hint=f"add {stage!r} to stages, or use one of the declared stages",
            path=str(registry.source) if registry.source else None,
            key="stages",
        )
    return stage


def _store(registry: Registry) -> AnyStore:
    location = registry.record_location
    if isinstance(location, ObjectPath):
        return ObjectStore(location)  # shares the location's connection
    return _local_store(location)


@functools.lru_cache(maxsize=64)  # every fragment asks; a store holds nothing but its place
def _local_store(location: Path) -> Store:
    return Store(location)


def _writable(store: AnyStore, run_id: str) -> None:
    """Refuse fragments for a run that is not open, or already finalized."""
    check_name(run_id)
    if store.has_record(run_id):
        raise RecordExistsError(
            f"run {run_id} is already finalized",
            hint="a finalized run takes no more fragments; start a new run",
        )
    if not store.is_open(run_id):
        raise RunNotFoundError(
            f"no open run {run_id} in {store.root}",
            hint="open it first with runrecord.open_run(...), with the same registry",
        )


# --- open ----------------------------------------------------------------------------


def open_run(
    entrypoint: str,
    *,
    registry: RegistryArg = None,
    run_id: str | None = None,
    command: str | Sequence[str] | None = None,
    config: Mapping[str, object] | None = None,
    orchestrator: OrchestratorInfo | None = None,
    extensions: Mapping[str, JsonValue] | None = None,
    entrypoint_name: str | None = None,
    detached: bool = False,
    exist_ok: bool = False,
) -> str:
    """Open a run: write its header to the store's staging area.

    Args:
        entrypoint: Stable entrypoint id (``sales.daily``), filename-safe.
        registry: The project registry, its path, or None to discover it.
        run_id: The run id; a fresh one (:func:`new_run_id`) by default. Adapters derive
            it from the orchestrator's run id so that every process finds the same run.
        command: The command as executed (redacted before it is written); the current
            process's command line by default.
        config: The effective configuration; only its fingerprint is stored.
        orchestrator: The orchestrator's identifiers for the ``orchestrator`` block.
        extensions: Extra data for the record's ``extensions``.
        entrypoint_name: Human-readable name of the entrypoint.
        detached: True when the run spans processes (its opener may exit while the run
            goes on): ``recover`` then judges it by the age of its newest fragment rather
            than by the opener's pid.
        exist_ok: Return quietly when the run is already open (every process of an
            orchestrator's run may call this; the first one writes the header).

    Returns:
        The run id.

    Raises:
        UnsafeNameError: The entrypoint or run id is not filename-safe (nothing written).
        RecordExistsError: The run is already finalized, or already open and not
            ``exist_ok``.
        ConfigError: No valid registry.
        ResourceError: The store is not writable.
    """
    reg = resolve_registry(registry)
    check_name(entrypoint, what="entrypoint id")
    if run_id is not None:
        check_name(run_id)
    store = _store(reg)
    attempts = 1 if run_id is not None else 3
    for _ in range(attempts):
        rid = run_id or new_run_id(entrypoint)
        if store.has_record(rid):
            raise RecordExistsError(
                f"run {rid} is already finalized at {store.record_path(rid)}",
                hint="records are never overwritten; use a new run id",
            )
        if exist_ok and store.read_header(rid) is not None:
            return rid
        if command is None:
            command = sys.argv
        shown = command if isinstance(command, str) else shlex.join(command)
        header = RunHeader(
            run_id=rid,
            created_at=_now(),
            project=Project(project_id=reg.project_id, project_name=reg.project_name),
            entrypoint=Entrypoint(
                entrypoint_id=entrypoint,
                entrypoint_name=entrypoint_name,
                command=redact_text(shown, extra=secret_values()) or None,
            ),
            environment=capture_environment(root=reg.root, registry=reg, config=config),
            orchestrator=orchestrator,
            extensions=dict(extensions or {}),
            writer=Writer.current(),
            detached=detached,
            registry=reg.model_dump(mode="json"),
            registry_root=str(reg.root),
        )
        if store.write_header(rid, _dump(header)):
            return rid
        if exist_ok:
            return rid
        if run_id is not None:
            raise RecordExistsError(
                f"run {rid} is already open",
                hint="pass exist_ok=True to join an open run, or use a new run id",
            )
    raise RecordExistsError(  # pragma: no cover - three random ids collided
        f"could not find a free run id for {entrypoint}", hint="retry"
    )


# --- error and warning objects -------------------------------------------------------


def error_object(
    type: ErrorType | str,
    message: str,
    *,
    stage: str = RUN_STAGE,
    details: Mapping[str, JsonValue] | None = None,
    remediation_hint: str | None = None,
    severity: Severity | str = Severity.ERROR,
    evidence: Iterable[EvidencePointer] = (),
    exception: ExceptionInfo | None = None,
    key: str | Mapping[str, object] | None = None,
) -> ErrorObject:
    """Build an error object with a stable id and the current time.

    Args:
        type: Error taxonomy value.
        message: Short human-readable summary (redacted when written).
        stage: Stage where the error occurred; ``run`` for the run as a whole.
        details: Structured payload, safe to store.
        remediation_hint: What to do; the error type's typical remediation by default.
        severity: ``error`` or ``fatal``.
        evidence: Pointers to durable evidence.
        exception: The exception's class (and trace), if one was raised.
        key: What identifies this failure for its stable id; the message by default
            (digits ignored).

    Returns:
        The error object.

    Examples:
        >>> e = error_object("input_missing", "input 'orders' is missing", stage="extract")
        >>> e.error_id.startswith("E-input_missing-"), e.remediation_hint[:5]
        (True, 'Check')
    """
    kind = _vocabulary(ErrorType, type, "error type")
    check_name(stage, what="stage name")
    return _build(
        ErrorObject,
        error_id=stable_id("E", kind.value, stage, key if key is not None else message),
        type=kind,
        stage=stage,
        message=_short(message),
        details=dict(details) if details is not None else None,
        exception=exception,
        evidence=list(evidence),
        remediation_hint=remediation_hint or kind.remediation,
        severity=_vocabulary(Severity, severity, "severity"),
        recorded_at=_now(),
    )


def warning_object(
    type: WarningType | str,
    message: str,
    *,
    stage: str = RUN_STAGE,
    details: Mapping[str, JsonValue] | None = None,
    evidence: Iterable[EvidencePointer] = (),
    key: str | Mapping[str, object] | None = None,
) -> WarningObject:
    """Build a warning object with a stable id and the current time.

    Examples:
        >>> w = warning_object("records_skipped", "12 duplicates", stage="transform")
        >>> w.warning_id.startswith("W-records_skipped-")
        True
    """
    kind = _vocabulary(WarningType, type, "warning type")
    check_name(stage, what="stage name")
    return _build(
        WarningObject,
        warning_id=stable_id("W", kind.value, stage, key if key is not None else message),
        type=kind,
        stage=stage,
        message=_short(message),
        details=dict(details) if details is not None else None,
        evidence=list(evidence),
        recorded_at=_now(),
    )


_E = TypeVar("_E", bound=StrEnum)
_M = TypeVar("_M", bound=BaseModel)


def _vocabulary(enum: type[_E], value: object, what: str) -> _E:
    try:
        return enum(str(value))
    except ValueError:
        raise ConfigError(
            f"{value!r} is not a {what}",
            hint=f"use one of: {', '.join(m.value for m in enum)}",
        ) from None


def _build(model: type[_M], **fields: object) -> _M:
    """Build a contract object from caller-supplied values; refuse bad ones with a typed error."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid {model.__name__} {where}: {first['msg']}",
            hint="pass JSON-compatible details and evidence pointers with a path or a ref",
        ) from None


def _exception_class(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def error_from_exception(
    exc: BaseException,
    *,
    stage: str = RUN_STAGE,
    run_id: str | None = None,
    registry: RegistryArg = None,
    details: Mapping[str, JsonValue] | None = None,
) -> ErrorObject:
    """Turn an exception into an error object, its trace stored as an evidence file.

    A :class:`~runrecord.RunRecordError` keeps its own taxonomy value and hint;
    ``TimeoutError`` is ``timeout``, ``KeyboardInterrupt`` ``cancelled``, ``MemoryError``
    ``resource_error``; anything else is ``runtime_error``. The message is the exception
    class and text, redacted and bounded; the traceback (redacted, at most 64 KiB) goes to
    ``.evidence/<run_id>/`` when ``run_id`` is given, never inline.

    Args:
        exc: The exception.
        stage: The stage it escaped from.
        run_id: The run whose evidence directory takes the trace.
        registry: The registry locating the store (with ``run_id``).
        details: Extra structured details.

    Returns:
        The error object.
    """
    kind = next((t for cls, t in _EXCEPTION_TYPES if isinstance(exc, cls)), ErrorType.RUNTIME_ERROR)
    hint = None
    if isinstance(exc, RunRecordError):
        kind, hint = exc.error_type, exc.remediation_hint
        text = exc.message
    else:
        text = f"{type(exc).__name__}: {exc}"
    cls = _exception_class(exc)
    error = error_object(
        kind,
        text,
        stage=stage,
        details=details,
        remediation_hint=hint,
        exception=ExceptionInfo(class_=cls, trace=None),
        key=f"{cls}: {text}",
    )
    if run_id is None:
        return error
    trace = "".join(traceback.format_exception(exc))
    if len(trace) > MAX_TRACE:
        trace = "… (truncated)\n" + trace[-MAX_TRACE:]
    store = _store(resolve_registry(registry))
    path = store.write_evidence(
        run_id,
        f"{error.error_id}-{secrets.token_hex(3)}.trace.txt",
        redact_text(trace, extra=secret_values()).encode(),
    )
    pointer = EvidencePointer(kind=EvidenceKind.LOG, path=str(path), note="traceback")
    return error.model_copy(update={"evidence": [*error.evidence, pointer]})


# --- fragments -----------------------------------------------------------------------


def _write(
    store: AnyStore, run_id: str, kind: str, key: str | None = None, **parts: object
) -> StorePath:
    """Write one fragment of ``kind`` holding ``parts``, stamped with time and writer."""
    fragment = Fragment.model_validate(
        {"kind": kind, "written_at": _now(), "writer": Writer.current(), **parts}
    )
    return store.write_fragment(run_id, kind, _dump(fragment), key=key)


def _counters(values: Mapping[str, object] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in (values or {}).items():
        if name in _DERIVED_COUNTERS:
            raise CountersError(
                f"{name} is derived from the errors and warnings recorded; do not set it",
                hint="record errors and warnings instead of counting them",
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CountersError(
                f"counter {name} must be a non-negative integer, not {value!r}",
                hint="count whole items; a count cannot be negative",
            )
        if name not in COUNTER_NAMES and not (
            name.isascii() and name[:1].islower() and name.replace("_", "").isalnum()
        ):
            raise CountersError(
                f"extra counter name {name!r} is not snake_case",
                hint="name extra counters like rows_upserted",
            )
        out[name] = value
    return out


def check_counts(
    counters: Mapping[str, int],
    *,
    skip_reason: ReasonCode | str | None = None,
    note: str | None = None,
) -> tuple[dict[str, int], list[SkipReason]]:
    """Check counter increments reported by pipeline code, where the code reports them.

    Orchestrator helpers call this when a task counts, so that a miscount fails the task
    that made it, not a callback later.

    Args:
        counters: Counter increments: the required counters (but ``errors_count`` and
            ``warnings_count``, which are derived) and snake_case extra counters.
        skip_reason: Reason code for the files or records counted as skipped (required
            when they are non-zero).
        note: Context for the skip reasons.

    Returns:
        The counters, and one skip reason per unit skipped.

    Raises:
        CountersError: A negative or non-integer count, a derived counter, a bad name, or
            skipped items without a reason code.

    Examples:
        >>> counts, reasons = check_counts(
        ...     {"records_seen": 3, "records_skipped": 1}, skip_reason="duplicate")
        >>> [(r.code.value, r.count, r.what.value) for r in reasons]
        [('duplicate', 1, 'records')]
    """
    values = _counters(counters)
    reasons = []
    for unit in (SkipUnit.FILES, SkipUnit.RECORDS):
        skipped = values.get(f"{unit}_skipped", 0)
        if not skipped:
            continue
        if skip_reason is None:
            raise CountersError(
                f"{skipped} {unit} counted as skipped without a reason code",
                hint=f"pass skip_reason='duplicate' (or another code), or use "
                f"stage.skip({skipped}, reason, what='{unit}')",
            )
        code = _vocabulary(ReasonCode, skip_reason, "skip reason code")
        reasons.append(SkipReason(code=code, count=skipped, what=unit, note=note))
    return values, reasons


def _reconcile_skips(counters: dict[str, int], reasons: Sequence[SkipReason]) -> None:
    for unit in (SkipUnit.FILES, SkipUnit.RECORDS):
        explained = sum(r.count for r in reasons if r.what is unit)
        counted = counters.get(f"{unit}_skipped")
        if counted is None:
            if explained:
                counters[f"{unit}_skipped"] = explained
        elif counted != explained:
            raise CountersError(
                f"{counted} {unit} skipped but skip reasons account for {explained}",
                hint="give every skipped item a reason code: Stage.skip(n, reason) or "
                f"skip_reasons=[SkipReason(code=..., count=..., what='{unit}')]",
            )


def write_stage(
    run_id: str,
    stage: str,
    *,
    registry: RegistryArg = None,
    status: StageStatus | str = StageStatus.SUCCESS,
    counters: Mapping[str, int] | None = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    skip_reasons: Iterable[SkipReason] = (),
    reason: ReasonCode | str | None = None,
    warnings: Iterable[WarningObject] = (),
    errors: Iterable[ErrorObject] = (),
    evidence: Iterable[EvidencePointer] = (),
    node: NodeRef | None = None,
    exception: BaseException | None = None,
    error_refs: Iterable[str] = (),
    key: str | None = None,
) -> StorePath:
    """Write one stage attempt of an open run as a fragment.

    Any process may call this; the fragment has a unique name, so concurrent writers
    never contend.

    Args:
        run_id: The open run.
        stage: A stage of the registry's stage set.
        registry: The project registry, its path, or None to discover it.
        status: ``success``, ``skipped`` or ``error``; a stage with errors is ``error``.
        counters: Stage counters (``errors_count``/``warnings_count`` are derived).
            Skipped counts need skip reasons that account for them.
        started_at: When the stage started; now by default (None for a skipped stage).
        completed_at: When it ended; now by default (None for a skipped stage).
        skip_reasons: Reason codes for skipped files or records.
        reason: For a skipped stage, why (e.g. ``upstream_failed``).
        warnings: Warning objects of this stage.
        errors: Error objects of this stage.
        evidence: Evidence pointers of this stage.
        node: The orchestrator node (task/op/asset and attempt) this stage came from.
        exception: An exception that ended the stage; recorded as an error with its trace.
        error_refs: Ids of error objects already recorded in this run (by an input or
            output of this stage) that ended the stage; the stage lists them.
        key: Makes the write idempotent: a second stage written with the same key (an
            orchestrator callback firing twice for one try) is not recorded again. Use
            something that names the attempt, such as ``"<task id>:<try number>"``.

    Returns:
        The fragment's path.

    Raises:
        ConfigError: Unknown stage.
        CountersError: Invalid counters, or skipped counts without reasons.
        RunNotFoundError: The run is not open.
        RecordExistsError: The run is already finalized.
    """
    reg = resolve_registry(registry)
    _check_stage(reg, stage)
    store = _store(reg)
    _writable(store, run_id)
    keyed = None if key is None else f"stage:{stage}:{key}"
    if keyed is not None and store.fragment_exists(run_id, "stage", keyed):
        return store.fragment_path(run_id, "stage", keyed)  # recorded once already
    state = StageStatus(status)
    reasons = list(skip_reasons)
    if state is StageStatus.SKIPPED and not any(r.what is SkipUnit.STAGE for r in reasons):
        if reason is None:
            raise CountersError(
                f"skipped stage {stage!r} needs a reason code",
                hint="pass reason='upstream_failed' (or another skip reason code)",
            )
        reasons.append(SkipReason(code=ReasonCode(reason), count=1, what=SkipUnit.STAGE))
    values = _counters(counters)
    _reconcile_skips(values, reasons)
    errs, refs = list(errors), list(error_refs)
    if exception is not None and is_recorded(exception):
        # Already recorded (an input refused, the gate): listed by this stage, not repeated.
        known = recorded_error(exception)
        if known is not None and known[1] == stage:
            refs.append(known[0])
    elif exception is not None:
        errs.append(error_from_exception(exception, stage=stage, run_id=run_id, registry=reg))
    if errs or refs:
        state = StageStatus.ERROR
    if state is StageStatus.ERROR and not errs and not refs:
        errs.append(
            error_object(
                ErrorType.RUNTIME_ERROR,
                f"stage {stage} ended in error",
                stage=stage,
                remediation_hint="read the stage's logs in the orchestrator",
            )
        )
    now = _now()
    if state is not StageStatus.SKIPPED:
        completed_at = completed_at or now
        started_at = started_at or completed_at
    part = StagePart(
        stage=stage,
        started_at=started_at,
        completed_at=completed_at,
        status=state,
        counters=values,
        skip_reasons=reasons,
        evidence=list(evidence),
        node=node,
        error_refs=refs,
    )
    return _write(
        store,
        run_id,
        "stage",
        key=keyed,
        stage=part,
        errors=[e.model_copy(update={"stage": stage}) for e in errs],
        warnings=[w.model_copy(update={"stage": stage}) for w in warnings],
    )


Unreported = Literal["upstream_failed", "not_selected", "crashed", "failed", "cancelled"]
"""Why a node left no stage of its own: it never ran because something upstream failed, it
was not selected (skipped by a branch, a subset run), its process died before it could
report, it failed where no hook of ours ran (the orchestrator knows the error's class and
message, not the exception), or it was cancelled while it ran."""


def write_unreported_stage(
    run_id: str,
    stage: str,
    *,
    outcome: Unreported,
    node: NodeRef | None = None,
    registry: RegistryArg = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    detail: str | None = None,
    exception_class: str | None = None,
    key: str | None = None,
) -> StorePath:
    """Write the stage of an orchestrator node that ended without reporting itself.

    Orchestrators fire no callback for a node that never ran (downstream of a failure) or
    whose process was killed. The finalizer, which sees the whole run, writes those stages
    with this: ``upstream_failed`` and ``not_selected`` give a ``skipped`` stage with that
    reason code; ``crashed`` gives an ``error`` stage with a ``crashed`` error; ``failed``
    an ``error`` stage with a ``runtime_error`` built from what the orchestrator reported
    (``exception_class``, ``detail``); ``cancelled`` an ``error`` stage with a ``cancelled``
    error. Idempotent per node and attempt (finalizers may run twice).

    Args:
        run_id: The open run.
        stage: The node's stage.
        outcome: Why the node left no stage.
        node: The node (task id, op, asset key) and attempt.
        registry: The project registry, its path, or None to discover it.
        started_at: When the node started, if known (a crashed node).
        completed_at: When the orchestrator saw it end, if known.
        detail: What the orchestrator said: the crash's cause, the failure's message, or
            (for a skipped node) a note on the skip reason, such as which upstream failed.
        exception_class: For ``failed``, the qualified class of the exception it reported.
        key: The idempotency key, as for :func:`write_stage`; ``"<node id>:<attempt>"`` by
            default, the same key a callback writing that attempt's stage should use, so
            that whichever writes first wins.

    Returns:
        The fragment's path.
    """
    name = node.id if node is not None else stage
    if key is None:
        key = f"{name}:{node.attempt if node is not None else None}"
    if outcome in {"crashed", "failed", "cancelled"}:
        if outcome == "cancelled":
            error = error_object(
                ErrorType.CANCELLED,
                f"{name} was cancelled" + (f": {detail}" if detail else ""),
                stage=stage,
                details={"node": name},
                key=f"{name} was cancelled",
            )
        elif outcome == "crashed":
            why = detail or "its process died (killed, out of memory, lost worker)"
            error = error_object(
                ErrorType.CRASHED,
                f"{name} ended without reporting: {why}",
                stage=stage,
                details={"node": name},
                remediation_hint="read the node's log in the orchestrator (killed by the OOM "
                "killer, a lost worker or a timeout?), then rerun it",
                key=f"{name} ended without reporting",
            )
        else:
            cls = exception_class or "unknown"
            said = detail or f"{name} failed"
            text = redact_text(
                f"{cls.rsplit('.', 1)[-1]}: {said}" if exception_class else said,
                extra=secret_values(),
            )
            error = error_object(
                ErrorType.RUNTIME_ERROR,
                text,
                stage=stage,
                details={"node": name},
                exception=ExceptionInfo(class_=cls, trace=None) if exception_class else None,
                key=f"{cls}: {name} failed",
            )
        return write_stage(
            run_id,
            stage,
            registry=registry,
            status=StageStatus.ERROR,
            started_at=started_at,
            completed_at=completed_at,
            errors=[error],
            node=node,
            key=key,
        )
    return write_stage(
        run_id,
        stage,
        registry=registry,
        status=StageStatus.SKIPPED,
        skip_reasons=[
            SkipReason(code=ReasonCode(outcome), count=1, what=SkipUnit.STAGE, note=detail or None)
        ],
        node=node,
        key=key,
    )


def write_note(
    run_id: str,
    *,
    registry: RegistryArg = None,
    errors: Iterable[ErrorObject] = (),
    warnings: Iterable[WarningObject] = (),
    counters: Mapping[str, int] | None = None,
    skip_reasons: Iterable[SkipReason] = (),
    key: str | None = None,
) -> StorePath:
    """Write run-level errors, warnings, counters or skip reasons of an open run.

    Args:
        run_id: The open run.
        registry: The project registry, its path, or None to discover it.
        errors: Run-level error objects.
        warnings: Run-level warning objects.
        counters: Run-level counters (outside any stage).
        skip_reasons: Reason codes for files or records skipped at run level.
        key: Makes the write idempotent: a second note with the same key is not recorded.

    Returns:
        The fragment's path.
    """
    reg = resolve_registry(registry)
    store = _store(reg)
    _writable(store, run_id)
    errs, warns = list(errors), list(warnings)
    for stage in (*(e.stage for e in errs), *(w.stage for w in warns)):
        _check_stage(reg, stage)
    return _write(
        store,
        run_id,
        "note",
        key=None if key is None else f"note:{key}",
        errors=errs,
        warnings=warns,
        counters=_counters(counters),
        skip_reasons=list(skip_reasons),
    )


def write_output(
    run_id: str,
    output: OutputRef,
    *,
    registry: RegistryArg = None,
    errors: Iterable[ErrorObject] = (),
    warnings: Iterable[WarningObject] = (),
) -> StorePath:
    """Record an output reference as it is (for adapters that promote data themselves).

    Returns:
        The fragment's path.
    """
    reg = resolve_registry(registry)
    store = _store(reg)
    _writable(store, run_id)
    return _write(
        store,
        run_id,
        "output",
        output=output,
        errors=list(errors),
        warnings=list(warnings),
    )


def _write_input(
    store: AnyStore,
    run_id: str,
    ref: InputRef,
    errors: Sequence[ErrorObject] = (),
    warnings: Sequence[WarningObject] = (),
) -> None:
    _write(
        store,
        run_id,
        "input",
        input=ref,
        errors=list(errors),
        warnings=list(warnings),
    )


# --- inputs --------------------------------------------------------------------------


def resolve_input(
    run_id: str,
    name: str,
    path: str | os.PathLike[str],
    *,
    artifact_family: str,
    registry: RegistryArg = None,
    manifest_path: str | os.PathLike[str] | None = None,
    required: bool = True,
    fallbacks: Iterable[str | os.PathLike[str]] = (),
    accept_schema_versions: Collection[str] | None = None,
    stage: str = RUN_STAGE,
) -> InputRef:
    """Resolve an input: find it, read its manifest, verify its hash, and record it.

    The input is recorded whatever happens (``present``, ``substituted`` or ``missing``),
    before any refusal is raised, so that a failed run still says what it tried to read.

    Args:
        run_id: The open run.
        name: Logical name of the input ("orders bus daily").
        path: The data file or directory.
        artifact_family: The input's artifact family.
        registry: The project registry, its path, or None to discover it.
        manifest_path: The manifest; ``<path>.manifest.json`` by default.
        required: Whether the run needs this input.
        fallbacks: Other paths to use, in order, when ``path`` is missing (resolution
            ``substituted``, with an ``input_substituted`` warning).
        accept_schema_versions: Schema versions this code reads; another version is a
            ``schema_mismatch``.
        stage: The stage resolving the input (for errors and warnings).

    Returns:
        The recorded input reference. For a required input missing under the entrypoint's
        declared no-input mode it has ``resolution == "missing"`` and
        ``reason == "no_input_mode"``: the run can then end as ``empty_success``.

    Raises:
        InputMissingError: A required input is missing (and no no-input mode applies).
        ManifestError: The data is there but its manifest is missing or invalid.
        IntegrityError: The data's hash differs from its manifest's.
        SchemaMismatchError: The manifest's schema version is not accepted.
    """
    reg = resolve_registry(registry)
    store = _store(reg)
    _writable(store, run_id)
    _check_stage(reg, stage)
    check_name(artifact_family, what="artifact family")
    wanted = check_path(path, what="input path")
    others = [check_path(p, what="fallback path") for p in fallbacks]
    found = next((p for p in (wanted, *others) if p.exists()), None)
    base: dict[str, object] = {"name": name, "artifact_family": artifact_family}
    if found is None:
        header = RunHeader.model_validate_json(store.read_header(run_id) or b"")
        no_input = header.entrypoint.entrypoint_id in reg.no_input_entrypoints
        return _missing_input(
            store, run_id, base, wanted, required=required, no_input=no_input, stage=stage
        )
    substituted = found != wanted
    if manifest_path is not None and not substituted:
        mpath = check_path(manifest_path, what="manifest path")
    else:
        mpath = manifest_path_for(found)
    warnings = []
    if substituted:
        warnings.append(
            warning_object(
                WarningType.INPUT_SUBSTITUTED,
                f"input {name!r} substituted: {found} used for missing {wanted}",
                stage=stage,
                details={"input": name, "declared": str(wanted), "used": str(found)},
            )
        )
    manifest: Manifest | None = None
    refusal: RunRecordError | None = None
    try:
        manifest = read_manifest(mpath)
        verify(found, manifest)
        if accept_schema_versions is not None and (
            manifest.schema_version not in accept_schema_versions
        ):
            refusal = SchemaMismatchError(
                f"input {name!r} has schema version {manifest.schema_version}; this code "
                f"reads {sorted(accept_schema_versions)}",
                hint="upgrade this code or pin the producer to a supported schema version",
            )
    except (ManifestError, IntegrityError) as exc:
        refusal = exc
    ref = InputRef.model_validate(
        {
            **base,
            "path": str(found),
            "required": required,
            "resolution": Resolution.SUBSTITUTED if substituted else Resolution.PRESENT,
            "manifest_path": str(mpath),
            # As the manifest declares it; without a manifest, what the data hashes to.
            "data_hash": manifest.data_hash if manifest else hashing.hash_path(found),
            "schema_version": manifest.schema_version if manifest else None,
            "producing_run_id": manifest.producing_run_id if manifest else None,
        }
    )
    if refusal is None:
        _write_input(store, run_id, ref, warnings=warnings)
        return ref
    _record_refusal(
        store,
        run_id,
        ref,
        refusal,
        stage=stage,
        details={"input": name, "path": str(found)},
        warnings=warnings,
    )
    raise refusal


def _missing_input(
    store: AnyStore,
    run_id: str,
    base: Mapping[str, object],
    wanted: Path,
    *,
    required: bool,
    no_input: bool,
    stage: str,
) -> InputRef:
    name = str(base["name"])
    ref = InputRef.model_validate(
        {
            **base,
            "path": str(wanted),
            "manifest_path": None,
            "data_hash": None,
            "schema_version": None,
            "required": required,
            "resolution": Resolution.MISSING,
            "reason": ReasonCode.NO_INPUT_MODE if required and no_input else None,
        }
    )
    details: dict[str, JsonValue] = {"input": name, "path": str(wanted)}
    if not required:
        warning = warning_object(
            WarningType.OPTIONAL_INPUT_MISSING,
            f"optional input {name!r} is missing",
            stage=stage,
            details=details,
        )
        _write_input(store, run_id, ref, warnings=[warning])
        return ref
    if no_input:
        _write_input(store, run_id, ref)
        return ref
    refusal = InputMissingError(
        f"required input {name!r} is missing at {wanted}",
        hint="check that the upstream run succeeded and wrote to this path, then rerun",
    )
    _record_refusal(store, run_id, ref, refusal, stage=stage, details=details)
    raise refusal


def _record_refusal(
    store: AnyStore,
    run_id: str,
    ref: InputRef,
    refusal: RunRecordError,
    *,
    stage: str,
    details: Mapping[str, JsonValue],
    warnings: Sequence[WarningObject] = (),
) -> None:
    error = error_object(
        refusal.error_type,
        refusal.message,
        stage=stage,
        details=details,
        remediation_hint=refusal.remediation_hint,
        severity=Severity.FATAL,
        evidence=[EvidencePointer(kind=EvidenceKind.MANIFEST, path=ref.manifest_path)]
        if ref.manifest_path
        else [],
    )
    _write_input(store, run_id, ref, errors=[error], warnings=warnings)
    mark_recorded(refusal, error)


def mark_recorded(exc: BaseException, error: ErrorObject | None = None) -> None:
    """Mark an exception as recorded, so that enclosing blocks do not record it again.

    Args:
        exc: The exception.
        error: The error object recorded for it, so that the stage it escapes from can
            list that error instead of a new one.
    """
    exc.__runrecord_recorded__ = (error.error_id, error.stage) if error else True  # type: ignore[attr-defined]


def is_recorded(exc: BaseException) -> bool:
    """Whether :func:`mark_recorded` was called on ``exc``."""
    return bool(getattr(exc, "__runrecord_recorded__", False))


def recorded_error(exc: BaseException) -> tuple[str, str] | None:
    """The id and stage of the error recorded for ``exc``, if :func:`mark_recorded` named one."""
    value = getattr(exc, "__runrecord_recorded__", None)
    return value if isinstance(value, tuple) else None


# --- outputs -------------------------------------------------------------------------


def output_target(value: str | os.PathLike[str] | ObjectPath) -> Path | ObjectPath:
    """Where an output goes: an absolute local path, or an object on object storage.

    Raises:
        UnsafeNameError: A local path that is empty, too long or holds control characters.
    """
    if isinstance(value, ObjectPath):
        return value
    if isinstance(value, str) and is_url(value):
        return ObjectPath.from_url(value)
    return check_path(value, what="output path")


@overload
def _manifest_target(final: ObjectPath) -> ObjectPath: ...
@overload
def _manifest_target(final: Path) -> Path: ...
def _manifest_target(final: Path | ObjectPath) -> Path | ObjectPath:
    if isinstance(final, ObjectPath):
        return final.parent / f"{final.name}{MANIFEST_SUFFIX}"
    return manifest_path_for(final)


def promote_output(
    run_id: str,
    name: str,
    staged_path: str | os.PathLike[str],
    final_path: str | os.PathLike[str] | ObjectPath,
    *,
    artifact_family: str,
    schema_version: str,
    registry: RegistryArg = None,
    required: bool | None = None,
    record_count: int | None = None,
    algorithm: str = hashing.DEFAULT_ALGORITHM,
) -> OutputRef:
    """Promote staged output data: hash it, write its manifest, move it into place.

    The manifest is written before the data moves, so promoted data is never without its
    manifest. Both moves are create-exclusive: an existing output is never overwritten.

    Args:
        run_id: The open run.
        name: Logical output name; outputs the registry declares optional may fail
            without failing the run.
        staged_path: Where the data was written (file or directory).
        final_path: Where it is promoted to: a path, or an object storage URL (the data is
            uploaded with conditional puts, the manifest first; a directory's files go
            under the URL as a prefix).
        artifact_family: The output's artifact family.
        schema_version: The schema version emitted.
        registry: The project registry, its path, or None to discover it.
        required: Whether the run must produce it; by default, unless the registry lists
            it in ``optional_outputs``.
        record_count: Records in the output (0 makes a valid empty output).
        algorithm: ``blake3`` or ``sha256``.

    Returns:
        The recorded output reference (``promoted``, or ``staged`` when promotion failed,
        or ``not_written`` when nothing was staged).

    Raises:
        PromotionError: The data or its manifest could not be promoted (the data is kept
            at ``staged_path``; the record says ``staged`` and ``promotion_failed``).
    """
    reg = resolve_registry(registry)
    store = _store(reg)
    _writable(store, run_id)
    check_name(artifact_family, what="artifact family")
    staged = check_path(staged_path, what="staged path")
    final = output_target(final_path)
    needed = required if required is not None else name not in reg.optional_outputs
    base = {
        "name": name,
        "artifact_family": artifact_family,
        "path": str(final),
        "schema_version": schema_version,
        "required": needed,
        "record_count": record_count,
    }
    if not staged.exists():
        return _not_written(store, run_id, base, f"output {name!r} was not written")
    manifest = build_manifest(
        staged,
        artifact_family=artifact_family,
        schema_version=schema_version,
        record_count=record_count,
        producing_run_id=run_id,
        algorithm=algorithm,
        name=final.name,
    )
    mpath = _manifest_target(final)
    try:
        try:
            if isinstance(final, ObjectPath):
                promote_to_object(staged, final, _manifest_target(final), manifest.to_json())
            else:
                _promote_file(staged, final, manifest, name)
        except FileExistsError:
            raise PromotionError(
                f"output {name!r} already exists at {final}",
                hint="promoted outputs are never overwritten; write to a new path "
                "(e.g. one per run or partition)",
            ) from None
    except (PromotionError, ResourceError) as exc:
        error = error_object(
            ErrorType.PROMOTION_FAILED,
            exc.message,
            details={"output": name, "staged_path": str(staged)},
            remediation_hint=exc.remediation_hint,
        )
        ref = OutputRef.model_validate(
            {
                **base,
                "manifest_path": str(mpath),
                "data_hash": manifest.data_hash,
                "promotion_status": PromotionStatus.STAGED,
                "reason": None if needed else ReasonCode.OPTIONAL_FAILED,
            }
        )
        write_output(
            run_id,
            ref,
            registry=reg,
            errors=[error] if needed else [],
            warnings=[] if needed else [_optional_missing(name, exc.message)],
        )
        mark_recorded(exc, error if needed else None)
        raise
    ref = OutputRef.model_validate(
        {
            **base,
            "manifest_path": str(mpath),
            "data_hash": manifest.data_hash,
            "promotion_status": PromotionStatus.PROMOTED,
        }
    )
    write_output(run_id, ref, registry=reg)
    return ref


def _promote_file(staged: Path, final: Path, manifest: Manifest, name: str) -> None:
    """Promote local staged data: manifest first, then a no-replace rename of the data."""
    mpath = manifest_path_for(final)
    if final.exists() or mpath.exists():
        raise FileExistsError(errno.EEXIST, "exists", str(final))
    write_manifest(manifest, mpath)
    try:
        rename_noreplace(staged, final)
    except OSError as exc:
        mpath.chmod(0o644)
        mpath.unlink()
        raise PromotionError(
            f"cannot promote output {name!r} to {final}: {exc}",
            hint="check the target directory; the data is kept at its staged path",
        ) from exc


def _optional_missing(name: str, why: str) -> WarningObject:
    return warning_object(
        WarningType.OPTIONAL_OUTPUT_MISSING,
        f"optional output {name!r} not promoted: {why}",
        details={"output": name},
        key=f"optional output {name} not promoted",
    )


def _not_written(
    store: AnyStore,
    run_id: str,
    base: Mapping[str, object],
    why: str,
    reason: ReasonCode | None = None,
) -> OutputRef:
    needed = bool(base["required"])
    ref = OutputRef.model_validate(
        {
            **base,
            "manifest_path": None,
            "data_hash": None,
            "promotion_status": PromotionStatus.NOT_WRITTEN,
            "reason": None if needed else (reason or ReasonCode.OPTIONAL_FAILED),
        }
    )
    _write(
        store,
        run_id,
        "output",
        output=ref,
        warnings=[] if needed else [_optional_missing(str(base["name"]), why)],
    )
    return ref


def output_not_written(
    run_id: str,
    name: str,
    final_path: str | os.PathLike[str] | ObjectPath,
    *,
    artifact_family: str,
    schema_version: str,
    registry: RegistryArg = None,
    required: bool | None = None,
    why: str = "not written",
    reason: ReasonCode | str | None = None,
) -> OutputRef:
    """Record that a declared output was not written (with a reason when optional)."""
    reg = resolve_registry(registry)
    store = _store(reg)
    _writable(store, run_id)
    check_name(artifact_family, what="artifact family")
    base = {
        "name": name,
        "artifact_family": artifact_family,
        "path": str(output_target(final_path)),
        "schema_version": schema_version,
        "required": required if required is not None else name not in reg.optional_outputs,
        "record_count": None,
    }
    return _not_written(store, run_id, base, why, ReasonCode(reason) if reason else None)
