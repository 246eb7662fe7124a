"""Counters, skips, warnings and evidence reported from inside an op or asset.

The stage fragment itself is written by the success or failure hook (:mod:`.hooks`), which
runs in the same process right after the step; the report waits for it in this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import runrecord

if TYPE_CHECKING:
    import os

    from dagster import AssetExecutionContext, OpExecutionContext
    from pydantic import JsonValue

__all__ = ["StageReport", "stage_report"]


@dataclass
class StageReport:
    """What one step reports for its stage; get it with :func:`stage_report`.

    Attributes:
        counters: Counter totals so far.
        skip_reasons: Reason codes of skipped records and files.
        warnings: ``(type, message, details)`` of each warning.
        evidence: Evidence pointers.
    """

    counters: dict[str, int] = field(default_factory=dict)
    skip_reasons: list[runrecord.SkipReason] = field(default_factory=list)
    warnings: list[tuple[str, str, dict[str, JsonValue] | None]] = field(default_factory=list)
    evidence: list[runrecord.EvidencePointer] = field(default_factory=list)

    def count(self, *, skip_reason: str | None = None, **counters: int) -> None:
        """Add to the stage's counters (``records_seen=10, records_processed=9``).

        Args:
            skip_reason: Reason code for the ``files_skipped``/``records_skipped`` of this call.
            **counters: Increments of the required counters (but ``errors_count`` and
                ``warnings_count``, which are derived) or snake_case extra counters.

        Raises:
            runrecord.CountersError: Skipped items without a reason code.
        """
        for unit in ("files", "records"):
            skipped = counters.get(f"{unit}_skipped", 0)
            if skipped and skip_reason is None:
                raise runrecord.CountersError(
                    f"{skipped} {unit} counted as skipped without a reason code",
                    hint=f"pass skip_reason='duplicate' (or another code), or use "
                    f"report.skip({skipped}, reason, what='{unit}')",
                )
            if skipped:
                self.skip_reasons.append(
                    runrecord.SkipReason.model_validate(
                        {"code": skip_reason, "count": skipped, "what": unit}
                    )
                )
        for name, value in counters.items():
            self.counters[name] = self.counters.get(name, 0) + value

    def skip(self, n: int, reason: str, what: str = "records") -> None:
        """Count ``n`` records (or files, ``what="files"``) skipped for a reason code."""
        self.count(skip_reason=reason, **{f"{what}_skipped": n})

    def warn(self, type: str, message: str, *, details: dict[str, JsonValue] | None = None) -> None:
        """Record a warning of the stage (a ``runrecord.WarningType`` value)."""
        runrecord.WarningType(type)  # refuse an unknown type here, not in the hook
        self.warnings.append((type, message, details))

    def add_evidence(
        self, kind: str, path: str | os.PathLike[str] | None = None, *, note: str | None = None
    ) -> None:
        """Point at durable evidence of the stage (a report file, a log, a URL as ``path``)."""
        location = str(Path(path).absolute()) if path is not None and kind != "url" else None
        self.evidence.append(
            runrecord.EvidencePointer(
                kind=runrecord.EvidenceKind(kind),
                path=location,
                ref=str(path) if kind == "url" else None,
                note=note,
            )
        )


# One report per step of a run in this process: (run id, step key) -> (attempt, report).
_REPORTS: dict[tuple[str, str], tuple[int, StageReport]] = {}


def _step_key_of(context: AssetExecutionContext | OpExecutionContext) -> str:
    """The step key of the step a compute context belongs to."""
    op_context = context.op_execution_context
    mapping = op_context.get_mapping_key()
    return str(op_context.op_handle) + (f"[{mapping}]" if mapping else "")


def stage_report(context: AssetExecutionContext | OpExecutionContext) -> StageReport:
    """The report of the running step: counters, skips and warnings for its stage record.

    Args:
        context: The asset's or op's context.

    Returns:
        The step's report; repeated calls return the same one.

    Examples:
        >>> import dagster as dg
        >>> @dg.asset
        ... def orders(context) -> list[int]:  # hooks turn the report into the stage record
        ...     rows = [1, 2, 2, 3]
        ...     report = stage_report(context)
        ...     report.count(records_seen=len(rows), records_processed=3)
        ...     report.skip(1, "duplicate")
        ...     return sorted(set(rows))
        >>> dg.materialize([orders]).success
        True
    """
    key = (context.run.run_id, _step_key_of(context))
    attempt = context.op_execution_context.retry_number
    if key not in _REPORTS or _REPORTS[key][0] != attempt:  # a retry starts afresh
        _REPORTS[key] = (attempt, StageReport())
    return _REPORTS[key][1]


def _pop_report(run_id: str, step_key: str) -> StageReport:
    """Take the report of a finished step (empty when the step reported nothing)."""
    found = _REPORTS.pop((run_id, step_key), None)
    return found[1] if found else StageReport()
