"""Factories of the example DAGs: a daily sales DAG over real files (optionally failing),
and a report DAG gated on an upstream DAG's newest record. ``sales_dags.py`` makes the DAGs.

Set ``RUNRECORD_REGISTRY`` (the project registry) and ``SALES_DATA_DIR`` (holding
``orders.csv`` and its manifest, see ``run_example.py``) for every Airflow process.
"""

from __future__ import annotations

import csv
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, get_current_context, task

import runrecord
import runrecord_airflow


def _data() -> Path:
    return Path(os.environ.get("SALES_DATA_DIR", "sales-data")).absolute()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def make_sales_dag(
    dag_id: str,
    *,
    fail: bool = False,
    recorded: bool = True,
    **dag_args: Any,  # noqa: ANN401
) -> DAG:
    """Three tasks: extract orders, transform (dedupe), load the daily sales file.

    Args:
        dag_id: The DAG id (and the runrecord entrypoint id).
        fail: Make ``transform`` raise, to see a failing run's record.
        recorded: Wire runrecord's callbacks (False: leave recording to the plugin).
        **dag_args: More ``DAG`` arguments.
    """
    wiring = runrecord_airflow.callbacks() if recorded else {}
    with DAG(dag_id, schedule=None, catchup=False, **wiring, **dag_args) as dag:

        @task
        def extract() -> str:
            orders = runrecord_airflow.input(
                "orders", _data() / "orders.csv", artifact_family="orders"
            )
            rows = _read(Path(orders.path))
            runrecord_airflow.count(records_seen=len(rows), records_processed=len(rows))
            return orders.path

        @task
        def transform(path: str) -> int:
            rows = _read(Path(path))
            if fail:
                raise ValueError(f"cannot parse amount {rows[0]['amount']!r}")
            unique = {row["order_id"]: row for row in rows}
            runrecord_airflow.count(records_seen=len(rows), records_processed=len(unique))
            runrecord_airflow.skip(len(rows) - len(unique), "duplicate")
            return len(unique)

        @task
        def load(path: str, count: int) -> None:
            rows = list({row["order_id"]: row for row in _read(Path(path))}.values())
            run = runrecord.run_id_for(dag_id, get_current_context()["run_id"])
            target = _data() / "out" / run / "daily_sales.csv"
            with runrecord_airflow.output(
                "daily sales", target, artifact_family="sales", schema_version="1"
            ) as out:
                with out.path.open("w", newline="") as handle:
                    writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)
                out.record_count = count
            runrecord_airflow.count(records_seen=count, records_processed=count)

        orders = extract()
        # Airflow passes each task's XCom result along; mypy sees the XComArg placeholders.
        load(orders, transform(orders))  # type: ignore[arg-type]
    return dag


def make_report_dag(dag_id: str, *, upstream: str) -> DAG:
    """A report DAG that starts only when ``upstream``'s newest record passes the gate."""
    with DAG(dag_id, schedule=None, catchup=False, **runrecord_airflow.callbacks()) as dag:
        gate = runrecord_airflow.RunRecordSensor(
            task_id="gate",
            upstream=upstream,
            # Reschedule mode; a poke interval of a few seconds keeps clear of Airflow's
            # reschedule race (apache/airflow#71172) that fails sensors rescheduled at once.
            poke_interval=5,
            timeout=timedelta(minutes=30).total_seconds(),
            mode="reschedule",
        )

        @task
        def report() -> None:
            runrecord_airflow.count(files_seen=1, files_processed=1)

        gate >> report()
    return dag
