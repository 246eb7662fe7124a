"""R3 — immutability: a promoted record (or output) is never overwritten, whoever races."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from torture_support import Figures, Row, in_child, registry_file, wait

import runrecord

STAGES = ["work"]


def _at(moment: float) -> None:
    """Sleep until a wall-clock moment, so that forked racers start together."""
    while time.time() < moment:
        time.sleep(0.0002)


def _finalizer(registry: runrecord.Registry, run_id: str, moment: float, out: Path) -> None:
    _at(moment)
    try:
        result = runrecord.finalize_run(run_id, registry=registry)
    except runrecord.RecordExistsError:
        out.write_text("refused")
        return
    out.write_bytes(result.record.to_json())


def test_promotion_races_have_exactly_one_winner(
    tmp_path: Path, figures: Figures, long_run: bool
) -> None:
    trials, racers = (200 if long_run else 40), 4
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    store = runrecord.Store(registry.record_dir)
    failures = 0
    for trial in range(trials):
        run_id = runrecord.open_run("torture.race", registry=registry, command="t")
        runrecord.write_stage(run_id, "work", registry=registry)
        moment = time.time() + 0.05
        outs = [tmp_path / f"race-{trial}-{n}" for n in range(racers)]
        pids = [in_child(_finalizer, registry, run_id, moment, o) for o in outs]
        assert [wait(p) for p in pids] == [0] * racers
        winners = [o.read_bytes() for o in outs if o.read_bytes() != b"refused"]
        promoted = store.record_path(run_id).read_bytes()
        failures += len(winners) != 1 or winners[0] != promoted
    figures.add(Row(f"R3 {racers} finalizers racing per run", trials=trials, failures=failures))
    assert failures == 0


def _promoter(
    registry: runrecord.Registry, run_id: str, final: Path, *, moment: float, tag: bytes, out: Path
) -> None:
    staged = final.with_name(f".{final.name}.{os.getpid()}")
    staged.write_bytes(tag * 1000)
    _at(moment)
    try:
        runrecord.promote_output(
            run_id, "out", staged, final, artifact_family="t", schema_version="1", registry=registry
        )
    except runrecord.PromotionError:
        out.write_text("refused")
        return
    out.write_bytes(tag)


def test_output_promotion_races_have_exactly_one_winner(
    tmp_path: Path, figures: Figures, long_run: bool
) -> None:
    trials, racers = (200 if long_run else 40), 4
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    run_id = runrecord.open_run("torture.race", registry=registry, command="t", detached=True)
    failures = 0
    for trial in range(trials):
        final = tmp_path / f"out-{trial}.bin"
        moment = time.time() + 0.05
        outs = [tmp_path / f"promo-{trial}-{n}" for n in range(racers)]
        pids = [
            in_child(_promoter, registry, run_id, final, moment=moment, tag=b"%d" % n, out=o)
            for n, o in enumerate(outs)
        ]
        assert [wait(p) for p in pids] == [0] * racers
        tags = [o.read_bytes() for o in outs if o.read_bytes() != b"refused"]
        ok = len(tags) == 1 and final.read_bytes() == tags[0] * 1000
        manifest = runrecord.read_manifest(runrecord.manifest_path_for(final))
        ok = ok and runrecord.verify(final, manifest) == manifest.data_hash
        failures += not ok
    record = runrecord.finalize_run(run_id, registry=registry).record
    figures.add(
        Row(f"R3 {racers} output promotions racing per path", trials=trials, failures=failures)
    )
    assert failures == 0
    assert record.counters.artifacts_written == trials  # one promoted output per path


def test_a_promoted_record_refuses_every_write(tmp_path: Path, figures: Figures) -> None:
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    with runrecord.run("torture.frozen", registry=registry, command="t") as run:
        pass
    path = run.record_path
    original = path.read_bytes()
    attempts: list[Callable[[], object]] = [
        lambda: runrecord.Store(registry.record_dir).promote(run.run_id, b"{}"),
        lambda: runrecord.open_run("torture.frozen", registry=registry, run_id=run.run_id),
        lambda: runrecord.open_run(
            "torture.frozen", registry=registry, run_id=run.run_id, exist_ok=True
        ),
        lambda: runrecord.write_stage(run.run_id, "work", registry=registry),
        lambda: runrecord.write_note(run.run_id, registry=registry, counters={"files_seen": 1}),
        lambda: runrecord.finalize_run(run.run_id, registry=registry),
        lambda: runrecord.finalize_run(run.run_id, registry=registry, status="error", reason="x"),
    ]
    refused = 0
    for attempt in attempts:
        with pytest.raises(runrecord.RecordExistsError):
            attempt()
        refused += 1
    figures.add(
        Row(
            "R3 writes into a promoted record",
            trials=len(attempts),
            failures=len(attempts) - refused,
        )
    )
    assert path.read_bytes() == original
    assert isinstance(path, Path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
