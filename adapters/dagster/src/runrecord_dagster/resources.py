"""The resource that carries the registry location and the naming rules of a code location.

Every other piece (IO manager, hooks, sensors, checks, the in-process finalizer) reaches the
run record store through a :class:`RunRecordResource`, bound in ``Definitions(resources=...)``
under the key :data:`RESOURCE_KEY`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

try:
    import dagster as dg
except ImportError as exc:  # pragma: no cover - dagster is a dependency of the distribution
    raise ImportError(
        "runrecord_dagster needs dagster: pip install runrecord-dagster (or dagster>=1.11)"
    ) from exc

import runrecord

if TYPE_CHECKING:
    from dagster import DagsterRun, EventLogEntry

__all__ = ["ENTRYPOINT_TAG", "RESOURCE_KEY", "STAGE_TAG", "RunRecordResource"]

RESOURCE_KEY = "runrecord"
"""The resource key hooks, sensors and checks look the :class:`RunRecordResource` up by."""
STAGE_TAG = "runrecord/stage"
"""Op tag naming the stage an op, asset or asset check records (``op_tags={STAGE_TAG: ...}``)."""
ENTRYPOINT_TAG = "runrecord/entrypoint"
"""Job or run tag naming the entrypoint id of the run (default: the job name)."""


def _command() -> str:
    # Dagster's worker processes carry serialized arguments: keep the command readable.
    return shlex.join(arg if len(arg) <= 200 else "…" for arg in sys.argv)


class RunRecordResource(dg.ConfigurableResource):  # type: ignore[type-arg,unused-ignore]
    """Where run records go, and how Dagster names become record names.

    Attributes:
        registry_path: The project registry (``runrecord.toml`` or a ``pyproject.toml`` with
            ``[tool.runrecord]``); by default ``$RUNRECORD_REGISTRY``, else searched upward
            from the working directory of each process.
        entrypoints: Job name → entrypoint id. The ``runrecord/entrypoint`` tag of a job or
            run wins; the job name is the default.
        stages: Op, asset or check node name → stage name. The ``runrecord/stage`` op tag
            wins; the node name itself is the default. Either way the stage must be in the
            registry's stage set.
        webserver_url: Base URL of the Dagster UI, for links to runs in records.

    Examples:
        >>> from runrecord_dagster import RunRecordResource
        >>> rr = RunRecordResource(stages={"orders_gate": "extract"})
        >>> rr.stage_name("orders_gate", {}, ["extract", "load"])
        'extract'
    """

    registry_path: str | None = None
    entrypoints: dict[str, str] = {}  # noqa: RUF012 - pydantic copies defaults
    stages: dict[str, str] = {}  # noqa: RUF012
    webserver_url: str | None = None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Watch the run's events in this process for the start of each step attempt.

        The hooks then take a step's start from memory instead of querying the event log
        once per step; where this process did not see the start, they still query.
        """
        instance, run = context.instance, context.run
        if instance is None or run is None or (id(instance), run.run_id) in _WATCHED:
            return
        if len(_WATCHED) >= 1024:
            _WATCHED.clear()
        _WATCHED.add((id(instance), run.run_id))
        instance.add_event_listener(run.run_id, _note_step_start)

    def registry(self) -> runrecord.Registry:
        """Load the project registry.

        Raises:
            runrecord.ConfigError: No registry found, or it is invalid.
        """
        return runrecord.load_registry(self.registry_path)

    def entrypoint(self, run: DagsterRun) -> str:
        """The entrypoint id of a Dagster run: its tag, the mapping, or the job name."""
        return run.tags.get(ENTRYPOINT_TAG) or self.entrypoints.get(run.job_name) or run.job_name

    def record_run_id(self, run: DagsterRun) -> str:
        """The run record's run id: derived from the Dagster run id, the same in every process."""
        return runrecord.run_id_for(self.entrypoint(run), run.run_id)

    def stage_name(self, node: str, tags: Mapping[str, object], stages: Sequence[str]) -> str:
        """The stage a node records, checked against the registry's stage set.

        Args:
            node: The op or step name (``transform``, ``graph.op``, ``op[mapping_key]``).
            tags: The op's tags.
            stages: The registry's stage set.

        Raises:
            runrecord.ConfigError: The stage is not in the stage set.
        """
        name = node.split("[", maxsplit=1)[0].rsplit(".", maxsplit=1)[-1]
        stage = str(tags.get(STAGE_TAG) or self.stages.get(name) or name)
        if stage not in stages:
            raise runrecord.ConfigError(
                f"Dagster node {node!r} records stage {stage!r}, which is not in the "
                f"registry's stages {list(stages)}",
                hint=f"tag the op or asset with op_tags={{'{STAGE_TAG}': '<stage>'}}, map it "
                f"with RunRecordResource(stages={{'{name}': '<stage>'}}), or add {stage!r} to "
                "the registry's stages",
                key="stages",
            )
        return stage

    def orchestrator(self, run: DagsterRun) -> runrecord.OrchestratorInfo:
        """The record's ``orchestrator`` block: Dagster run id, job, attempt and UI link."""
        retry = run.tags.get("dagster/retry_number", "0")
        url = self.webserver_url
        return runrecord.OrchestratorInfo(
            name="dagster",
            version=dg.__version__,
            run_id=run.run_id,
            job=run.job_name,
            attempt=int(retry) + 1 if retry.isdigit() else None,
            url=f"{url.rstrip('/')}/runs/{run.run_id}" if url else None,
        )

    def open(self, run: DagsterRun, registry: runrecord.Registry | None = None) -> str:
        """Open the record of a Dagster run (idempotent: every process of the run may call it).

        Returns:
            The record's run id.
        """
        reg = registry or self.registry()
        opened = (str(reg.record_location), self.record_run_id(run))
        if opened in _OPENED:  # every input, output and hook of a step opens the run
            return opened[1]
        run_id = runrecord.open_run(
            self.entrypoint(run),
            registry=reg,
            run_id=self.record_run_id(run),
            command=_command(),
            config=run.run_config,
            orchestrator=self.orchestrator(run),
            entrypoint_name=run.job_name,
            detached=True,  # steps run in processes that exit while the run goes on
            exist_ok=True,
        )
        if len(_OPENED) >= 1024:
            _OPENED.clear()
        _OPENED.add(opened)
        return run_id


# Runs this process has opened (record directory, run id): opening again would only find
# the header there.
_OPENED: set[tuple[str, str]] = set()

# When the current attempt of each step of a run started, as this process saw Dagster
# store it: (run id, step key) -> timestamp. Taken by the hook that writes the stage.
_STEP_STARTS: dict[tuple[str, str], float] = {}
# The (instance, run) pairs whose events this process watches.
_WATCHED: set[tuple[int, str]] = set()
_ATTEMPT_STARTS = {"STEP_START", "STEP_RESTARTED"}


def _note_step_start(entry: EventLogEntry) -> None:
    event = entry.dagster_event
    if event is None or event.step_key is None or event.event_type_value not in _ATTEMPT_STARTS:
        return
    if len(_STEP_STARTS) >= 4096:  # steps whose hook never ran
        _STEP_STARTS.clear()
    _STEP_STARTS[(entry.run_id, event.step_key)] = entry.timestamp


def step_start(run_id: str, step_key: str) -> float | None:
    """When the current attempt of a step started, if this process saw it; forgotten after."""
    return _STEP_STARTS.pop((run_id, step_key), None)
