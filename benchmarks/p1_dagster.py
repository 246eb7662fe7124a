"""Benchmark P1 for Dagster: the runrecord adapter's overhead on a 50-asset pipeline.

The pipeline is 50 assets: a source, four chains of twelve assets each fed by the source,
and a fan-in asset over the ends of the chains. Each asset reads its upstream values, derives
a new list of 200 integers from them and returns it; the IO manager writes it to a file.

Two variants of the same pipeline run in one process with in-process ``dg.materialize``
(the in-process executor), each on its own ``DagsterInstance.ephemeral()`` and with the
console logger at ``WARNING`` (Dagster's instance still stores every event):

* **baseline** — no runrecord at all: the assets as they are, and Dagster's default IO
  manager (``dg.FilesystemIOManager``, a pickle file per asset) pointed into the work
  directory.
* **with adapter** — what the README's Dagster section has a user adopt, for in-process
  runs: ``with_runrecord_hooks`` on all 50 assets (the step hook, which writes one stage
  fragment per step), a ``RunRecordResource`` under
  ``runrecord`` with a file registry, ``RunRecordIOManager`` in place of the default IO
  manager (each output staged, hashed, given a manifest, promoted and recorded; each input
  checked against its manifest and recorded), ``stage_report(context).count(...)`` in every
  asset body, the entrypoint tag ``runrecord/entrypoint`` on the run, and
  ``finalize_dagster_run`` after each run (assemble, validate and promote the record), whose
  background deletion of the run's staging files is waited for before a sample ends. Left
  out: the run status sensors (they need a daemon; ``finalize_dagster_run`` is their
  in-process counterpart) and the gate, which is not part of recording a run.

A sample times a batch of runs of one variant (enough for about a second); each round
times one baseline sample and one adapter sample back to back, alternating which goes first,
and gives the ratio adapter seconds / baseline seconds. Afterwards it checks that every
adapter run left a record and that the newest one validates with status ``success``.
Target: a ratio of at most 1.05. The JSON has the ratios under ``P1_dagster`` and the
samples (wall-clock and CPU seconds) under ``_details``; everything else is written to a
temporary directory that is removed at the end.

Usage::

    python benchmarks/p1_dagster.py [--repeats N] [--quick] [--out FILE]
"""

# No `from __future__ import annotations`: Dagster reads the annotations of asset
# functions (the context's type, the input types) when they are defined.
import argparse
import gc
import json
import math
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

import runrecord
from runrecord_dagster import (
    ENTRYPOINT_TAG,
    RunRecordIOManager,
    RunRecordResource,
    finalize_dagster_run,
    stage_report,
    with_runrecord_hooks,
)

TASKS = 50
CHAINS = 4
CHAIN_LENGTH = 12  # 1 source + 4 chains x 12 + 1 fan-in = 50 assets
ROWS = 200
ENTRYPOINT = "bench.p1_dagster"
SOURCE = "source"
FAN_IN = "fan_in"
# Dagster's console logger prints every event at DEBUG by default; both variants run quiet.
RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SWEEP_THREAD = "runrecord-sweep"

Rows = list[int]


def _chain_name(chain: int, position: int) -> str:
    """The name of the asset at ``position`` in chain ``chain``."""
    return f"chain{chain}_{position:02d}"


def asset_names() -> list[str]:
    """Every asset name of the pipeline, upstream before downstream.

    Returns:
        The 50 names: the source, the chains in order, the fan-in.
    """
    chains = [_chain_name(c, p) for c in range(CHAINS) for p in range(CHAIN_LENGTH)]
    return [SOURCE, *chains, FAN_IN]


def _report(context: AssetExecutionContext, seen: int, processed: int, recorded: bool) -> None:
    """Report the step's counters to runrecord when the pipeline is recorded."""
    if recorded:
        stage_report(context).count(records_seen=seen, records_processed=processed)


def _step(upstream: Rows, salt: int) -> Rows:
    """A little real work: derive a new list from the upstream values."""
    return [(value * 31 + salt) % 10_007 for value in upstream]


def build_assets(recorded: bool) -> list[dg.AssetsDefinition]:
    """Build the 50 assets of the pipeline.

    Args:
        recorded: Whether the asset bodies report counters through ``stage_report``.

    Returns:
        The assets, upstream before downstream (no hooks attached yet).
    """

    @dg.asset(name=SOURCE)
    def source(context: AssetExecutionContext) -> Rows:
        rows = list(range(ROWS))
        _report(context, len(rows), len(rows), recorded)
        return rows

    def link(name: str, upstream: str, salt: int) -> dg.AssetsDefinition:
        @dg.asset(name=name, ins={"upstream": dg.AssetIn(key=upstream)})
        def compute(context: AssetExecutionContext, upstream: Rows) -> Rows:
            rows = _step(upstream, salt)
            _report(context, len(upstream), len(rows), recorded)
            return rows

        return compute

    assets = [source]
    for chain in range(CHAINS):
        upstream = SOURCE
        for position in range(CHAIN_LENGTH):
            name = _chain_name(chain, position)
            assets.append(link(name, upstream, salt=chain * CHAIN_LENGTH + position))
            upstream = name

    ends = {f"end{c}": dg.AssetIn(key=_chain_name(c, CHAIN_LENGTH - 1)) for c in range(CHAINS)}

    @dg.asset(name=FAN_IN, ins=ends)
    def fan_in(
        context: AssetExecutionContext, end0: Rows, end1: Rows, end2: Rows, end3: Rows
    ) -> Rows:
        rows = [sum(values) % 10_007 for values in zip(end0, end1, end2, end3, strict=True)]
        _report(context, len(end0) + len(end1) + len(end2) + len(end3), len(rows), recorded)
        return rows

    assets.append(fan_in)
    _require(len(assets) == TASKS, f"{len(assets)} assets, not {TASKS}")
    return assets


def write_registry(work: Path) -> Path:
    """Write the runrecord registry of the benchmark project.

    Args:
        work: The benchmark's work directory.

    Returns:
        The registry file; records go to ``<work>/run_records``.
    """
    path = work / "runrecord.toml"
    stages = ", ".join(json.dumps(name) for name in asset_names())
    path.write_text(
        'project_id = "bench-p1-dagster"\n'
        'project_name = "P1 benchmark (Dagster)"\n'
        f"run_record_dir = {json.dumps(str(work / 'run_records'))}\n"
        f"stages = [{stages}]\n"
    )
    return path


def _join_sweepers() -> None:
    """Wait for runrecord's background deletion of finalized runs' staging files.

    ``finalize_run`` leaves that deletion to a thread; waiting for it at the end of an
    adapter sample charges it to the adapter instead of to the baseline sample that follows.
    """
    for thread in threading.enumerate():
        if thread.name == SWEEP_THREAD and thread is not threading.current_thread():
            thread.join()


class Variant:
    """One way to run the pipeline: ``run()`` materializes it once (and finalizes, if recorded).

    Attributes:
        name: ``baseline`` or ``adapter``.
        runs: How many times ``run()`` was called.
    """

    def __init__(self, name: str, action: Callable[[], None]) -> None:
        self.name = name
        self.runs = 0
        self._action = action

    def run(self) -> None:
        """Run the pipeline once."""
        self._action()
        self.runs += 1

    def timed(self, batch: int) -> tuple[float, float]:
        """Run the pipeline ``batch`` times, then wait for runrecord's background work.

        Returns:
            Wall-clock seconds and CPU seconds (this process, all threads) of the batch.
        """
        gc.collect()
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(batch):
            self.run()
        _join_sweepers()
        return time.perf_counter() - start, time.process_time() - cpu


def baseline_variant(work: Path, instance: dg.DagsterInstance) -> Variant:
    """The pipeline with no runrecord at all."""
    assets = build_assets(recorded=False)
    resources = {"io_manager": dg.FilesystemIOManager(base_dir=str(work / "baseline-data"))}

    def action() -> None:
        result = dg.materialize(
            assets, instance=instance, resources=resources, run_config=RUN_CONFIG
        )
        _require(result.success, "the baseline run failed")

    return Variant("baseline", action)


def adapter_variant(work: Path, instance: dg.DagsterInstance, rr: RunRecordResource) -> Variant:
    """The pipeline as the README has a user adopt the Dagster adapter, for in-process runs."""
    assets = with_runrecord_hooks(build_assets(recorded=True))
    resources = {
        "runrecord": rr,
        "io_manager": RunRecordIOManager(runrecord=rr, base_dir=str(work / "adapter-data")),
    }

    def action() -> None:
        result = dg.materialize(
            assets,
            instance=instance,
            resources=resources,
            run_config=RUN_CONFIG,
            tags={ENTRYPOINT_TAG: ENTRYPOINT},
        )
        _require(result.success, "the adapter run failed")
        finalize_dagster_run(result, instance=instance, resource=rr)

    return Variant("adapter", action)


def _require(condition: bool, message: str) -> None:
    """Fail the benchmark unless ``condition`` holds (also under ``python -O``).

    Raises:
        RuntimeError: ``condition`` is false.
    """
    if not condition:
        raise RuntimeError(f"benchmark check failed: {message}")


def check_records(registry_path: Path, expected: int) -> dict[str, Any]:
    """Check that the adapter runs really wrote records: count them, validate the newest.

    Args:
        registry_path: The benchmark's registry file.
        expected: How many adapter runs there were.

    Returns:
        What was checked, for the JSON details.
    """
    registry = runrecord.load_registry(str(registry_path))
    paths = runrecord.Store(registry.record_dir).record_paths()
    _require(len(paths) == expected, f"{len(paths)} records for {expected} adapter runs")
    newest = max(paths, key=lambda p: p.stat().st_mtime_ns)
    report = runrecord.validate_record(newest, registry=registry)
    _require(report.valid, f"{newest.name}: {[f'{p.rule}: {p.message}' for p in report.problems]}")
    record = report.record
    if record is None:
        raise RuntimeError(f"{newest.name} could not be read")
    _require(record.status == "success", f"{newest.name} is {record.status}, not success")
    _require(len(record.stages) == TASKS, f"{len(record.stages)} stages, not {TASKS}")
    _require(len(record.outputs) == TASKS, f"{len(record.outputs)} outputs, not {TASKS}")
    return {
        "records": len(paths),
        "validated": newest.name,
        "status": str(record.status),
        "stages": len(record.stages),
        "outputs": len(record.outputs),
        "inputs": len(record.inputs),
    }


def measure(repeats: int, quick: bool) -> dict[str, Any]:
    """Warm up both variants, then time ``repeats`` alternating rounds.

    Args:
        repeats: Rounds; each gives one ratio.
        quick: Aim for shorter samples (a smoke run).

    Returns:
        ``{"P1_dagster": [ratio, ...], "_details": {...}}``.
    """
    work = Path(tempfile.mkdtemp(prefix="runrecord-p1-dagster-"))
    try:
        registry_path = write_registry(work)
        rr = RunRecordResource(registry_path=str(registry_path))
        # One ephemeral instance per variant: the same kind, and neither sees the other's
        # materializations of the same asset keys.
        with (
            dg.DagsterInstance.ephemeral(tempdir=str(work / "dagster-baseline")) as plain,
            dg.DagsterInstance.ephemeral(tempdir=str(work / "dagster-adapter")) as recorded,
        ):
            variants = (baseline_variant(work, plain), adapter_variant(work, recorded, rr))
            warmup = [variant.timed(1)[0] for variant in variants]  # imports, caches
            # One run of each, to size the batches: every sample should take about a second.
            single = min(variant.timed(1)[0] for variant in variants)
            batch = max(1, math.ceil((0.5 if quick else 1.0) / single))
            seconds: dict[str, list[float]] = {v.name: [] for v in variants}
            cpu: dict[str, list[float]] = {v.name: [] for v in variants}
            for round_ in range(repeats):
                order: Sequence[Variant] = variants if round_ % 2 == 0 else variants[::-1]
                for variant in order:
                    wall, used = variant.timed(batch)
                    seconds[variant.name].append(wall)
                    cpu[variant.name].append(used)
            checked = check_records(registry_path, variants[1].runs)
        ratios = [a / b for a, b in zip(seconds["adapter"], seconds["baseline"], strict=True)]
        return {
            "P1_dagster": ratios,
            "_details": {
                "tasks": TASKS,
                "shape": f"1 source, {CHAINS} chains of {CHAIN_LENGTH}, 1 fan-in",
                "rows_per_asset": ROWS,
                "runs_per_sample": batch,
                "baseline_seconds": seconds["baseline"],
                "adapter_seconds": seconds["adapter"],
                "baseline_seconds_per_run": [s / batch for s in seconds["baseline"]],
                "adapter_seconds_per_run": [s / batch for s in seconds["adapter"]],
                "median_ratio": statistics.median(ratios),
                # CPU time is less disturbed by other processes on a shared machine.
                "baseline_cpu_seconds": cpu["baseline"],
                "adapter_cpu_seconds": cpu["adapter"],
                "cpu_ratios": [a / b for a, b in zip(cpu["adapter"], cpu["baseline"], strict=True)],
                "warmup_seconds": dict(zip([v.name for v in variants], warmup, strict=True)),
                "dagster_version": dg.__version__,
                "python": sys.version.split()[0],
                "check": checked,
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    """Parse the arguments, run the benchmark, write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--repeats", type=int, metavar="N", help="rounds, one ratio each (default 5)"
    )
    parser.add_argument("--quick", action="store_true", help="short samples, 2 rounds by default")
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="write the JSON here instead of stdout"
    )
    args = parser.parse_args()
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    data = json.dumps(measure(repeats, args.quick), indent=2)
    if args.out:
        args.out.write_text(data + "\n")
    else:
        sys.stdout.write(data + "\n")


if __name__ == "__main__":
    main()
