"""Run the example DAGs with ``dag.test()`` in a fresh project and show their records.

Usage: ``python examples/airflow/run_example.py [DIR] [--records URL]`` (a temporary
directory by default; Airflow's own logs go to ``DIR/airflow-dag-runs.log``). The records go
to ``DIR/run_records``, or with ``--records`` to object storage (``s3://bucket/prefix``; the
``AWS_*`` environment variables say where and who).
Exits 0 when the four records are as expected: ``sales_daily`` success,
``sales_daily_broken`` error, ``sales_report`` success, ``sales_report_blocked`` error with
``upstream_error``.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
EXPECTED = {
    "sales_daily": "success",
    "sales_daily_broken": "error",
    "sales_report": "success",
    "sales_report_blocked": "error",
}
REGISTRY = """\
project_id = "sales-example"
project_name = "Sales example (Airflow)"
run_record_dir = "{records}"
stages = ["gate", "extract", "transform", "load", "report"]
"""


def prepare(root: Path, records: str = "run_records") -> dict[str, str]:
    """Write the registry, the input data with its manifest, and the Airflow settings."""
    import runrecord  # noqa: PLC0415 - after the arguments are read

    (root / "dags").mkdir(parents=True, exist_ok=True)
    for source in (HERE / "dags").glob("*.py"):
        shutil.copy(source, root / "dags" / source.name)
    (root / "runrecord.toml").write_text(REGISTRY.format(records=records))
    data = root / "data"
    data.mkdir(exist_ok=True)
    orders = data / "orders.csv"
    with orders.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "amount"])
        writer.writerows([["1", "9.50"], ["2", "12.00"], ["2", "12.00"], ["3", "4.25"]])
    manifest = runrecord.build_manifest(
        orders, artifact_family="orders", schema_version="1", record_count=4
    )
    runrecord.write_manifest(manifest, runrecord.manifest_path_for(orders))
    return {
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "RUNRECORD_REGISTRY": str(root / "runrecord.toml"),
        "RUNRECORD_AIRFLOW_LISTENER": "off",  # these DAGs wire the callbacks themselves
        "SALES_DATA_DIR": str(data),
    }


def run_dags() -> None:
    """Run each example DAG once (called with the environment of :func:`prepare`)."""
    from airflow.dag_processing.dagbag import DagBag  # noqa: PLC0415 - after AIRFLOW_HOME
    from airflow.utils import db  # noqa: PLC0415

    db.initdb()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    for dag_id in EXPECTED:
        dag = bag.get_dag(dag_id)
        assert dag is not None, bag.import_errors  # noqa: S101 - a broken example must stop
        run = dag.test()
        print(f"{dag_id}: Airflow says {run.state}")


def check(root: Path) -> int:
    """Validate the records and compare each DAG's newest status with what is expected."""
    import runrecord  # noqa: PLC0415

    registry = runrecord.load_registry(root / "runrecord.toml")
    failures = 0
    for dag_id, wanted in EXPECTED.items():
        record = runrecord.latest_record(dag_id, registry=registry)
        got = record.status.value if record else "no record"
        errors = ", ".join(e.type.value for e in record.errors) if record else ""
        mark = "ok " if got == wanted else "BAD"
        print(f"{mark} {dag_id}: {got} (expected {wanted}) {errors}")
        failures += got != wanted
    blocked = runrecord.latest_record("sales_report_blocked", registry=registry)
    if blocked is None or "upstream_error" not in {e.type.value for e in blocked.errors}:
        print("BAD sales_report_blocked: no upstream_error recorded")
        failures += 1
    sys.stdout.flush()  # before the CLI's own output
    cli = [sys.executable, "-m", "runrecord"]
    record_dir = str(registry.record_location)
    subprocess.run([*cli, "ls", "--dir", record_dir], check=False)  # noqa: S603
    failures += subprocess.run([*cli, "validate", record_dir], check=False).returncode  # noqa: S603
    return 1 if failures else 0


def main() -> int:
    """Prepare a project, run the DAGs in a child process, check the records."""
    if len(sys.argv) > 2 and sys.argv[1] == "--run-dags":
        run_dags()
        return 0
    args = sys.argv[1:]
    records = "run_records"
    if "--records" in args:
        at = args.index("--records")
        records = args[at + 1]
        del args[at : at + 2]
    root = Path(args[0] if args else tempfile.mkdtemp(prefix="rr-airflow-")).absolute()
    env = {**os.environ, **prepare(root, records)}
    # Airflow reads its settings at import time: run the DAGs in a process that starts with
    # them. Its own logs (every task's, with the failing ones' tracebacks) go to a file.
    log = root / "airflow-dag-runs.log"
    with log.open("wb") as out:
        ran = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--run-dags", str(root)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    print(
        "".join(line for line in log.read_text().splitlines(True) if "Airflow says" in line), end=""
    )
    if ran.returncode:
        print(log.read_text()[-4000:])
        print(f"BAD the DAGs could not run: exit status {ran.returncode}; log: {log}")
        return 1
    print(f"Airflow's logs: {log}")
    return check(root)


if __name__ == "__main__":
    sys.exit(main())
