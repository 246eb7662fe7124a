"""The reliability suite: fault injection with invariants checked after every trial.

`nox -s torture` runs it at CI size; `nox -s torture -- --long` at full size. One figures
table is printed at the end; every row must show 0 lost, 0 torn, 0 leaked, 0 unhandled.
"""

from __future__ import annotations

import pytest
from torture_support import Figures

_FIGURES = pytest.StashKey[Figures]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long", action="store_true", default=False, help="run the full-size torture suite"
    )


def pytest_configure(config: pytest.Config) -> None:
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
    figures = config.stash.get(_FIGURES, None)
    if figures is None or not figures.rows:
        return
    size = "long" if config.getoption("--long") else "CI size"
    terminalreporter.section(f"runrecord reliability figures ({size})")
    terminalreporter.write_line(figures.table())
