"""DAGs the tests run, beside the example's (``sales_dags.py`` in the same dags folder)."""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, TaskGroup, get_current_context, task

import runrecord_airflow

# Airflow puts the dags folder on sys.path only if it existed when Airflow was imported.
sys.path.insert(0, str(Path(__file__).parent))
from sales_pipeline import make_report_dag, make_sales_dag

plain_daily = make_sales_dag("plain_daily", recorded=False)
plain_daily_broken = make_sales_dag("plain_daily_broken", fail=True, recorded=False)
gated_on_plain = make_report_dag("gated_on_plain", upstream="plain_daily")
gated_on_broken = make_report_dag("gated_on_broken", upstream="plain_daily_broken")

with DAG(
    "retried",
    schedule=None,
    **runrecord_airflow.callbacks(default_args={"retries": 1, "retry_delay": timedelta(0)}),
) as retried:

    @task(task_id="extract")
    def flaky_extract() -> None:
        if get_current_context()["ti"].try_number == 1:
            raise RuntimeError("flaky source, first try")
        runrecord_airflow.count(records_seen=3, records_processed=3)

    flaky_extract()

with DAG("gate_waits", schedule=None, **runrecord_airflow.callbacks()) as gate_waits:
    runrecord_airflow.RunRecordSensor(
        task_id="gate", upstream="never_ran", poke_interval=0.2, timeout=1.0, mode="poke"
    )

with DAG("gate_unrecorded", schedule=None) as gate_unrecorded:  # no callbacks: not recorded
    runrecord_airflow.RunRecordSensor(
        task_id="gate", upstream="sales_daily_broken", poke_interval=0.2, timeout=60, mode="poke"
    )

with DAG("miscounted", schedule=None, **runrecord_airflow.callbacks()) as miscounted:

    @task(task_id="extract")
    def miscount() -> None:
        # errors_count is derived from the errors recorded: count() refuses it at the call,
        # so the task that miscounted fails, and its stage says why.
        runrecord_airflow.count(records_seen=2, errors_count=1)

    miscount()

with DAG("missing_input", schedule=None, **runrecord_airflow.callbacks()) as missing_input:

    @task(task_id="extract")
    def read_absent() -> None:
        absent = Path(os.environ["SALES_DATA_DIR"]) / "absent.csv"
        runrecord_airflow.input("orders", absent, artifact_family="orders")

    read_absent()

with DAG("mapped_stages", schedule=None, **runrecord_airflow.callbacks()) as mapped_stages:
    with TaskGroup("transform"):

        @task
        def dedupe() -> None:
            runrecord_airflow.count(records_seen=2, records_processed=2)

        dedupe()

    @task(params={"runrecord_stage": "load"})
    def write_rows() -> None:
        runrecord_airflow.count(records_seen=1, records_processed=1)

    @task
    def unmapped_task() -> None:
        pass

    write_rows() >> unmapped_task()


def _stall(name: str) -> None:
    """Write this task's pid for the test, then wait for it to be killed (or released)."""
    control = Path(os.environ["RR_TEST_CONTROL_DIR"])
    (control / f"{name}.pid").write_text(str(os.getpid()))
    deadline = time.monotonic() + 300
    while not (control / f"{name}.release").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


with DAG("killed", schedule=None, **runrecord_airflow.callbacks()) as killed:

    @task
    def extract() -> None:
        runrecord_airflow.count(records_seen=1, records_processed=1)

    @task
    def transform() -> None:
        _stall(str((get_current_context()["dag_run"].conf or {}).get("name", "transform")))

    @task
    def load() -> None:
        pass

    extract() >> transform() >> load()
