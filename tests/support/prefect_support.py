"""Helpers for the Prefect adapter's tests: real server processes, waiting, reading records.

Nothing here imports Prefect (the core's typecheck session checks this folder without it):
servers are separate processes driven through their command line and HTTP.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import runrecord

__all__ = [
    "EXAMPLE",
    "REGISTRY_TOML",
    "REPO",
    "Process",
    "Served",
    "free_port",
    "healthy",
    "load_module",
    "prefect_env",
    "records",
    "start_process",
    "stop_process",
    "wait_for",
]

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "prefect" / "pipeline.py"
REGISTRY_TOML = """\
project_id = "prefect-tests"
project_name = "Prefect adapter tests"
run_record_dir = "records"
stages = ["extract", "transform", "load", "report"]
"""


def load_module(path: Path, name: str) -> ModuleType:
    """Import a Python file by its path (examples and served flows are not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Prefect finds a deployed flow's file through its module
    spec.loader.exec_module(module)
    return module


@dataclass
class Process:
    """A process the tests started, with its log file."""

    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        """The end of the process's output, for failure messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


@dataclass(frozen=True)
class Served:
    """A ``serve()`` runner of the example flow and the killable flow, and its project."""

    api_url: str
    registry: runrecord.Registry
    runner: Process


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a Prefect process of the tests: its home and caches in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # let spawned processes cache bytecode
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        PYTHONPYCACHEPREFIX=os.environ.get("PYTHONPYCACHEPREFIX", str(home / "pycache")),
        TMPDIR=str(home / "tmp"),
    )
    env.update(extra)
    return env


def start_process(args: list[str], env: Mapping[str, str], log: Path, cwd: Path) -> Process:
    """Start a process in a session of its own, its output to ``log`` (never to a pipe)."""
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, *args],
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Process(popen, log)


def stop_process(process: Process, timeout: float = 30) -> None:
    """Stop a process started by :func:`start_process` and every process of its session."""
    pid = process.popen.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.popen.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # children left behind in its session
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.popen.wait(timeout)


def wait_for(
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2
) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(interval)


def healthy(api_url: str) -> bool:
    """Whether a Prefect server answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=5) as response:  # noqa: S310
            return bool(response.read().strip() == b"true")
    except OSError:
        return False


def records(record_dir: Path) -> list[runrecord.RunRecord]:
    """Every promoted record in a directory, oldest first."""
    found = [runrecord.read_record(p) for p in record_dir.glob("*.run_record.json")]
    return sorted(found, key=lambda r: r.created_at)
