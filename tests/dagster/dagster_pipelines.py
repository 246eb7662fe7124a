"""Pipelines the Dagster adapter tests run.

A plain module (not a test module; ``conftest.py`` puts this folder on ``sys.path``) so that
the step subprocesses of the multiprocess executor can import it by name (``RR_TEST_HOME``
names the test home for them). No ``from __future__ import annotations``: Dagster reads the
annotations of asset functions when they are defined.
"""

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

import runrecord
from runrecord_dagster import (
    ENTRYPOINT_TAG,
    STAGE_TAG,
    RunRecordIOManager,
    RunRecordResource,
    finalize_dagster_run,
    stage_report,
    with_runrecord_hooks,
)

REGISTRY = """\
project_id = "rrtest"
project_name = "runrecord-dagster tests"
run_record_dir = "records"
stages = ["extract", "transform", "load", "report"]
optional_outputs = ["summary"]
"""
ENTRYPOINT = "test.etl"

RunAssets = Callable[..., tuple[dg.ExecuteInProcessResult, runrecord.RunRecord]]
"""The ``run_assets`` fixture: materialize in process, then finalize; (result, record)."""


class BadDataError(Exception):
    """The user's own exception class, raised by a failing asset."""


def write_registry(home: Path, text: str = REGISTRY) -> Path:
    """Write the test project's registry into ``home``; return its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "runrecord.toml"
    path.write_text(text)
    return path


class TransformConfig(dg.Config):
    """How ``transform`` misbehaves: raise, kill its own process, or have it killed after
    ``kill_after`` seconds (wherever the step then is: computing, writing its output through
    the IO manager, or in the stage hook)."""

    fail: bool = False
    crash: bool = False
    kill_after: float = -1.0


@dg.asset(metadata={"runrecord/artifact_family": "test.raw", "runrecord/schema_version": "2"})
def extract(context: AssetExecutionContext) -> list[int]:
    rows = [3, 1, 2, 2, 5, 1]
    report = stage_report(context)
    report.count(files_seen=1, files_processed=1, records_seen=len(rows))
    report.count(records_processed=len(rows))
    report.evidence("file", Path(__file__), note="the pipeline's source")
    return rows


@dg.asset(metadata={"runrecord/schema_version": "3"})
def transform(
    context: AssetExecutionContext, config: TransformConfig, extract: list[int]
) -> list[int]:
    if config.crash:
        os.kill(os.getpid(), signal.SIGKILL)
    if config.kill_after >= 0:
        killer = threading.Timer(config.kill_after, os.kill, (os.getpid(), signal.SIGKILL))
        killer.daemon = True
        killer.start()
    if config.fail:
        raise BadDataError("row 3 has a negative amount")
    clean = sorted(set(extract))
    report = stage_report(context)
    report.count(records_seen=len(extract), records_processed=len(clean))
    report.skip(len(extract) - len(clean), "duplicate")
    report.warn("records_skipped", f"{len(extract) - len(clean)} duplicates dropped")
    return clean


@dg.asset(metadata={"runrecord/artifact_family": "test.totals"})
def load(context: AssetExecutionContext, transform: list[int]) -> dict[str, Any]:
    stage_report(context).count(records_seen=len(transform), records_processed=len(transform))
    return {"rows": len(transform), "total": sum(transform)}


@dg.asset(op_tags={STAGE_TAG: "report"})
def summary(context: AssetExecutionContext, load: dict[str, Any]) -> str:
    stage_report(context).count(records_seen=1, records_processed=1)
    return f"{load['rows']} rows, total {load['total']}"


ETL = [extract, transform, load]


def resources(home: Path, **resource: Any) -> dict[str, Any]:
    """The runrecord resource and IO manager of a test home."""
    rr = RunRecordResource(registry_path=str(home / "runrecord.toml"), **resource)
    return {
        "runrecord": rr,
        "io_manager": RunRecordIOManager(runrecord=rr, base_dir=str(home / "data")),
    }


def definitions(home: Path) -> dg.Definitions:
    """The test pipeline as a code location: job ``etl`` runs with the multiprocess executor."""
    etl = dg.define_asset_job(
        "etl",
        selection=ETL,
        tags={ENTRYPOINT_TAG: ENTRYPOINT},
        executor_def=dg.multiprocess_executor,
    )
    return dg.Definitions(
        assets=with_runrecord_hooks([*ETL, summary]), jobs=[etl], resources=resources(home)
    )


def etl_job() -> dg.JobDefinition:
    """The ``etl`` job of ``$RR_TEST_HOME``, for ``dagster.reconstructable``."""
    return definitions(Path(os.environ["RR_TEST_HOME"])).resolve_job_def("etl")


def execute_etl(instance: dg.DagsterInstance, **transform: bool) -> dg.JobExecutionResult:
    """Run ``etl_job`` on the multiprocess executor: every step is its own process.

    Args:
        instance: A persistent instance (the ``mp_instance`` fixture), whose test home is
            ``$RR_TEST_HOME``.
        transform: ``transform``'s config (``fail=True``, ``crash=True``).
    """
    config = {"ops": {"transform": {"config": transform}}} if transform else None
    # Step processes import this module by name, from its folder.
    job = dg.build_reconstructable_job(
        "dagster_pipelines", "etl_job", reconstructor_working_directory=str(Path(__file__).parent)
    )
    with dg.execute_job(job, instance=instance, run_config=config) as result:
        return result


def finalize_etl(
    result: dg.JobExecutionResult, instance: dg.DagsterInstance, home: Path
) -> runrecord.RunRecord:
    """Finalize a run of :func:`execute_etl` with the test home's resource; return its record."""
    rr = resources(home)["runrecord"]
    return finalize_dagster_run(result, instance=instance, resource=rr).record


DAYS = dg.StaticPartitionsDefinition(["2026-11-25", "2026-11-26"])


@dg.asset(partitions_def=DAYS, op_tags={STAGE_TAG: "extract"})
def daily(context: AssetExecutionContext) -> list[str]:
    return [context.partition_key]


@dg.asset(partitions_def=DAYS, op_tags={STAGE_TAG: "load"})
def daily_copy(daily: list[str]) -> list[str]:
    return daily * 2


@dg.asset(op_tags={STAGE_TAG: "extract"})
def counted(context: AssetExecutionContext) -> dict[str, list[int]]:
    context.add_output_metadata({"dagster/row_count": 3})
    return {"ids": [1, 2, 3]}


@dg.asset(op_tags={STAGE_TAG: "extract"})
def unreasoned(context: AssetExecutionContext) -> int:
    stage_report(context).count(records_seen=2, records_skipped=2)  # no reason: refused here
    return 0


@dg.asset(op_tags={STAGE_TAG: "extract"})
def negative(context: AssetExecutionContext) -> int:
    stage_report(context).count(records_seen=-1)  # refused when the hook writes the stage
    return 0


@dg.asset
def oddly_named() -> int:
    return 1


ORDERS = dg.AssetSpec("orders")


@dg.asset(deps=[ORDERS], op_tags={STAGE_TAG: "extract"})
def consumer() -> int:
    return 1


@dg.op(tags={STAGE_TAG: "extract"})
def read_op() -> int:
    return 41


@dg.op(tags={STAGE_TAG: "load"})
def write_op(context: dg.OpExecutionContext, value: int) -> int:
    stage_report(context).count(records_seen=1, records_processed=1)
    return value + 1
