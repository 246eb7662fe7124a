"""Counters, skips, warnings and evidence reported from inside an op or asset.

The stage fragment itself is written by the step hook (:mod:`.hooks`), which runs in the
same process right after the step; the report waits for it in this process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import runrecord

if TYPE_CHECKING:
    from dagster import AssetExecutionContext, OpExecutionContext

__all__ = ["stage_report"]


# One report per step of a run in this process: (run id, step key) -> (attempt, report).
_REPORTS: dict[tuple[str, str], tuple[int, runrecord.StageReport]] = {}


def _step_key_of(context: AssetExecutionContext | OpExecutionContext) -> str:
    """The step key of the step a compute context belongs to."""
    op_context = context.op_execution_context
    mapping = op_context.get_mapping_key()
    return str(op_context.op_handle) + (f"[{mapping}]" if mapping else "")


def stage_report(context: AssetExecutionContext | OpExecutionContext) -> runrecord.StageReport:
    """The report of the running step: counters, skips, warnings, errors and evidence.

    The step's stage is only known to the hook that writes it, so the report is a
    :class:`runrecord.StageReport` without a stage; its ``count`` checks every count at the
    call, so a miscount fails the step that made it.

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
        _REPORTS[key] = (attempt, runrecord.StageReport())
    return _REPORTS[key][1]


def _pop_report(run_id: str, step_key: str) -> runrecord.StageReport:
    """Take the report of a finished step (empty when the step reported nothing)."""
    found = _REPORTS.pop((run_id, step_key), None)
    return found[1] if found else runrecord.StageReport()
