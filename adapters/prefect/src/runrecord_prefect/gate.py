"""Stop the line in Prefect: refuse to run on what an upstream run left in error.

Call :func:`gate` at the start of a flow (or inside a task): it raises
:class:`runrecord.UpstreamError` unless the upstream's newest record is allowed, so the flow
fails fast and its record says ``upstream_error`` (``runrecord.upstream_error``: the
upstream's run id and status, its record as evidence).
"""

# ruff: noqa: PLC0415 - Prefect is imported where it is used: importing this package stays cheap

from __future__ import annotations

from collections.abc import Collection

import runrecord
from runrecord_prefect._translate import stage_for

__all__ = ["gate"]


def gate(
    upstream: str,
    *,
    allowed: Collection[runrecord.Status | str] = ("success", "empty_success"),
    registry: runrecord.Registry | str | None = None,
) -> runrecord.Verdict:
    """Check an upstream entrypoint's newest record (or a record by run id) with the core gate.

    Args:
        upstream: The upstream entrypoint id, or a run id.
        allowed: Statuses that let this run go on.
        registry: The registry locating the records; by default the recorded flow's own, else
            the discovered one.

    Returns:
        The passing verdict.

    Raises:
        UpstreamError: The upstream record is missing, invalid or not allowed. Raised in a
            recorded flow, it fails the flow and its record says ``upstream_error``; raised in
            a recorded task, the task's stage says it.
        ConfigError: No registry.

    Examples:
        >>> import runrecord, tempfile
        >>> reg = runrecord.Registry(project_id="demo", project_name="Demo", stages=["load"],
        ...                          run_record_dir=tempfile.mkdtemp())
        >>> gate("sales.daily", registry=reg)
        Traceback (most recent call last):
        ...
        runrecord.errors.UpstreamError: upstream 'sales.daily' blocks this run: no run record ...
    """
    from prefect.context import FlowRunContext, TaskRunContext

    from runrecord_prefect.hooks import recorder_of

    context = FlowRunContext.get()
    recorder = recorder_of(context.flow) if context is not None else None
    if registry is None and recorder is not None:
        registry = recorder.registry()
    verdict = runrecord.check_upstream(upstream, registry=registry, allowed=allowed)
    if verdict.passed:
        return verdict
    if context is None or context.flow is None or context.flow_run is None or recorder is None:
        raise runrecord.upstream_error(verdict)[0]
    # In a recorded run: record the refusal now, as every consumer of the gate does, and
    # mark it so that the task's stage lists it and the flow does not record it again.
    own = recorder.registry()
    task = TaskRunContext.get()
    stage = stage_for(own, task.task_run)[0] if task is not None else runrecord.RUN_STAGE
    refusal, error = runrecord.upstream_error(verdict, stage=stage)
    run_id = recorder.open(context.flow, context.flow_run, own)
    runrecord.write_note(run_id, registry=own, errors=[error])
    runrecord.mark_recorded(refusal, error)
    raise refusal
