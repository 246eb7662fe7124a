"""runrecord for Dagster: one validated run record per Dagster run, and a stop-the-line gate.

Wire it through ``Definitions``::

    rr = RunRecordResource(registry_path="runrecord.toml")
    defs = dg.Definitions(
        assets=with_runrecord_hooks([extract, transform, load]),
        resources={"runrecord": rr, "io_manager": RunRecordIOManager(runrecord=rr, base_dir="d")},
        sensors=[*runrecord_run_status_sensors()],
    )

The package root imports Dagster only when one of its names is first used.

Examples:
    >>> import runrecord_dagster
    >>> "RunRecordIOManager" in runrecord_dagster.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runrecord_dagster.checks import runrecord_gate_check
    from runrecord_dagster.finalize import finalize_dagster_run
    from runrecord_dagster.hooks import runrecord_hooks, with_runrecord_hooks
    from runrecord_dagster.io_manager import RunRecordIOManager
    from runrecord_dagster.report import stage_report
    from runrecord_dagster.resources import (
        ENTRYPOINT_TAG,
        RESOURCE_KEY,
        STAGE_TAG,
        RunRecordResource,
    )
    from runrecord_dagster.sensors import runrecord_gate_sensor, runrecord_run_status_sensors

__all__ = [
    "ENTRYPOINT_TAG",
    "RESOURCE_KEY",
    "STAGE_TAG",
    "RunRecordIOManager",
    "RunRecordResource",
    "finalize_dagster_run",
    "runrecord_gate_check",
    "runrecord_gate_sensor",
    "runrecord_hooks",
    "runrecord_run_status_sensors",
    "stage_report",
    "with_runrecord_hooks",
]

_MODULES = {
    "ENTRYPOINT_TAG": "resources",
    "RESOURCE_KEY": "resources",
    "STAGE_TAG": "resources",
    "RunRecordIOManager": "io_manager",
    "RunRecordResource": "resources",
    "finalize_dagster_run": "finalize",
    "runrecord_gate_check": "checks",
    "runrecord_gate_sensor": "sensors",
    "runrecord_hooks": "hooks",
    "runrecord_run_status_sensors": "sensors",
    "stage_report": "report",
    "with_runrecord_hooks": "hooks",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whatever the public name is
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'runrecord_dagster' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"runrecord_dagster.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
