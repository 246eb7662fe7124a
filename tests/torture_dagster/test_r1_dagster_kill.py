"""R1 for an orchestrator: a Dagster step process SIGKILLed at random points.

Each trial runs the Dagster test pipeline (extract → transform → load, through the adapter's
IO manager and hooks) with the multiprocess executor: every step is its own process. The
``transform`` step has its own process killed after a random delay, wherever it then is —
computing, writing its output through the IO manager (staged, hashed, manifest, promoted),
or writing its stage in the hook. Dagster notices; the adapter's finalizer builds the record
from the stages that were written and Dagster's events. Every trial must end with exactly
one valid record — ``crashed`` on ``transform`` when the kill landed before its stage was
written, ``error`` with Dagster's reason when it landed after — no torn file in the store,
and no promoted output without its manifest.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import dagster as dg
import dagster_pipelines
import pytest
from torture_support import Figures, Row, scan_store, seeded

import runrecord
from runrecord_dagster import finalize_dagster_run

# Dagster's nested resources call a deprecated Dagster API inside Dagster itself.
pytestmark = pytest.mark.filterwarnings(
    "ignore:InitResourceContext.dagster_run is deprecated:DeprecationWarning"
)


def _run(instance: dg.DagsterInstance, kill_after: float) -> dg.JobExecutionResult:
    job = dg.build_reconstructable_job(
        "dagster_pipelines",
        "etl_job",
        reconstructor_working_directory=str(Path(dagster_pipelines.__file__).parent),
    )
    config = {"ops": {"transform": {"config": {"kill_after": kill_after}}}}
    with dg.execute_job(job, instance=instance, run_config=config) as result:
        return result


def test_dagster_step_killed_at_any_point(
    tmp_path: Path, figures: Figures, long_run: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials = 40 if long_run else 8
    rng: random.Random = seeded()
    home = tmp_path / "home"
    registry = runrecord.load_registry(dagster_pipelines.write_registry(home))
    monkeypatch.setenv("RR_TEST_HOME", str(home))
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # the step processes cache
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "pycache"))
    rr = dagster_pipelines.resources(home)["runrecord"]
    store = runrecord.Store(registry.record_dir)
    outcomes: Counter[str] = Counter()
    failures = lost = 0
    wrong: list[object] = []
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        for _ in range(trials):
            result = _run(instance, kill_after=rng.uniform(0.0, 0.3))
            record_id = runrecord.run_id_for(dagster_pipelines.ENTRYPOINT, result.run_id)
            finalize_dagster_run(result, instance=instance, resource=rr)
            if not store.has_record(record_id):
                lost += 1
                continue
            record = runrecord.read_record(store.record_path(record_id), registry=registry)
            crashed = [e for e in record.errors if e.type == "crashed"]
            if result.success:
                outcomes["finished before the kill"] += 1
                failures += record.status != "success"
            else:
                transform = next(s for s in record.stages if s.stage == "transform")
                if transform.status == "success":
                    # Killed after its stage was written: the step's work is recorded, and
                    # the run is error with Dagster's reason (it failed the step).
                    outcomes["killed after its stage was written"] += 1
                    ok = record.status == "error" and not crashed and bool(record.errors)
                else:
                    outcomes["killed"] += 1
                    ok = record.status == "error" and [e.stage for e in crashed] == ["transform"]
                ok = ok and record.completed_at is not None
                if not ok:
                    failures += 1
                    wrong.append(
                        (record.status, [(e.type, e.stage, e.message[:80]) for e in record.errors])
                    )
    scan = scan_store(registry.record_dir)
    data = home / "data"
    orphans = [
        p
        for p in data.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith(".manifest.json")
        and not runrecord.manifest_path_for(p).exists()
    ]
    records = store.record_paths()
    figures.add(
        Row(
            "R1 Dagster step process killed at any point",
            trials=trials,
            failures=failures + len(orphans) + (len(records) != trials),
            lost=lost,
            torn=len(scan.torn) + len(scan.temps),
            note=", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        )
    )
    assert (failures, lost, orphans) == (0, 0, []), wrong
    assert len(records) == trials
    assert (scan.torn, scan.temps, scan.open_runs) == ([], [], [])
    assert outcomes["killed"] + outcomes["killed after its stage was written"] > 0
    assert os.environ["RR_TEST_HOME"] == str(home)
