"""A blocking asset check that stops downstream assets when an upstream record is not allowed.

Put it on the asset standing for the upstream's data (an ``AssetSpec`` of another job or code
location works): when it fails, nothing downstream of that asset is materialized in the run,
and the run's own record says ``upstream_error`` (stop the line).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import dagster as dg

import runrecord
from runrecord_dagster.hooks import _attempt_key
from runrecord_dagster.resources import RESOURCE_KEY, STAGE_TAG, RunRecordResource

if TYPE_CHECKING:
    from dagster import AssetCheckExecutionContext

__all__ = ["runrecord_gate_check"]

DEFAULT_ALLOWED = ("success", "empty_success")


def _evidence(verdict: runrecord.Verdict) -> list[runrecord.EvidencePointer]:
    kind = runrecord.EvidenceKind.FILE
    return [runrecord.EvidencePointer(kind=kind, path=str(verdict.path))] if verdict.path else []


def _metadata(verdict: runrecord.Verdict) -> dict[str, str]:
    return {
        "upstream": verdict.upstream,
        "upstream_status": verdict.status.value if verdict.status else "no valid record",
        "upstream_run_id": verdict.run_id or "",
        "reason": verdict.reason,
    }


def runrecord_gate_check(
    asset: dg.AssetKey | str | dg.AssetSpec | dg.AssetsDefinition,
    upstream: str,
    *,
    stage: str,
    name: str = "runrecord_gate",
    allowed: Collection[str] = DEFAULT_ALLOWED,
) -> dg.AssetChecksDefinition:
    """A blocking asset check that passes only when ``upstream``'s newest record is allowed.

    Args:
        asset: The asset to check: the one standing for the upstream's data, so that every
            asset downstream of it waits for the check.
        upstream: The upstream entrypoint id (or the run id of one record).
        stage: The stage of this run that the gate belongs to (it records it, and its
            ``upstream_error`` when it blocks).
        name: The check's name.
        allowed: Upstream statuses that pass.

    Returns:
        The check; add it to ``Definitions(asset_checks=...)`` and select it in the job.

    Examples:
        >>> import dagster as dg
        >>> orders = dg.AssetSpec("orders")
        >>> check = runrecord_gate_check(orders, "orders.ingest", stage="extract")
        >>> [k.name for k in check.check_keys]
        ['runrecord_gate']
    """
    key = asset.key if isinstance(asset, dg.AssetSpec | dg.AssetsDefinition) else asset

    def _gate(context: AssetCheckExecutionContext) -> dg.AssetCheckResult:
        resource: RunRecordResource = getattr(context.resources, RESOURCE_KEY)
        registry = resource.registry()
        verdict = runrecord.check_upstream(upstream, registry=registry, allowed=allowed)
        run_id = resource.open(context.run, registry)
        step = context.op_execution_context
        node = runrecord.NodeRef(id=str(step.op_handle), attempt=step.retry_number + 1)
        runrecord.write_stage(
            run_id,
            stage,
            registry=registry,
            errors=[] if verdict.passed else [runrecord.upstream_error(verdict, stage=stage)[1]],
            evidence=_evidence(verdict),
            node=node,
            key=_attempt_key(node.id, step.retry_number + 1),  # the hooks add nothing to it
        )
        return dg.AssetCheckResult(passed=verdict.passed, metadata=_metadata(verdict))

    # Dagster compares the context annotation with its classes: a string does not do.
    _gate.__annotations__["context"] = dg.AssetCheckExecutionContext
    return dg.asset_check(
        asset=key,
        name=name,
        blocking=True,
        required_resource_keys={RESOURCE_KEY},
        op_tags={STAGE_TAG: stage},
        description=f"runrecord gate: the newest record of {upstream!r} is one of "
        f"{sorted(allowed)}",
    )(_gate)
