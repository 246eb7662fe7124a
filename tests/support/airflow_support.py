"""Helpers for tests/airflow that import no Airflow (the core's typecheck sees this folder).

* :func:`make_project` lays out a runrecord project: registry, input data with its manifest,
  and a dags folder holding the example DAGs and the tests' DAGs.
* :class:`Deployment` runs a real Airflow 3 api-server, scheduler and dag-processor
  (SQLite, LocalExecutor) as subprocesses, talks to them over REST, and stops them all.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import runrecord

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "examples" / "airflow" / "dags"
TEST_DAGS = REPO / "tests" / "airflow" / "dags"
STAGES = ["gate", "extract", "transform", "load", "report"]
ORDERS = [["1", "9.50"], ["2", "12.00"], ["2", "12.00"], ["3", "4.25"]]


def make_project(root: Path) -> runrecord.Registry:
    """Write registry, data and dags folder under ``root``; return the registry."""
    (root / "dags").mkdir(parents=True, exist_ok=True)
    (root / "control").mkdir(exist_ok=True)
    for source in (*EXAMPLE_DAGS.glob("*.py"), TEST_DAGS / "recorded_dags.py"):
        shutil.copy(source, root / "dags" / source.name)
    (root / "runrecord.toml").write_text(
        'project_id = "airflow-tests"\nproject_name = "Airflow adapter tests"\n'
        f'run_record_dir = "records"\nstages = {json.dumps(STAGES)}\n'
    )
    data = root / "data"
    data.mkdir(exist_ok=True)
    orders = data / "orders.csv"
    with orders.open("w", newline="") as handle:
        csv.writer(handle).writerows([["order_id", "amount"], *ORDERS])
    manifest = runrecord.build_manifest(
        orders, artifact_family="orders", schema_version="1", record_count=len(ORDERS)
    )
    runrecord.write_manifest(manifest, runrecord.manifest_path_for(orders))
    return runrecord.load_registry(root / "runrecord.toml")


@dataclass
class AirflowProject:
    """The ``dag.test()`` side: the parsed DAGs and the project registry."""

    root: Path
    registry: runrecord.Registry
    bag: Any

    def run(self, dag_id: str, **kwargs: Any) -> Any:
        """Run one DAG run with ``dag.test()``; return the DagRun."""
        dag = self.bag.get_dag(dag_id)
        assert dag is not None, self.bag.import_errors
        return dag.test(**kwargs)

    def record_id(self, dag_id: str, dag_run: Any) -> str:
        """The run record id of a DagRun."""
        clear = f"~{dag_run.clear_number}" if dag_run.clear_number else ""
        return runrecord.run_id_for(dag_id, dag_run.run_id + clear)

    def record(self, dag_id: str, dag_run: Any) -> runrecord.RunRecord:
        """The promoted, valid record of a DagRun (read_record validates it)."""
        path = self.registry.record_dir / f"{self.record_id(dag_id, dag_run)}.run_record.json"
        return runrecord.read_record(path)

    def has_record(self, dag_id: str, dag_run: Any) -> bool:
        """Whether the DagRun left a record."""
        rid = self.record_id(dag_id, dag_run)
        return (self.registry.record_dir / f"{rid}.run_record.json").exists()


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.3) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(every)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Deployment:
    """A real Airflow deployment in ``root``: api-server, scheduler, dag-processor."""

    COMPONENTS = ("api-server", "scheduler", "dag-processor")

    def __init__(self, root: Path, environ: Mapping[str, str]) -> None:
        self.root = root
        self.registry = make_project(root)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **environ,
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "RUNRECORD_REGISTRY": str(root / "runrecord.toml"),
            "SALES_DATA_DIR": str(root / "data"),
            "RR_TEST_CONTROL_DIR": str(root / "control"),
            "PYTHONPYCACHEPREFIX": str(root.parent / "pycache"),
            "TMPDIR": str(root / "tmp"),
        }
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.airflow = str(Path(sys.executable).with_name("airflow"))

    def start(self, timeout: float = 240) -> None:
        """Migrate the DB, start the three components, wait until the DAGs are parsed."""
        (self.root / "tmp").mkdir(exist_ok=True)
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        with (logs / "migrate.log").open("wb") as out:
            subprocess.run(
                [self.airflow, "db", "migrate"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=timeout,
            )
        for name in self.COMPONENTS:
            with (logs / f"{name}.log").open("wb") as out:
                self.procs[name] = subprocess.Popen(
                    [self.airflow, name],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        wait_for("the api-server", self._healthy, timeout)
        wait_for("the DAGs to be parsed", lambda: self._dag_ready("killed"), timeout)

    def _healthy(self) -> bool:
        self._check_alive()
        try:
            return bool(self.get("/api/v2/monitor/health"))
        except (OSError, urllib.error.URLError):
            return False

    def _dag_ready(self, dag_id: str) -> bool:
        try:
            return bool(self.get(f"/api/v2/dags/{dag_id}"))
        except urllib.error.HTTPError:
            return False

    def _check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow components exited: {dead}; see {self.root / 'logs'}")

    def request(self, method: str, path: str, body: object | None = None) -> Any:
        """Call the REST API; return the parsed JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - loopback only
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read() or b"null")

    def get(self, path: str) -> Any:
        """GET a REST path."""
        return self.request("GET", path)

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, object] | None = None) -> None:
        """Start a DAG run with a chosen run id."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})}
        self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)

    def run_state(self, dag_id: str, run_id: str) -> str:
        """The DAG run's state."""
        self._check_alive()
        return str(self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id)}")["state"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """Task id -> task instance as the REST API shows it."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances"
        return {ti["task_id"]: ti for ti in self.get(path)["task_instances"]}

    def stop(self) -> None:
        """Stop every process started, by session: SIGTERM, then SIGKILL what is left."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        # Task processes get process groups of their own, inside the component's session.
        for pid in session_members({p.pid for p in self.procs.values()}):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def session_members(sessions: set[int]) -> list[int]:
    """Pids of every live process in one of ``sessions`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.getsid(int(entry.name)) in sessions:
                found.append(int(entry.name))
    return found
