"""R2 — concurrency: many writers into one store, many writers into one run, recover racing.

No lock is taken for fragments and records: uniqueness of names and create-exclusive
promotion carry the load. These trials check that nothing is lost or duplicated, that all
records validate, and that ``recover`` running next to live runs never finalizes one.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from torture_support import Figures, Row, in_child, registry_file, scan_store, wait

import runrecord

STAGES = ["work"]


def _many_runs(registry: runrecord.Registry, worker: int, runs: int, ids: Path) -> None:
    made = []
    for i in range(runs):
        with (
            runrecord.run(
                "torture.many", registry=registry, run_id=f"w{worker}-r{i:05d}", command="t"
            ) as run,
            run.stage("work") as stage,
        ):
            stage.count(records_seen=2, records_processed=2)
        made.append(run.run_id)
    ids.write_text("\n".join(made))


def _recover_loop(registry: runrecord.Registry, stop: Path, log: Path) -> None:
    rounds = recovered = 0
    while not stop.exists():
        outcomes = runrecord.recover(registry=registry)
        recovered += sum(o.outcome == "recovered" for o in outcomes)
        rounds += 1
    log.write_text(f"{rounds} {recovered}")


def test_many_processes_many_runs_and_recover_racing(
    tmp_path: Path, figures: Figures, long_run: bool
) -> None:
    workers, runs = 8, (2000 if long_run else 500)
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    stop, log = tmp_path / "stop", tmp_path / "recover.log"
    recoverer = in_child(_recover_loop, registry, stop, log)
    pids = [in_child(_many_runs, registry, w, runs, tmp_path / f"ids-{w}") for w in range(workers)]
    codes = [wait(pid) for pid in pids]
    stop.touch()
    assert wait(recoverer) == 0
    assert codes == [0] * workers

    expected = {i for w in range(workers) for i in (tmp_path / f"ids-{w}").read_text().split()}
    store = runrecord.Store(registry.record_dir)
    store.sweep_retired()
    paths = store.record_paths()
    found = {p.name.removesuffix(".run_record.json") for p in paths}
    scan = scan_store(registry.record_dir)
    crashed = [
        p.name for p in paths if any(e.type == "crashed" for e in runrecord.read_record(p).errors)
    ]
    rounds, recovered = map(int, log.read_text().split())
    newest = max(paths, key=lambda p: runrecord.read_record(p).created_at)
    pointer = store.read_latest("torture.many")

    row = figures.add(
        Row(
            f"R2 {workers} processes x {runs} runs, recover racing",
            trials=workers * runs,
            failures=len(crashed) + recovered + (pointer is None),
            lost=len(expected - found),
            torn=len(scan.torn) + len(scan.temps),
            note=f"{len(found - expected)} duplicated, {rounds} recover rounds",
        )
    )
    assert len(expected) == workers * runs
    assert found == expected
    assert len(paths) == workers * runs
    assert (scan.torn, scan.temps, scan.open_runs, crashed, recovered) == ([], [], [], [], 0)
    assert pointer is not None
    assert (
        runrecord.read_record(newest).created_at.isoformat()
        <= runrecord.read_record(store.record_path(pointer.run_id)).created_at.isoformat()
    )
    assert row.failures == 0


def _stages_of_one_run(registry: runrecord.Registry, run_id: str, worker: int, n: int) -> None:
    for i in range(n):
        runrecord.write_stage(
            run_id,
            "work",
            registry=registry,
            counters={"records_seen": 1, "records_processed": 1},
            node=runrecord.NodeRef(id=f"w{worker}-s{i}", attempt=os.getpid() % 7),
        )


def test_many_processes_write_stages_of_one_run(
    tmp_path: Path, figures: Figures, long_run: bool
) -> None:
    workers, per_worker = 8, (1000 if long_run else 200)
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    run_id = runrecord.open_run("torture.one", registry=registry, command="t", detached=True)
    pids = [in_child(_stages_of_one_run, registry, run_id, w, per_worker) for w in range(workers)]
    assert [wait(pid) for pid in pids] == [0] * workers
    record = runrecord.finalize_run(run_id, registry=registry).record

    nodes = [s.node.id for s in record.stages if s.node is not None]
    expected = {f"w{w}-s{i}" for w in range(workers) for i in range(per_worker)}
    scan = scan_store(registry.record_dir)
    figures.add(
        Row(
            f"R2 {workers} processes x {per_worker} stages of one run",
            trials=workers * per_worker,
            failures=int(record.status != "success"),
            lost=len(expected - set(nodes)),
            torn=len(scan.torn) + len(scan.temps),
            note=f"{len(nodes) - len(set(nodes))} duplicated",
        )
    )
    assert record.status == "success"
    assert sorted(nodes) == sorted(expected)
    assert record.counters.records_seen == workers * per_worker
    path = runrecord.Store(registry.record_dir).record_path(run_id)
    assert runrecord.validate_record(path).valid
    assert (scan.torn, scan.temps) == ([], [])


def test_recover_finalizes_dead_detached_runs_but_not_fresh_ones(tmp_path: Path) -> None:
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    run_id = runrecord.open_run("torture.one", registry=registry, command="t", detached=True)
    runrecord.write_stage(run_id, "work", registry=registry)
    assert [o.outcome for o in runrecord.recover(registry=registry)] == ["live"]
    outcomes = runrecord.recover(registry=registry, older_than=timedelta(0))
    assert [o.outcome for o in outcomes] == ["recovered"]
    assert runrecord.latest_record("torture.one", registry=registry) is not None
