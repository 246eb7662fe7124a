"""P1 adapter overhead for Prefect: a 50-task flow with and without runrecord.

The flow passes a list of 256 integers along one chain of 50 task runs; each task mixes
the list with a hash of its contents (a little real work, the same in both variants).

* **Baseline**: plain ``@flow`` and ``@task``; runrecord is not involved at all.
* **With adapter**: the same flow as ``@recorded_flow`` and the same task as
  ``@recorded_task`` in its plain form (the stage is the function's name, ``step``: no
  ``stage=``, so no stage tag), and each task reports its counters through
  ``current_stage().count(...)``, as the README shows a user doing. A timed adapter run
  therefore includes everything the adapter does for one flow run in the flow's process:
  the ``on_running`` hook opening the run (header, environment capture); ``current_stage()``
  and the task hook writing one stage fragment per task run (50); and the flow's
  ``on_completion`` hook, which reads the flow run's task runs from the Prefect API (and
  waits until that view has settled), finalizes the record (assemble, derive the status,
  validate, promote) and creates the record's markdown artifact through the API. The hook
  runs before the flow call returns; the timing stops once the call has returned *and* the
  record file exists.

Both variants run in one process against one ephemeral Prefect server (SQLite in a temporary
``PREFECT_HOME``), with the flow heartbeat thread off
(``PREFECT_FLOWS_HEARTBEAT_FREQUENCY=None``), analytics off and console logging at WARNING
(logs still go to the API). The server starts during the untimed warm-up runs.

The server records task runs from events after a flow run has returned, and that work would
slow down whichever run comes next. So after every timed run, untimed, the benchmark waits
until the API shows the run's 50 task runs completed and the server process is idle: each
run starts on a quiet server, and a run is billed only for the waiting it does itself (the
adapter's finalizer waits for the API by design, the baseline does not). A sample is the
mean of ``k`` such runs, ``k`` chosen so that a baseline sample lasts about a second; the
variants alternate which goes first in each round, and each round yields one ratio,
adapter seconds / baseline seconds. Target: ratio <= 1.05.

Afterwards every adapter run must have left one record, and each record must validate
against the benchmark's registry with status ``success`` and 50 stages.

Usage::

    python benchmarks/p1_prefect.py [--repeats N] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import runrecord
from runrecord_prefect import current_stage  # imports no Prefect: safe before its settings

if TYPE_CHECKING:
    from uuid import UUID

    from prefect import Flow

TASKS = 50
ITEMS = 256
STAGE = "step"
"""The registry's only stage: the name of the recorded task function :func:`step`."""
ENTRYPOINT = "bench.p1"
TARGET = 1.05
SAMPLE_SECONDS = 1.0
"""A baseline sample should last about this long: short runs are batched."""
RECORD_WAIT_SECONDS = 30.0
QUIESCE_SECONDS = 30.0
IDLE_WINDOW_SECONDS = 0.2
IDLE_TICKS = 2
"""The server is quiet when it used at most this many CPU ticks (10 ms each) in a window."""


def _mix(values: list[int], salt: int) -> list[int]:
    """The work of one task: mix every value with a hash of the whole list.

    Args:
        values: The list passed along the chain.
        salt: The task's position in the chain.

    Returns:
        A new list of the same length.
    """
    digest = hashlib.blake2b(repr(values).encode(), digest_size=8).digest()
    offset = int.from_bytes(digest, "big") + salt
    return [(v * 31 + offset) % 1_000_003 for v in values]


def plain_step(values: list[int], salt: int) -> list[int]:
    """The baseline's task function.

    Args:
        values: The list passed along the chain.
        salt: The task's position in the chain.

    Returns:
        The mixed list.
    """
    return _mix(values, salt)


def step(values: list[int], salt: int) -> list[int]:
    """The recorded task function; its name is its stage, as with a plain ``@recorded_task``.

    Args:
        values: The list passed along the chain.
        salt: The task's position in the chain.

    Returns:
        The mixed list.
    """
    mixed = _mix(values, salt)
    current_stage().count(records_seen=len(values), records_processed=len(mixed))
    return mixed


def _flows(registry: runrecord.Registry) -> tuple[Flow[[int], int], Flow[[int], int]]:
    """Build the baseline flow and the recorded flow; Prefect must be configured already.

    Args:
        registry: The registry the recorded flow writes its records with.

    Returns:
        The baseline flow and the flow with the adapter.
    """
    from prefect import flow, task

    from runrecord_prefect import recorded_flow, recorded_task

    plain_task = task(name=STAGE)(plain_step)
    recorded = recorded_task(step)

    def chain(run_step: Callable[[list[int], int], list[int]], seed: int) -> int:
        values = list(range(seed, seed + ITEMS))
        for salt in range(TASKS):
            values = run_step(values, salt)
        return sum(values)

    @flow(name="p1-baseline")
    def baseline(seed: int) -> int:
        return chain(plain_task, seed)

    @recorded_flow(name="p1-adapter", entrypoint=ENTRYPOINT, registry=registry)
    def adapter(seed: int) -> int:
        return chain(recorded, seed)

    return baseline, adapter


def _run_baseline(baseline: Flow[[int], int], seed: int) -> UUID:
    """Run the baseline flow once.

    Args:
        baseline: The plain flow.
        seed: The flow's parameter.

    Returns:
        The flow run's id.

    Raises:
        RuntimeError: The flow run did not complete.
    """
    state = baseline(seed, return_state=True)
    if not state.is_completed() or state.state_details.flow_run_id is None:
        raise RuntimeError(f"the baseline flow run ended {state.name}: {state.message}")
    return state.state_details.flow_run_id


def _run_adapter(adapter: Flow[[int], int], registry: runrecord.Registry, seed: int) -> UUID:
    """Run the recorded flow once and wait until its record exists.

    Args:
        adapter: The recorded flow.
        registry: The registry its records are written with.
        seed: The flow's parameter.

    Returns:
        The flow run's id.

    Raises:
        RuntimeError: The flow run did not complete, or left no record in time.
    """
    state = adapter(seed, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    if not state.is_completed() or flow_run_id is None:
        raise RuntimeError(f"the adapter flow run ended {state.name}: {state.message}")
    run_id = runrecord.run_id_for(ENTRYPOINT, str(flow_run_id))
    path = registry.record_dir / f"{run_id}.run_record.json"
    deadline = time.perf_counter() + RECORD_WAIT_SECONDS
    while not path.exists():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no record {path.name} {RECORD_WAIT_SECONDS:.0f}s after the run")
        time.sleep(0.001)
    return flow_run_id


def _cpu_ticks(pid: int) -> int | None:
    """User + system CPU time of a process in clock ticks, from ``/proc``; None elsewhere.

    Args:
        pid: The process.

    Returns:
        The ticks, or None when ``/proc`` cannot tell.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of stat


def _quiesce(flow_run_id: UUID, server_pid: int | None) -> bool:
    """Wait (untimed) until the server has taken in a flow run and has gone quiet.

    The server records task runs from events, after the flow run has returned. Without
    this wait that work would be billed to whichever run comes next; the adapter's
    finalizer waits for it by design, the baseline does not.

    Args:
        flow_run_id: The flow run just timed.
        server_pid: The ephemeral server's process, for its CPU time; None to skip that.

    Returns:
        True when the server went quiet in time; False when it was still busy (the run
        that follows then starts on a busy server).

    Raises:
        RuntimeError: The API did not show the flow run's task runs completed in time.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.objects import StateType

    deadline = time.monotonic() + QUIESCE_SECONDS
    flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=flow_runs, limit=TASKS + 1)
            if len(runs) == TASKS and all(r.state_type == StateType.COMPLETED for r in runs):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API shows {len(runs)} task runs of {flow_run_id}")
            time.sleep(0.05)
    before = _cpu_ticks(server_pid) if server_pid is not None else None
    while before is not None and time.monotonic() < deadline:
        time.sleep(IDLE_WINDOW_SECONDS)
        after = _cpu_ticks(server_pid) if server_pid is not None else None
        if after is None or after - before <= IDLE_TICKS:
            return True
        before = after
    return before is None


def _sample(run: Callable[[], UUID], runs: int, server_pid: int | None) -> tuple[float, int]:
    """Time ``runs`` flow runs, each started on a quiet server.

    Args:
        run: One flow run, returning its id.
        runs: How many runs the sample holds.
        server_pid: The ephemeral server's process.

    Returns:
        The seconds of the runs, summed, and how many of the waits for a quiet server
        timed out.
    """
    seconds, busy = 0.0, 0
    for _ in range(runs):
        start = time.perf_counter()
        flow_run_id = run()
        seconds += time.perf_counter() - start
        busy += not _quiesce(flow_run_id, server_pid)
    return seconds, busy


def _check_records(registry: runrecord.Registry, expected: int) -> int:
    """Check that the adapter runs left their records and that those are what they claim.

    Args:
        registry: The benchmark's registry.
        expected: How many adapter flow runs there were.

    Returns:
        The number of records checked.

    Raises:
        RuntimeError: A record is missing, invalid, not ``success`` or without 50 stages.
    """
    paths = sorted(registry.record_dir.glob("*.run_record.json"))
    if len(paths) != expected:
        raise RuntimeError(f"{expected} adapter runs left {len(paths)} records")
    for path in paths:
        report = runrecord.validate_record(path, registry=registry)
        if not report.valid or report.record is None:
            problems = "; ".join(f"{p.pointer}: {p.message}" for p in report.problems)
            raise RuntimeError(f"{path.name} is invalid: {problems}")
        record = report.record
        if record.status != "success" or len(record.stages) != TASKS:
            raise RuntimeError(
                f"{path.name}: status {record.status} with {len(record.stages)} stages; "
                f"expected success with {TASKS}"
            )
    return len(paths)


@contextlib.contextmanager
def _prefect(root: Path) -> Iterator[None]:
    """Configure Prefect for the benchmark; on leaving, drain its workers and stop the server.

    Prefect reads its settings when first imported, so the environment is set before that.

    Args:
        root: The benchmark's temporary directory; Prefect's home and temp files go there.

    Yields:
        Nothing; inside the block, flow runs use the settings and the ephemeral server.

    Raises:
        RuntimeError: Prefect was imported before the benchmark could configure it.
    """
    if "prefect" in sys.modules:
        raise RuntimeError("prefect was imported before its settings were made")
    (root / "tmp").mkdir()
    os.environ.update(
        PREFECT_HOME=str(root / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING",
        TMPDIR=str(root / "tmp"),
    )
    tempfile.tempdir = None  # re-read TMPDIR
    os.environ.pop("PREFECT_API_URL", None)  # the ephemeral server, never a remote one
    import prefect.settings
    from prefect.server.api.server import SubprocessASGIServer

    updates = {prefect.settings.PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    # The context manager is kept in a name: the settings revert when it is collected.
    settings = prefect.settings.temporary_settings(updates=updates)
    try:
        with settings:
            yield
    finally:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (EventsWorker, APILogWorker):
            with contextlib.suppress(Exception):
                worker.drain_all(timeout=10)
        # Prefect stops its ephemeral server only at exit, and offers no public handle on it.
        for server in list(SubprocessASGIServer._instances.values()):
            process = server.server_process
            server.stop()
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)


def _server_pid() -> int | None:
    """The ephemeral server the flow runs talk to.

    Returns:
        Its process id, or None when it is not running.
    """
    from prefect.server.api.server import SubprocessASGIServer

    for server in SubprocessASGIServer._instances.values():  # no public handle on it
        if server.server_process is not None:
            return server.server_process.pid
    return None


def _benchmark(root: Path, repeats: int) -> dict[str, Any]:
    """Warm up, calibrate the batch size, then time the rounds and check the records.

    Args:
        root: The benchmark's temporary directory (the working directory during the run).
        repeats: Rounds, one ratio each.

    Returns:
        The result object written as JSON.
    """
    import prefect

    registry = runrecord.Registry(
        project_id="bench",
        project_name="Bench",
        stages=[STAGE],
        run_record_dir=str(root / "records"),
    )
    baseline, adapter = _flows(registry)
    seeds = iter(range(1_000_000))

    def run_baseline() -> UUID:
        return _run_baseline(baseline, next(seeds))

    def run_adapter() -> UUID:
        return _run_adapter(adapter, registry, next(seeds))

    start = time.perf_counter()
    run_baseline()  # starts the ephemeral server
    warmup = {"baseline_seconds": time.perf_counter() - start}
    server_pid = _server_pid()
    warmup["adapter_seconds"], busy = _sample(run_adapter, 1, server_pid)
    _quiesce(run_baseline(), server_pid)  # let the server catch up on the first run too
    calibration, waits = _sample(run_baseline, 1, server_pid)
    busy += waits
    runs = max(1, math.ceil(SAMPLE_SECONDS / calibration))
    baseline_seconds: list[float] = []
    adapter_seconds: list[float] = []
    ratios: list[float] = []
    for round_ in range(repeats):
        order = [(run_baseline, baseline_seconds), (run_adapter, adapter_seconds)]
        for run, seconds in order if round_ % 2 == 0 else reversed(order):
            sample, waits = _sample(run, runs, server_pid)
            seconds.append(sample / runs)
            busy += waits
        ratios.append(adapter_seconds[-1] / baseline_seconds[-1])
    checked = _check_records(registry, 1 + repeats * runs)
    return {
        "P1_prefect": ratios,
        "_details": {
            "baseline_seconds": baseline_seconds,
            "adapter_seconds": adapter_seconds,
            "tasks": TASKS,
            "seconds_are": "per flow run: the mean of the sample's runs_per_sample runs",
            "runs_per_sample": runs,
            "median_ratio": statistics.median(ratios),
            "target": TARGET,
            "warmup": warmup,
            "calibration_seconds": calibration,
            "records_checked": checked,
            "server_still_busy_before_a_run": busy,
            "prefect_version": prefect.__version__,
            "python_version": sys.version.split()[0],
            "settings": {"heartbeat": None, "console_logging": "WARNING"},
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON result.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` by default.

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(description="P1 adapter overhead for Prefect")
    parser.add_argument("--repeats", type=int, default=5, help="rounds, one ratio each")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (2 rounds)")
    parser.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    repeats = min(args.repeats, 2) if args.quick else args.repeats
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    started = time.perf_counter()
    cwd = Path.cwd()
    root = Path(tempfile.mkdtemp(prefix="runrecord-p1-prefect-"))
    try:
        os.chdir(root)  # the registry's project root, and no repository config for Prefect
        with _prefect(root):
            result = _benchmark(root, repeats)
    finally:
        os.chdir(cwd)
        shutil.rmtree(root, ignore_errors=True)
    result["_details"]["script_seconds"] = time.perf_counter() - started
    text = json.dumps(result, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
