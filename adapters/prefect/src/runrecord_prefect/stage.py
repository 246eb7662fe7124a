"""What a task reports about its own stage: counters, skips, warnings, inputs and outputs.

Counters, skip reasons, warnings, errors and evidence are checked when reported (a
miscount fails the task that made it) and kept until the task's final attempt ends, when
the task hook writes them as the stage. Inputs and outputs are written to the run at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import runrecord

if TYPE_CHECKING:
    import os
    from collections.abc import Collection, Iterable

__all__ = ["TaskStage"]


class TaskStage(runrecord.StageReport):
    """What one task run reports for its stage; get it with ``current_stage()``.

    ``count``, ``skip``, ``warn``, ``error`` and ``evidence`` are those of
    :class:`runrecord.StageReport`; ``input`` and ``output`` write to the run at once.

    Attributes:
        run_id: The run record's run id.
        stage: The stage name the task run is recorded as.
        registry: The registry of the run.
        attempt: The attempt of the task run (its run count) this report is of.

    Examples:
        >>> import runrecord, tempfile
        >>> reg = runrecord.Registry(project_id="demo", project_name="Demo", stages=["load"],
        ...                          run_record_dir=tempfile.mkdtemp())
        >>> stage = TaskStage("demo.daily-1", "load", reg)
        >>> stage.count(records_seen=3, records_skipped=1)
        Traceback (most recent call last):
        ...
        runrecord.errors.CountersError: 1 records counted as skipped without a reason code ...
    """

    def __init__(
        self, run_id: str, stage: str, registry: runrecord.Registry, attempt: int = 1
    ) -> None:
        super().__init__(stage)
        self.run_id = run_id
        self.stage = stage
        self.registry = registry
        self.attempt = attempt

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
    ) -> runrecord.InputRef:
        """Resolve and record an input (``runrecord.resolve_input``): manifest read, hash verified.

        The input is recorded (``present``, ``substituted`` or ``missing``) before any
        refusal is raised; a refusal fails the task, and its stage lists the error.

        Raises:
            InputMissingError: A required input is missing.
            ManifestError: Its manifest is missing or invalid.
            IntegrityError: Its data does not match its manifest.
            SchemaMismatchError: Its schema version is not accepted.
        """
        return runrecord.resolve_input(
            self.run_id,
            name,
            path,
            artifact_family=artifact_family,
            registry=self.registry,
            manifest_path=manifest_path,
            required=required,
            fallbacks=fallbacks,
            accept_schema_versions=accept_schema_versions,
            stage=self.stage,
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
    ) -> runrecord.OutputWriter:
        """Write an output through the staged → promoted path (``runrecord.output_writer``).

        Use it as a context manager: write to ``out.path`` inside the block and set
        ``out.record_count``; leaving the block hashes the data, writes
        ``<path>.manifest.json`` and promotes the data to ``path`` (never overwriting). If
        the block raises, nothing is promoted and the output is recorded as not written.
        """
        return runrecord.output_writer(
            self.run_id,
            name,
            path,
            artifact_family=artifact_family,
            schema_version=schema_version,
            registry=self.registry,
            required=required,
            algorithm=algorithm,
        )
