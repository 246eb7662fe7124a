"""Inputs and outputs of a recorded task, through the core's manifest and promotion path.

In a task that nothing records (no runrecord callbacks, listener off), inputs are still
verified against their manifests and outputs still get one; nothing is recorded.

Examples:
    Inside a task of a recorded DAG::

        @task
        def load() -> None:
            orders = runrecord_airflow.input("orders", "/data/orders.csv", artifact_family="orders")
            rows = read(orders.path)
            with runrecord_airflow.output(
                "clean orders", "/data/clean.csv", artifact_family="orders", schema_version="1"
            ) as out:
                write(out.path, rows)
                out.record_count = len(rows)
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import runrecord
from runrecord import InputRef, OutputRef, OutputWriter
from runrecord_airflow._current import RegistryArg, current_task

__all__ = ["UnrecordedOutput", "input", "output"]


def input(
    name: str,
    path: str | os.PathLike[str],
    *,
    artifact_family: str,
    manifest_path: str | os.PathLike[str] | None = None,
    required: bool = True,
    fallbacks: Iterable[str | os.PathLike[str]] = (),
    accept_schema_versions: Collection[str] | None = None,
    registry: RegistryArg = None,
) -> InputRef:
    """Resolve and record an input of the current task; see :func:`runrecord.resolve_input`.

    In a task that nothing records, the data at ``path`` is only checked against its
    manifest: ``fallbacks``, ``accept_schema_versions`` and a missing optional input need a
    recorded task.

    Raises:
        InputMissingError: A required input is missing (the task fails; the stage lists
            the error).
        ManifestError: Its manifest is missing or invalid.
        IntegrityError: Its data does not match its manifest.
        SchemaMismatchError: Its schema version is not accepted.
    """
    task = current_task(registry)
    if task.run_id is not None:
        return runrecord.resolve_input(
            task.run_id,
            name,
            path,
            artifact_family=artifact_family,
            registry=task.registry,
            manifest_path=manifest_path,
            required=required,
            fallbacks=fallbacks,
            accept_schema_versions=accept_schema_versions,
            stage=task.stage,
        )
    found = Path(path).absolute()  # not recorded: still refuse bad data, record nothing
    mpath = Path(manifest_path or runrecord.manifest_path_for(found)).absolute()
    manifest = runrecord.read_manifest(mpath)
    runrecord.verify(found, manifest)
    return InputRef(
        name=name,
        artifact_family=artifact_family,
        path=str(found),
        manifest_path=str(mpath),
        data_hash=manifest.data_hash,
        schema_version=manifest.schema_version,
        required=required,
        resolution=runrecord.Resolution.PRESENT,
    )


def output(
    name: str,
    path: str | os.PathLike[str],
    *,
    artifact_family: str,
    schema_version: str,
    required: bool | None = None,
    algorithm: str | None = None,
    registry: RegistryArg = None,
) -> AbstractContextManager[OutputWriter | UnrecordedOutput]:
    """Write an output of the current task: :func:`runrecord.output_writer` for this task.

    Write the data to ``out.path`` inside the block and set ``out.record_count``. Leaving
    the block hashes the data, writes its manifest and promotes it (create-exclusive); if
    the block raises, nothing is promoted and the output is recorded ``not_written``.

    Raises:
        PromotionError: The output exists already or could not be moved into place.
    """
    task = current_task(registry)
    if task.run_id is None:
        return _unrecorded(Path(path).absolute(), artifact_family, schema_version)
    return runrecord.output_writer(
        task.run_id,
        name,
        path,
        artifact_family=artifact_family,
        schema_version=schema_version,
        registry=task.registry,
        required=required,
        algorithm=algorithm,
    )


@dataclass(slots=True)
class UnrecordedOutput:
    """What :func:`output` yields in a task that nothing records.

    The data goes straight to ``path``; its manifest is written beside it when the block
    ends.

    Attributes:
        path: Where to write the data (the final path).
        final_path: The same path.
        record_count: Records written.
        ref: Always None: nothing is recorded.
    """

    path: Path
    final_path: Path
    record_count: int | None = None
    ref: OutputRef | None = None


@contextmanager
def _unrecorded(final: Path, family: str, version: str) -> Iterator[UnrecordedOutput]:
    final.parent.mkdir(parents=True, exist_ok=True)
    out = UnrecordedOutput(path=final, final_path=final)
    yield out
    manifest = runrecord.build_manifest(
        final, artifact_family=family, schema_version=version, record_count=out.record_count
    )
    runrecord.write_manifest(manifest, runrecord.manifest_path_for(final))
