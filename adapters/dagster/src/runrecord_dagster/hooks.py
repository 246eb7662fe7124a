"""The step hook: one stage fragment per op or asset step that succeeds or fails.

The hook runs in the step's own process right after it (under the multiprocess executor,
each step is its own process). A step whose process is killed runs no hook: the run status
sensor (:mod:`.sensors`) writes its stage from Dagster's events instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import dagster as dg

# Dagster resolves the hooks' annotations when they are defined: a runtime import.
from dagster import HookContext

import runrecord
from runrecord_dagster.report import _pop_report
from runrecord_dagster.resources import RESOURCE_KEY, RunRecordResource, step_start

__all__ = ["runrecord_hooks", "with_runrecord_hooks"]

T = TypeVar("T")


def _attempt_key(node_id: str, attempt: int | None) -> str:
    """The idempotency key of one step attempt's stage: hooks, checks and finalizers share it."""
    return f"{node_id}:{attempt}"


def _record_step(context: HookContext, failed: bool) -> None:
    resource: RunRecordResource = getattr(context.resources, RESOURCE_KEY)
    registry = resource.registry()
    report = _pop_report(context.run_id, context.step_key)
    # The step's own run, without a query where this Dagster exposes it.
    step = getattr(context, "_step_execution_context", None)
    run = getattr(step, "dagster_run", None) or context.instance.get_run_by_id(context.run_id)
    if run is None:  # pragma: no cover - a hook always runs inside a stored run
        return
    stage = resource.stage_name(context.step_key, context.op.tags, registry.stages)
    run_id = resource.open(run, registry)
    attempt, started = _attempt_and_start(context, step)
    report.write(
        run_id,
        stage=stage,
        registry=registry,
        status="error" if failed else "success",
        node=runrecord.NodeRef(id=context.step_key, attempt=attempt),
        started_at=datetime.fromtimestamp(started, UTC) if started else None,
        # An error the step's input already recorded is listed, not recorded twice.
        exception=context.op_exception if failed else None,
        key=_attempt_key(context.step_key, attempt),  # whoever writes the attempt first wins
    )


def _attempt_and_start(context: HookContext, step: object) -> tuple[int, float | None]:
    """The step's attempt number, and when that attempt started (epoch seconds).

    From this process's memory when it saw the attempt start (the resource watches the
    run's events); from the event log otherwise.
    """
    started = step_start(context.run_id, context.step_key)
    previous = getattr(step, "previous_attempt_count", None)
    if started is not None and isinstance(previous, int):
        return previous + 1, started
    stats = context.instance.get_run_step_stats(context.run_id, step_keys=[context.step_key])
    if not stats:
        return 1, None
    return stats[0].attempts or 1, stats[0].start_time


_HOOK_NAME = "runrecord_stage"


def _on_step_end(context: HookContext, events: Sequence[dg.DagsterEvent]) -> dg.HookExecutionResult:
    """The hook's body: write the stage of a step that succeeded or failed."""
    for event in events:
        if event.is_step_success or event.is_step_failure:
            _record_step(context, failed=event.is_step_failure)
            return dg.HookExecutionResult(hook_name=_HOOK_NAME, is_skipped=False)
    return dg.HookExecutionResult(hook_name=_HOOK_NAME, is_skipped=True)


# One hook for success and failure, not a success hook and a failure hook: Dagster stores an
# event for every hook of every step (completed or skipped) and builds its resources for
# each, so a second hook would cost each step one more write to the event log.
_HOOK = dg.HookDefinition(
    name=_HOOK_NAME, hook_fn=_on_step_end, required_resource_keys={RESOURCE_KEY}
)


def runrecord_hooks() -> set[dg.HookDefinition]:
    """The hook that writes one stage fragment per op or asset step, when it succeeds or fails.

    It needs a :class:`~runrecord_dagster.RunRecordResource` under the ``runrecord`` key.

    Returns:
        The hook (in a set), for ``define_asset_job(hooks=...)``, ``@job(hooks=...)``,
        ``@asset(hooks=...)`` or ``.with_hooks(...)``.

    Examples:
        >>> import dagster as dg
        >>> @dg.asset
        ... def orders() -> list[int]:
        ...     return [1, 2, 3]
        >>> job = dg.define_asset_job("orders_job", selection=[orders], hooks=runrecord_hooks())
        >>> sorted(h.name for h in runrecord_hooks())
        ['runrecord_stage']
    """
    return {_HOOK}


def with_runrecord_hooks(definitions: Iterable[T]) -> list[T]:
    """Attach the hooks to existing assets, asset checks and jobs without changing their code.

    Anything without compute (asset specs, source assets, sensors, ...) is returned as it is.

    Args:
        definitions: Assets, asset checks, jobs and other definitions.

    Returns:
        The same definitions, in order, with the hooks attached where they apply.

    Raises:
        runrecord.ConfigError: An unresolved asset job (from ``define_asset_job``): give it
            ``hooks=runrecord_hooks()`` instead.

    Examples:
        >>> import dagster as dg
        >>> @dg.asset
        ... def orders() -> list[int]:
        ...     return [1, 2, 3]
        >>> [hooked] = with_runrecord_hooks([orders])
        >>> sorted(h.name for h in hooked.hook_defs)
        ['runrecord_stage']
    """
    out: list[T] = []
    for item in definitions:
        if hasattr(item, "with_hooks"):
            out.append(item.with_hooks(runrecord_hooks()))
        elif hasattr(item, "hooks") and hasattr(item, "selection"):
            raise runrecord.ConfigError(
                f"cannot attach hooks to the asset job {getattr(item, 'name', item)!r} after "
                "define_asset_job",
                hint="pass hooks=runrecord_hooks() to define_asset_job(...)",
            )
        else:
            out.append(item)
    return out
