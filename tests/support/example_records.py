"""The example records under ``examples/records``, for tests of every session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "records"

# One example record per status (the crash, gate and no-input variants are extra).
SUCCESS = "sales.daily-20261126T060002Z-3f9a1c"
EMPTY_SUCCESS = "sales.daily-20261123T060001Z-0b7e42"
NO_INPUT_MODE = "sales.backfill-20261126T071500Z-aa03f1"
PARTIAL_SUCCESS = "sales.weekly-20261126T063000Z-71c2be"
ERROR = "sales.daily-20261125T060001Z-c81d09"
UPSTREAM_ERROR = "sales.weekly-20261125T063000Z-5d20aa"
CRASHED = "sales.daily-20261124T060003Z-e6f013"

ALL = (SUCCESS, EMPTY_SUCCESS, NO_INPUT_MODE, PARTIAL_SUCCESS, ERROR, UPSTREAM_ERROR, CRASHED)


def path_of(run_id: str) -> Path:
    """Return the file of an example record."""
    return EXAMPLES / f"{run_id}.run_record.json"


def load(run_id: str) -> dict[str, Any]:
    """Return a fresh parsed copy of an example record."""
    data: dict[str, Any] = json.loads(path_of(run_id).read_text(encoding="utf-8"))
    return data
