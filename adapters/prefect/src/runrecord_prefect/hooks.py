"""Flow hooks that open and finalize a flow run's record, in whichever process runs them.

A :class:`FlowRecorder` holds what a recorded flow needs (entrypoint, registry, declared
stages). Its bound methods are the flow's hooks, so every process that holds the flow
object can finish the record: the flow run's own process, or the runner that noticed the
flow run's process die (Prefect runs ``on_crashed`` there after a SIGKILL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import runrecord
from runrecord_prefect._taskruns import record_task_runs
from runrecord_prefect._translate import orchestrator_block, reported, run_logger, state_exception
from runrecord_prefect.artifact import publish_artifact

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun, State

__all__ = ["FlowRecorder", "recorder_of"]


class FlowRecorder:
    """What a recorded flow needs to write its runs' records; its methods are the hooks.

    Made by :func:`runrecord_prefect.recorded_flow` and :func:`runrecord_prefect.record_flow`;
    :func:`recorder_of` finds it again from the flow.

    Args:
        entrypoint: The entrypoint id of the flow's records (filename-safe).
        registry: A registry, or None to discover it in each process when a run starts.
        stages: The stages the flow is expected to run, in order; those a failed run never
            reached are recorded as ``skipped`` with ``upstream_failed``.

    Examples:
        >>> recorder = FlowRecorder("sales.daily", registry=None, stages=["load"])
        >>> recorder.entrypoint, recorder.stages
        ('sales.daily', ('load',))
    """

    def __init__(
        self, entrypoint: str, *, registry: runrecord.Registry | None, stages: Sequence[str]
    ) -> None:
        self.entrypoint = runrecord.check_name(entrypoint, what="entrypoint id")
        self.stages = tuple(runrecord.check_name(s, what="stage name") for s in stages)
        self._registry = registry
        self._opened: dict[str, runrecord.Registry] = {}  # run id -> the registry it opened with

    def registry(self) -> runrecord.Registry:
        """The registry given, or the one discovered now (``RUNRECORD_REGISTRY``, then upward)."""
        return self._registry if self._registry is not None else runrecord.load_registry()

    def opened(self, flow: Flow[..., Any], flow_run: FlowRun) -> tuple[str, runrecord.Registry]:
        """The run id and registry of the flow run's record, opening it unless this process did.

        Task hooks call this once per task run: a run this process opened is not looked for
        again, nor is its registry.

        Raises:
            RecordExistsError: The run is already finalized.
        """
        run_id = self.run_id(flow_run)
        registry = self._opened.get(run_id)
        if registry is None:
            registry = self.registry()
            self.open(flow, flow_run, registry)
        return run_id, registry

    def run_id(self, flow_run: FlowRun) -> str:
        """The record's run id: derived from the flow run id, the same in every process."""
        return runrecord.run_id_for(self.entrypoint, str(flow_run.id))

    def open(self, flow: Flow[..., Any], flow_run: FlowRun, registry: runrecord.Registry) -> str:
        """Open the run unless this process did already; return its run id.

        Raises:
            RecordExistsError: The run is already finalized.
        """
        run_id = self.run_id(flow_run)
        if run_id not in self._opened:
            info, extensions = orchestrator_block(flow, flow_run)
            runrecord.open_run(
                self.entrypoint,
                registry=registry,
                run_id=run_id,
                orchestrator=info,
                extensions=extensions,
                entrypoint_name=flow.name,
                exist_ok=True,
            )
            self._opened[run_id] = registry
        return run_id

    def runrecord_open(self, flow: Flow[..., Any], flow_run: FlowRun, state: State) -> None:
        """``on_running`` hook: open the run before the flow's first task."""
        with reported(run_logger(flow_run, flow), "opening the run record"):
            self.open(flow, flow_run, self.registry())

    def runrecord_finalize(self, flow: Flow[..., Any], flow_run: FlowRun, state: State) -> None:
        """Completion, failure, crash and cancellation hook: promote the record.

        Task runs that left no stage get one from the Prefect API; declared stages a run
        that did not complete never reached are ``skipped``; the flow's own exception is
        recorded unless a task's stage holds it; how Prefect saw the run end goes to the core.
        """
        logger = run_logger(flow_run, flow)
        with reported(logger, "finalizing the run record"):
            registry = self.registry()
            try:
                run_id = self.open(flow, flow_run, registry)
            except runrecord.RecordExistsError:
                logger.info("runrecord: the run record was already written")
                return
            ended = _interrupted(state)
            why = f"the flow run ended {state.name}: {state.message or 'no message'}"
            try:
                record_task_runs(run_id, registry, flow_run, ended, why)
            except runrecord.RunRecordError:
                raise
            except Exception as exc:  # noqa: BLE001 - the API is down: finalize what is there
                logger.warning(
                    "runrecord: could not read the flow run's task runs from the Prefect API "
                    "(%s); the record holds the stages the tasks wrote",
                    exc,
                )
            if not state.is_completed():
                ran = {s.stage for s in runrecord.staged_stages(run_id, registry=registry)}
                for stage in (s for s in self.stages if s not in ran):
                    runrecord.write_unreported_stage(
                        run_id,
                        stage,
                        outcome="upstream_failed",
                        registry=registry,
                        detail=f"not reached; {why}",
                    )
            raised = state_exception(state)
            if raised is not None and not runrecord.is_recorded(raised):
                error = runrecord.error_from_exception(raised, run_id=run_id, registry=registry)
                runrecord.write_note(run_id, registry=registry, errors=[error], key=error.error_id)
            result = runrecord.finalize_run(
                run_id,
                registry=registry,
                status="error" if state.is_failed() else None,
                ending=ended,
                reason=why,
                exist_ok=True,
            )
            self._opened.pop(run_id, None)
            if result.created:
                logger.info("runrecord: %s record %s", result.record.status, result.path)
                publish_artifact(result, flow_run.id, self.entrypoint, logger)


def _interrupted(state: State) -> Literal["crashed", "cancelled"] | None:
    """How the flow run ended when it did not end by itself."""
    if state.is_crashed():
        return "crashed"
    if state.is_cancelled() or state.is_cancelling():
        return "cancelled"
    return None


def recorder_of(flow: Flow[..., Any] | None) -> FlowRecorder | None:
    """The recorder of a recorded flow; None for a flow that is not recorded.

    Examples:
        >>> recorder_of(None) is None
        True
    """
    for hook in getattr(flow, "on_running_hooks", None) or ():
        owner = getattr(hook, "__self__", None)
        if isinstance(owner, FlowRecorder):
            return owner
    return None
