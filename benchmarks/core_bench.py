"""Benchmarks of the core: write path (P2), hashing (P3), gate lookup (P4), validation (P5).

Each figure is a ratio (or a time) measured against its baseline in the same process, so
that the noise of a shared machine cancels out as far as it can. Run through
``nox -s bench``; ``python benchmarks/core_bench.py --quick`` gives a fast smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

import runrecord

STAGES = ["work"]


def _registry(root: Path) -> runrecord.Registry:
    return runrecord.Registry(
        project_id="bench", project_name="Bench", stages=STAGES, run_record_dir=str(root)
    )


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# --- P2 write path ---------------------------------------------------------------------


def write_path(root: Path, stages: int) -> dict[str, float]:
    """Time open + ``stages`` stage fragments + finalize (validate, promote).

    Returns:
        ``stages``; ``seconds``; and the run's CPU seconds in user and kernel mode (this
        thread only: not the background deletion of the staging files that finalizing
        starts). Kernel time is where the file system shows: see the README on this
        machine's recently deleted inodes.
    """
    registry = _registry(root)

    def run() -> None:
        run_id = runrecord.open_run("bench.write", registry=registry, command="bench")
        for i in range(stages):
            runrecord.write_stage(
                run_id,
                "work",
                registry=registry,
                counters={"records_seen": i, "records_processed": i},
                node=runrecord.NodeRef(id=f"task-{i}", attempt=1),
            )
        runrecord.finalize_run(run_id, registry=registry)

    before = resource.getrusage(resource.RUSAGE_THREAD)
    seconds = _timed(run)
    after = resource.getrusage(resource.RUSAGE_THREAD)
    runrecord.Store(root).sweep_retired()
    return {
        "stages": stages,
        "seconds": seconds,
        "user_seconds": after.ru_utime - before.ru_utime,
        "system_seconds": after.ru_stime - before.ru_stime,
    }


# --- P3 hashing ------------------------------------------------------------------------


def make_file(path: Path, size: int) -> Path:
    """Write ``size`` bytes of random data (whole MiB) to ``path``."""
    with path.open("wb") as fh:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            fh.write(block)
    return path


def hash_seconds(path: Path, algorithm: str) -> float:
    """Seconds for runrecord to hash ``path`` with ``algorithm``."""
    return _timed(lambda: runrecord.hash_file(path, algorithm))


def openssl_seconds(path: Path) -> float:
    """Seconds for ``openssl dgst -sha256`` to hash ``path`` (the hardware's speed)."""
    return _timed(
        lambda: subprocess.run(
            ["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True
        )
    )


# --- P4 gate lookup --------------------------------------------------------------------


def fill_store(root: Path, count: int, template: bytes) -> None:
    """Write ``count`` records of one entrypoint (the newest one through the real path)."""
    doc = json.loads(template)
    doc["entrypoint"]["entrypoint_id"] = "bench.gate"
    doc["run_id"] = "@run_id@"
    doc["created_at"] = doc["completed_at"] = "@time@"
    text = json.dumps(doc)  # serialized once: the store is filled in seconds
    start = datetime(2026, 1, 1, tzinfo=UTC)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count - 1):
        run_id = f"bench.gate-{i:07d}"
        stamp = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        (root / f"{run_id}.run_record.json").write_text(
            text.replace("@run_id@", run_id).replace("@time@", stamp)
        )
    registry = _registry(root)
    with runrecord.run("bench.gate", registry=registry, command="bench"):
        pass


def gate_seconds(root: Path, lookups: int = 200) -> float:
    """Median seconds of one gate check of the newest record of an entrypoint."""
    registry = _registry(root)
    samples = []
    for _ in range(lookups):
        start = time.perf_counter()
        verdict = runrecord.check_upstream("bench.gate", registry=registry)
        samples.append(time.perf_counter() - start)
        assert verdict.passed, verdict.reason
    return statistics.median(samples)


# --- P5 validation ---------------------------------------------------------------------


def validation_seconds(paths: list[Path]) -> tuple[float, float]:
    """Seconds to validate the files with runrecord, and with jsonschema and the schema."""
    schema = jsonschema.Draft202012Validator(runrecord.load_schema())

    def ours() -> None:
        for path in paths:
            assert runrecord.validate_record(path).valid

    def theirs() -> None:
        for path in paths:
            schema.validate(json.loads(path.read_bytes()))

    return _timed(ours), _timed(theirs)


# --- the figures -----------------------------------------------------------------------


def figures(repeats: int, quick: bool) -> dict[str, Any]:
    """Measure every core figure ``repeats`` times.

    Returns:
        The samples by figure key, and ``_details``: each P2 run's seconds and CPU split,
        in the order they ran.
    """
    samples: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="runrecord-bench-"))
    try:
        n_small, n_large = (100, 1_000) if quick else (1_000, 10_000)
        p2_runs = []
        for r in range(repeats):
            small = write_path(work / f"p2-small-{r}", n_small)
            large = write_path(work / f"p2-large-{r}", n_large)
            samples.setdefault("P2_write_1k_seconds", []).append(small["seconds"])
            samples.setdefault("P2_write_10k_over_1k", []).append(
                large["seconds"] / small["seconds"]
            )
            p2_runs += [small, large]

        big = make_file(work / "big.bin", (64 if quick else 1024) << 20)
        for _ in range(repeats):
            sha = hash_seconds(big, "sha256")
            samples.setdefault("P3_sha256_vs_openssl", []).append(openssl_seconds(big) / sha)
            samples.setdefault("P3_blake3_vs_sha256", []).append(sha / hash_seconds(big, "blake3"))
        big.unlink()

        write_path(work / "template", 3)  # a record of a typical size: three stages
        template = runrecord.Store(work / "template").record_paths()[0].read_bytes()
        small_store, large_store = work / "p4-1k", work / "p4-100k"
        fill_store(small_store, 1_000, template)
        fill_store(large_store, 10_000 if quick else 100_000, template)
        for _ in range(repeats):
            t_small = gate_seconds(small_store)
            t_large = gate_seconds(large_store)
            samples.setdefault("P4_gate_lookup_seconds", []).append(t_large)
            samples.setdefault("P4_gate_100k_over_1k", []).append(t_large / t_small)

        paths = runrecord.Store(large_store).record_paths()[: 1_000 if quick else 10_000]
        for _ in range(repeats):
            ours, theirs = validation_seconds(paths)
            samples.setdefault("P5_validate_vs_jsonschema", []).append(theirs / ours)
        samples["_details"] = {"P2_runs_in_order": p2_runs}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return samples


def main() -> None:
    """Measure the core figures and write their samples as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, help="write the samples as JSON here")
    args = parser.parse_args()
    samples = figures(args.repeats, args.quick)
    data = json.dumps(samples, indent=2)
    if args.out:
        args.out.write_text(data)
    else:
        sys.stdout.write(data + "\n")


if __name__ == "__main__":
    main()
