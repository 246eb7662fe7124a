"""Every check of the project. `nox` runs them all (the README's test command);
`nox -s demo` runs the demo (the README's first command).

One venv per session, built with uv. The core session installs no orchestrator: a stray
import of one in the core fails there. Orchestrator sessions (one per framework, each in
its own venv) arrive with their adapters.
"""

from __future__ import annotations

import time
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _group(name: str) -> list[str]:
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session
def core(session: nox.Session) -> None:
    """Core tests and the core's docstring examples, against the built package."""
    session.install("./core", *_group("test"))
    session.run("pytest", "tests/core", *session.posargs)
    session.run("pytest", "--doctest-modules", "--pyargs", "runrecord", "-q")


@nox.session
def demo(session: nox.Session) -> None:
    """The demo: a small real pipeline run four ways (`nox -s demo -- DIR` to keep it in DIR)."""
    session.install("./core")
    if session.posargs:
        directory = Path(session.posargs[0]).absolute()
    else:
        directory = Path(session.create_tmp()) / time.strftime("demo-%Y%m%dT%H%M%S")
    session.run("runrecord", "demo", str(directory))
    session.run("runrecord", "validate", str(directory / "artifacts" / "run_records"))
    session.log(f"the runrecord command of this session: {session.bin}/runrecord")


@nox.session
def torture(session: nox.Session) -> None:
    """The reliability suite; `nox -s torture -- --long` runs it at full size."""
    session.install("./core", *_group("test"))
    session.run("pytest", "tests/torture", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the core and its tests."""
    session.install("-e", "./core", *_group("typecheck"))
    session.run("mypy")
