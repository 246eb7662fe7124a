"""Where fragments, records and pointers live: a run record directory on a file system.

The layout is in :mod:`runrecord._layout`; :func:`open_store` opens a directory as a
:class:`Store` and an object storage URL as an :class:`~runrecord.objectstore.ObjectStore`.

Every file is written under a temporary name and moved into place in one step; records,
headers, fragments and evidence are create-exclusive. Writers in different processes never
write the same file, so no lock is taken, except a short one around the ``latest`` pointer
so that it only ever moves forward.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from runrecord._fs import write_new, write_replace
from runrecord._layout import (
    DONE,
    EVIDENCE,
    HEADER_NAME,
    LATEST,
    RECORD_SUFFIX,
    STAGING,
    LatestPointer,
    fragment_name,
    is_fragment_name,
    parse_pointer,
)
from runrecord.errors import RecordExistsError, ResourceError, RunRecordError
from runrecord.ids import check_name
from runrecord.objectstore import ObjectPath, ObjectStore, is_url

__all__ = [
    "HEADER_NAME",
    "RECORD_SUFFIX",
    "AnyStore",
    "LatestPointer",
    "Store",
    "StorePath",
    "open_store",
    "parse_pointer",
    "scan",
]


_RESOURCE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


@contextlib.contextmanager
def _resource(action: str, path: Path) -> Iterator[None]:
    """Turn an operating-system failure into a ResourceError that says what and where."""
    try:
        yield
    except (FileExistsError, FileNotFoundError):
        raise
    except OSError as exc:
        hint = {
            errno.ENOSPC: "free disk space",
            errno.EDQUOT: "free disk space or raise the quota",
            errno.EROFS: "make the file system writable",
            errno.EACCES: "grant write permission",
            errno.EPERM: "grant write permission",
        }.get(exc.errno or 0, "check the file system")
        raise ResourceError(
            f"cannot {action} {path}: {exc.strerror or exc}",
            hint=f"{hint}; fragments already written are kept and `runrecord recover` "
            "finalizes the run later",
        ) from exc


@functools.lru_cache(maxsize=256)  # every fragment of a run asks for it
def _staging_dir(root: Path, run_id: str) -> Path:
    return root / STAGING / check_name(run_id)


def scan(directory: Path) -> list[os.DirEntry[str]]:
    """List a directory: [] when it does not exist, a ResourceError when it is unreadable."""
    try:
        with _resource("list", directory), os.scandir(directory) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


class Store:
    """A run record directory.

    Args:
        root: The run record directory (created on first write).

    Examples:
        >>> import tempfile
        >>> store = Store(Path(tempfile.mkdtemp()))
        >>> store.record_path("sales.daily-1").name
        'sales.daily-1.run_record.json'
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # --- paths ---------------------------------------------------------------------

    def record_path(self, run_id: str) -> Path:
        """The promoted record file of ``run_id``."""
        return self.root / f"{check_name(run_id)}{RECORD_SUFFIX}"

    def staging_dir(self, run_id: str) -> Path:
        """The staging directory of an open run."""
        return _staging_dir(self.root, run_id)

    def evidence_dir(self, run_id: str) -> Path:
        """The evidence directory of a run."""
        return self.root / EVIDENCE / check_name(run_id)

    def latest_path(self, entrypoint_id: str) -> Path:
        """The ``latest`` pointer file of an entrypoint."""
        return self.root / LATEST / f"{check_name(entrypoint_id, what='entrypoint id')}.json"

    # --- staging -------------------------------------------------------------------

    def write_header(self, run_id: str, data: bytes) -> bool:
        """Write an open run's header, unless one exists.

        Returns:
            True when this call created the header, False when it already existed.
        """
        directory = self.staging_dir(run_id)
        with _resource("create staging for", directory):
            directory.mkdir(parents=True, exist_ok=True)
        try:
            with _resource("write header in", directory):
                write_new(directory / HEADER_NAME, data)
        except FileExistsError:
            return False
        return True

    def is_open(self, run_id: str) -> bool:
        """Whether ``run_id`` has a header in staging (opened and not yet finalized)."""
        return (self.staging_dir(run_id) / HEADER_NAME).exists()

    def has_staging(self, run_id: str) -> bool:
        """Whether anything of ``run_id`` is left in staging."""
        return self.staging_dir(run_id).exists()

    def last_activity(self, run_id: str) -> float:
        """When anything was last written to a run's staging (0.0 when nothing is there)."""
        directory = self.staging_dir(run_id)
        newest = 0.0
        with contextlib.suppress(FileNotFoundError):
            newest = directory.stat().st_mtime
            for entry in os.scandir(directory):
                with contextlib.suppress(FileNotFoundError):
                    newest = max(newest, entry.stat().st_mtime)
        return newest

    def read_header(self, run_id: str) -> bytes | None:
        """Return the raw header of an open run, or None when there is none."""
        path = self.staging_dir(run_id) / HEADER_NAME
        try:
            with _resource("read", path):
                return path.read_bytes()
        except FileNotFoundError:
            return None

    def write_fragment(
        self, run_id: str, kind: str, data: bytes, *, key: str | None = None
    ) -> Path:
        """Write one fragment under a fresh, unique, time-ordered name.

        With ``key``, the name is derived from the key instead, and a second fragment with
        the same key is not written (the first one's path is returned): orchestrator
        callbacks that fire twice for one event record it once, without a race.
        """
        directory = self.staging_dir(run_id)
        path = directory / fragment_name(kind, key)
        with _resource("write fragment in", directory), contextlib.suppress(FileExistsError):
            # Not flushed to disk: a fragment must survive its process being killed, which
            # the page cache guarantees; fsync on every fragment would dominate the cost.
            try:
                write_new(path, data, durable=False)
            except FileNotFoundError:  # the staging directory is made once, not per fragment
                directory.mkdir(parents=True, exist_ok=True)
                write_new(path, data, durable=False)
        return path

    def fragment_path(self, run_id: str, kind: str, key: str) -> Path:
        """The path of the fragment written with ``key``."""
        return self.staging_dir(run_id) / fragment_name(kind, key)

    def fragment_exists(self, run_id: str, kind: str, key: str) -> bool:
        """Whether a fragment was written with ``key``."""
        return self.fragment_path(run_id, kind, key).exists()

    def fragment_paths(self, run_id: str) -> list[Path]:
        """Every fragment of an open run, in write order (temporary files excluded)."""
        directory = self.staging_dir(run_id)
        names = sorted(e.name for e in scan(directory))
        return [directory / n for n in names if is_fragment_name(n)]

    def staged_run_ids(self) -> list[str]:
        """Run ids with a staging directory (open, crashed, or finalized but not cleaned)."""
        entries = scan(self.root / STAGING)
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))

    def remove_staging(self, run_id: str) -> None:
        """Retire an open run's staging (after its record was promoted).

        The directory is renamed out of the way at once (so the run is no longer open) and
        deleted by a background thread: deleting thousands of fragment files can take
        seconds on file systems with online discard, and nobody needs to wait for it.
        Whatever a killed process leaves under ``.staging/.done`` is swept by the next
        retirement or by ``recover``.
        """
        directory = self.staging_dir(run_id)
        done = self.root / STAGING / DONE
        with _resource("retire", directory):
            done.mkdir(exist_ok=True)
            try:
                os.rename(directory, done / f"{run_id}-{secrets.token_hex(4)}")
            except FileNotFoundError:
                return
        self.sweep_retired(background=True)

    def discard_staging(self, run_id: str) -> None:
        """Delete a run's staging at once (what ``recover`` cleans up)."""
        shutil.rmtree(self.staging_dir(run_id), ignore_errors=True)

    def sweep_retired(self, *, background: bool = False) -> None:
        """Delete retired staging directories (those of finalized runs)."""
        done = self.root / STAGING / DONE

        def sweep() -> None:
            with contextlib.suppress(RunRecordError):
                for entry in scan(done):
                    shutil.rmtree(entry.path, ignore_errors=True)

        if background:
            threading.Thread(target=sweep, name="runrecord-sweep").start()
        else:
            sweep()

    def evidence_dirs(self) -> list[Path]:
        """Every run's evidence directory."""
        return sorted(Path(e.path) for e in scan(self.root / EVIDENCE) if e.is_dir())

    def write_evidence(self, run_id: str, name: str, data: bytes) -> Path:
        """Write an evidence file (create-exclusive, read-only); returns its path."""
        directory = self.evidence_dir(run_id)
        path = directory / check_name(name, what="evidence file name")
        with _resource("write evidence in", directory):
            directory.mkdir(parents=True, exist_ok=True)
            write_new(path, data)
        return path

    # --- records -------------------------------------------------------------------

    def has_record(self, run_id: str) -> bool:
        """Whether a record of ``run_id`` was promoted."""
        return self.record_path(run_id).exists()

    def promote(self, run_id: str, data: bytes) -> Path:
        """Promote a record: atomic, create-exclusive, read-only.

        Raises:
            RecordExistsError: A record of this run id exists; it is left unchanged.
            ResourceError: The file system refused the write.
        """
        path = self.record_path(run_id)
        with _resource("create", self.root):
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            with _resource("promote", path):
                write_new(path, data)
        except FileExistsError:
            raise RecordExistsError(
                f"a record of run {run_id} already exists at {path}",
                hint="promoted records are never overwritten; start a new run with a new run id",
            ) from None
        return path

    def record_paths(self) -> list[Path]:
        """Every promoted record file."""
        names = sorted(e.name for e in scan(self.root))
        return [self.root / n for n in names if n.endswith(RECORD_SUFFIX) and n[0] != "."]

    # --- latest pointers -----------------------------------------------------------

    def update_latest(self, pointer: LatestPointer) -> bool:
        """Move an entrypoint's ``latest`` pointer to ``pointer`` if it is newer.

        Newer means a later ``created_at`` (then a greater run id). A short exclusive lock
        makes concurrent finalizers of one entrypoint agree; the pointer never moves back.

        Returns:
            True when the pointer was moved.
        """
        path = self.latest_path(pointer.entrypoint_id)
        with _resource("update", path):
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                current = self.read_latest(pointer.entrypoint_id)
                if current is not None and (current.created_at, current.run_id) >= (
                    pointer.created_at,
                    pointer.run_id,
                ):
                    return False
                write_replace(path, json.dumps(asdict(pointer), indent=2).encode() + b"\n")
                return True
            finally:
                os.close(lock)

    def read_latest(self, entrypoint_id: str) -> LatestPointer | None:
        """Return the ``latest`` pointer of an entrypoint, or None if absent or unreadable."""
        try:
            return parse_pointer(self.latest_path(entrypoint_id).read_bytes())
        except OSError:
            return None


AnyStore = Store | ObjectStore
"""A run record store: a directory, or a prefix on object storage."""

StorePath = Path | ObjectPath
"""Where a store keeps a record, fragment or evidence file."""


def open_store(location: str | os.PathLike[str] | ObjectPath) -> AnyStore:
    """Open the store at a directory or an object storage URL.

    Raises:
        ConfigError: A URL whose backend is not installed (``pip install 'runrecord[s3]'``).

    Examples:
        >>> open_store("/srv/records")
        Store('/srv/records')

        A URL (with the ``s3`` extra installed) opens an
        :class:`~runrecord.objectstore.ObjectStore`::

            open_store("s3://acme-audit/run_records")
    """
    if isinstance(location, ObjectPath):
        return ObjectStore(location)
    if is_url(os.fspath(location)):
        return ObjectStore(os.fspath(location))
    return Store(Path(location))
