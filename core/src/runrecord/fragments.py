"""Staged fragments: the immutable pieces a run record is assembled from.

A run is opened by writing its :class:`RunHeader`; every stage attempt, input, output and
run-level note is one :class:`Fragment` file, written once by whichever process saw it
happen. ``finalize`` reads them all and promotes one record. Fragments are internal to the
store (their format is versioned by ``fragment_version`` and may change between releases);
the run record is the public artifact.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
    StrictStr,
)

from runrecord.model import (
    Entrypoint,
    Environment,
    ErrorObject,
    EvidencePointer,
    InputRef,
    Name,
    NodeRef,
    OrchestratorInfo,
    OutputRef,
    Project,
    SkipReason,
    UtcTimestamp,
    WarningObject,
)
from runrecord.taxonomy import StageStatus

__all__ = ["Fragment", "RunHeader", "StagePart", "Writer", "pid_alive", "process_start_ticks"]

FRAGMENT_VERSION: Literal["1"] = "1"


class _Internal(BaseModel):
    model_config = ConfigDict(extra="forbid")


@cache
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def process_start_ticks(pid: int) -> int | None:
    """Return the start time of a process in clock ticks since boot (Linux), else None.

    Together with the pid it identifies a process even after the pid is reused.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


class Writer(_Internal):
    """The process that wrote a header or fragment: used to tell live runs from dead ones."""

    host: StrictStr
    pid: StrictInt
    boot_id: StrictStr | None = None
    pid_start: StrictInt | None = None

    @classmethod
    def current(cls) -> Writer:
        """Describe the calling process."""
        return _current_writer(os.getpid())

    def same_machine(self) -> bool:
        """Whether this writer ran on the calling machine, in the current boot."""
        return self.host == socket.gethostname() and (
            self.boot_id is None or self.boot_id == _boot_id()
        )

    def alive(self) -> bool:
        """Whether the writer process still runs (only meaningful on the same machine)."""
        return pid_alive(self.pid, self.pid_start)


def pid_alive(pid: int, start: int | None = None) -> bool:
    """Whether process ``pid`` runs on this machine.

    Given ``start`` (its start time, :func:`process_start_ticks`), also whether it is still
    that process and not a later one that reused the pid.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    now = process_start_ticks(pid)
    return start is None or now is None or now == start


class RunHeader(_Internal):
    """Written once when a run is opened."""

    fragment_version: Literal["1"] = FRAGMENT_VERSION
    kind: Literal["header"] = "header"
    run_id: Name
    created_at: UtcTimestamp
    project: Project
    entrypoint: Entrypoint
    environment: Environment
    orchestrator: OrchestratorInfo | None = None
    extensions: dict[str, JsonValue] = Field(default_factory=dict)
    writer: Writer
    detached: StrictBool = False
    """True when the run spans processes (an orchestrator's run): liveness is then judged
    by the age of the newest fragment, not by the opener's pid."""
    registry: dict[str, JsonValue]
    """The registry in effect when the run was opened; finalize and recover use it."""
    registry_root: StrictStr


class StagePart(_Internal):
    """A stage attempt, with its error and warning objects carried in the fragment."""

    stage: Name
    started_at: UtcTimestamp | None
    completed_at: UtcTimestamp | None
    status: StageStatus
    counters: dict[str, Annotated[StrictInt, Field(ge=0)]] = Field(default_factory=dict)
    skip_reasons: list[SkipReason] = Field(default_factory=list)
    evidence: list[EvidencePointer] = Field(default_factory=list)
    node: NodeRef | None = None
    error_refs: list[StrictStr] = Field(default_factory=list)
    """Ids of errors recorded elsewhere in the run (by an input or output) that ended it."""


class Fragment(_Internal):
    """One immutable piece of a run: a stage attempt, an input, an output or a note.

    A ``note`` carries run-level errors, warnings, counters and skip reasons.
    """

    fragment_version: Literal["1"] = FRAGMENT_VERSION
    kind: Literal["stage", "input", "output", "note"]
    written_at: UtcTimestamp
    writer: Writer
    stage: StagePart | None = None
    input: InputRef | None = None
    output: OutputRef | None = None
    errors: list[ErrorObject] = Field(default_factory=list)
    warnings: list[WarningObject] = Field(default_factory=list)
    counters: dict[str, Annotated[StrictInt, Field(ge=0)]] = Field(default_factory=dict)
    skip_reasons: list[SkipReason] = Field(default_factory=list)


@cache
def _current_writer(pid: int) -> Writer:
    # Keyed by pid: a forked child describes itself, not its parent.
    return Writer(
        host=socket.gethostname(),
        pid=pid,
        boot_id=_boot_id(),
        pid_start=process_start_ticks(pid),
    )
