"""Example DAGs recorded by runrecord: a daily sales DAG over real files, a broken variant,
and report DAGs gated on their newest records.

Set ``RUNRECORD_REGISTRY`` (the project registry) and ``SALES_DATA_DIR`` (holding
``orders.csv`` and its manifest, see ``run_example.py``) for every Airflow process.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Airflow puts the dags folder on sys.path only if it existed when Airflow was imported.
sys.path.insert(0, str(Path(__file__).parent))
from sales_pipeline import make_report_dag, make_sales_dag

sales_daily = make_sales_dag("sales_daily")
sales_daily_broken = make_sales_dag("sales_daily_broken", fail=True)
sales_report = make_report_dag("sales_report", upstream="sales_daily")
sales_report_blocked = make_report_dag("sales_report_blocked", upstream="sales_daily_broken")
