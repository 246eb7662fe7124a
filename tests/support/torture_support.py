"""Helpers of the reliability suite (tests/torture): store scans, forked workers, figures."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import runrecord
from runrecord.fragments import Fragment, RunHeader

TEMP_SUFFIX = ".tmp"


@dataclass
class Row:
    """One line of the figures table."""

    scenario: str
    trials: int = 0
    failures: int = 0
    lost: int = 0
    torn: int = 0
    leaked: int = 0
    unhandled: int = 0
    note: str = ""


@dataclass
class Figures:
    """What the suite measured, printed as one table at the end."""

    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def table(self) -> str:
        header = ["scenario", "trials", "failures", "lost", "torn", "leaked", "unhandled", "note"]
        cells = [
            [
                r.scenario,
                str(r.trials),
                str(r.failures),
                str(r.lost),
                str(r.torn),
                str(r.leaked),
                str(r.unhandled),
                r.note,
            ]
            for r in self.rows
        ]
        widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
        lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines += [
            "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
            for row in cells
        ]
        return "\n".join(lines)


@dataclass
class StoreScan:
    """Every file under a store, sorted by what is wrong with it."""

    files: int = 0
    torn: list[str] = field(default_factory=list)
    temps: list[str] = field(default_factory=list)
    records: list[Path] = field(default_factory=list)
    open_runs: list[str] = field(default_factory=list)


def scan_store(root: Path) -> StoreScan:
    """Read every file under a run record directory and check that it is whole."""
    scan = StoreScan()
    found = []
    for directory, subdirs, names in os.walk(root):
        if Path(directory) == root / ".staging":
            # Retired staging of finalized runs, being deleted in the background.
            subdirs[:] = [d for d in subdirs if d != ".done"]
        found += [Path(directory) / n for n in names]
    for path in sorted(found):
        rel = path.relative_to(root)
        scan.files += 1
        if path.name.endswith(TEMP_SUFFIX):
            scan.temps.append(str(rel))
            continue
        try:
            if path.name.endswith(".run_record.json") and rel.parts[0] != ".evidence":
                if not runrecord.validate_record(path).valid:
                    scan.torn.append(str(rel))
                scan.records.append(path)
            elif rel.parts[0] == "latest" and path.suffix == ".json":
                json.loads(path.read_bytes())
            elif rel.parts[0] == ".staging":
                if path.name == "header.json":
                    RunHeader.model_validate_json(path.read_bytes())
                    scan.open_runs.append(rel.parts[1])
                else:
                    Fragment.model_validate_json(path.read_bytes())
            elif path.name.endswith(".manifest.json"):
                runrecord.read_manifest(path)
            elif path.stat().st_size == 0 and not path.name.endswith(".lock"):
                scan.torn.append(str(rel))
        except FileNotFoundError:
            scan.files -= 1  # removed while we looked (a staging being retired)
        except Exception:  # noqa: BLE001 - anything unreadable is torn
            scan.torn.append(str(rel))
    return scan


def in_child(work: Callable[..., object], *args: object, **kwargs: object) -> int:
    """Fork a child that runs ``work(*args, **kwargs)`` and exits; return its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            work(*args, **kwargs)
        except BaseException:  # noqa: BLE001 - report and exit, never return into pytest
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    return pid


def wait(pid: int) -> int:
    """Wait for a child; return its exit code (negative: killed by that signal)."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def kill_after(pid: int, delay: float) -> int:
    """SIGKILL ``pid`` after ``delay`` seconds (unless it ended); return its exit code."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(min(0.0005, max(deadline - time.monotonic(), 0)))
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return wait(pid)


def registry_file(directory: Path, *, stages: list[str], record_dir: str = "records") -> Path:
    """Write a registry file and return its path."""
    path = directory / "runrecord.toml"
    path.write_text(
        f'project_id = "torture"\nproject_name = "Torture"\nrun_record_dir = "{record_dir}"\n'
        f"stages = {json.dumps(stages)}\n"
    )
    return path


def seeded(seed: int | None = None) -> random.Random:
    """A random generator whose seed is printed, so that a failure can be replayed."""
    value = seed if seed is not None else random.SystemRandom().randrange(2**32)
    print(f"random seed {value}")
    return random.Random(value)


# --- pytest hooks and fixtures shared by the suite's conftest files -------------------

_FIGURES = pytest.StashKey[Figures]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--long``: the full-size suite."""
    parser.addoption(
        "--long", action="store_true", default=False, help="run the full-size torture suite"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Start an empty figures table."""
    config.stash[_FIGURES] = Figures()


@pytest.fixture(scope="session")
def long_run(request: pytest.FixtureRequest) -> bool:
    """Whether the suite runs at full size."""
    return bool(request.config.getoption("--long"))


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Figures:
    """The figures table every scenario adds its row to."""
    return request.config.stash[_FIGURES]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the figures table at the end of the run."""
    table = config.stash.get(_FIGURES, None)
    if table is None or not table.rows:
        return
    size = "long" if config.getoption("--long") else "CI size"
    terminalreporter.section(f"runrecord reliability figures ({size})")
    terminalreporter.write_line(table.table())
