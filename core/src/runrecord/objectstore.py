"""Run record stores on object storage: any fsspec URL (``s3://``, ``memory://``, ...).

The layout is the one of :class:`~runrecord.store.Store`, as object keys under the URL's
prefix. What a file system gives with a rename, object storage gives with a conditional
put: records, headers, keyed fragments and evidence are created with ``If-None-Match: *``,
so that two promoters of one run id cannot both win and a record is never overwritten.
Unkeyed fragments have unique keys, so no object is ever read, modified and written back,
except the small ``latest`` pointer, which moves only with a conditional put on the
version that was read (``If-Match``).

Writing needs a backend that can do a conditional put: ``s3://`` (s3fs, against AWS S3 or
any S3 API with conditional writes) and ``memory://`` (one process). Any other fsspec
protocol is readable (``ls``, ``show``, ``validate``, ``gate``), and writing to it is refused
with :class:`~runrecord.errors.ConfigError` rather than done without the guarantee.

Credentials come from the backend's standard provider chain (for S3: the ``AWS_*``
environment variables, the shared config files, an instance or pod role). Credentials
written into the URL (``s3://KEY:SECRET@bucket/prefix``) are used, and never shown: every
name, message and stored value carries the URL without them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from runrecord._layout import (
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
from runrecord.errors import ConfigError, RecordExistsError, ResourceError, RunRecordError
from runrecord.ids import check_name

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = [
    "CONDITIONAL_PUT",
    "ObjectPath",
    "ObjectStore",
    "credentials_problem",
    "is_url",
    "promote_to_object",
    "redact_url",
]

CONDITIONAL_PUT = frozenset({"s3", "s3a", "memory"})
"""Protocols whose backend creates an object only if it does not exist, atomically."""

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_POINTER_TRIES = 20
_MEMORY_LOCK = threading.Lock()  # memory:// lives in one process: a lock makes puts atomic


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is an object storage URL rather than a local path.

    Examples:
        >>> is_url("s3://bucket/records"), is_url("/srv/records"), is_url("file:///srv")
        (True, False, False)
    """
    match = _SCHEME_RE.match(str(location))
    return match is not None and match.group(1).lower() != "file"


def redact_url(url: str) -> str:
    """Return ``url`` without the credentials it may carry.

    Examples:
        >>> redact_url("s3://AKIAEXAMPLE:wJalr%2Fsecret@bucket/records")
        's3://bucket/records'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def credentials_problem(url: str) -> str | None:
    """What is wrong with the credentials a URL carries, or None (none, or an s3:// URL's).

    Examples:
        >>> credentials_problem("s3://KEY:SECRET@bucket/records") is None
        True
        >>> credentials_problem("gs://user:secret@bucket/records")[:45]
        'credentials in the URL are only understood fo'
    """
    parts = urlsplit(url)
    if "@" in parts.netloc and parts.scheme.lower() not in {"s3", "s3a"}:
        return (
            "credentials in the URL are only understood for s3://; leave them to the "
            "backend's provider chain"
        )
    return None


def _credentials(url: str) -> tuple[str, dict[str, str]]:
    """Split the credentials off a URL: (URL without them, storage options with them)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    problem = credentials_problem(url)
    if problem is not None:
        raise ConfigError(
            f"{redact_url(url)}: {problem}",
            hint="remove them from the URL; the backend reads credentials from its standard "
            "provider chain (environment, config files, instance role)",
        )
    userinfo, host = parts.netloc.rsplit("@", 1)
    key, _, secret = userinfo.partition(":")
    return parts._replace(netloc=host).geturl(), {"key": unquote(key), "secret": unquote(secret)}


def _modified(info: dict[str, Any]) -> float:
    """An object's last modification as a POSIX timestamp, whatever the backend calls it."""
    for name in ("LastModified", "mtime", "updated", "last_modified", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


class _Backend:
    """One URL's file system, made lazily, and again in a forked child."""

    def __init__(self, url: str) -> None:
        self.url, self._options = _credentials(url.rstrip("/"))
        self.protocol = _SCHEME_RE.match(url).group(1).lower()  # type: ignore[union-attr]
        self._fs: tuple[int, AbstractFileSystem, str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fs": None}  # a file system is made again where it is used

    def fs(self) -> tuple[AbstractFileSystem, str]:
        """The file system and the root path inside it."""
        if self._fs is None or self._fs[0] != os.getpid():
            try:
                from fsspec.core import url_to_fs  # noqa: PLC0415 - an optional extra
            except ImportError:
                raise ConfigError(
                    f"{self.url} is an object storage URL, and fsspec is not installed",
                    hint="install the extra: pip install 'runrecord[s3]'",
                ) from None
            try:
                fs, root = url_to_fs(
                    self.url, skip_instance_cache=True, use_listings_cache=False, **self._options
                )
            except (ImportError, ValueError) as exc:
                raise ConfigError(
                    f"cannot open {self.url}: {exc}",
                    hint="install the backend of the protocol (for s3://: pip install "
                    "'runrecord[s3]')",
                ) from None
            self._fs = (os.getpid(), fs, root.rstrip("/"))
        return self._fs[1], self._fs[2]

    def check_writable(self) -> None:
        if self.protocol not in CONDITIONAL_PUT:
            raise ConfigError(
                f"cannot write run records to {self.url}: {self.protocol}:// has no "
                "conditional put here, and without it a record could be overwritten",
                hint=f"use a local directory, a shared file system, or one of "
                f"{sorted(p + '://' for p in CONDITIONAL_PUT)}",
            )

    def put(self, path: str, data: bytes, **conditions: str) -> None:
        fs, _ = self.fs()
        if self.protocol == "memory":
            with _MEMORY_LOCK:
                if conditions.get("IfNoneMatch") == "*" and fs.exists(path):
                    raise FileExistsError(path)
                if "IfMatch" in conditions and self.etag(path) != conditions["IfMatch"]:
                    raise _ConflictError(path)
                fs.pipe_file(path, data)
            return
        try:
            fs.pipe_file(path, data, **conditions)
        except FileExistsError:
            raise
        except OSError as exc:
            # s3fs reports a failed If-Match as EINVAL ("pre-conditions ... did not hold")
            if "IfMatch" in conditions and "condition" in str(exc).lower():
                raise _ConflictError(path) from exc
            raise

    def put_new(self, path: str, data: bytes) -> None:
        """Create ``path`` with a conditional put; FileExistsError when it exists."""
        self.check_writable()
        if self.protocol == "memory":
            self.put(path, data, IfNoneMatch="*")
            return
        fs, _ = self.fs()
        try:
            fs.pipe_file(path, data, mode="create")
        except FileNotFoundError:  # s3fs: NoSuchBucket
            self._no_bucket(path)
            raise

    def _no_bucket(self, path: str) -> None:
        """Raise a ResourceError when the bucket of ``path`` does not exist."""
        bucket = path.split("/", 1)[0]
        fs, _ = self.fs()
        if self.protocol in {"s3", "s3a"} and not fs.exists(bucket):
            raise ResourceError(
                f"the bucket {bucket!r} of {self.url} does not exist",
                hint="create the bucket, or correct run_record_dir",
            )

    def upload_new(self, local: Path, path: str) -> None:
        """Upload a local file to ``path`` with a conditional put; FileExistsError if it exists.

        The file is streamed (a multipart upload when large), never read whole.
        """
        self.check_writable()
        if self.protocol == "memory":
            self.put(path, local.read_bytes(), IfNoneMatch="*")
            return
        fs, _ = self.fs()
        fs.put_file(str(local), path, mode="create")

    def etag(self, path: str) -> str | None:
        fs, _ = self.fs()
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return None
        if self.protocol == "memory":
            return hashlib.blake2b(fs.cat_file(path), digest_size=16).hexdigest()
        return str(info.get("ETag") or info.get("etag") or "") or None

    def ls(self, path: str) -> list[dict[str, Any]]:
        fs, _ = self.fs()
        try:
            return list(fs.ls(path, detail=True))
        except FileNotFoundError:
            self._no_bucket(path)
            return []

    def display(self, path: str) -> str:
        _, root = self.fs()
        rest = path[len(root) :] if path.startswith(root) else "/" + path.lstrip("/")
        return self.url + rest


class _ConflictError(OSError):
    """A conditional put on a version (If-Match) lost to another writer."""


@contextlib.contextmanager
def _resource(action: str, where: object) -> Iterator[None]:
    """Turn a backend failure into a ResourceError that says what and where."""
    try:
        yield
    except (FileExistsError, FileNotFoundError, _ConflictError, RunRecordError):
        raise
    except Exception as exc:
        raise ResourceError(
            f"cannot {action} {where}: {exc}",
            hint="check the credentials, the bucket and the network; fragments already "
            "written are kept and `runrecord recover` finalizes the run later",
        ) from exc


class ObjectPath:
    """An object (or a prefix) in a store on object storage.

    It has the few methods of :class:`pathlib.Path` that readers of a store use:
    ``name``, ``parent``, ``/``, ``exists()``, ``read_bytes()``. ``str()`` is the URL,
    without credentials.
    """

    __slots__ = ("_backend", "path")

    def __init__(self, backend: _Backend, path: str) -> None:
        self._backend = backend
        self.path = path

    @classmethod
    def from_url(cls, url: str) -> ObjectPath:
        """The object or prefix a URL names."""
        backend = _Backend(url)
        return cls(backend, backend.fs()[1])

    @property
    def name(self) -> str:
        """The last part of the key."""
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def parent(self) -> ObjectPath:
        """The prefix this object is under."""
        return ObjectPath(self._backend, posixpath.dirname(self.path.rstrip("/")))

    @property
    def protocol(self) -> str:
        """The URL's protocol (``s3``, ``memory``, ...)."""
        return self._backend.protocol

    def __truediv__(self, name: str) -> ObjectPath:
        return ObjectPath(self._backend, f"{self.path.rstrip('/')}/{name}")

    def __str__(self) -> str:
        return self._backend.display(self.path)

    def __repr__(self) -> str:
        return f"ObjectPath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectPath) and str(self) == str(other)

    def __lt__(self, other: ObjectPath) -> bool:
        return str(self) < str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def exists(self) -> bool:
        """Whether an object (or anything under the prefix) exists."""
        fs, _ = self._backend.fs()
        with _resource("read", self):
            return bool(fs.exists(self.path))

    def read_bytes(self) -> bytes:
        """The object's content; FileNotFoundError when there is none."""
        fs, _ = self._backend.fs()
        with _resource("read", self):
            return bytes(fs.cat_file(self.path))

    def read_text(self, encoding: str = "utf-8") -> str:
        """The object's content as text."""
        return self.read_bytes().decode(encoding)

    def modified(self) -> float:
        """When the object was last written, as a POSIX timestamp."""
        fs, _ = self._backend.fs()
        with _resource("read", self):
            return _modified(fs.info(self.path))


class ObjectStore:
    """A run record store on object storage; the interface of :class:`~runrecord.store.Store`.

    Args:
        root: The store's URL, or an :class:`ObjectPath`.

    Examples:
        With the ``s3`` extra installed::

            store = ObjectStore("s3://acme-audit/run_records")
            store.record_path("sales.daily-1")
            # ObjectPath('s3://acme-audit/run_records/sales.daily-1.run_record.json')
    """

    def __init__(self, root: str | ObjectPath) -> None:
        self.root = root if isinstance(root, ObjectPath) else ObjectPath.from_url(root)
        self._backend = self.root._backend

    def __repr__(self) -> str:
        return f"ObjectStore({str(self.root)!r})"

    # --- paths ---------------------------------------------------------------------

    def record_path(self, run_id: str) -> ObjectPath:
        """The promoted record object of ``run_id``."""
        return self.root / f"{check_name(run_id)}{RECORD_SUFFIX}"

    def staging_dir(self, run_id: str) -> ObjectPath:
        """The staging prefix of an open run."""
        return self.root / STAGING / check_name(run_id)

    def evidence_dir(self, run_id: str) -> ObjectPath:
        """The evidence prefix of a run."""
        return self.root / EVIDENCE / check_name(run_id)

    def latest_path(self, entrypoint_id: str) -> ObjectPath:
        """The ``latest`` pointer object of an entrypoint."""
        return self.root / LATEST / f"{check_name(entrypoint_id, what='entrypoint id')}.json"

    # --- staging -------------------------------------------------------------------

    def write_header(self, run_id: str, data: bytes) -> bool:
        """Write an open run's header, unless one exists (True when this call wrote it)."""
        path = self.staging_dir(run_id) / HEADER_NAME
        try:
            with _resource("write header", path):
                self._backend.put_new(path.path, data)
        except FileExistsError:
            return False
        return True

    def is_open(self, run_id: str) -> bool:
        """Whether ``run_id`` has a header in staging."""
        return (self.staging_dir(run_id) / HEADER_NAME).exists()

    def has_staging(self, run_id: str) -> bool:
        """Whether anything of ``run_id`` is left in staging."""
        directory = self.staging_dir(run_id)
        with _resource("list", directory):
            return bool(self._backend.ls(directory.path))

    def read_header(self, run_id: str) -> bytes | None:
        """Return the raw header of an open run, or None when there is none."""
        try:
            return (self.staging_dir(run_id) / HEADER_NAME).read_bytes()
        except FileNotFoundError:
            return None

    def write_fragment(
        self, run_id: str, kind: str, data: bytes, *, key: str | None = None
    ) -> ObjectPath:
        """Write one fragment under a fresh unique key (or, with ``key``, once per key)."""
        path = self.staging_dir(run_id) / fragment_name(kind, key)
        with _resource("write fragment", path), contextlib.suppress(FileExistsError):
            self._backend.put_new(path.path, data)
        return path

    def fragment_path(self, run_id: str, kind: str, key: str) -> ObjectPath:
        """The object of the fragment written with ``key``."""
        return self.staging_dir(run_id) / fragment_name(kind, key)

    def fragment_exists(self, run_id: str, kind: str, key: str) -> bool:
        """Whether a fragment was written with ``key``."""
        return self.fragment_path(run_id, kind, key).exists()

    def fragment_paths(self, run_id: str) -> list[ObjectPath]:
        """Every fragment of an open run, in write order."""
        directory = self.staging_dir(run_id)
        with _resource("list", directory):
            names = sorted(posixpath.basename(e["name"]) for e in self._backend.ls(directory.path))
        return [directory / n for n in names if is_fragment_name(n)]

    def last_activity(self, run_id: str) -> float:
        """When anything was last written to a run's staging (0.0 when nothing is there)."""
        directory = self.staging_dir(run_id)
        with _resource("list", directory):
            return max((_modified(e) for e in self._backend.ls(directory.path)), default=0.0)

    def staged_run_ids(self) -> list[str]:
        """Run ids with anything in staging."""
        with _resource("list", self.root / STAGING):
            entries = self._backend.ls((self.root / STAGING).path)
        names = (posixpath.basename(e["name"].rstrip("/")) for e in entries)
        return sorted(n for n in names if n and not n.startswith("."))

    def remove_staging(self, run_id: str) -> None:
        """Delete a finalized run's staging objects."""
        fs, _ = self._backend.fs()
        directory = self.staging_dir(run_id)
        with _resource("delete", directory):
            paths = [e["name"] for e in self._backend.ls(directory.path)]
            if paths:
                with contextlib.suppress(FileNotFoundError):
                    fs.rm(paths)

    discard_staging = remove_staging

    def write_evidence(self, run_id: str, name: str, data: bytes) -> ObjectPath:
        """Write an evidence object (create-exclusive); returns where."""
        path = self.evidence_dir(run_id) / check_name(name, what="evidence file name")
        with _resource("write evidence", path):
            self._backend.put_new(path.path, data)
        return path

    # --- records -------------------------------------------------------------------

    def has_record(self, run_id: str) -> bool:
        """Whether a record of ``run_id`` was promoted."""
        return self.record_path(run_id).exists()

    def promote(self, run_id: str, data: bytes) -> ObjectPath:
        """Promote a record with a conditional put: create-exclusive, never overwritten.

        Raises:
            RecordExistsError: A record of this run id exists; it is left unchanged.
            ConfigError: The backend cannot do a conditional put.
            ResourceError: The backend refused the write.
        """
        path = self.record_path(run_id)
        try:
            with _resource("promote", path):
                self._backend.put_new(path.path, data)
        except FileExistsError:
            raise RecordExistsError(
                f"a record of run {run_id} already exists at {path}",
                hint="promoted records are never overwritten; start a new run with a new run id",
            ) from None
        return path

    def record_paths(self) -> list[ObjectPath]:
        """Every promoted record object."""
        with _resource("list", self.root):
            entries = self._backend.ls(self.root.path)
        names = sorted(posixpath.basename(e["name"]) for e in entries if e.get("type") == "file")
        return [self.root / n for n in names if n.endswith(RECORD_SUFFIX) and n[0] != "."]

    # --- latest pointers -----------------------------------------------------------

    def update_latest(self, pointer: LatestPointer) -> bool:
        """Move an entrypoint's ``latest`` pointer to ``pointer`` if it is newer.

        A conditional put on the version read (or on absence) makes concurrent finalizers
        agree without a lock: the loser reads again and decides again.
        """
        path = self.latest_path(pointer.entrypoint_id)
        data = json.dumps(asdict(pointer), indent=2).encode() + b"\n"
        with _resource("update", path):
            for _ in range(_POINTER_TRIES):
                etag = self._backend.etag(path.path)
                current = self.read_latest(pointer.entrypoint_id) if etag else None
                if current is not None and (current.created_at, current.run_id) >= (
                    pointer.created_at,
                    pointer.run_id,
                ):
                    return False
                try:
                    if etag is None:
                        self._backend.put_new(path.path, data)
                    else:
                        self._backend.put(path.path, data, IfMatch=etag)
                except (FileExistsError, _ConflictError):
                    continue
                return True
        return False  # pragma: no cover - twenty lost races: a newer finalizer moves it

    def read_latest(self, entrypoint_id: str) -> LatestPointer | None:
        """Return the ``latest`` pointer of an entrypoint, or None if absent or unreadable."""
        try:
            return parse_pointer(self.latest_path(entrypoint_id).read_bytes())
        except (OSError, ResourceError):
            return None


def promote_to_object(staged: Path, final: ObjectPath, manifest: ObjectPath, data: bytes) -> None:
    """Promote staged output data (a local file or directory) to object storage.

    The manifest goes first, then the data (a directory's files under the ``final``
    prefix), every object with a conditional put, so that nothing existing is overwritten
    and promoted data is never without its manifest. On success the staged data is
    removed; on failure what this call put is deleted again and the staged data is kept.

    Args:
        staged: The local staged data.
        final: Where the data goes.
        manifest: Where its manifest goes.
        data: The manifest's bytes.

    Raises:
        FileExistsError: The manifest or a data object exists; nothing was changed.
        ResourceError: The backend refused a put; nothing is left behind.
    """
    backend = final._backend
    with _resource("promote a manifest to", manifest):
        backend.put_new(manifest.path, data)
    if staged.is_dir():
        files = [
            (p, final / p.relative_to(staged).as_posix())
            for p in sorted(staged.rglob("*"))
            if p.is_file()
        ]
    else:
        files = [(staged, final)]
    put: list[str] = [manifest.path]
    try:
        with _resource("promote output data to", final):
            for local, target in files:
                backend.upload_new(local, target.path)
                put.append(target.path)
    except BaseException:
        fs, _ = backend.fs()
        with contextlib.suppress(Exception):
            fs.rm(put)
        raise
    if staged.is_dir():
        shutil.rmtree(staged, ignore_errors=True)
    else:
        staged.unlink(missing_ok=True)
