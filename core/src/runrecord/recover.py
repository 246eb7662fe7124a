"""Recover: give every abandoned run its record.

A run whose staging is left without a promoted record — its process was killed, its worker
lost — is finalized as ``error`` with a ``crashed`` error, ``completed_at: null`` and the
stages that did finish. A run is abandoned when its writer is gone: on this machine, when
its pid is dead (or was reused); for runs opened elsewhere, or spanning processes
(``detached``), when nothing was written to it for ``older_than`` (by the files' or
objects' modification times: the pids of other hosts cannot be observed). Safe to run at any time,
from any number of processes: live runs are left alone and promotion is create-exclusive.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from runrecord._fs import host_tag, temp_owner
from runrecord.errors import RecordExistsError, RunRecordError
from runrecord.finalize import finalize_run
from runrecord.fragments import RunHeader, pid_alive
from runrecord.recorder import RegistryArg, _store, resolve_registry
from runrecord.registry import Registry
from runrecord.store import AnyStore, Store, StorePath, scan

__all__ = ["DEFAULT_OLDER_THAN", "Recovered", "recover"]

STALE_TEMP = timedelta(minutes=10)
DEFAULT_OLDER_THAN = timedelta(hours=24)
"""How long a run opened on another machine (or spanning processes) must be silent before
it is taken for abandoned."""


@dataclass(frozen=True, slots=True)
class Recovered:
    """What :func:`recover` did with one staged run.

    Attributes:
        run_id: The run.
        outcome: ``recovered`` (a crashed record was promoted), ``cleaned`` (a record
            existed; leftover staging removed), ``live`` (left alone), or ``failed``.
        detail: Why, in one line.
        path: The record file, for ``recovered`` and ``cleaned``.
    """

    run_id: str
    outcome: Literal["recovered", "cleaned", "live", "failed"]
    detail: str
    path: StorePath | None = None


def _abandoned(
    store: AnyStore, run_id: str, header: RunHeader, older_than: timedelta
) -> str | None:
    """Why the run is abandoned, or None while it may be live."""
    writer = header.writer
    if not header.detached and writer.same_machine():
        if not writer.alive():
            return f"its process {writer.pid} is gone"
        return None
    idle = time.time() - store.last_activity(run_id)
    if idle > older_than.total_seconds():
        return f"nothing written for {timedelta(seconds=int(idle))}"
    return None


def _remove_stale_temps(directory: Path) -> None:
    """Remove temporary files of writers that died mid-write.

    A temporary file lives for the milliseconds of one write; it is stale when its writer
    (on this machine) is dead, or when it is older than :data:`STALE_TEMP` (a writer on
    another machine sharing the file system).
    """
    here = host_tag()
    for entry in scan(directory):
        owner = temp_owner(entry.name)
        if owner is None:
            continue
        host, pid = owner
        dead = host == here and not pid_alive(pid)
        with contextlib.suppress(OSError):
            if dead or time.time() - entry.stat().st_mtime > STALE_TEMP.total_seconds():
                os.unlink(entry.path)


def recover(
    *,
    registry: RegistryArg = None,
    older_than: timedelta = DEFAULT_OLDER_THAN,
) -> list[Recovered]:
    """Finalize every abandoned run of the store as ``crashed``.

    Args:
        registry: The registry locating the store, its path, or None to discover it.
        older_than: Silence after which a run of another machine, or spanning processes,
            counts as abandoned.

    Returns:
        One entry per staged run found, saying what was done.
    """
    reg = resolve_registry(registry)
    store = _store(reg)
    if isinstance(store, Store):  # object puts leave no temporary objects
        for directory in (store.root, store.root / "latest", *store.evidence_dirs()):
            _remove_stale_temps(directory)
    results: list[Recovered] = []
    for run_id in store.staged_run_ids():
        results.append(_recover_one(store, reg, run_id, older_than))
    return results


def _recover_one(
    store: AnyStore, registry: Registry, run_id: str, older_than: timedelta
) -> Recovered:
    if store.has_record(run_id):
        store.discard_staging(run_id)
        return Recovered(run_id, "cleaned", "record already promoted", store.record_path(run_id))
    raw = store.read_header(run_id)
    if raw is None:
        # Killed while opening (the header is written first, atomically): nothing ran.
        idle = time.time() - store.last_activity(run_id)
        if idle > older_than.total_seconds() and not store.fragment_paths(run_id):
            store.discard_staging(run_id)
            return Recovered(run_id, "cleaned", "staging without a header or fragments")
        return Recovered(run_id, "live", "no header yet")
    try:
        header = RunHeader.model_validate_json(raw)
    except ValidationError:
        return Recovered(run_id, "failed", "header unreadable; left for inspection")
    why = _abandoned(store, run_id, header, older_than)
    if why is None:
        return Recovered(run_id, "live", "its writer is alive")
    try:
        result = finalize_run(run_id, registry=registry, exist_ok=True, _crashed=True)
    except RecordExistsError:
        return Recovered(run_id, "cleaned", "finalized concurrently", store.record_path(run_id))
    except RunRecordError as exc:
        return Recovered(run_id, "failed", str(exc))
    outcome: Literal["recovered", "cleaned"] = "recovered" if result.created else "cleaned"
    return Recovered(run_id, outcome, why, result.path)
