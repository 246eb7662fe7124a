"""runrecord for Airflow 3: one validated run record per DAG run, and a stop-the-line sensor.

Wire a DAG with :func:`callbacks` (or install the package and let the listener plugin record
every DAG), report counts, inputs and outputs from task bodies with :func:`count`,
:func:`skip`, :func:`input` and :func:`output`, and gate downstream DAGs with
:class:`RunRecordSensor`. Names are imported lazily: importing the package costs nothing
until a name is used.

Examples:
    >>> import runrecord_airflow
    >>> "RunRecordSensor" in runrecord_airflow.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runrecord_airflow._facts import STAGE_PARAM
    from runrecord_airflow.artifacts import UnrecordedOutput, input, output
    from runrecord_airflow.callbacks import callbacks, dag_callbacks, task_callbacks
    from runrecord_airflow.errors import NotInTaskError, StageMappingError
    from runrecord_airflow.listener import SWITCH, RunRecordListener, RunRecordPlugin
    from runrecord_airflow.sensors import RunRecordSensor
    from runrecord_airflow.tasks import count, skip

__all__ = [
    "STAGE_PARAM",
    "SWITCH",
    "NotInTaskError",
    "RunRecordListener",
    "RunRecordPlugin",
    "RunRecordSensor",
    "StageMappingError",
    "UnrecordedOutput",
    "callbacks",
    "count",
    "dag_callbacks",
    "input",
    "output",
    "skip",
    "task_callbacks",
]

_HOME = {
    "STAGE_PARAM": "_facts",
    "SWITCH": "listener",
    "NotInTaskError": "errors",
    "RunRecordListener": "listener",
    "RunRecordPlugin": "listener",
    "RunRecordSensor": "sensors",
    "StageMappingError": "errors",
    "UnrecordedOutput": "artifacts",
    "callbacks": "callbacks",
    "count": "tasks",
    "dag_callbacks": "callbacks",
    "input": "artifacts",
    "output": "artifacts",
    "skip": "tasks",
    "task_callbacks": "callbacks",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - any public name
    if name not in _HOME:
        raise AttributeError(f"module 'runrecord_airflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"runrecord_airflow.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
