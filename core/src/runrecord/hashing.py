"""Data hashes: ``"<algorithm>:<hex>"`` for a file, a directory, or bytes.

A file's hash is the hash of its bytes. A directory's hash is the hash of a small text
listing every regular file under it (see :func:`tree_hash`), so it depends on the files'
relative paths and contents only: not on the order they were created in, on timestamps or
permissions, or on empty directories.

Files are streamed, never loaded whole. BLAKE3 (the default) hashes a file through a
memory map on every core when the ``blake3`` package offers it; SHA-256 reads 1 MiB at a
time. A file that changes while it is hashed is refused rather than given a hash of
something that never existed on disk.

An artifact must not reach outside itself: a symbolic link anywhere in it, its root
included, is refused and never followed. So is anything that is not a regular file or a
directory (a FIFO, a socket, a device), and any file name that could not be written back
safely as a relative POSIX path (see :func:`check_relpath`).

Every failure is a :class:`~runrecord.errors.RunRecordError`; no ``OSError`` escapes:

- unknown algorithm: :class:`~runrecord.errors.ConfigError`;
- missing path, permission denied, unreadable or not a regular file or directory:
  :class:`~runrecord.errors.ResourceError` (a missing path says "does not exist");
- symbolic link or unsafe name: :class:`~runrecord.errors.UnsafeNameError`;
- malformed hash string, or a file changed while hashed:
  :class:`~runrecord.errors.IntegrityError`.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import blake3

from runrecord.errors import ConfigError, IntegrityError, ResourceError, UnsafeNameError
from runrecord.model import HASH_PATTERN

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "TREE_HEADER",
    "ArtifactDigest",
    "FileEntry",
    "StrPath",
    "check_relpath",
    "file_entries",
    "hash_artifact",
    "hash_bytes",
    "hash_file",
    "hash_path",
    "parse_hash",
    "tree_hash",
]

StrPath = str | os.PathLike[str]
"""A file system path: a string or a path object."""

ALGORITHMS = ("blake3", "sha256")
"""Hash algorithms a data hash may use."""

DEFAULT_ALGORITHM = "blake3"
"""The algorithm used when none is given."""

TREE_HEADER = "runrecord-tree-v1\n"
"""First line of the text a directory hash is computed over (see :func:`tree_hash`)."""

_CHUNK = 1 << 20
_HASH_RE = re.compile(HASH_PATTERN)
_HASH_HINT = (
    "a data hash is '<algorithm>:<64 lowercase hex digits>' with algorithm one of "
    + ", ".join(ALGORITHMS)
    + "; take it from the manifest the producer wrote, never retype it"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One regular file of an artifact.

    Attributes:
        path: Path relative to the artifact root, POSIX separators; a file artifact's
            own name.
        size: Size in bytes.
        hash: The file's data hash, ``"<algorithm>:<hex>"``.

    Examples:
        >>> FileEntry("part-0.csv", 3, hash_bytes(b"abc", "sha256")).size
        3
    """

    path: str
    size: int
    hash: str


@dataclass(frozen=True, slots=True)
class ArtifactDigest:
    """An artifact's data hash and the files it was computed from, from one read.

    Attributes:
        data_hash: The artifact's hash, what :func:`hash_path` returns.
        files: Every regular file, sorted by ``path``.
        kind: ``"file"`` or ``"directory"``.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = pathlib.Path(tmp, "a.csv").write_bytes(b"abc")
        ...     digest = hash_artifact(tmp, "sha256")
        >>> digest.kind, [f.path for f in digest.files]
        ('directory', ['a.csv'])
        >>> digest.data_hash == tree_hash(digest.files, "sha256")
        True
    """

    data_hash: str
    files: tuple[FileEntry, ...]
    kind: Literal["file", "directory"]


def _check_algorithm(algorithm: object) -> str:
    if isinstance(algorithm, str) and algorithm in ALGORITHMS:
        return algorithm
    raise ConfigError(
        f"unknown hash algorithm {algorithm!r}",
        hint=f"use one of: {', '.join(ALGORITHMS)}",
    )


def parse_hash(value: object) -> tuple[str, str]:
    """Split a data hash into its algorithm and hex digest, checking its format.

    Args:
        value: The candidate, e.g. ``"sha256:ba78...15ad"``.

    Returns:
        ``(algorithm, hex_digest)``.

    Raises:
        IntegrityError: ``value`` is not ``"<algorithm>:<64 lowercase hex digits>"`` with
            a known algorithm.

    Examples:
        >>> parse_hash(hash_bytes(b"abc", "sha256"))[0]
        'sha256'
        >>> parse_hash("md5:900150983cd24fb0d6963f7d28e17f72")
        Traceback (most recent call last):
        ...
        runrecord.errors.IntegrityError: malformed data hash 'md5:90015...' ...
    """
    if isinstance(value, str) and _HASH_RE.fullmatch(value):
        algorithm, _, digest = value.partition(":")
        return algorithm, digest
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    raise IntegrityError(f"malformed data hash {shown}", hint=_HASH_HINT)


def hash_bytes(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """Hash bytes held in memory.

    Args:
        data: The bytes.
        algorithm: One of :data:`ALGORITHMS`.

    Returns:
        ``"<algorithm>:<hex>"``.

    Raises:
        ConfigError: ``algorithm`` is unknown.

    Examples:
        >>> hash_bytes(b"")
        'blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'
        >>> hash_bytes(b"abc", "sha256")
        'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    if _check_algorithm(algorithm) == "blake3":
        return f"blake3:{blake3.blake3(data).hexdigest()}"
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def check_relpath(path: object) -> str:
    """Return ``path`` if it is a safe relative POSIX path inside an artifact, else raise.

    Safe means: a non-empty string of ``/``-separated names, none of them empty, ``.`` or
    ``..``; no leading ``/``, no backslash, no drive letter (``C:``), no control
    character, and valid Unicode (a file name that is not UTF-8 cannot be stored in a
    manifest). Such a path stays inside the artifact on every platform.

    Args:
        path: The candidate, e.g. ``"date=2026-11-26/part-0.parquet"``.

    Returns:
        The path, unchanged.

    Raises:
        UnsafeNameError: The path is absolute, escapes upward or is otherwise unsafe.

    Examples:
        >>> check_relpath("date=2026-11-26/part-0.parquet")
        'date=2026-11-26/part-0.parquet'
        >>> check_relpath("../etc/passwd")
        Traceback (most recent call last):
        ...
        runrecord.errors.UnsafeNameError: file path '../etc/passwd' ... '..' ...
    """
    reason = _relpath_problem(path)
    if reason is None:
        return str(path)
    shown = repr(path) if len(repr(path)) <= 80 else repr(path)[:77] + "..."
    raise UnsafeNameError(
        f"file path {shown} {reason}",
        hint="an artifact's files must have plain relative names; rename the file at its producer",
    )


def _relpath_problem(path: object) -> str | None:
    if not isinstance(path, str):
        return "is not a string"
    if not path:
        return "is empty"
    if path.startswith("/"):
        return "is absolute"
    if "\\" in path:
        return "contains a backslash"
    if _CONTROL_RE.search(path):
        return "contains a control character"
    if _DRIVE_RE.match(path):
        return "starts with a drive letter"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"has an empty, '.' or '..' segment ({part!r})"
    return None


def _resource_error(path: Path, exc: OSError) -> ResourceError:
    if isinstance(exc, FileNotFoundError):
        return ResourceError(
            f"{path} does not exist", hint="check the path, and that its producer has run"
        )
    if isinstance(exc, PermissionError):
        return ResourceError(
            f"{path}: permission denied", hint="grant read access to the artifact, then rerun"
        )
    return ResourceError(f"{path}: cannot read: {exc.strerror or exc}")


def _lstat(path: Path) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as exc:
        raise _resource_error(path, exc) from None


def _refuse_link(path: Path) -> UnsafeNameError:
    return UnsafeNameError(
        f"{path} is a symbolic link; an artifact may not contain links",
        hint="write real files into the artifact (copy the target) instead of linking to it",
    )


def _refuse_special(path: Path) -> ResourceError:
    return ResourceError(
        f"{path} is not a regular file or a directory",
        hint="an artifact holds regular files and directories only; remove the FIFO, socket "
        "or device from it",
    )


def _fingerprint(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _blake3_file(path: Path) -> str:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    # update_mmap (blake3-py >= 0.4) hashes through a memory map on every core; other
    # implementations of the module (the C one) lack it and get the streamed read. It opens
    # the path itself, following links: a link swapped in after the lstat check changes the
    # inode, which the check after hashing refuses.
    if hasattr(hasher, "update_mmap"):
        hasher.update_mmap(path)
        return hasher.hexdigest()
    with _open_no_follow(path) as fh:
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        while read := fh.readinto(buffer):
            hasher.update(view[:read])
    return hasher.hexdigest()


def _sha256_file(path: Path) -> str:
    with _open_no_follow(path) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _open_no_follow(path: Path) -> io.FileIO:
    # O_NOFOLLOW: a link swapped in after the lstat check fails to open instead of being
    # followed out of the artifact.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    return io.FileIO(fd, "rb", closefd=True)


def _hash_regular(path: Path, before: os.stat_result, algorithm: str) -> str:
    try:
        digest = _blake3_file(path) if algorithm == "blake3" else _sha256_file(path)
        after = os.lstat(path)
    except OSError as exc:
        raise _resource_error(path, exc) from None
    if _fingerprint(after) != _fingerprint(before):
        raise IntegrityError(
            f"{path} changed while it was being hashed",
            hint="a writer is still writing it: hash the data only after its producer has finished",
        )
    return f"{algorithm}:{digest}"


def hash_file(path: StrPath, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """Hash one regular file, streaming it.

    With BLAKE3 the file is memory-mapped and hashed on every core; like any memory-mapped
    read, a file truncated by another process *during* the read can crash the process, so
    hash data only once its producer has finished writing it.

    Args:
        path: The file. A symbolic link is refused, not followed.
        algorithm: One of :data:`ALGORITHMS`.

    Returns:
        ``"<algorithm>:<hex>"``, equal to :func:`hash_bytes` of the file's content.

    Raises:
        ConfigError: ``algorithm`` is unknown.
        ResourceError: ``path`` does not exist, cannot be read, or is not a regular file.
        UnsafeNameError: ``path`` is a symbolic link.
        IntegrityError: The file changed while it was being hashed.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp, "data.csv")
        ...     _ = path.write_bytes(b"abc")
        ...     hash_file(path, "sha256") == hash_bytes(b"abc", "sha256")
        True
    """
    algorithm = _check_algorithm(algorithm)
    file = Path(path)
    st = _lstat(file)
    if stat.S_ISLNK(st.st_mode):
        raise _refuse_link(file)
    if stat.S_ISDIR(st.st_mode):
        raise ResourceError(
            f"{file} is a directory, not a file", hint="hash a directory with hash_path"
        )
    if not stat.S_ISREG(st.st_mode):
        raise _refuse_special(file)
    return _hash_regular(file, st, algorithm)


def _artifact_relpath(path: Path, relpath: str) -> str:
    reason = _relpath_problem(relpath)
    if reason is None:
        return relpath
    raise UnsafeNameError(
        f"{str(path)!r}: the name {reason}",
        hint="an artifact's files must have plain relative names; rename the file at its producer",
    )


def _walk(root: Path, algorithm: str) -> list[FileEntry]:
    entries: list[FileEntry] = []
    pending: list[tuple[Path, str]] = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as scan:
                children = list(scan)
        except OSError as exc:
            raise _resource_error(directory, exc) from None
        for child in children:
            child_path = Path(child.path)
            relpath = _artifact_relpath(child_path, prefix + child.name)
            try:
                st = child.stat(follow_symlinks=False)
            except OSError as exc:
                raise _resource_error(child_path, exc) from None
            if stat.S_ISLNK(st.st_mode):
                raise _refuse_link(child_path)
            if stat.S_ISDIR(st.st_mode):
                pending.append((child_path, relpath + "/"))
            elif stat.S_ISREG(st.st_mode):
                digest = _hash_regular(child_path, st, algorithm)
                entries.append(FileEntry(relpath, st.st_size, digest))
            else:
                raise _refuse_special(child_path)
    # Code point order equals UTF-8 byte order, so every platform sorts alike.
    entries.sort(key=lambda entry: entry.path)
    return entries


def tree_hash(entries: Iterable[FileEntry], algorithm: str = DEFAULT_ALGORITHM) -> str:
    r"""Hash a directory from its file entries.

    The hash, with ``algorithm``, of the UTF-8 text :data:`TREE_HEADER`
    (``"runrecord-tree-v1\n"``) followed by one line ``"<path>\0<file hash>\n"`` per
    regular file, sorted by path (code point order, which is also UTF-8 byte order).
    ``<file hash>`` is the file's full ``"<algorithm>:<hex>"`` hash with the same
    algorithm. Sizes are not part of it (the content hash covers them); empty
    directories contribute nothing, and a directory with no files hashes the header
    alone. A path cannot contain ``\0`` and a file hash contains neither ``\0`` nor
    ``\n``, so the text is unambiguous.

    Args:
        entries: The files, in any order (e.g. a manifest's ``files``).
        algorithm: One of :data:`ALGORITHMS`; every entry's hash must use it.

    Returns:
        ``"<algorithm>:<hex>"``.

    Raises:
        ConfigError: ``algorithm`` is unknown.
        IntegrityError: An entry's hash is malformed or uses another algorithm, or two
            entries have the same path.
        UnsafeNameError: An entry's path is not a safe relative path.

    Examples:
        >>> tree_hash([]) == hash_bytes(b"runrecord-tree-v1\n")
        True
        >>> entry = FileEntry("a.csv", 3, hash_bytes(b"abc"))
        >>> tree_hash([entry]) == hash_bytes(
        ...     b"runrecord-tree-v1\na.csv\0" + entry.hash.encode() + b"\n")
        True
    """
    algorithm = _check_algorithm(algorithm)
    lines: list[tuple[str, str]] = []
    for entry in entries:
        check_relpath(entry.path)
        if parse_hash(entry.hash)[0] != algorithm:
            raise IntegrityError(
                f"file {entry.path!r} is hashed with another algorithm than {algorithm}",
                hint="hash every file of an artifact with the same algorithm",
            )
        lines.append((entry.path, entry.hash))
    lines.sort()
    for (path, _), (following, _) in itertools.pairwise(lines):
        if path == following:
            raise IntegrityError(
                f"file {path!r} is listed twice", hint="list each file of an artifact once"
            )
    text = TREE_HEADER + "".join(f"{path}\0{digest}\n" for path, digest in lines)
    return hash_bytes(text.encode("utf-8"), algorithm)


def hash_artifact(path: StrPath, algorithm: str = DEFAULT_ALGORITHM) -> ArtifactDigest:
    """Hash a file or directory artifact and list its files, reading each file once.

    Args:
        path: The artifact root: a regular file or a directory. Never followed if it is
            a symbolic link.
        algorithm: One of :data:`ALGORITHMS`.

    Returns:
        The data hash (:func:`hash_file` for a file, :func:`tree_hash` for a directory)
        and the file entries it was computed from.

    Raises:
        ConfigError: ``algorithm`` is unknown.
        ResourceError: ``path`` does not exist; it or something in it cannot be read or
            is neither a regular file nor a directory.
        UnsafeNameError: A symbolic link or an unsafe file name in the artifact.
        IntegrityError: A file changed while it was being hashed.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp, "data.csv")
        ...     _ = path.write_bytes(b"abc")
        ...     digest = hash_artifact(path)
        >>> digest.kind, digest.files[0].path, digest.files[0].size
        ('file', 'data.csv', 3)
    """
    algorithm = _check_algorithm(algorithm)
    root = Path(path)
    st = _lstat(root)
    if stat.S_ISLNK(st.st_mode):
        raise _refuse_link(root)
    if stat.S_ISDIR(st.st_mode):
        entries = _walk(root, algorithm)
        return ArtifactDigest(tree_hash(entries, algorithm), tuple(entries), "directory")
    if not stat.S_ISREG(st.st_mode):
        raise _refuse_special(root)
    name = _artifact_relpath(root, root.name)
    entry = FileEntry(name, st.st_size, _hash_regular(root, st, algorithm))
    return ArtifactDigest(entry.hash, (entry,), "file")


def hash_path(path: StrPath, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """Hash a file or a directory artifact.

    Args:
        path: A regular file (hashed as by :func:`hash_file`) or a directory (hashed as by
            :func:`tree_hash` over its files).
        algorithm: One of :data:`ALGORITHMS`.

    Returns:
        ``"<algorithm>:<hex>"``.

    Raises:
        ConfigError: ``algorithm`` is unknown.
        ResourceError: ``path`` does not exist; it or something in it cannot be read or
            is neither a regular file nor a directory.
        UnsafeNameError: A symbolic link or an unsafe file name in the artifact.
        IntegrityError: A file changed while it was being hashed.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     hash_path(tmp, "sha256") == tree_hash([], "sha256")
        True
    """
    return hash_artifact(path, algorithm).data_hash


def file_entries(path: StrPath, algorithm: str = DEFAULT_ALGORITHM) -> list[FileEntry]:
    """List an artifact's regular files with their sizes and hashes.

    Args:
        path: A regular file (one entry, named by the file's own name) or a directory
            (every regular file under it, by path relative to it, sorted).
        algorithm: One of :data:`ALGORITHMS`.

    Returns:
        The entries. Use :func:`hash_artifact` when the data hash is needed too.

    Raises:
        ConfigError: ``algorithm`` is unknown.
        ResourceError: ``path`` does not exist; it or something in it cannot be read or
            is neither a regular file nor a directory.
        UnsafeNameError: A symbolic link or an unsafe file name in the artifact.
        IntegrityError: A file changed while it was being hashed.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     pathlib.Path(tmp, "day=1").mkdir()
        ...     _ = pathlib.Path(tmp, "day=1", "part-0.csv").write_bytes(b"abc")
        ...     [(f.path, f.size) for f in file_entries(tmp)]
        [('day=1/part-0.csv', 3)]
    """
    return list(hash_artifact(path, algorithm).files)
