"""Counters for the body of a recorded task: :func:`count` and :func:`skip`.

Counts are kept in the task's process, where its callbacks read them, and travel through
XCom too, so that they reach whichever process writes the stage when the try ends. In a
task that nothing records (no runrecord callbacks, listener off) they are checked and
dropped.

Examples:
    Inside a task of a recorded DAG::

        @task
        def transform() -> None:
            rows = read("/data/orders.csv")
            unique = dedupe(rows)
            runrecord_airflow.count(records_seen=len(rows), records_processed=len(unique))
            runrecord_airflow.skip(len(rows) - len(unique), "duplicate")
"""

from __future__ import annotations

import runrecord
from runrecord import ReasonCode, SkipUnit
from runrecord_airflow._current import RegistryArg, current_task
from runrecord_airflow._facts import TALLY_KEY, local_tally

__all__ = ["count", "skip"]


def count(
    *, skip_reason: ReasonCode | str | None = None, registry: RegistryArg = None, **counters: int
) -> None:
    """Add to the current task's stage counters (written when the task ends).

    Args:
        skip_reason: Reason code for ``files_skipped``/``records_skipped`` in this call.
        registry: The project registry, its path, or None for ``RUNRECORD_REGISTRY``.
        **counters: Counter increments: the contract's counters (but ``errors_count`` and
            ``warnings_count``, which are derived) or snake_case extra counters.

    Raises:
        CountersError: A negative or non-integer count, a derived or badly named counter,
            or skipped items without a reason.
        NotInTaskError: Called outside a running task.
    """
    # Checked here, at the call, so that a miscount fails the task that made it.
    values, reasons = runrecord.check_counts(counters, skip_reason=skip_reason)
    task = current_task(registry)
    if task.run_id is None:
        return
    local = local_tally(task.ti)
    if local is not None:
        tally = local
    else:
        tally = task.ti.xcom_pull(task_ids=task.ti.task_id, key=TALLY_KEY) or {}
    totals = dict(tally.get("counters", {}))
    for name, value in values.items():
        totals[name] = totals.get(name, 0) + value
    skips = [*tally.get("skip_reasons", []), *(r.model_dump(mode="json") for r in reasons)]
    new = {"counters": totals, "skip_reasons": skips}
    if local is not None:
        local.update(new)
    task.ti.xcom_push(TALLY_KEY, new)


def skip(
    n: int, reason: ReasonCode | str, what: str = "records", *, registry: RegistryArg = None
) -> None:
    """Count ``n`` records (or files) skipped for ``reason``: normal processing, lowers nothing."""
    count(skip_reason=reason, registry=registry, **{f"{SkipUnit(what)}_skipped": n})
