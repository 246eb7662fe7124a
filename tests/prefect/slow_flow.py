"""A flow that the deployment-mode tests kill in the middle of its second task.

Its first task finishes (and writes its stage); the second writes its process id to
``<signal_dir>/pid`` and waits to be killed. Run directly (``python slow_flow.py DIR``) it
is a flow run with no runner around it, for the "nothing survives" test.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from runrecord_prefect import current_stage, recorded_flow, recorded_task


@recorded_task(stage="extract")
def count_files(signal_dir: str) -> int:
    """A stage that finishes before the kill."""
    current_stage().count(files_seen=3, files_processed=3)
    return 3


@recorded_task(stage="transform")
def wait_to_be_killed(signal_dir: str) -> None:
    """Say which process to kill, then wait for it."""
    pid_file = Path(signal_dir) / "pid"
    pid_file.with_suffix(".tmp").write_text(str(os.getpid()))
    pid_file.with_suffix(".tmp").rename(pid_file)
    time.sleep(300)


@recorded_flow(name="slow-flow", entrypoint="tests.slow", stages=("extract", "transform", "load"))
def slow_flow(signal_dir: str) -> None:
    """Two tasks; the second never ends on its own."""
    count_files(signal_dir)
    wait_to_be_killed(signal_dir)


if __name__ == "__main__":
    slow_flow(sys.argv[1])
