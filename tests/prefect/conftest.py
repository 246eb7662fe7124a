"""Fixtures of the Prefect adapter's tests: one real Prefect server for the whole session.

Prefect reads its settings when it is first imported, so this module points it at a
temporary home before any test module imports it. The server is a separate process
(``prefect server start``) whose home and database live in a temporary directory; the
in-process tests' flows run against it, and so does the deployment-mode runner, which is
also started once per session, on first use.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from prefect_support import (
    EXAMPLE,
    REGISTRY_TOML,
    Served,
    free_port,
    healthy,
    load_module,
    prefect_env,
    start_process,
    stop_process,
    wait_for,
)

import runrecord

HOME = Path(tempfile.mkdtemp(prefix="runrecord-prefect-tests-"))
atexit.register(shutil.rmtree, HOME, ignore_errors=True)  # after the fixtures stopped servers
os.environ.update(
    PREFECT_HOME=str(HOME / "client"),
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
    PREFECT_LOGGING_TO_API_ENABLED="false",
)
# Spawned processes cache bytecode here, across sessions (unless the caller chose a place).
os.environ.setdefault(
    "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "runrecord-prefect-pycache")
)
SERVED_FLOWS = Path(__file__).resolve().parent / "serve_flows.py"
SLOW_FLOW = Path(__file__).resolve().parent / "slow_flow.py"


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect server for the session; Prefect in this process talks to it."""
    import prefect.settings
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = HOME / "server"
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    server = start_process(
        ["-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        prefect_env(home),
        HOME / "server.log",
        cwd=HOME,
    )
    try:
        wait_for(
            lambda: healthy(url) or server.popen.poll() is not None,
            timeout=300,
            what="the Prefect server",
        )
        assert server.popen.poll() is None, f"the Prefect server exited:\n{server.tail()}"
        updates: dict[object, object] = {PREFECT_API_URL: url}
        # Without a heartbeat thread to join, each flow run ends ~1 s sooner.
        heartbeat = getattr(prefect.settings, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
        if heartbeat is not None:
            updates[heartbeat] = None
        with temporary_settings(updates=updates):
            yield url
    finally:
        stop_process(server)


@pytest.fixture(autouse=True)
def _server(prefect_api: str) -> str:
    """Every test talks to the session's server."""
    return prefect_api


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> runrecord.Registry:
    """A fresh project registry (found through ``RUNRECORD_REGISTRY``) in a temp directory."""
    path = tmp_path / "runrecord.toml"
    path.write_text(REGISTRY_TOML)
    monkeypatch.setenv(runrecord.REGISTRY_ENV_VAR, str(path))
    return runrecord.load_registry(path)


@pytest.fixture(scope="session")
def example() -> ModuleType:
    """The example pipeline, ``examples/prefect/pipeline.py``."""
    return load_module(EXAMPLE, "runrecord_prefect_example")


@pytest.fixture(scope="session")
def served(prefect_api: str) -> Iterator[Served]:
    """A ``serve()`` runner of the example flow and the killable flow, in its own process.

    Its flow runs record into a project of their own; the runner and every process it
    started are stopped at the end of the session.
    """
    from prefect import get_client

    root = HOME / "served"
    (root / "flows").mkdir(parents=True)
    (root / "runrecord.toml").write_text(REGISTRY_TOML)
    for flow_file in (EXAMPLE, SLOW_FLOW):
        shutil.copy(flow_file, root / "flows" / flow_file.name)
    env = prefect_env(
        HOME / "runner",
        PREFECT_API_URL=prefect_api,
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        **{runrecord.REGISTRY_ENV_VAR: str(root / "runrecord.toml")},
    )
    started = datetime.now(UTC)
    runner = start_process([str(SERVED_FLOWS), "flows"], env, HOME / "runner.log", cwd=root)

    def polling() -> bool:
        assert runner.popen.poll() is None, f"the runner exited:\n{runner.tail()}"
        with get_client(sync_client=True) as client:
            for name in ("shop-daily/runrecord-example", "slow-flow/runrecord-slow"):
                try:
                    polled = client.read_deployment_by_name(name).last_polled
                except Exception:  # noqa: BLE001 - not registered yet
                    return False
                if polled is None or polled < started:
                    return False
        return True

    try:
        wait_for(polling, timeout=240, what="the runner to poll its deployments", interval=0.5)
        yield Served(prefect_api, runrecord.load_registry(root / "runrecord.toml"), runner)
    finally:
        stop_process(runner)
