"""R1 — kill at any point: SIGKILL a run at random moments, then recover and check invariants.

Each trial forks a child that runs the in-process API — open, stages, an input checked
against its manifest, an output staged/hashed/promoted, finalize — and SIGKILLs it after a
random delay spread across the whole run. After ``recover``: every trial that opened its run
has exactly one record, valid, ``crashed`` unless the kill came after promotion; nothing in
the store is torn or half-written; no promoted output is without its manifest.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from torture_support import (
    Figures,
    Row,
    in_child,
    kill_after,
    registry_file,
    scan_store,
    seeded,
    wait,
)

import runrecord

STAGES = ["extract", "transform", "load"]


def _pipeline(registry: runrecord.Registry, run_id: str, data: Path, out_dir: Path) -> None:
    with runrecord.run("torture.kill", registry=registry, run_id=run_id, command="t") as run:
        run.input("orders", data, artifact_family="orders")
        for name in STAGES:
            with run.stage(name) as stage:
                stage.count(records_seen=100, records_processed=99)
                stage.skip(1, "duplicate")
        with run.output(
            "out", out_dir / f"{run_id}.csv", artifact_family="totals", schema_version="1"
        ) as out:
            out.path.write_bytes(b"city,total\n" * 2000)
            out.record_count = 2000


def test_kill_at_any_point(tmp_path: Path, figures: Figures, long_run: bool) -> None:
    trials = 1000 if long_run else 200
    rng = seeded()
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    data = tmp_path / "orders.csv"
    data.write_bytes(b"id,city\n" * 500)
    runrecord.write_manifest(
        runrecord.build_manifest(data, artifact_family="orders", schema_version="1"),
        runrecord.manifest_path_for(data),
    )
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    # How long an undisturbed run takes, to spread the kills over it.
    spans = []
    for n in range(3):
        start = time.monotonic()
        child = in_child(_pipeline, registry, f"calibration-{n}", data, out_dir)
        assert wait(child) == 0
        spans.append(time.monotonic() - start)
    span = sorted(spans)[1] * 1.1

    store = runrecord.Store(registry.record_dir)
    phases: Counter[str] = Counter()
    before: dict[str, str] = {}
    for i in range(trials):
        run_id = f"trial-{i:05d}"
        code = kill_after(
            in_child(_pipeline, registry, run_id, data, out_dir),
            rng.uniform(0, span),
        )
        assert code in (0, -9), code
        if store.has_record(run_id):
            before[run_id] = "promoted"
        elif store.is_open(run_id):
            before[run_id] = "open"
        else:
            before[run_id] = "not opened"
        phases[before[run_id] if code == -9 else "finished"] += 1

    runrecord.recover(registry=registry, older_than=timedelta(0))

    failures = lost = 0
    for i in range(trials):
        run_id = f"trial-{i:05d}"
        path = store.record_path(run_id)
        if before[run_id] == "not opened":
            failures += path.exists()
            continue
        if not path.exists():
            lost += 1
            continue
        record = runrecord.read_record(path)
        crashed = [e for e in record.errors if e.type == "crashed"]
        if before[run_id] == "promoted":
            failures += record.status != "success" or bool(crashed)
        else:
            failures += not (record.status == "error" and crashed and record.completed_at is None)
    scan = scan_store(registry.record_dir)
    orphans = [
        p.name
        for p in out_dir.iterdir()
        if not p.name.startswith(".")
        and not p.name.endswith(".manifest.json")
        and not runrecord.manifest_path_for(p).exists()
    ]
    for manifest in out_dir.glob("*.manifest.json"):
        final = manifest.with_name(manifest.name.removesuffix(".manifest.json"))
        if final.exists():  # (a manifest alone: killed before its data was promoted)
            runrecord.verify(final, runrecord.read_manifest(manifest))

    figures.add(
        Row(
            "R1 kill at any point (in-process API)",
            trials=trials,
            failures=failures + len(orphans) + len(scan.open_runs),
            lost=lost,
            torn=len(scan.torn) + len(scan.temps),
            note=", ".join(f"{k} {v}" for k, v in sorted(phases.items())),
        )
    )
    assert (failures, lost) == (0, 0)
    assert (scan.torn, scan.temps, orphans, scan.open_runs) == ([], [], [], [])
    assert phases["open"] > 0
    assert phases["promoted"] + phases["finished"] > 0
