"""``runrecord demo``: a small, real pipeline run four ways, to see what runrecord records.

In a directory of its own it writes a project registry and an upstream artifact (daily
order files with a manifest), then runs the pipeline ``shop.daily`` (files in, a summary
file out, with manifests):

1. a run that succeeds;
2. a run whose ``transform`` stage fails on a bad row;
3. a downstream run, ``shop.weekly``, that the stop-the-line gate blocks because the
   newest ``shop.daily`` record is ``error`` — it writes its own ``upstream_error`` record;
4. a run in a child process that is killed with SIGKILL mid-run, then recovered.

Every step uses the public API only; the code doubles as an example.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import runrecord

__all__ = ["DEMO_REGISTRY", "run_demo"]

DEMO_REGISTRY = """\
# The registry of the demo project: what runrecord needs to know about it.
project_id = "demo-shop"
project_name = "Demo shop pipelines"
run_record_dir = "artifacts/run_records"
stages = ["extract", "transform", "load"]
"""

_ORDERS = [
    ("o-1001", "berlin", "19.90"),
    ("o-1002", "paris", "5.00"),
    ("o-1002", "paris", "5.00"),  # a duplicate: skipped, with a reason code
    ("o-1003", "berlin", "7.25"),
    ("o-1004", "lisbon", "12.00"),
]


def _write_orders(directory: Path, day: str, rows: list[tuple[str, str, str]]) -> Path:
    """Write one day of the upstream artifact: a CSV file and its manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"orders-{day}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order_id", "city", "amount"])
        writer.writerows(rows)
    manifest = runrecord.build_manifest(
        path,
        artifact_family="orders",
        schema_version="1.0",
        record_count=len(rows),
        producing_run_id=f"orders.ingest-{day.replace('-', '')}T050000Z-0a1b2c3d4e",
    )
    runrecord.write_manifest(manifest, runrecord.manifest_path_for(path))
    return path


def shop_daily(registry: runrecord.Registry, root: Path, day: str) -> runrecord.Run:
    """The demo pipeline: total the day's orders per city.

    Raises whatever the pipeline raises; the run record is written either way.
    """
    with runrecord.run("shop.daily", registry=registry, command=f"shop-daily --day {day}") as run:
        source = run.input(
            "orders daily",
            root / "data" / f"orders-{day}.csv",
            artifact_family="orders",
            accept_schema_versions={"1.0"},
        )
        with run.stage("extract") as stage:
            with Path(source.path).open(newline="") as fh:
                rows = list(csv.DictReader(fh))
            stage.count(
                files_seen=1, files_processed=1, records_seen=len(rows), records_processed=len(rows)
            )
        with run.stage("transform") as stage:
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
        with run.stage("load") as stage:
            final = root / "data" / f"city-totals-{day}.csv"
            with run.output(
                "city totals daily", final, artifact_family="city_totals", schema_version="1.0"
            ) as out:
                with out.path.open("w", newline="") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(["city", "total"])
                    writer.writerows(sorted((c, f"{t:.2f}") for c, t in totals.items()))
                out.record_count = len(totals)
            stage.count(records_seen=len(totals), records_processed=len(totals))
    return run


def shop_weekly(registry: runrecord.Registry, root: Path) -> runrecord.Run:
    """The downstream pipeline: refuses to start unless ``shop.daily`` is healthy."""
    with runrecord.run("shop.weekly", registry=registry, command="shop-weekly") as run:
        run.gate("shop.daily", stage="extract")
        with run.stage("extract"):
            pass  # never reached while shop.daily is in error
    return run


_CHILD = """
import sys, time, runrecord
registry = runrecord.load_registry(sys.argv[1])
with runrecord.run("shop.daily", registry=registry, command="shop-daily --day 2026-11-27") as run:
    with run.stage("extract") as stage:
        stage.count(files_seen=1, files_processed=1, records_seen=5, records_processed=5)
    print(run.run_id, flush=True)
    time.sleep(600)  # the transform of a big day: killed before it ends
"""


def _killed_run(registry_file: Path) -> str:
    """Start a run in a child process, SIGKILL it mid-run; return its run id."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(registry_file)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None  # noqa: S101 - set by stdout=PIPE
        run_id = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)
        child.wait()
    if not run_id:
        raise runrecord.RunRecordError("the demo's child run did not start")
    return run_id


def _say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the demo talks to the person running it


def run_demo(directory: Path) -> list[runrecord.RunRecord]:
    """Run the demo in ``directory`` (created if needed) and return its four records.

    Args:
        directory: Where the demo project lives; it must be empty or not exist, so that a
            second demo never mixes its records with the first one's.

    Returns:
        The records of the four runs: success, error, upstream_error, crashed.

    Raises:
        ConfigError: ``directory`` is not empty.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise runrecord.ConfigError(
            f"demo directory {directory} is not empty",
            hint="pass a new or empty directory, or none to use a temporary one",
        )
    registry_file = directory / "runrecord.toml"
    registry_file.write_text(DEMO_REGISTRY)
    registry = runrecord.load_registry(registry_file)
    _write_orders(directory / "data", "2026-11-25", _ORDERS)
    _write_orders(directory / "data", "2026-11-26", [*_ORDERS, ("o-1005", "paris", "n/a")])

    _say(f"demo project in {directory}\n")
    records = []

    _say("1. shop.daily for 2026-11-25: reads orders, totals them per city")
    records.append(shop_daily(registry, directory, "2026-11-25").record)
    _say(f"   -> {records[-1].status}: {records[-1].run_id}\n")

    _say("2. shop.daily for 2026-11-26: the day holds an order with amount 'n/a'")
    try:
        shop_daily(registry, directory, "2026-11-26")
    except ValueError as exc:
        _say(f"   the pipeline raised {type(exc).__name__}: {exc}")
    records.append(_newest(registry, "shop.daily"))
    _say(f"   -> {records[-1].status}: {records[-1].errors[0].type}\n")

    _say("3. shop.weekly: its gate reads the newest shop.daily record first")
    try:
        shop_weekly(registry, directory)
    except runrecord.UpstreamError as exc:
        _say(f"   refused to start: {exc.message}")
    records.append(_newest(registry, "shop.weekly"))
    _say(f"   -> {records[-1].status}: {records[-1].errors[0].type}\n")

    _say("4. shop.daily for 2026-11-27 in a child process, killed with SIGKILL mid-run")
    run_id = _killed_run(registry_file)
    _say(f"   killed {run_id}; `runrecord recover` finalizes what it left behind")
    for outcome in runrecord.recover(registry=registry):
        _say(f"   {outcome.outcome}: {outcome.run_id} ({outcome.detail})")
    records.append(runrecord.read_record(runrecord.Store(registry.record_dir).record_path(run_id)))
    crashed = records[-1]
    _say(
        f"   -> {crashed.status}: {crashed.errors[0].type}, completed_at "
        f"{json.dumps(crashed.completed_at)}\n"
    )
    return records


def _newest(registry: runrecord.Registry, entrypoint: str) -> runrecord.RunRecord:
    record = runrecord.latest_record(entrypoint, registry=registry)
    if record is None:
        raise runrecord.RunRecordError(f"the demo found no record of {entrypoint}")
    return record
