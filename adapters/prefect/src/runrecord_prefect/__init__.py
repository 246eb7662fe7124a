"""runrecord-prefect: one validated run record for every Prefect flow run.

Use ``@recorded_flow`` in place of ``@flow`` (or ``record_flow(flow)`` on an existing one)
and ``@recorded_task`` in place of ``@task``; inside a task, ``current_stage()`` reports
counters, skips, inputs and outputs; ``gate(upstream)`` stops the line. Importing this
package does not import Prefect; its functions do, when called.

Examples:
    >>> import runrecord_prefect
    >>> runrecord_prefect.STAGE_TAG_PREFIX
    'runrecord.stage:'
"""

from __future__ import annotations

from runrecord_prefect._translate import STAGE_TAG_PREFIX
from runrecord_prefect.artifact import artifact_key, record_markdown
from runrecord_prefect.flow import record_flow, recorded_flow
from runrecord_prefect.gate import gate
from runrecord_prefect.hooks import FlowRecorder, recorder_of
from runrecord_prefect.stage import TaskStage
from runrecord_prefect.tasks import current_stage, record_task, recorded_task

__all__ = [
    "STAGE_TAG_PREFIX",
    "FlowRecorder",
    "TaskStage",
    "artifact_key",
    "current_stage",
    "gate",
    "record_flow",
    "record_markdown",
    "record_task",
    "recorded_flow",
    "recorded_task",
    "recorder_of",
]
