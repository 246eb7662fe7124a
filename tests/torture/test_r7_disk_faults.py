"""R7 — disk faults: a full disk, a read-only store, permission lost mid-run.

Every fault must surface as a typed error (a RunRecordError, never a bare OSError), leave
no corrupt file, keep the fragments already written, and — once the fault is gone — end
with exactly one valid record per opened run (``recover`` finalizes what was left).

A full disk is a real size-limited tmpfs where the machine allows mounting one (root);
elsewhere the store's writes are made to fail with ENOSPC. Read-only and permission faults
use the immutable attribute as root (root ignores permission bits) and permission bits
otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from torture_support import Figures, Row, in_child, registry_file, scan_store, wait

import runrecord

STAGES = ["extract", "load"]


@contextlib.contextmanager
def _small_disk(path: Path, size: str = "384k") -> Iterator[bool]:
    """Mount a size-limited tmpfs at ``path``; yields False where mounting is not allowed."""
    path.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def _set_writable(path: Path, writable: bool) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i" if writable else "+i", str(path)], check=True)
    else:
        path.chmod(0o755 if writable else 0o555)


def _runs_until_the_disk_is_full(registry: runrecord.Registry, out_dir: Path, log: Path) -> None:
    """Child: run pipelines until a write fails; log what was raised."""
    kinds = []
    for n in range(10_000):
        try:
            with runrecord.run("torture.full", registry=registry, command="t") as run:
                for name in STAGES:
                    with run.stage(name) as stage:
                        stage.count(records_seen=10, records_processed=10)
                with run.output(
                    "out", out_dir / f"out-{n}.bin", artifact_family="t", schema_version="1"
                ) as out:
                    out.path.write_bytes(os.urandom(8_000))
        except runrecord.RunRecordError as exc:
            kinds.append(type(exc).__name__)
            if len(kinds) >= 3:
                break
        except OSError as exc:  # only the user's own write of the data may fail like this
            kinds.append(f"user-{errno.errorcode.get(exc.errno or 0, 'OSError')}")
            if len(kinds) >= 3:
                break
        except Exception as exc:  # noqa: BLE001 - what the suite counts
            kinds.append(f"unhandled-{type(exc).__name__}")
            break
    log.write_text("\n".join(kinds))


def _inject_enospc_after(calls: int) -> None:
    """Without a small disk to fill: make the store's writes fail with ENOSPC after a while."""
    from runrecord import _fs

    real = _fs._write_temp
    count = {"n": 0}

    def failing(path: Path, data: bytes, mode: int, durable: bool = True) -> Path:
        count["n"] += 1
        if count["n"] > calls:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data, mode, durable)

    _fs._write_temp = failing


def test_disk_full(tmp_path: Path, figures: Figures) -> None:
    with _small_disk(tmp_path / "disk") as mounted:
        disk = tmp_path / "disk"
        registry = runrecord.load_registry(
            registry_file(tmp_path, stages=STAGES, record_dir=str(disk / "records"))
        )
        out_dir = disk / "out"
        out_dir.mkdir()
        log = tmp_path / "kinds.log"

        def child() -> None:
            if not mounted:
                _inject_enospc_after(120)
            _runs_until_the_disk_is_full(registry, out_dir, log)

        assert wait(in_child(child)) == 0
        kinds = log.read_text().split()
        torn_while_full = scan_store(registry.record_dir)
        # Make room again (the data files are the user's), then recover.
        for path in out_dir.iterdir():
            path.unlink()
        store = runrecord.Store(registry.record_dir)
        opened = {r for r in store.staged_run_ids() if store.is_open(r)}  # (a header written)
        runrecord.recover(registry=registry, older_than=timedelta(0))
        scan = scan_store(registry.record_dir)
        lost = [r for r in opened if not store.has_record(r)]
        invalid = [p for p in scan.records if not runrecord.validate_record(p).valid]

    unhandled = [k for k in kinds if k.startswith("unhandled")]
    figures.add(
        Row(
            "R7 disk full" + (" (tmpfs)" if mounted else " (injected ENOSPC)"),
            trials=len(kinds),
            failures=len(invalid),
            lost=len(lost),
            torn=len(torn_while_full.torn) + len(scan.torn) + len(scan.temps),
            unhandled=len(unhandled),
            note=", ".join(sorted(set(kinds))),
        )
    )
    assert kinds
    assert unhandled == []
    assert torn_while_full.torn == []
    assert (scan.torn, scan.temps, lost, invalid, scan.open_runs) == ([], [], [], [], [])


def _run_then_lose_the_store(registry: runrecord.Registry, what: Path, log: Path) -> None:
    """Child: two stages, then the store (or the staging) becomes unwritable."""
    try:
        with runrecord.run("torture.ro", registry=registry, command="t") as run:
            with run.stage("extract") as stage:
                stage.count(records_seen=1, records_processed=1)
            target = (
                what if what.name != "STAGING" else registry.record_dir / ".staging" / run.run_id
            )
            _set_writable(target, False)
            log.write_text(f"{run.run_id}\n{target}")
            with run.stage("load") as stage:
                stage.count(records_seen=1, records_processed=1)
    except runrecord.RunRecordError as exc:
        with log.open("a") as fh:
            fh.write(f"\n{type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - what the suite counts
        with log.open("a") as fh:
            fh.write(f"\nunhandled-{type(exc).__name__}")


@pytest.mark.parametrize("fault", ["read-only store", "permission lost on staging"])
def test_store_becomes_unwritable_mid_run(tmp_path: Path, figures: Figures, fault: str) -> None:
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    registry.record_dir.mkdir(parents=True)
    what = registry.record_dir if fault == "read-only store" else Path("STAGING")
    log = tmp_path / "log"
    assert wait(in_child(_run_then_lose_the_store, registry, what, log)) == 0
    run_id, target, *kinds = log.read_text().split("\n")
    store = runrecord.Store(registry.record_dir)
    torn_while_faulty = scan_store(registry.record_dir)
    _set_writable(Path(target), True)
    runrecord.recover(registry=registry, older_than=timedelta(0))
    scan = scan_store(registry.record_dir)
    record = runrecord.read_record(store.record_path(run_id)) if store.has_record(run_id) else None
    unhandled = [k for k in kinds if k.startswith("unhandled")]
    figures.add(
        Row(
            f"R7 {fault}",
            trials=1,
            failures=int(record is None or record.status != "error"),
            lost=int(record is None),
            torn=len(torn_while_faulty.torn) + len(scan.torn) + len(scan.temps),
            unhandled=len(unhandled),
            note=", ".join(kinds),
        )
    )
    assert kinds == ["ResourceError"]
    assert record is not None
    # The run failed to record its end: it is an error, never a clean success.
    assert record.status == "error"
    assert record.stages[0].stage == "extract"
    assert (torn_while_faulty.torn, scan.torn, scan.temps, scan.open_runs) == ([], [], [], [])
