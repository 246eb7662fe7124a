"""A small shop pipeline on Dagster, recorded by runrecord.

Three file-backed assets (extract → transform → load) run as the job ``etl`` (entrypoint
``shop.etl``); ``etl_failing`` is the same job whose ``transform`` fails. The job ``report``
(entrypoint ``shop.report``) reads what ``load`` wrote, once per new ``shop.etl`` record that
passes the gate (``report_after_etl`` sensor, off until you switch it on); a blocking check on
``load`` stops it when the newest ``shop.etl`` record is ``error``. Run status sensors write
every run's record — also when ``transform`` runs with ``crash: true`` in its config and its
step process is killed, as the OOM killer would.

Everything lives in ``$RUNRECORD_EXAMPLE_HOME`` (default ``./runrecord-example``): the registry
``runrecord.toml``, the incoming orders, the data, and ``artifacts/run_records``.

Run it as a script (in-process runs, records written by the in-process helper)::

    python examples/dagster/shop.py [HOME]

or load it in Dagster (records written by the run status sensors)::

    RUNRECORD_EXAMPLE_HOME=/tmp/shop dagster dev -f examples/dagster/shop.py
"""

# No `from __future__ import annotations` here: Dagster reads the annotations of asset
# functions (the context's type, config classes) when they are defined.
import os
import signal
import sys
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
    runrecord_gate_check,
    runrecord_gate_sensor,
    runrecord_run_status_sensors,
    stage_report,
    with_runrecord_hooks,
)

REGISTRY = """\
project_id = "shop"
project_name = "Shop pipelines (Dagster example)"
run_record_dir = "artifacts/run_records"
stages = ["extract", "transform", "load", "report"]
"""
ORDERS = "order_id,amount\n1,10.0\n2,25.5\n2,25.5\n3,oops\n4,7.25\n"


def setup(home: Path) -> Path:
    """Create the example's home (registry, incoming orders) if needed; return the registry."""
    home.mkdir(parents=True, exist_ok=True)
    registry = home / "runrecord.toml"
    if not registry.exists():
        registry.write_text(REGISTRY)
    incoming = home / "incoming" / "orders.csv"
    if not incoming.exists():
        incoming.parent.mkdir(parents=True, exist_ok=True)
        incoming.write_text(ORDERS)
    return registry


if __name__ == "__main__" and len(sys.argv) > 1:  # python shop.py HOME
    os.environ["RUNRECORD_EXAMPLE_HOME"] = sys.argv[1]
HOME = Path(os.environ.get("RUNRECORD_EXAMPLE_HOME", "runrecord-example")).absolute()
RR = RunRecordResource(registry_path=str(setup(HOME)))


@dg.asset(metadata={"runrecord/artifact_family": "shop.orders", "runrecord/schema_version": "1"})
def extract(context: AssetExecutionContext) -> list[dict[str, Any]]:
    """Parse the incoming orders; lines that do not parse are quarantined."""
    lines = (HOME / "incoming" / "orders.csv").read_text().splitlines()[1:]
    rows: list[dict[str, Any]] = []
    bad = 0
    for line in lines:
        order_id, amount = line.split(",")
        try:
            rows.append({"order_id": int(order_id), "amount": float(amount)})
        except ValueError:
            bad += 1
    report = stage_report(context)
    report.count(files_seen=1, files_processed=1, records_seen=len(lines))
    report.count(records_processed=len(rows))
    report.skip(bad, "quarantined_invalid")
    if bad:
        report.warn("records_skipped", f"{bad} order lines did not parse")
    return rows


class TransformConfig(dg.Config):
    """``fail`` raises in the middle of the pipeline; ``crash`` kills the step's process."""

    fail: bool = False
    crash: bool = False


@dg.asset(metadata={"runrecord/artifact_family": "shop.orders_clean"})
def transform(
    context: AssetExecutionContext, config: TransformConfig, extract: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Drop duplicate orders."""
    if config.crash:  # what the OOM killer does: no exception, no hook, just gone
        os.kill(os.getpid(), signal.SIGKILL)
    if config.fail:
        raise ValueError("amounts do not add up: refusing to publish")
    first: dict[Any, dict[str, Any]] = {}
    for row in extract:
        first.setdefault(row["order_id"], row)
    clean = list(first.values())
    report = stage_report(context)
    report.count(records_seen=len(extract), records_processed=len(clean))
    report.skip(len(extract) - len(clean), "duplicate")
    return clean


@dg.asset(metadata={"runrecord/artifact_family": "shop.revenue"})
def load(context: AssetExecutionContext, transform: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the revenue: the table the report reads."""
    stage_report(context).count(records_seen=len(transform), records_processed=len(transform))
    return {"orders": len(transform), "revenue": sum(r["amount"] for r in transform)}


@dg.asset(
    metadata={"runrecord/artifact_family": "shop.report"},
    op_tags={STAGE_TAG: "report"},  # the asset's name is not a stage: map it
)
def daily_report(context: AssetExecutionContext, load: dict[str, Any]) -> str:
    """A one-line report on the newest revenue table (read and hash-checked by the IO manager)."""
    stage_report(context).count(records_seen=1, records_processed=1)
    return f"{load['orders']} orders, revenue {load['revenue']:.2f}"


load_gate = runrecord_gate_check(load, "shop.etl", stage="report")
ETL = [extract, transform, load]
# The producer's jobs leave the gate out: it guards consumers of `load`, not `load` itself.
PRODUCE = dg.AssetSelection.assets(*ETL).without_checks()
TAGS = {ENTRYPOINT_TAG: "shop.etl"}
etl = dg.define_asset_job("etl", selection=PRODUCE, tags=TAGS)
etl_failing = dg.define_asset_job(
    "etl_failing",
    selection=PRODUCE,
    tags=TAGS,
    config={"ops": {"transform": {"config": {"fail": True}}}},
)
report = dg.define_asset_job(
    "report",
    selection=dg.AssetSelection.assets(daily_report) | dg.AssetSelection.checks(load_gate),
    tags={ENTRYPOINT_TAG: "shop.report"},
)

defs = dg.Definitions(
    assets=with_runrecord_hooks([*ETL, daily_report]),
    asset_checks=[load_gate],  # the gate writes its own stage
    jobs=[etl, etl_failing, report],
    resources={
        "runrecord": RR,
        "io_manager": RunRecordIOManager(runrecord=RR, base_dir=str(HOME / "data")),
    },
    sensors=[
        *runrecord_run_status_sensors(minimum_interval_seconds=5),
        runrecord_gate_sensor("shop.etl", report, name="report_after_etl"),
    ],
)


def run_in_process(job: str, instance: dg.DagsterInstance) -> runrecord.RunRecord:
    """Run a job in this process and finalize its record with the in-process helper."""
    result = defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False)
    return finalize_dagster_run(result, instance=instance, resource=RR).record


def main() -> int:
    """Run the four cases in process and print their records; 0 when they are as expected."""
    expected = [("etl", "success"), ("report", "success"), ("etl_failing", "error")]
    expected.append(("report", "error"))  # the gate check stops it: upstream_error
    ok = True
    with dg.DagsterInstance.ephemeral() as instance:
        for job, status in expected:
            record = run_in_process(job, instance)
            stages = ", ".join(f"{s.stage}:{s.status}" for s in record.stages)
            error = record.errors[0] if record.errors else None
            first = f" — {error.type}: {error.message}" if error else ""
            print(f"{job:12} {record.status:8} [{stages}]{first}")
            ok = ok and record.status == status
    print(f"records: {runrecord.load_registry(RR.registry_path).record_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
