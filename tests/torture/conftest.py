"""The reliability suite: fault injection with invariants checked after every trial.

`nox -s torture` runs it at CI size; `nox -s torture -- --long` at full size. One figures
table is printed at the end; every row must show 0 lost, 0 torn, 0 leaked, 0 unhandled.
"""

from __future__ import annotations

from torture_support import (  # noqa: F401 - the suite's hooks and fixtures
    figures,
    long_run,
    pytest_addoption,
    pytest_configure,
    pytest_terminal_summary,
)
