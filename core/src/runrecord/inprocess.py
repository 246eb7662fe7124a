"""The in-process API: one run, its stages, inputs and outputs, as context managers.

Examples:
    >>> import pathlib, tempfile, runrecord
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> reg = runrecord.Registry(project_id="demo", project_name="Demo",
    ...                          stages=["extract", "load"], run_record_dir=str(root / "rr"))
    >>> with runrecord.run("demo.daily", registry=reg, command="demo") as run:
    ...     with run.stage("extract") as stage:
    ...         stage.count(records_seen=10, records_processed=9)
    ...         stage.skip(1, "duplicate")
    ...     with run.output("report", root / "report.txt", artifact_family="report",
    ...                     schema_version="1") as out:
    ...         _ = out.path.write_text("9 records")
    ...         out.record_count = 9
    >>> run.record.status, run.record.counters.records_skipped
    (<Status.SUCCESS: 'success'>, 1)
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from pydantic import JsonValue

from runrecord import recorder
from runrecord.errors import ConfigError, CountersError, RunRecordError
from runrecord.finalize import FinalizeResult, finalize_run
from runrecord.gate import DEFAULT_ALLOWED, Verdict, check_upstream, upstream_error
from runrecord.hashing import DEFAULT_ALGORITHM
from runrecord.ids import check_name
from runrecord.model import (
    ErrorObject,
    EvidencePointer,
    InputRef,
    NodeRef,
    OrchestratorInfo,
    OutputRef,
    RunRecord,
    SkipReason,
    WarningObject,
)
from runrecord.objectstore import ObjectPath
from runrecord.recorder import (
    RegistryArg,
    is_recorded,
    mark_recorded,
    resolve_registry,
)
from runrecord.registry import Registry
from runrecord.store import StorePath
from runrecord.taxonomy import (
    RUN_STAGE,
    ErrorType,
    EvidenceKind,
    ReasonCode,
    Severity,
    SkipUnit,
    StageStatus,
    Status,
    WarningType,
)

__all__ = ["OutputWriter", "Run", "Stage", "StageReport", "output_writer", "run"]


def run(
    entrypoint: str,
    *,
    registry: RegistryArg = None,
    run_id: str | None = None,
    command: str | Sequence[str] | None = None,
    config: Mapping[str, object] | None = None,
    orchestrator: OrchestratorInfo | None = None,
    extensions: Mapping[str, JsonValue] | None = None,
) -> Run:
    """Start recording one run of ``entrypoint``; use the result as a context manager.

    Entering the block opens the run (its header is written to the store); leaving it
    finalizes the run and promotes its record — also when the block raises, in which case
    the exception is recorded (``runtime_error`` with its class, the trace as an evidence
    file) and re-raised. If the process dies inside the block, ``runrecord recover``
    writes the record later.

    Args:
        entrypoint: Stable entrypoint id, e.g. ``sales.daily``.
        registry: The project registry, its path, or None to discover it.
        run_id: The run id; a fresh one by default.
        command: The command as executed; this process's command line by default.
        config: The effective configuration; only its fingerprint is recorded.
        orchestrator: The orchestrator's identifiers, for adapters.
        extensions: Extra data for the record.

    Returns:
        The run, not yet open.

    Raises:
        UnsafeNameError: ``entrypoint`` or ``run_id`` is not filename-safe.
        ConfigError: No valid registry.
    """
    reg = resolve_registry(registry)
    check_name(entrypoint, what="entrypoint id")
    if run_id is not None:
        check_name(run_id)
    return Run(
        entrypoint,
        registry=reg,
        run_id=run_id,
        command=command,
        config=config,
        orchestrator=orchestrator,
        extensions=extensions,
    )


class Run:
    """One run being recorded. Create it with :func:`runrecord.run`.

    Attributes:
        entrypoint: The entrypoint id.
        registry: The project registry.
        run_id: The run id (set when the block is entered).
        result: What finalization promoted (after the block).
    """

    def __init__(
        self,
        entrypoint: str,
        *,
        registry: Registry,
        run_id: str | None,
        command: str | Sequence[str] | None,
        config: Mapping[str, object] | None,
        orchestrator: OrchestratorInfo | None,
        extensions: Mapping[str, JsonValue] | None,
    ) -> None:
        self.entrypoint = entrypoint
        self.registry = registry
        self.run_id = run_id or ""
        self.result: FinalizeResult | None = None
        self._opener = functools.partial(
            recorder.open_run,
            entrypoint,
            registry=registry,
            run_id=run_id,
            command=command,
            config=config,
            orchestrator=orchestrator,
            extensions=extensions,
        )
        self._open = False
        self._stages: list[str] = []  # the open stage blocks, innermost last

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> Self:
        self.run_id = self._opener()
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        unrecorded = None
        if exc is not None and not is_recorded(exc) and not _clean_exit(exc):
            try:
                error = recorder.error_from_exception(
                    exc, stage=RUN_STAGE, run_id=self.run_id, registry=self.registry
                )
                recorder.write_note(self.run_id, registry=self.registry, errors=[error])
                mark_recorded(exc)
            except RunRecordError as failure:  # keep the user's exception the one raised
                _note(exc, f"could not record the exception: {failure}")
                # Never let a failure that could not be written leave a clean record.
                unrecorded = f"{type(exc).__name__}: {exc} (not recorded in full: {failure})"
        try:
            self.result = finalize_run(
                self.run_id,
                registry=self.registry,
                status=Status.ERROR if unrecorded else None,
                reason=unrecorded,
            )
        except RunRecordError as failure:
            if exc is None:
                raise
            _note(
                exc,
                f"the run record could not be written ({failure}); its fragments are kept "
                "and `runrecord recover` writes it later",
            )

    @property
    def record(self) -> RunRecord:
        """The promoted record (after the block)."""
        if self.result is None:
            raise RuntimeError("the run is not finalized yet: read .record after the block")
        return self.result.record

    @property
    def record_path(self) -> StorePath:
        """The promoted record's file (after the block)."""
        if self.result is None:
            raise RuntimeError("the run is not finalized yet: read .record_path after the block")
        return self.result.path

    def _where(self, stage: str | None) -> str:
        """The stage a piece belongs to: the one named, else the innermost open stage."""
        if stage is not None:
            return stage
        return self._stages[-1] if self._stages else RUN_STAGE

    def _require_open(self) -> None:
        if not self._open:
            raise ConfigError(
                "the run is not open",
                hint="use it inside its block: with runrecord.run(...) as run: ...",
            )

    # --- pieces --------------------------------------------------------------------

    def stage(self, name: str, *, node: NodeRef | None = None) -> Stage:
        """Record one stage: use the result as a context manager around the stage's work.

        Raises:
            ConfigError: ``name`` is not in the registry's stage set.
        """
        self._require_open()
        recorder._check_stage(self.registry, name)
        return Stage(self, name, node)

    def skip_stage(self, name: str, reason: ReasonCode | str, *, note: str | None = None) -> None:
        """Record that a stage did not run, and why (a skip reason code)."""
        self._require_open()
        recorder.write_stage(
            self.run_id,
            name,
            registry=self.registry,
            status=StageStatus.SKIPPED,
            skip_reasons=[
                SkipReason(code=ReasonCode(reason), count=1, what=SkipUnit.STAGE, note=note)
            ],
        )

    def input(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        artifact_family: str,
        manifest_path: str | os.PathLike[str] | None = None,
        required: bool = True,
        fallbacks: Iterable[str | os.PathLike[str]] = (),
        accept_schema_versions: Collection[str] | None = None,
        stage: str | None = None,
    ) -> InputRef:
        """Resolve and record an input; see :func:`runrecord.resolve_input`.

        Raises:
            InputMissingError: A required input is missing (outside a no-input mode).
            ManifestError: Its manifest is missing or invalid.
            IntegrityError: Its data does not match its manifest.
            SchemaMismatchError: Its schema version is not accepted.
        """
        self._require_open()
        return recorder.resolve_input(
            self.run_id,
            name,
            path,
            artifact_family=artifact_family,
            registry=self.registry,
            manifest_path=manifest_path,
            required=required,
            fallbacks=fallbacks,
            accept_schema_versions=accept_schema_versions,
            stage=self._where(stage),
        )

    def output(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        artifact_family: str,
        schema_version: str,
        required: bool | None = None,
        algorithm: str | None = None,
    ) -> OutputWriter:
        """Write an output through the staged → promoted path; use it as a context manager.

        Inside the block, write the data to ``writer.path`` (a staging path beside the
        final one) and set ``writer.record_count``. Leaving the block hashes the data,
        writes the manifest ``<path>.manifest.json`` and promotes the data to ``path``
        (create-exclusive). If the block raises, nothing is promoted and the staged data is
        removed; for an optional output the run can still end ``partial_success``.

        Args:
            name: Logical output name.
            path: The final path (file or directory).
            artifact_family: The output's artifact family.
            schema_version: The schema version emitted.
            required: Whether the run must produce it; by default unless the registry lists
                it in ``optional_outputs``.
            algorithm: ``blake3`` (default) or ``sha256``.
        """
        self._require_open()
        check_name(artifact_family, what="artifact family")
        return output_writer(
            self.run_id,
            name,
            path,
            artifact_family=artifact_family,
            schema_version=schema_version,
            registry=self.registry,
            required=required,
            algorithm=algorithm,
        )

    def gate(
        self,
        upstream: str,
        *,
        allowed: Collection[Status | str] = DEFAULT_ALLOWED,
        stage: str | None = None,
    ) -> Verdict:
        """Refuse to go on when an upstream record does not allow it (stop the line).

        Returns:
            The passing verdict.

        Raises:
            UpstreamError: The upstream record is missing, invalid or not allowed; this
                run's record says ``upstream_error``.
        """
        self._require_open()
        verdict = check_upstream(upstream, registry=self.registry, allowed=allowed)
        if verdict.passed:
            return verdict
        refusal, error = upstream_error(verdict, stage=self._where(stage))
        recorder.write_note(self.run_id, registry=self.registry, errors=[error])
        mark_recorded(refusal, error)
        raise refusal

    def error(
        self,
        type: ErrorType | str,
        message: str,
        *,
        stage: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
        remediation_hint: str | None = None,
        severity: Severity | str = Severity.ERROR,
        evidence: Iterable[EvidencePointer] = (),
    ) -> None:
        """Record an error without raising: the run will end as ``error``.

        ``stage`` defaults to the innermost open stage block, else ``run``.
        """
        self._error(
            type,
            message,
            stage=stage,
            details=details,
            remediation_hint=remediation_hint,
            severity=severity,
            evidence=evidence,
        )

    def _error(
        self,
        type: ErrorType | str,
        message: str,
        *,
        stage: str | None,
        details: Mapping[str, JsonValue] | None,
        remediation_hint: str | None,
        severity: Severity | str,
        evidence: Iterable[EvidencePointer],
    ) -> ErrorObject:
        self._require_open()
        error = recorder.error_object(
            type,
            message,
            stage=self._where(stage),
            details=details,
            remediation_hint=remediation_hint,
            severity=severity,
            evidence=evidence,
        )
        recorder.write_note(self.run_id, registry=self.registry, errors=[error])
        return error

    def warn(
        self,
        type: WarningType | str,
        message: str,
        *,
        stage: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
        evidence: Iterable[EvidencePointer] = (),
    ) -> None:
        """Record a warning (it does not stop the line); ``stage`` as for :meth:`error`."""
        self._require_open()
        recorder.write_note(
            self.run_id,
            registry=self.registry,
            warnings=[
                recorder.warning_object(
                    type, message, stage=self._where(stage), details=details, evidence=evidence
                )
            ],
        )

    def count(self, *, skip_reason: ReasonCode | str | None = None, **counters: int) -> None:
        """Add run-level counters (outside any stage); see :meth:`Stage.count`."""
        self._require_open()
        values, reasons = recorder.check_counts(counters, skip_reason=skip_reason)
        recorder.write_note(
            self.run_id, registry=self.registry, counters=values, skip_reasons=reasons
        )


def _note(exc: BaseException, text: str) -> None:
    """Attach what went wrong in runrecord to the user's exception, which stays the one raised."""
    exc.add_note(f"runrecord: {text}")


def _clean_exit(exc: BaseException) -> bool:
    return isinstance(exc, SystemExit) and exc.code in (None, 0)


class StageReport:
    """What one stage attempt did: counters, skip reasons, warnings, errors, evidence.

    :class:`Stage` is one (for the in-process API); orchestrator adapters keep one per task
    or step while it runs, and :meth:`write` it when the task ends, from wherever that is.

    Args:
        stage: The stage name (checked when written); None when it is only known when the
            report is written (``write(stage=...)``).

    Examples:
        >>> report = StageReport("transform")
        >>> report.count(records_seen=10, records_processed=9)
        >>> report.skip(1, "duplicate")
        >>> report.counters, [r.code.value for r in report.skip_reasons]
        ({'records_seen': 10, 'records_processed': 9, 'records_skipped': 1}, ['duplicate'])
    """

    def __init__(self, stage: str | None = None) -> None:
        self.name = stage
        self.counters: dict[str, int] = {}
        self.skip_reasons: list[SkipReason] = []
        self.errors: list[ErrorObject] = []
        self.warnings: list[WarningObject] = []
        self.evidence_pointers: list[EvidencePointer] = []

    def count(self, *, skip_reason: ReasonCode | str | None = None, **counters: int) -> None:
        """Add to the stage's counters.

        Args:
            skip_reason: Reason code for the ``files_skipped``/``records_skipped`` counted
                in this call (required when they are non-zero).
            **counters: Counter increments: the required counters (but ``errors_count``
                and ``warnings_count``, which are derived) and any snake_case extra
                counters.

        Raises:
            CountersError: A negative or non-integer count, a derived counter, or skipped
                items without a reason code.
        """
        values, reasons = recorder.check_counts(counters, skip_reason=skip_reason)
        self._add(values, reasons)

    def skip(
        self, n: int, reason: ReasonCode | str, what: str = "records", note: str | None = None
    ) -> None:
        """Count ``n`` records (or files) skipped for ``reason``.

        Skipping records is normal processing (duplicates, filtered rows): it lowers
        nothing, but every skipped item needs its reason code.
        """
        unit = recorder._vocabulary(SkipUnit, what, "skip unit")
        if unit is SkipUnit.STAGE:
            raise CountersError(
                "use run.skip_stage(name, reason) to record a stage that did not run",
                hint="stage.skip counts skipped records or files",
            )
        values, reasons = recorder.check_counts(
            {f"{unit}_skipped": n}, skip_reason=reason, note=note
        )
        self._add(values, reasons)

    def _add(self, values: Mapping[str, int], reasons: Iterable[SkipReason]) -> None:
        for name, value in values.items():
            self.counters[name] = self.counters.get(name, 0) + value
        self.skip_reasons += reasons

    def warn(
        self,
        type: WarningType | str,
        message: str,
        *,
        details: Mapping[str, JsonValue] | None = None,
        evidence: Iterable[EvidencePointer] = (),
    ) -> None:
        """Record a warning of this stage."""
        self.warnings.append(
            recorder.warning_object(
                type, message, stage=self.name or RUN_STAGE, details=details, evidence=evidence
            )
        )

    def error(
        self,
        type: ErrorType | str,
        message: str,
        *,
        details: Mapping[str, JsonValue] | None = None,
        remediation_hint: str | None = None,
        severity: Severity | str = Severity.ERROR,
        evidence: Iterable[EvidencePointer] = (),
    ) -> None:
        """Record an error of this stage without raising; the stage and the run end in error."""
        self.errors.append(
            recorder.error_object(
                type,
                message,
                stage=self.name or RUN_STAGE,
                details=details,
                remediation_hint=remediation_hint,
                severity=severity,
                evidence=evidence,
            )
        )

    def evidence(
        self,
        kind: EvidenceKind | str,
        path: str | os.PathLike[str] | None = None,
        *,
        ref: str | None = None,
        note: str | None = None,
    ) -> None:
        """Point at durable evidence of this stage (a log file, a report, a URL)."""
        self.evidence_pointers.append(
            EvidencePointer(
                kind=recorder._vocabulary(EvidenceKind, kind, "evidence kind"),
                path=str(Path(path).absolute()) if path is not None else None,
                ref=ref,
                note=note,
            )
        )

    def write(
        self,
        run_id: str,
        *,
        stage: str | None = None,
        registry: RegistryArg = None,
        status: StageStatus | str = StageStatus.SUCCESS,
        node: NodeRef | None = None,
        started_at: datetime | None = None,
        completed_at: datetime | None = None,
        exception: BaseException | None = None,
        key: str | None = None,
    ) -> StorePath:
        """Write this stage attempt to an open run (see :func:`runrecord.write_stage`).

        Args:
            run_id: The open run.
            stage: The stage, when the report was made without one.
            registry: The project registry, its path, or None to discover it.
            status: ``success``, ``skipped`` or ``error`` (a stage with errors is ``error``).
            node: The orchestrator node (task / op / asset and attempt).
            started_at: When the attempt started.
            completed_at: When it ended; now by default.
            exception: An exception that ended the attempt.
            key: Makes the write idempotent (``"<node id>:<attempt>"``).

        Returns:
            The fragment's path.

        Raises:
            ConfigError: No stage given, here or when the report was made.
        """
        name = stage or self.name
        if name is None:
            raise ConfigError(
                "a stage report needs its stage to be written",
                hint="pass stage= to write(), or make the report with StageReport(stage)",
            )
        return recorder.write_stage(
            run_id,
            name,
            registry=registry,
            status=status,
            counters=self.counters,
            started_at=started_at,
            completed_at=completed_at,
            skip_reasons=self.skip_reasons,
            warnings=self.warnings,
            errors=self.errors,
            evidence=self.evidence_pointers,
            node=node,
            exception=exception,
            key=key,
        )


class Stage(StageReport):
    """One stage being recorded; create it with :meth:`Run.stage`.

    Use it as a context manager: leaving the block writes the stage's fragment. An
    exception escaping the block is recorded as the stage's error and re-raised.
    """

    def __init__(self, run: Run, name: str, node: NodeRef | None) -> None:
        super().__init__(name)
        self.run = run
        self.node = node
        self._started: datetime | None = None

    def __enter__(self) -> Self:
        self._started = datetime.now(UTC)
        self.run._stages.append(self.name or RUN_STAGE)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.run._stages.pop()
        failed = exc is not None and not _clean_exit(exc)
        try:
            self.write(
                self.run.run_id,
                registry=self.run.registry,
                status=StageStatus.ERROR if failed else StageStatus.SUCCESS,
                node=self.node,
                started_at=self._started,
                exception=exc if failed else None,
            )
        except RunRecordError as failure:
            if exc is None:
                raise
            _note(exc, f"could not record stage {self.name!r}: {failure}")
        if exc is not None:
            mark_recorded(exc)


def output_writer(
    run_id: str,
    name: str,
    path: str | os.PathLike[str],
    *,
    artifact_family: str,
    schema_version: str,
    registry: RegistryArg = None,
    required: bool | None = None,
    algorithm: str | None = None,
) -> OutputWriter:
    """Write an output of an open run through the staged → promoted path.

    The same as :meth:`Run.output`, for code that knows the run by its id (an orchestrator
    task in its own process).

    Args:
        run_id: The open run.
        name: Logical output name.
        path: The final path (file or directory).
        artifact_family: The output's artifact family.
        schema_version: The schema version emitted.
        registry: The project registry, its path, or None to discover it.
        required: Whether the run must produce it; by default unless the registry lists it
            in ``optional_outputs``.
        algorithm: ``blake3`` (default) or ``sha256``.

    Returns:
        The writer; use it as a context manager and write to ``writer.path``.
    """
    check_name(run_id)
    check_name(artifact_family, what="artifact family")
    return OutputWriter(
        run_id,
        name,
        recorder.output_target(path),
        registry=resolve_registry(registry),
        artifact_family=artifact_family,
        schema_version=schema_version,
        required=required,
        algorithm=algorithm,
    )


class OutputWriter:
    """An output on its way from staged to promoted.

    Create it with :meth:`Run.output` or :func:`output_writer`.

    Attributes:
        path: Where to write the data inside the block (the staged path: beside the final
            one, or a local temporary directory when the final one is on object storage).
        final_path: Where the data is promoted to.
        record_count: Set it to the number of records written (0 for a valid empty
            output).
        ref: The recorded output reference (after the block).
    """

    def __init__(
        self,
        run_id: str,
        name: str,
        final_path: Path | ObjectPath,
        *,
        registry: Registry,
        artifact_family: str,
        schema_version: str,
        required: bool | None,
        algorithm: str | None,
    ) -> None:
        self.run_id = run_id
        self.registry = registry
        self.name = name
        self.final_path = final_path
        staged = f".{final_path.name}.staged-{run_id[-24:]}-{secrets.token_hex(3)}"
        if isinstance(final_path, ObjectPath):
            self.path = Path(tempfile.mkdtemp(prefix="runrecord-output-")) / staged
        else:
            self.path = final_path.with_name(staged)
        self.artifact_family = artifact_family
        self.schema_version = schema_version
        self.required = required
        self.algorithm = algorithm
        self.record_count: int | None = None
        self.ref: OutputRef | None = None

    def __enter__(self) -> Self:
        if isinstance(self.final_path, Path):
            self.final_path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            _remove(self.path)
            self._remove_temporary()
            try:
                self.ref = recorder.output_not_written(
                    self.run_id,
                    self.name,
                    self.final_path,
                    artifact_family=self.artifact_family,
                    schema_version=self.schema_version,
                    registry=self.registry,
                    required=self.required,
                    why=f"{type(exc).__name__} while writing it",
                )
            except RunRecordError as failure:
                _note(exc, f"could not record output {self.name!r}: {failure}")
            return
        self.ref = recorder.promote_output(
            self.run_id,
            self.name,
            self.path,
            self.final_path,
            artifact_family=self.artifact_family,
            schema_version=self.schema_version,
            registry=self.registry,
            required=self.required,
            record_count=self.record_count,
            algorithm=self.algorithm or DEFAULT_ALGORITHM,
        )
        self._remove_temporary()

    def _remove_temporary(self) -> None:
        """Remove an object storage output's local temporary directory, once empty.

        A staged output that could not be promoted stays there.
        """
        if isinstance(self.final_path, ObjectPath):
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
