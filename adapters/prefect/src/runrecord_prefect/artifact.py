"""The record, visible in Prefect: a markdown artifact linked to the flow run.

The artifact's key is ``runrecord-<entrypoint>``, so the Artifacts page of the UI keeps the
history of an entrypoint's records, and each flow run shows its own.
"""

# ruff: noqa: PLC0415 - Prefect is imported where it is used: importing this package stays cheap

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import runrecord

if TYPE_CHECKING:
    import logging
    from uuid import UUID

__all__ = ["artifact_key", "publish_artifact", "record_markdown"]


def artifact_key(entrypoint: str) -> str:
    """The artifact key of an entrypoint's records (Prefect allows ``[a-z0-9-]``).

    Examples:
        >>> artifact_key("Sales.daily_v2")
        'runrecord-sales-daily-v2'
    """
    return "runrecord-" + re.sub(r"[^a-z0-9-]+", "-", entrypoint.lower()).strip("-")


def _duration(stage: runrecord.StageRecord) -> str:
    if stage.started_at is None or stage.completed_at is None:
        return "—"
    return f"{(stage.completed_at - stage.started_at).total_seconds():.2f}s"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def record_markdown(result: runrecord.FinalizeResult) -> str:
    """The record as markdown: status, path, stage table, errors with their hints.

    Examples:
        >>> import runrecord, pathlib, tempfile
        >>> reg = runrecord.Registry(project_id="demo", project_name="Demo", stages=["load"],
        ...                          run_record_dir=tempfile.mkdtemp())
        >>> with runrecord.run("demo.daily", registry=reg, command="demo") as run:
        ...     with run.stage("load") as stage:
        ...         stage.count(records_seen=3, records_processed=3)
        >>> print(record_markdown(run.result).splitlines()[0])
        ## Run record: success
    """
    record = result.record
    lines = [
        f"## Run record: {record.status}",
        "",
        f"- run id: `{record.run_id}`",
        f"- record: `{result.path}`",
        f"- entrypoint: `{record.entrypoint.entrypoint_id}`",
        "",
        "| stage | task run | status | attempt | duration | seen | processed | skipped | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for stage in record.stages:
        counters = stage.counters
        node = stage.node.id if stage.node else "—"
        attempt = stage.node.attempt if stage.node and stage.node.attempt is not None else "—"
        lines.append(
            f"| {stage.stage} | {_cell(node)} | {stage.status} | {attempt} | {_duration(stage)} "
            f"| {counters.records_seen} | {counters.records_processed} "
            f"| {counters.records_skipped} | {counters.errors_count} |"
        )
    if record.errors:
        lines += ["", "### Errors", ""]
        lines += [
            f"- **{e.type}** in `{e.stage}`: {_cell(e.message)} — {_cell(e.remediation_hint)}"
            for e in record.errors
        ]
    return "\n".join(lines) + "\n"


def publish_artifact(
    result: runrecord.FinalizeResult,
    flow_run_id: UUID,
    entrypoint: str,
    logger: logging.LoggerAdapter[Any],
) -> None:
    """Create the markdown artifact of a promoted record, linked to its flow run.

    A failure here is logged and never touches the record, which is already promoted.
    """
    import prefect
    from prefect.client.schemas.actions import ArtifactCreate

    artifact = ArtifactCreate(
        key=artifact_key(entrypoint),
        type="markdown",
        description=f"Run record {result.record.run_id}: {result.record.status}",
        data=record_markdown(result),
        flow_run_id=flow_run_id,
    )
    try:
        with prefect.get_client(sync_client=True) as client:
            client.create_artifact(artifact)
    except Exception as exc:  # noqa: BLE001 - the record is promoted; the artifact is a view
        logger.warning("runrecord: could not create the record's artifact: %s", exc)
