"""P1 adapter overhead for Airflow: one 50-task DAG under ``dag.test()``, three ways.

Variants, each with its own copy of one DAG (five chains of ten ``@task`` functions that
hash and sum a little and pass a small integer downstream through XCom), run against a
real SQLite metadata DB:

* ``baseline``: plain Airflow: no runrecord callbacks on the DAG, runrecord's listener
  plugin switched off (``RUNRECORD_AIRFLOW_LISTENER=off``), the OpenLineage listener not
  registered.
* ``runrecord``: the adapter as the README shows it first: ``DAG(...,
  **runrecord_airflow.callbacks())``, the one line that adds the task callbacks to
  ``default_args`` and the DAG's success and failure callbacks. The listener plugin (the
  no-DAG-change alternative) stays switched off, so nothing is recorded twice. Every run
  must leave exactly one new record, valid (against the registry too), ``success``, with
  50 stages from 50 distinct task instances.
* ``openlineage``: ``apache-airflow-providers-openlineage`` with its defaults (an event
  is emitted from a forked process per task event) and a file transport
  (``{"type": "file", "log_file_path": ..., "append": true}``), no runrecord. Every run
  must add a START and a COMPLETE event for each of the 50 tasks and a COMPLETE event for
  the DAG run to the file.

Isolation: one worker process hosts the three variants, so that they share one Airflow
start-up, one metadata DB and one process state, and differ only in what each variant
adds. The provider's ``is_disabled()`` is cached when its plugin is imported, so
OpenLineage is configured (the transport) for the whole worker, and its listener, once
loaded, would hear every DAG: it is unregistered from both of Airflow's listener managers
(``airflow.listeners.listener`` for DAG-run hooks, ``airflow.sdk.listener`` for task
hooks) before every baseline and runrecord run, and registered again before every
openlineage run. Each run checks the registered listeners, and that baseline and runrecord
runs add no OpenLineage event. The provider registers nothing else that runs here (its
hook-lineage reader only collects what hooks report; these tasks use none).

The worker imports Airflow, creates the DB and runs, per variant, an untimed warm-up
``dag.test()`` of a three-task DAG wired the same way (paying the first-time costs: the
in-process Execution API's start, the first task run, callbacks, the first fork); then
this process asks it for one timed ``dag.test()`` of each variant's 50-task DAG per
round: baseline and runrecord, alternating which goes first from round to round, then
openlineage (so each of the two compared variants follows an openlineage run, at the
start of a round, about equally often). Only ``dag.test()`` is timed; work
that outlives it (runrecord's background staging sweep, OpenLineage's DAG-run event from
its process pool) is waited for, untimed, before the next run.

Figures, one sample per round: ``P1_airflow`` = runrecord / baseline seconds (target
<= 1.05) and ``P1_airflow_openlineage`` = openlineage / baseline seconds (runrecord's must
be below it). ``_details`` also holds each run's CPU seconds (the worker and its reaped
children, i.e. OpenLineage's forks), which other work on the machine disturbs less than
wall time.

Usage: ``python benchmarks/p1_airflow.py [--repeats N] [--quick] [--out FILE]``, with the
Python of an environment that has ``runrecord``, ``runrecord-airflow``, ``apache-airflow``
and ``apache-airflow-providers-openlineage`` installed. No network is used. Everything is
written under one temporary directory, removed at the end, but bytecode when the caller
sets ``PYTHONPYCACHEPREFIX`` (as ``nox -s bench`` does), which the worker then reuses.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parent never imports Airflow; only the worker does
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

VARIANTS = ("baseline", "runrecord", "openlineage")
DAG_ID = "p1_airflow"
CHAINS = 5
CHAIN_LENGTH = 10
TASKS = CHAINS * CHAIN_LENGTH
TASK_IDS = [f"chain{c}_step{i}" for c in range(CHAINS) for i in range(CHAIN_LENGTH)]
WORKER_ENV = "P1_AIRFLOW_WORKER"
SETUP_TIMEOUT = 300.0
RUN_TIMEOUT = 180.0
DAG_EVENT_TIMEOUT = 30.0
DISTRIBUTIONS = (
    "apache-airflow",
    "apache-airflow-core",
    "apache-airflow-task-sdk",
    "apache-airflow-providers-openlineage",
    "openlineage-python",
    "runrecord",
    "runrecord-airflow",
)


# --- the parent: start the worker, drive the rounds, compute the figures ----------------


def _worker_env(root: Path, pycache: Path) -> dict[str, str]:
    """The worker's environment: its Airflow home, registry, OpenLineage transport.

    Args:
        root: The benchmark's temporary directory.
        pycache: The bytecode cache directory.

    Returns:
        The environment, with nothing Airflow, OpenLineage or runrecord inherited.
    """
    for sub in ("airflow", "dags", "tmp"):
        (root / sub).mkdir()
    registry = root / "runrecord.toml"
    registry.write_text(
        'project_id = "bench-airflow"\nproject_name = "P1 Airflow benchmark"\n'
        f'run_record_dir = "records"\nstages = {json.dumps(TASK_IDS)}\n'
    )
    transport = {"type": "file", "log_file_path": str(root / "ol.jsonl"), "append": True}
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "OPENLINEAGE", "RUNRECORD", "PYTHONDONTWRITEBYTECODE"))
    }
    return {
        **inherited,
        WORKER_ENV: "1",
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),  # empty: the DAGs are synced in code
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "RUNRECORD_REGISTRY": str(registry),
        "RUNRECORD_AIRFLOW_LISTENER": "off",  # the plugin is installed; no variant uses it
        "PYTHONPYCACHEPREFIX": str(pycache),
        "TMPDIR": str(root / "tmp"),
    }


class Worker:
    """The worker process, spoken to with one line each way.

    Args:
        root: The benchmark's temporary directory (the worker's log goes there too).
        pycache: The bytecode cache directory.
    """

    def __init__(self, root: Path, pycache: Path) -> None:
        self.log_path = root / "worker.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve())],
                env=_worker_env(root, pycache),
                cwd=root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def ask(self, command: str, timeout: float) -> dict[str, Any]:
        """Send one command line and return the worker's answer.

        Args:
            command: ``run <variant>`` (one timed run), ``setup`` or ``quit``.
            timeout: Seconds to wait before the worker is killed as hung.

        Returns:
            The parsed answer.

        Raises:
            RuntimeError: The worker reported an error, exited or hung; the message holds
                the tail of its log.
        """
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        watchdog = threading.Timer(timeout, self.proc.kill)  # a hung worker: readline ends
        watchdog.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            watchdog.cancel()
        answer: dict[str, Any] = json.loads(line) if line.strip() else {}
        if "error" in answer or not answer:
            tail = self.log_path.read_text(errors="replace")[-4000:]
            what = answer.get("error") or f"no answer (exited, or killed after {timeout:g}s)"
            raise RuntimeError(f"worker failed at {command!r}: {what}\n--- log tail ---\n{tail}")
        return answer

    def stop(self) -> None:
        """Ask the worker to finish (it drains its own background work), then make sure."""
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            self.ask("quit", 30)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    """Round by round quotients.

    Args:
        numerators: One value per round.
        denominators: One value per round.

    Returns:
        ``numerators[i] / denominators[i]`` for each round ``i``.
    """
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


def _order(round_index: int) -> tuple[str, ...]:
    """The order of the variants in a round.

    Baseline and runrecord alternate which goes first, and openlineage goes last: a run can
    leave work behind that slows the next one (OpenLineage's forked processes, the metadata
    DB growing), so over the rounds each of the two compared variants comes after
    openlineage (at the start of the next round) about equally often, and neither always goes
    first.

    Args:
        round_index: The round, from 0.

    Returns:
        The variants of :data:`VARIANTS`, in the order to run them.
    """
    pair = ("baseline", "runrecord") if round_index % 2 == 0 else ("runrecord", "baseline")
    return (*pair, "openlineage")


def measure(repeats: int) -> dict[str, Any]:
    """Start the worker, run ``repeats`` rounds of the three variants, clean up.

    Args:
        repeats: The number of rounds (one timed run of each variant per round).

    Returns:
        The figures and ``_details``, as written by :func:`main`.
    """
    load = os.getloadavg()  # other work on the machine shows in wall times, less in CPU times
    root = Path(tempfile.mkdtemp(prefix="p1-airflow-"))
    # A cache the caller chose (``nox -s bench`` keeps one) is reused across invocations.
    pycache = Path(os.environ.get("PYTHONPYCACHEPREFIX") or root / "pycache").absolute()
    worker: Worker | None = None
    try:
        started = time.perf_counter()
        worker = Worker(root, pycache)
        setup = worker.ask("setup", SETUP_TIMEOUT)
        setup["seconds"] = time.perf_counter() - started
        seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
        settle: dict[str, list[float]] = {v: [] for v in VARIANTS}
        orders = [_order(r) for r in range(repeats)]
        for order in orders:
            for variant in order:
                answer = worker.ask(f"run {variant}", RUN_TIMEOUT)
                seconds[variant].append(answer["seconds"])
                cpu[variant].append(answer["cpu_seconds"])
                settle[variant].append(answer["settle_seconds"])
        worker.stop()
        p1 = _ratios(seconds["runrecord"], seconds["baseline"])
        p1_openlineage = _ratios(seconds["openlineage"], seconds["baseline"])
        return {
            "P1_airflow": p1,
            "P1_airflow_openlineage": p1_openlineage,
            "_details": {
                "baseline_seconds": seconds["baseline"],
                "runrecord_seconds": seconds["runrecord"],
                "openlineage_seconds": seconds["openlineage"],
                "tasks": TASKS,
                "rounds": repeats,
                "order_of_rounds": [list(order) for order in orders],
                "timed": "dag.test() only, after an untimed 3-task warm-up DAG per variant",
                "median_P1_airflow": statistics.median(p1),
                "median_P1_airflow_openlineage": statistics.median(p1_openlineage),
                "cpu_seconds": cpu,
                "cpu_P1_airflow": _ratios(cpu["runrecord"], cpu["baseline"]),
                "cpu_P1_airflow_openlineage": _ratios(cpu["openlineage"], cpu["baseline"]),
                "untimed_settle_seconds": settle,
                "setup": setup,
                "load_average_before_after": [load, os.getloadavg()],
                "python": sys.version.split()[0],
                "versions": {d: metadata.version(d) for d in DISTRIBUTIONS},
            },
        }
    finally:
        if worker is not None and worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure, write the JSON figures.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one round")
    parser.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    started = time.perf_counter()
    result = measure(1 if args.quick else args.repeats)
    result["_details"]["total_seconds"] = time.perf_counter() - started
    text = json.dumps(result, indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# --- the worker: Airflow, the variants' DAGs, the OpenLineage switch, the checks ---------


def _work(value: int) -> int:
    """A task's bit of real work: a short hash chain and a sum, reduced to a small int.

    Args:
        value: The upstream task's result (the chain's number for the first task).

    Returns:
        A small integer for the next task.
    """
    digest = hashlib.sha256(str(value).encode()).digest()
    for _ in range(200):
        digest = hashlib.sha256(digest).digest()
    return (sum(i * i for i in range(2000)) + digest[0]) % 100_003


def _build_dag(variant: str, dag_id: str, chains: int, length: int) -> DAG:
    """A DAG of ``chains`` chains of ``length`` tasks, each passing its result downstream.

    Args:
        variant: One of :data:`VARIANTS`; ``runrecord`` adds ``runrecord_airflow.callbacks()``.
        dag_id: The DAG id.
        chains: The number of independent chains.
        length: The number of tasks in a chain.

    Returns:
        The ``airflow.sdk.DAG``.
    """
    from airflow.sdk import DAG, task

    extra: dict[str, Any] = {}
    if variant == "runrecord":
        import runrecord_airflow

        extra = runrecord_airflow.callbacks()
    step = task(_work)
    with DAG(dag_id, schedule=None, catchup=False, **extra) as dag:
        for c in range(chains):
            value: Any = c
            for i in range(length):
                value = step.override(task_id=f"chain{c}_step{i}")(value)
    return dag


class _OpenLineageSwitch:
    """Registers the provider's listener with Airflow's two listener managers, or not."""

    def __init__(self) -> None:
        from airflow.listeners.listener import get_listener_manager as core_manager
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
        from airflow.sdk.listener import get_listener_manager as sdk_manager

        self.managers = (core_manager(), sdk_manager())
        self.listener = get_openlineage_listener()
        # Loaded by the plugin: proof that the provider is enabled in this process.
        assert all(m.pm.is_registered(self.listener) for m in self.managers), self.listeners()

    def set(self, on: bool) -> None:
        """Register the listener with both managers, or unregister it from both.

        Args:
            on: Whether OpenLineage hears the next run.
        """
        for manager in self.managers:
            if on:
                manager.add_listener(self.listener)
            elif manager.pm.is_registered(self.listener):
                manager.pm.unregister(self.listener)
        registered = [m.pm.is_registered(self.listener) for m in self.managers]
        assert registered == [on, on], self.listeners()

    def listeners(self) -> list[str]:
        """Class names of the listeners registered now, manager by manager.

        Returns:
            ``<manager>:<listener class>`` names, sorted.
        """
        return sorted(
            f"{kind}:{type(plugin).__name__}"
            for kind, manager in zip(("core", "sdk"), self.managers, strict=True)
            for plugin in manager.pm.get_plugins()
        )


class _Checker:
    """What each run must show, beyond a DAG run whose tasks all succeeded."""

    def __init__(self) -> None:
        self.records = 0
        self.events = 0

    def settle(self, variant: str, dag_run: DagRun) -> None:
        """Wait for background work of the run to finish, so it spills into no other run.

        Args:
            variant: The run's variant.
            dag_run: The DagRun ``dag.test()`` returned.
        """
        for thread in threading.enumerate():
            if thread.name == "runrecord-sweep":
                thread.join()
        if variant == "openlineage":
            deadline = time.monotonic() + DAG_EVENT_TIMEOUT
            while not self._dag_events(dag_run) and time.monotonic() < deadline:
                time.sleep(0.02)

    def check(self, variant: str, dag_run: DagRun, task_ids: list[str]) -> dict[str, Any]:
        """Check one run: every task succeeded, and only the variant's own evidence is new.

        Args:
            variant: The run's variant.
            dag_run: The DagRun ``dag.test()`` returned.
            task_ids: The DAG's task ids.

        Returns:
            What was found (records and stages, or OpenLineage events).

        Raises:
            AssertionError: Something is missing, extra or wrong.
        """
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), dag_run.state
        with create_session() as session:
            query = select(TaskInstance.state).where(
                TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
            )
            states = Counter(str(getattr(s, "value", s)) for s in session.scalars(query))
        assert states == {"success": len(task_ids)}, states
        found = self._check_records(variant, dag_run, len(task_ids))
        found.update(self._check_events(variant, dag_run, task_ids))
        return found

    def _check_records(self, variant: str, dag_run: DagRun, tasks: int) -> dict[str, Any]:
        import runrecord

        registry = runrecord.load_registry(os.environ["RUNRECORD_REGISTRY"])
        records = len(list(registry.record_dir.glob("*.run_record.json")))
        expected = self.records + (variant == "runrecord")
        assert records == expected, f"{records} records, expected {expected}"
        self.records = records
        if variant != "runrecord":
            return {}
        record_id = runrecord.run_id_for(dag_run.dag_id, dag_run.run_id)
        report = runrecord.validate_record(
            registry.record_dir / f"{record_id}.run_record.json", registry=registry
        )
        assert report.valid, report.problems
        record = report.record
        assert record is not None
        assert str(getattr(record.status, "value", record.status)) == "success", record.status
        assert len(record.stages) == tasks, len(record.stages)
        nodes = {s.node.id for s in record.stages if s.node is not None}
        assert len(nodes) == tasks, f"stages of {len(nodes)} distinct tasks"
        return {"records": records, "stages": len(record.stages)}

    def _events_file(self) -> list[dict[str, Any]]:
        path = Path(json.loads(os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"])["log_file_path"])
        if not path.exists():
            return []
        with path.open() as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def _dag_events(self, dag_run: DagRun) -> int:
        """COMPLETE events of the DAG run (sent later, from OpenLineage's process pool)."""
        count = 0
        for event in self._events_file():
            facet = event["run"].get("facets", {}).get("airflowDagRun", {})
            if (
                event["job"]["name"] == dag_run.dag_id
                and event["eventType"] == "COMPLETE"
                and facet.get("dagRun", {}).get("run_id") == dag_run.run_id
            ):
                count += 1
        return count

    def _check_events(self, variant: str, dag_run: DagRun, task_ids: list[str]) -> dict[str, Any]:
        events = self._events_file()
        new, self.events = events[self.events :], len(events)
        if variant != "openlineage":
            assert not new, f"{len(new)} OpenLineage events from a {variant} run"
            return {}
        tasks = Counter(
            (e["job"]["name"].removeprefix(f"{dag_run.dag_id}."), e["eventType"])
            for e in new
            if e["job"]["name"] != dag_run.dag_id
        )
        expected = Counter({(t, kind): 1 for t in task_ids for kind in ("START", "COMPLETE")})
        assert tasks == expected, f"task events: {sorted((tasks ^ expected).items())[:5]}"
        assert self._dag_events(dag_run) == 1, "no DAG run COMPLETE event"
        return {"events": len(new), "task_events": sum(tasks.values())}


def _cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (OpenLineage's forks).

    Returns:
        User plus system seconds so far.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class _Bench:
    """The worker's state: the variants' DAGs, the OpenLineage switch, the checks."""

    def __init__(self) -> None:
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
        from airflow.utils import db

        db.initdb()
        DagBundlesManager().sync_bundles_to_db()
        self.warm_ups = {v: _build_dag(v, f"{DAG_ID}_{v}_warm_up", 1, 3) for v in VARIANTS}
        self.dags = {v: _build_dag(v, f"{DAG_ID}_{v}", CHAINS, CHAIN_LENGTH) for v in VARIANTS}
        bag = DagBag(dag_folder=os.devnull, collect_dags=False)
        for dag in (*self.warm_ups.values(), *self.dags.values()):
            bag.bag_dag(dag)
        sync_bag_to_db(bag, "dags-folder", None)
        self.openlineage = _OpenLineageSwitch()
        self.checker = _Checker()

    def run(self, variant: str, dag: DAG) -> dict[str, Any]:
        """One ``dag.test()`` of ``variant``, timed; then, untimed, drained and checked.

        Args:
            variant: One of :data:`VARIANTS`.
            dag: The ``airflow.sdk.DAG`` to run.

        Returns:
            Wall and CPU seconds of ``dag.test()``, the settle seconds, what was checked.
        """
        self.openlineage.set(variant == "openlineage")
        cpu = _cpu_seconds()
        start = time.perf_counter()
        dag_run = dag.test()
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
        start = time.perf_counter()
        self.checker.settle(variant, dag_run)
        settle = time.perf_counter() - start
        found = self.checker.check(variant, dag_run, sorted(dag.task_dict))
        return {"seconds": seconds, "cpu_seconds": cpu, "settle_seconds": settle, **found}


def worker() -> int:
    """Serve the parent: ``setup`` (untimed warm-ups), then ``run <variant>`` lines.

    Returns:
        The exit code.
    """
    # Airflow logs to stdout: keep the real stdout for answers and send the rest to the log.
    answers: IO[str] = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def answer(obj: dict[str, Any]) -> None:
        answers.write(json.dumps(obj) + "\n")
        answers.flush()

    bench: _Bench | None = None
    try:
        for line in sys.stdin:
            command, _, variant = line.strip().partition(" ")
            if command == "setup":
                started = time.perf_counter()
                bench = _Bench()
                ready = time.perf_counter() - started
                warm_ups = {v: bench.run(v, bench.warm_ups[v]) for v in VARIANTS}
                listeners = {}
                for on in (False, True):
                    bench.openlineage.set(on)
                    listeners["openlineage" if on else "others"] = bench.openlineage.listeners()
                answer(
                    {
                        "import_and_db_seconds": ready,
                        "warm_up_seconds": {v: w["seconds"] for v, w in warm_ups.items()},
                        "listeners": listeners,
                    }
                )
            elif command == "run" and bench is not None and variant in VARIANTS:
                answer(bench.run(variant, bench.dags[variant]))
            else:
                answer({"bye": command})
                break
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails
        answer({"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(worker() if os.environ.get(WORKER_ENV) else main())
