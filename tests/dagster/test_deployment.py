"""Deployment mode: ``dagster dev`` (webserver, daemon, code server) on a temporary home.

One session-scoped fixture starts Dagster on the example (``examples/dagster/shop.py``) and
stops every process it started, whatever happens. Runs are launched through GraphQL and use
the multiprocess executor (each step its own process); records are written by the run status
sensors in the code server, never by the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import runrecord

EXAMPLE = Path(__file__).parents[2] / "examples" / "dagster" / "shop.py"
BIN = Path(sys.executable).parent
STARTUP = 240.0  # seconds; generous: the machine is shared, and servers compile on first start
RUN_TIMEOUT = 240.0
DAGSTER_YAML = """\
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
telemetry:
  enabled: false
"""


@dataclass
class Deployment:
    """A running ``dagster dev`` and what the tests need to talk to it."""

    url: str
    home: Path
    dagster_home: Path
    env: dict[str, str]
    location: str
    repository: str
    registry: runrecord.Registry
    log: Path

    def log_tail(self) -> str:
        """The end of dagster dev's output, for failure messages."""
        return self.log.read_text(errors="replace")[-6000:]

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(  # noqa: S310 - a local server we started
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
        assert "errors" not in answer, answer
        return dict(answer["data"])

    def launch(self, job: str, run_config: dict[str, Any] | None = None) -> str:
        """Launch a job of the example; return the Dagster run id."""
        data = self.graphql(
            """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
                __typename ... on LaunchRunSuccess { run { runId } }
                ... on PythonError { message }
                ... on RunConfigValidationInvalid { errors { message } }
            } }""",
            p={
                "selector": {
                    "repositoryLocationName": self.location,
                    "repositoryName": self.repository,
                    "jobName": job,
                },
                "runConfigData": run_config or {},
            },
        )
        assert data["launchRun"]["__typename"] == "LaunchRunSuccess", data
        return str(data["launchRun"]["run"]["runId"])

    def run_status(self, run_id: str) -> str:
        data = self.graphql(
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", id=run_id
        )
        return str(data["runOrError"]["status"])

    def record_of(self, entrypoint: str, dagster_run_id: str) -> runrecord.RunRecord:
        """Wait for the run to end and for the sensors to promote its record."""
        path = self.registry.record_dir / (
            runrecord.run_id_for(entrypoint, dagster_run_id) + ".run_record.json"
        )
        _wait(path.exists, RUN_TIMEOUT, f"the record of run {dagster_run_id}", self)
        return runrecord.read_record(path)


def _wait(
    done: Callable[[], object], timeout: float, what: str, deployment: Deployment | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if done():
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    tail = deployment.log_tail() if deployment else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_up(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:  # noqa: S310
        return bool(response.status == 200)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop dagster dev and everything it started (its own process group)."""
    if process.poll() is None:
        process.terminate()  # dagster dev shuts its webserver, daemon and code server down
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
    # Whatever is left of the group we started (run workers, step processes).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, child_bytecode: Path
) -> Iterator[Deployment]:
    """``dagster dev`` on the example, started once per session; stopped whatever happens."""
    base = tmp_path_factory.mktemp("deployment")
    home, dagster_home, tmp = base / "shop", base / "dagster_home", base / "tmp"
    for folder in (dagster_home, tmp):
        folder.mkdir()
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "RUNRECORD_EXAMPLE_HOME": str(home),
        "TMPDIR": str(tmp),
        "PYTHONPYCACHEPREFIX": str(child_bytecode),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    log = (base / "dagster-dev.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-f", str(EXAMPLE), "-h", "127.0.0.1", "-p", str(port)],
        cwd=base,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped as a whole
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(lambda: process.poll() is not None or _server_up(url), STARTUP, "dagster dev")
        assert process.poll() is None, (base / "dagster-dev.log").read_text()[-4000:]
        registry = runrecord.load_registry(home / "runrecord.toml")
        deployment = Deployment(
            url, home, dagster_home, env, "", "", registry, base / "dagster-dev.log"
        )
        _wait(lambda: _loaded(deployment), STARTUP, "the code location", deployment)
        _wait(lambda: _sensors_ticked(deployment), STARTUP, "the sensors' first ticks", deployment)
        yield deployment
    finally:
        _stop(process)
        log.close()


def _loaded(deployment: Deployment) -> bool:
    data = deployment.graphql(
        """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
            locationOrLoadError { ... on RepositoryLocation { repositories { name } }
            ... on PythonError { message } } } } } }"""
    )
    [entry] = data["workspaceOrError"]["locationEntries"]
    if entry["loadStatus"] != "LOADED":
        return False
    assert "repositories" in entry["locationOrLoadError"], entry
    deployment.location = entry["name"]
    deployment.repository = entry["locationOrLoadError"]["repositories"][0]["name"]
    return True


def _sensors_ticked(deployment: Deployment) -> bool:
    """A run status sensor's first tick only sets its cursor: runs must start after it."""
    for status in ("success", "failure"):
        data = deployment.graphql(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
                ... on Sensor { sensorState { ticks(limit: 1) { status } } } } }""",
            s={
                "repositoryLocationName": deployment.location,
                "repositoryName": deployment.repository,
                "sensorName": f"runrecord_finalize_{status}",
            },
        )
        if not data["sensorOrError"]["sensorState"]["ticks"]:
            return False
    return True


def test_a_multiprocess_run_is_recorded_by_the_run_status_sensor(
    deployment: Deployment,
) -> None:
    run_id = deployment.launch("etl")

    record = deployment.record_of("shop.etl", run_id)

    status = deployment.run_status(run_id)
    assert (status, record.status) == ("SUCCESS", "success"), (record.errors, deployment.log_tail())
    assert runrecord.validate_record(record, registry=deployment.registry).valid
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "success"),
        ("load", "success"),
    ]
    assert record.counters.records_skipped == 2  # reported from inside the step processes
    assert [o.promotion_status for o in record.outputs] == ["promoted"] * 3
    assert record.orchestrator is not None
    assert (record.orchestrator.run_id, record.orchestrator.job) == (run_id, "etl")
    assert not (deployment.registry.record_dir / ".staging" / record.run_id).exists()


def test_a_sigkilled_step_is_recorded_as_crashed_without_recover(
    deployment: Deployment,
) -> None:
    run_id = deployment.launch("etl", {"ops": {"transform": {"config": {"crash": True}}}})

    record = deployment.record_of("shop.etl", run_id)

    status = deployment.run_status(run_id)
    assert (status, record.status) == ("FAILURE", "error"), (record.errors, deployment.log_tail())
    assert runrecord.validate_record(record, registry=deployment.registry).valid
    assert record.completed_at is not None  # finalized by the sensor, not by recover
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "error"),
        ("load", "skipped"),
    ]
    [error] = record.errors
    assert (error.type, error.stage) == ("crashed", "transform")
    assert record.stages[1].errors == [error.error_id]


def test_a_run_started_with_dagster_job_execute_is_recorded(deployment: Deployment) -> None:
    executed = subprocess.run(
        [str(BIN / "dagster"), "job", "execute", "-f", str(EXAMPLE), "-j", "etl_failing"],
        env=deployment.env,
        cwd=deployment.dagster_home.parent,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert executed.returncode != 0  # the failing variant fails
    run_id = _newest_run_id(deployment, "etl_failing")

    record = deployment.record_of("shop.etl", run_id)

    assert record.status == "error"
    assert record.orchestrator is not None
    assert record.orchestrator.job == "etl_failing"
    assert [e.type for e in record.errors] == ["runtime_error"]
    assert record.errors[0].exception is not None
    assert record.errors[0].exception.class_ == "builtins.ValueError"


def _newest_run_id(deployment: Deployment, job: str) -> str:
    data = deployment.graphql(
        """query($f: RunsFilter) { runsOrError(filter: $f, limit: 1) {
            ... on Runs { results { runId } } } }""",
        f={"pipelineName": job},
    )
    return str(data["runsOrError"]["results"][0]["runId"])
