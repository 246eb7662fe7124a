"""Recorded flows: ``@recorded_flow`` in place of ``@flow``, ``record_flow`` on an existing one.

runrecord's hooks come after the flow's own, never instead of them (Prefect's
``with_options`` replaces hook lists, so the lists are concatenated here).
"""

# ruff: noqa: PLC0415 - Prefect is imported where it is used: importing this package stays cheap

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

import runrecord
from runrecord_prefect.hooks import FlowRecorder, recorder_of

if TYPE_CHECKING:
    from prefect import Flow

__all__ = ["RegistryArg", "record_flow", "recorded_flow"]

P = ParamSpec("P")
R = TypeVar("R")

RegistryArg = runrecord.Registry | str | os.PathLike[str] | None


def record_flow(
    flow: Flow[P, R],
    *,
    entrypoint: str | None = None,
    registry: RegistryArg = None,
    stages: Sequence[str] = (),
) -> Flow[P, R]:
    """Return a copy of an existing flow whose every run leaves one run record.

    The copy has the flow's own hooks and, after them, runrecord's: ``on_running`` opens the
    run; ``on_completion``, ``on_failure``, ``on_crashed`` and ``on_cancellation`` finalize
    it. Bind the result to the flow's own name, so that deployments load the recorded flow.

    Args:
        flow: The flow.
        entrypoint: The records' entrypoint id; the flow's name by default.
        registry: A registry or the path of its file (loaded now); None discovers it in each
            process when a run starts (``RUNRECORD_REGISTRY``, then upward from the working
            directory).
        stages: Stages the flow is expected to run, in order: when a run fails before one of
            them, the record lists it as ``skipped`` with ``upstream_failed``.

    Returns:
        The recorded flow.

    Raises:
        UnsafeNameError: The entrypoint (the flow's name by default) or a stage name is not
            filename-safe: pass ``entrypoint=``.
        ConfigError: The flow is already recorded, or the registry file is invalid.

    Examples:
        >>> from prefect import flow
        >>> from runrecord_prefect import record_flow
        >>> @flow(name="sales-daily")
        ... def sales_daily() -> None: ...
        >>> sales_daily = record_flow(sales_daily, entrypoint="sales.daily")
        >>> [h.__name__ for h in sales_daily.on_completion_hooks]
        ['runrecord_finalize']
    """
    if recorder_of(flow) is not None:
        raise runrecord.ConfigError(
            f"flow {flow.name!r} is already recorded", hint="record a flow once"
        )
    if entrypoint is None and not _safe(flow.name):
        raise runrecord.UnsafeNameError(
            f"flow name {flow.name!r} is not a filename-safe entrypoint id",
            hint="pass entrypoint='sales.daily' (characters from [A-Za-z0-9._-])",
        )
    if registry is not None and not isinstance(registry, runrecord.Registry):
        registry = runrecord.load_registry(registry)
    recorder = FlowRecorder(entrypoint or flow.name, registry=registry, stages=stages)
    end = recorder.runrecord_finalize
    return flow.with_options(
        on_running=[*flow.on_running_hooks, recorder.runrecord_open],
        on_completion=[*flow.on_completion_hooks, end],
        on_failure=[*flow.on_failure_hooks, end],
        on_crashed=[*flow.on_crashed_hooks, end],
        on_cancellation=[*flow.on_cancellation_hooks, end],
    )


def _safe(name: str) -> bool:
    try:
        runrecord.check_name(name)
    except runrecord.UnsafeNameError:
        return False
    return True


@overload
def recorded_flow(fn: Callable[P, R], /) -> Flow[P, R]: ...
@overload
def recorded_flow(
    *,
    entrypoint: str | None = None,
    registry: RegistryArg = None,
    stages: Sequence[str] = (),
    **flow_options: Any,  # noqa: ANN401 - passed on to prefect.flow as they are
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...
def recorded_flow(
    fn: Callable[P, R] | None = None,
    /,
    *,
    entrypoint: str | None = None,
    registry: RegistryArg = None,
    stages: Sequence[str] = (),
    **flow_options: Any,
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Use in place of ``@flow``: every run of the flow leaves one run record.

    Args:
        fn: The flow function (when used as ``@recorded_flow`` without arguments).
        entrypoint: The records' entrypoint id; the flow's name by default.
        registry: A registry or the path of its file; discovered at run time by default.
        stages: Stages the flow is expected to run, in order (see :func:`record_flow`).
        **flow_options: Anything ``@flow`` takes (``name=``, ``retries=``, hooks, ...).

    Returns:
        The recorded flow, or a decorator that makes one.

    Examples:
        >>> from runrecord_prefect import recorded_flow
        >>> @recorded_flow(name="sales-daily", entrypoint="sales.daily")
        ... def sales_daily() -> None: ...
        >>> sales_daily.name
        'sales-daily'
    """
    from prefect import flow

    def decorate(function: Callable[P, R]) -> Flow[P, R]:
        made: Flow[P, R] = flow(function, **flow_options)
        return record_flow(made, entrypoint=entrypoint, registry=registry, stages=stages)

    return decorate(fn) if fn is not None else decorate
