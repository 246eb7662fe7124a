"""The reliability suite's orchestrator part: a Dagster step process killed at random points.

Runs in its own nox session (``torture(target='dagster')``), with Dagster installed; the
figures table is the same as the core part's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from torture_support import (  # noqa: F401 - the suite's hooks and fixtures
    figures,
    long_run,
    pytest_addoption,
    pytest_configure,
    pytest_terminal_summary,
)

# The step processes import the Dagster test pipelines by module name, from their folder.
PIPELINES = Path(__file__).resolve().parents[1] / "dagster"
if str(PIPELINES) not in sys.path:
    sys.path.insert(0, str(PIPELINES))
