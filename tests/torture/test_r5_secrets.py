"""R5 — secrets: plant secrets everywhere a run can carry text; no stored byte may hold one."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from torture_support import Figures, Row, registry_file, seeded

import runrecord

STAGES = ["extract", "load"]


def _trial(registry: runrecord.Registry, out_dir: Path, secret: str, n: int) -> list[str]:
    """Run one pipeline with secrets planted in every place text can go; return them."""
    planted = [f"{secret}-{kind}" for kind in ("env", "cfg", "reg", "exc", "note", "cmd", "url")]
    env, cfg, reg, exc, note, cmd, url = planted
    os.environ["ACME_WAREHOUSE_PASSWORD"] = env
    trial_registry = runrecord.Registry(
        project_id="torture",
        project_name=f"Torture token={reg}",
        stages=STAGES,
        run_record_dir=str(registry.record_dir),
        records_stance=None,
    )
    with pytest.raises(RuntimeError):
        with runrecord.run(
            "torture.secrets",
            registry=trial_registry,
            command=f"etl --day 1 --token {cmd}",
            config={"warehouse": {"host": "db", "password": cfg}},
            extensions={"source": f"postgresql://etl:{url}@db.internal/sales"},
        ) as run:
            with run.stage("extract") as stage:
                stage.warn("records_skipped", f"retrying with api_key={note} after a timeout")
                stage.evidence("log", out_dir / f"{n}.log", note=f"Authorization: Bearer {note}")
                stage.count(records_seen=1, records_processed=1)
            with run.output(
                "out", out_dir / f"out-{n}.csv", artifact_family="t", schema_version="1"
            ) as out:
                out.path.write_text("data")
            with run.stage("load"):
                raise RuntimeError(f"load failed: password={exc} (the env held {env})")
    return planted


def test_no_stored_byte_holds_a_planted_secret(
    tmp_path: Path, figures: Figures, long_run: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials = 200 if long_run else 30
    rng = seeded()
    monkeypatch.setenv("ACME_WAREHOUSE_PASSWORD", "placeholder")
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    planted: list[str] = []
    for n in range(trials):
        planted += _trial(registry, out_dir, f"s3cr3t{rng.randrange(10**12):012d}", n)

    for sweep in [t for t in threading.enumerate() if t.name == "runrecord-sweep"]:
        sweep.join()  # retired staging is deleted in the background: let it finish first
    files = [p for root in (registry.record_dir, out_dir) for p in root.rglob("*") if p.is_file()]
    leaks = [
        (str(p.relative_to(tmp_path)), secret)
        for p in files
        for secret in planted
        if secret.encode() in p.read_bytes()
    ]
    invalid = [
        p
        for p in runrecord.Store(registry.record_dir).record_paths()
        if not runrecord.validate_record(p).valid
    ]
    figures.add(
        Row(
            "R5 secrets planted in env, config, registry, exceptions, notes, commands, URLs",
            trials=trials,
            failures=len(invalid),
            leaked=len(leaks),
            note=f"{len(planted)} secrets, {len(files)} files scanned",
        )
    )
    assert leaks == []
    assert invalid == []
    # The places were written (with the secrets redacted), so the scan above means something.
    records = b"".join(p.read_bytes() for p in runrecord.Store(registry.record_dir).record_paths())
    for text in [
        b"load failed: password=[REDACTED]",
        b"retrying with api_key=[REDACTED]",
        b"etl --day 1 --token [REDACTED]",
        b"Torture token=[REDACTED]",
        b"postgresql://[REDACTED]@db.internal",
        b"Authorization: [REDACTED]",
        b"(the env held [REDACTED])",
    ]:
        assert records.count(text) == trials, text
