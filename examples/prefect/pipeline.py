"""A small Prefect pipeline whose every flow run leaves one run record.

``shop-daily`` totals a day's orders per city in three tasks over real files (extract →
transform → load; the input is checked against its manifest, the output is promoted with
one). ``shop-weekly`` is downstream: it gates on ``shop.daily`` and refuses to run on an
``error`` record.

Run it as a script: ``python examples/prefect/pipeline.py [DIR]`` (DIR new or empty; a
temporary directory by default). It runs a good day, the weekly report, a day whose input
has a bad row (the failing variant), and the weekly report again, which the gate blocks;
then it lists the records and exits 0 when each is what it should be. Without
``PREFECT_API_URL`` Prefect starts a temporary local server for the script.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from pathlib import Path

import runrecord
from runrecord_prefect import current_stage, gate, recorded_flow, recorded_task

REGISTRY = """\
project_id = "demo-shop"
project_name = "Demo shop pipelines (Prefect)"
run_record_dir = "artifacts/run_records"
stages = ["extract", "transform", "load", "report"]
"""

GOOD_DAY, BAD_DAY = "2026-11-24", "2026-11-25"
_ORDERS = [
    ("o-1001", "berlin", "19.90"),
    ("o-1002", "paris", "5.00"),
    ("o-1002", "paris", "5.00"),  # a duplicate: skipped, with a reason code
    ("o-1003", "berlin", "7.25"),
]


def write_orders(data_dir: Path, day: str, *, bad: bool = False) -> Path:
    """Write one day of the upstream artifact: a CSV file and its manifest."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"orders-{day}.csv"
    rows = [*_ORDERS, ("o-1004", "lisbon", "n/a" if bad else "12.00")]
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([("order_id", "city", "amount"), *rows])
    manifest = runrecord.build_manifest(
        path, artifact_family="orders", schema_version="1.0", record_count=len(rows)
    )
    runrecord.write_manifest(manifest, runrecord.manifest_path_for(path))
    return path


def make_project(root: Path) -> Path:
    """Write the project registry and two days of orders (the second with a bad row)."""
    (root / "runrecord.toml").write_text(REGISTRY)
    write_orders(root / "data", GOOD_DAY)
    write_orders(root / "data", BAD_DAY, bad=True)
    return root / "runrecord.toml"


@recorded_task
def extract(source: str) -> list[dict[str, str]]:
    """Read the day's orders; the input is recorded with its manifest and verified hash."""
    stage = current_stage()
    ref = stage.input(
        "orders daily", source, artifact_family="orders", accept_schema_versions={"1.0"}
    )
    with Path(ref.path).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    stage.count(
        files_seen=1, files_processed=1, records_seen=len(rows), records_processed=len(rows)
    )
    return rows


@recorded_task
def transform(rows: list[dict[str, str]]) -> dict[str, float]:
    """Total the orders per city; duplicates are skipped with a reason code."""
    stage = current_stage()
    stage.count(records_seen=len(rows))
    totals: dict[str, float] = {}
    seen: set[str] = set()
    for row in rows:
        if row["order_id"] in seen:
            stage.skip(1, "duplicate")
            continue
        seen.add(row["order_id"])
        totals[row["city"]] = totals.get(row["city"], 0.0) + float(row["amount"])
        stage.count(records_processed=1)
    return totals


@recorded_task
def load(totals: dict[str, float], target: str) -> str:
    """Write the city totals: staged, hashed, manifest written, then promoted."""
    stage = current_stage()
    with stage.output(
        "city totals daily", target, artifact_family="city_totals", schema_version="1.0"
    ) as out:
        with out.path.open("w", newline="") as fh:
            csv.writer(fh).writerows([("city", "total"), *sorted(totals.items())])
        out.record_count = len(totals)
    stage.count(records_seen=len(totals), records_processed=len(totals))
    return target


@recorded_flow(name="shop-daily", entrypoint="shop.daily", stages=("extract", "transform", "load"))
def shop_daily(data_dir: str, day: str) -> str:
    """Total one day's orders per city."""
    rows = extract(f"{data_dir}/orders-{day}.csv")
    totals = transform(rows)
    return load(totals, f"{data_dir}/city-totals-{day}.csv")


@recorded_task(stage="report")
def weekly_report(data_dir: str, day: str) -> str:
    """Copy the newest daily totals into the weekly report (a stand-in for real work)."""
    stage = current_stage()
    source = stage.input(
        "city totals daily", f"{data_dir}/city-totals-{day}.csv", artifact_family="city_totals"
    )
    text = Path(source.path).read_text()
    with stage.output(
        "weekly report",
        f"{data_dir}/weekly-{day}.csv",
        artifact_family="weekly",
        schema_version="1.0",
    ) as out:
        out.path.write_text(text)
        out.record_count = len(text.splitlines()) - 1
    stage.count(records_seen=out.record_count, records_processed=out.record_count)
    return str(out.final_path)


@recorded_flow(name="shop-weekly", entrypoint="shop.weekly", stages=("report",))
def shop_weekly(data_dir: str, day: str) -> str:
    """The downstream flow: it stops the line when ``shop.daily`` is not healthy."""
    gate("shop.daily")
    return weekly_report(data_dir, day)


def main(argv: list[str]) -> int:
    """Run the four flow runs in a project directory and check their records."""
    root = Path(argv[0] if argv else tempfile.mkdtemp(prefix="prefect-shop-")).absolute()
    root.mkdir(parents=True, exist_ok=True)
    os.environ[runrecord.REGISTRY_ENV_VAR] = str(make_project(root))
    data = str(root / "data")
    states = [
        shop_daily(data, GOOD_DAY, return_state=True),
        shop_weekly(data, GOOD_DAY, return_state=True),
        shop_daily(data, BAD_DAY, return_state=True),  # the failing variant: a bad row
        shop_weekly(data, BAD_DAY, return_state=True),  # blocked by the gate
    ]
    records = sorted(
        (runrecord.read_record(p) for p in (root / "artifacts" / "run_records").glob("*.json")),
        key=lambda r: r.created_at,
    )
    for record in records:
        first = f"{record.errors[0].type}: {record.errors[0].message}" if record.errors else ""
        entrypoint, status, stages = (
            record.entrypoint.entrypoint_id,
            record.status,
            len(record.stages),
        )
        print(f"{entrypoint:12} {status:8} {stages} stages  {first}")
    print(f"records in {root / 'artifacts' / 'run_records'}")
    got = [(r.entrypoint.entrypoint_id, str(r.status)) for r in records]
    expected = [
        ("shop.daily", "success"),
        ("shop.weekly", "success"),
        ("shop.daily", "error"),
        ("shop.weekly", "error"),
    ]
    blocked = bool(records) and any(e.type == "upstream_error" for e in records[-1].errors)
    ok = got == expected and blocked and [s.is_completed() for s in states] == [1, 1, 0, 0]
    print("as expected" if ok else f"NOT as expected: {got}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
