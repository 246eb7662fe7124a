"""The stop-the-line gate: may downstream work start on what an upstream run left?

:func:`check_upstream` reads the newest record of an entrypoint (through its ``latest``
pointer, verified against the record it names) or a record by run id, validates it, and
passes only when its status is allowed. A missing, unreadable or invalid record blocks:
the gate fails closed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from runrecord.errors import RecordInvalidError, ResourceError, UnsafeNameError, UpstreamError
from runrecord.ids import check_name
from runrecord.model import ErrorObject, EvidencePointer, RunRecord
from runrecord.reader import JsonSyntaxError, parse_json
from runrecord.recorder import RegistryArg, _store, error_object, resolve_registry
from runrecord.store import RECORD_SUFFIX, AnyStore, StorePath
from runrecord.taxonomy import RUN_STAGE, ErrorType, EvidenceKind, Severity, Status
from runrecord.validate import read_record

__all__ = [
    "DEFAULT_ALLOWED",
    "Verdict",
    "check_upstream",
    "latest_record",
    "latest_record_path",
    "upstream_error",
]

DEFAULT_ALLOWED: tuple[Status, ...] = (Status.SUCCESS, Status.EMPTY_SUCCESS)
"""Statuses a downstream run may start on by default."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer.

    Attributes:
        passed: True when downstream work may start.
        upstream: The entrypoint or run id that was checked.
        reason: One line saying why, for logs and for the consumer's own record.
        status: The upstream record's status, when a valid record was found.
        run_id: The upstream record's run id, when one was found.
        path: The upstream record's file, when one was found.
    """

    passed: bool
    upstream: str
    reason: str
    status: Status | None = None
    run_id: str | None = None
    path: StorePath | None = None

    def __bool__(self) -> bool:
        return self.passed


def latest_record_path(store: AnyStore, entrypoint_id: str) -> StorePath | None:
    """Return the newest record file of an entrypoint, or None if it has none.

    Uses the ``latest`` pointer when it names an existing record of that entrypoint (the
    record is read to check that it is the one the pointer says: a pointer is mutable and
    a record is not); otherwise (no pointer yet, a pointer left behind by a crash, or one
    that disagrees with its record) scans the store.
    """
    pointer = store.read_latest(entrypoint_id)
    if pointer is not None and pointer.entrypoint_id == entrypoint_id:
        path = store.record_path(pointer.run_id)
        if _names(path, entrypoint_id, pointer.run_id):
            return path
    newest: tuple[str, str, StorePath] | None = None
    for path in store.record_paths():
        try:
            record = read_record(path)
        except RecordInvalidError:
            continue
        if record.entrypoint.entrypoint_id != entrypoint_id:
            continue
        key = (record.created_at.isoformat(), record.run_id, path)
        if newest is None or key > newest:
            newest = key
    return newest[2] if newest else None


def _names(path: StorePath, entrypoint_id: str, run_id: str) -> bool:
    """Whether ``path`` holds a record of ``run_id`` and ``entrypoint_id``.

    A record that is not JSON counts as the one named: the gate then reports it as invalid,
    rather than passing on an older record.
    """
    try:
        obj = parse_json(path.read_bytes())
    except (FileNotFoundError, ResourceError):
        return False
    except (OSError, JsonSyntaxError):
        return True
    if not isinstance(obj, dict):
        return True
    entrypoint = obj.get("entrypoint")
    named = entrypoint.get("entrypoint_id") if isinstance(entrypoint, dict) else None
    return obj.get("run_id") == run_id and named == entrypoint_id


def latest_record(entrypoint: str, *, registry: RegistryArg = None) -> RunRecord | None:
    """Return the newest valid record of an entrypoint, or None when there is none.

    Raises:
        RecordInvalidError: The newest record is invalid.
    """
    path = latest_record_path(_store(resolve_registry(registry)), entrypoint)
    return read_record(path) if path is not None else None


def check_upstream(
    upstream: str,
    *,
    registry: RegistryArg = None,
    allowed: Collection[Status | str] = DEFAULT_ALLOWED,
) -> Verdict:
    """Check an upstream entrypoint's newest record (or a record by run id).

    Args:
        upstream: An entrypoint id, or the run id of a specific record.
        registry: The registry locating the record store, its path, or None to discover it.
        allowed: Statuses that let downstream work start.

    Returns:
        The verdict; truthy when downstream work may start. Never raises for a missing or
        bad upstream record: that is a blocking verdict.

    Raises:
        ConfigError: No valid registry to locate the store.
    """
    reg = resolve_registry(registry)
    store = _store(reg)
    ok = {Status(s) for s in allowed}
    try:
        check_name(upstream, what="upstream entrypoint or run id")
    except UnsafeNameError as exc:
        return Verdict(False, upstream, exc.message)
    by_run = store.record_path(upstream)
    try:
        path = by_run if by_run.exists() else latest_record_path(store, upstream)
    except ResourceError as exc:
        return Verdict(False, upstream, f"cannot read the run record store: {exc.message}")
    if path is None:
        return Verdict(
            False, upstream, f"no run record of {upstream!r} in {store.root}: nothing to trust"
        )
    try:
        record = read_record(path)
    except RecordInvalidError as exc:
        first = exc.problems[0] if exc.problems else None
        why = f"{first.pointer or '/'} {first.message} [{first.rule}]" if first else exc.message
        return Verdict(False, upstream, f"upstream record {path.name} is invalid: {why}", path=path)
    if not path.name.endswith(RECORD_SUFFIX) or (
        path != by_run and record.entrypoint.entrypoint_id != upstream
    ):
        return Verdict(False, upstream, f"{path.name} is not a record of {upstream!r}", path=path)
    passed = record.status in ok
    why = f"upstream {record.run_id} is {record.status}"
    if not passed and record.errors:
        why += f": {record.errors[0].type}: {record.errors[0].message}"
    return Verdict(passed, upstream, why, status=record.status, run_id=record.run_id, path=path)


def upstream_error(
    verdict: Verdict, *, stage: str = RUN_STAGE
) -> tuple[UpstreamError, ErrorObject]:
    """The refusal and the error object a consumer records when the gate blocks it.

    Every consumer that stops at the gate (``Run.gate``, orchestrator sensors and checks)
    records the same ``upstream_error``: the upstream, its run id and status in the
    details, the upstream record as evidence, and a hint to fix the upstream first.

    Args:
        verdict: A blocking verdict of :func:`check_upstream`.
        stage: The consumer's stage that stopped.

    Returns:
        The exception to raise (marked as recorded once the error is written) and the error
        object to write into the consumer's run.
    """
    upstream = verdict.upstream
    refusal = UpstreamError(
        f"upstream {upstream!r} blocks this run: {verdict.reason}",
        hint=f"fix and rerun the upstream entrypoint {upstream!r}, then rerun this one",
    )
    error = error_object(
        ErrorType.UPSTREAM_ERROR,
        refusal.message,
        stage=stage,
        details={
            "upstream": upstream,
            "upstream_run_id": verdict.run_id,
            "upstream_status": verdict.status.value if verdict.status else None,
        },
        remediation_hint=refusal.remediation_hint,
        severity=Severity.FATAL,
        evidence=[EvidencePointer(kind=EvidenceKind.FILE, path=str(verdict.path))]
        if verdict.path
        else [],
        key={"upstream": upstream, "status": verdict.status.value if verdict.status else None},
    )
    return refusal, error
