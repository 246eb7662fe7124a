"""An IO manager that records inputs and outputs: staged, hashed, manifested, verified.

Outputs are staged, hashed, given a manifest and promoted; inputs are verified against their
manifests; each is recorded in the run's record.

Every materialization goes to its own path, ``<base_dir>/<asset key>/[<partition>/]<Dagster
run id>.<pickle|json>``: promoted data is never overwritten, so a reader always gets what its
manifest describes.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Sized
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

import runrecord
from runrecord_dagster.resources import RunRecordResource

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dagster import InputContext, OutputContext


__all__ = ["RunRecordIOManager"]

FAMILY_KEY = "runrecord/artifact_family"
VERSION_KEY = "runrecord/schema_version"
ACCEPT_KEY = "runrecord/accept_schema_versions"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def _meta(metadata: Mapping[str, object] | None, key: str) -> object:
    value = (metadata or {}).get(key)
    return getattr(value, "value", value)


def _record_count(obj: object, metadata: Mapping[str, object]) -> int | None:
    rows = _meta(metadata, "dagster/row_count")
    if isinstance(rows, int):
        return rows
    if isinstance(obj, Sized) and not isinstance(obj, str | bytes | dict):
        return len(obj)
    return None


def _producer(context: OutputContext | InputContext) -> OutputContext:
    """The output context of the data: the output itself, or the input's upstream output."""
    if isinstance(context, dg.OutputContext):
        return context
    if context.upstream_output is None:
        raise runrecord.ConfigError(
            f"input {context.name!r} has no upstream output to read",
            hint="RunRecordIOManager loads only inputs produced by an upstream asset or op",
        )
    return context.upstream_output


def _write(path: Path, obj: object, *, as_json: bool) -> None:
    if as_json:
        with path.open("w") as text:
            json.dump(obj, text)
    else:
        with path.open("wb") as raw:
            pickle.dump(obj, raw)


def _read(path: Path) -> object:
    if path.suffix == ".json":
        return json.loads(path.read_text())
    with path.open("rb") as raw:
        return pickle.load(raw)  # noqa: S301 - data this pipeline wrote, hash-verified first


class RunRecordIOManager(dg.ConfigurableIOManager):
    """Write asset and op outputs as files with manifests, and record every input and output.

    Asset metadata ``runrecord/artifact_family`` (default: the asset key joined with ``.``)
    and ``runrecord/schema_version`` (default: ``schema_version``) name what is written; input
    metadata ``runrecord/accept_schema_versions`` lists the versions a consumer reads.
    ``dagster/row_count`` output metadata, else ``len(obj)``, is the output's record count.

    Attributes:
        runrecord: The resource locating the registry.
        base_dir: Root directory of the data.
        serializer: ``pickle`` (any object) or ``json``.
        schema_version: Schema version of outputs whose metadata names none.

    Examples:
        >>> from runrecord_dagster import RunRecordIOManager, RunRecordResource
        >>> rr = RunRecordResource(registry_path="runrecord.toml")
        >>> RunRecordIOManager(runrecord=rr, base_dir="data", serializer="json").serializer
        'json'
    """

    runrecord: RunRecordResource
    base_dir: str
    serializer: str = "pickle"
    schema_version: str = "1"

    def _directory(self, context: OutputContext | InputContext, partition: str | None) -> Path:
        producer = _producer(context)
        parts = list(context.asset_key.path) if context.has_asset_key else []
        parts = parts or [str(producer.step_key), producer.name]
        if partition is not None:
            parts.append(_UNSAFE.sub("_", partition) or "_")
        return Path(self.base_dir, *parts).absolute()

    def _name(self, context: OutputContext | InputContext, partition: str | None) -> str:
        producer = _producer(context)
        if context.has_asset_key:
            base = context.asset_key.to_user_string()
        else:
            base = f"{producer.step_key}.{producer.name}"
        return base if partition is None else f"{base}[{partition}]"

    def _family(self, context: OutputContext | InputContext) -> str:
        declared = _meta(_producer(context).definition_metadata, FAMILY_KEY)
        if declared:
            return str(declared)
        if context.has_asset_key:
            return ".".join(context.asset_key.path)
        return _UNSAFE.sub("_", self._name(context, None))

    @property
    def _suffix(self) -> str:
        if self.serializer not in ("pickle", "json"):
            raise runrecord.ConfigError(
                f"unknown serializer {self.serializer!r}", hint="use 'pickle' or 'json'"
            )
        return ".json" if self.serializer == "json" else ".pkl"

    def handle_output(self, context: OutputContext, obj: object) -> None:
        """Stage, hash, manifest and promote ``obj``; record it; link it on the materialization.

        Raises:
            runrecord.PromotionError: The output could not be promoted (recorded).
        """
        run = context.step_context.dagster_run
        registry = self.runrecord.registry()
        run_id = self.runrecord.open(run, registry)
        partition = context.partition_key if context.has_partition_key else None
        name, base = self._name(context, partition), self._name(context, None)
        version = str(_meta(context.definition_metadata, VERSION_KEY) or self.schema_version)
        final = self._directory(context, partition) / f"{run.run_id}{self._suffix}"
        with runrecord.output_writer(  # staged; not_written if writing fails; then promoted
            run_id,
            name,
            final,
            artifact_family=self._family(context),
            schema_version=version,
            registry=registry,
            required=base not in registry.optional_outputs,
        ) as writer:
            _write(writer.path, obj, as_json=self._suffix == ".json")
            writer.record_count = _record_count(obj, context.output_metadata)
        ref = writer.ref
        if ref is None:  # pragma: no cover - the writer sets it whenever its block succeeds
            return
        record = runrecord.open_store(registry.record_location).record_path(run_id)
        context.add_output_metadata(
            {
                "runrecord/path": dg.MetadataValue.path(ref.path),
                "runrecord/manifest": dg.MetadataValue.path(str(ref.manifest_path)),
                "runrecord/data_hash": str(ref.data_hash),
                "runrecord/schema_version": version,
                "runrecord/record": dg.MetadataValue.path(str(record)),
                "runrecord/run_id": run_id,
            }
        )

    def load_input(self, context: InputContext) -> object:
        """Resolve the upstream data, verify it against its manifest, record it, and load it.

        Several upstream partitions load as a ``{partition: value}`` dict.

        Raises:
            runrecord.InputMissingError: No materialization, or its data is gone (recorded).
            runrecord.IntegrityError: The data differs from its manifest (recorded).
            runrecord.ManifestError: The manifest is missing or invalid (recorded).
            runrecord.SchemaMismatchError: A schema version the input does not accept.
        """
        registry = self.runrecord.registry()
        run_id = self.runrecord.open(context.step_context.dagster_run, registry)
        stage = self.runrecord.stage_name(context.op_def.name, context.op_def.tags, registry.stages)
        accept = _meta(context.definition_metadata, ACCEPT_KEY)
        versions = [str(v) for v in accept] if isinstance(accept, list) else None
        partitions: list[str | None] = (
            list(context.asset_partition_keys) if context.has_asset_partitions else [None]
        )
        values = {}
        for partition in partitions:
            ref = runrecord.resolve_input(
                run_id,
                self._name(context, partition),
                self._locate(context, partition),
                artifact_family=self._family(context),
                registry=registry,
                stage=stage,
                accept_schema_versions=versions,
            )
            values[partition] = _read(Path(ref.path))
        return values[partitions[0]] if len(partitions) == 1 else values

    def _locate(self, context: InputContext, partition: str | None) -> Path:
        """The data of the newest materialization (where it would be, when there is none)."""
        producer = _producer(context)
        if not context.has_asset_key:
            return self._directory(context, partition) / f"{producer.run_id}{self._suffix}"
        try:  # Dagster < 1.12 has no run id for an upstream made in an earlier run
            made_here = producer.run_id == context.step_context.dagster_run.run_id
        except dg.DagsterInvariantViolationError:
            made_here = False
        if made_here:  # an asset made earlier in this run: its path is known
            return self._directory(context, partition) / f"{producer.run_id}{self._suffix}"
        found = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=context.asset_key,
                asset_partitions=[partition] if partition is not None else None,
            ),
            limit=1,
        ).records
        event = found[0].asset_materialization if found else None
        stored = _meta(event.metadata if event else None, "runrecord/path")
        return Path(str(stored)) if stored else self._directory(context, partition)
