"""Atomic file operations on a local file system.

Every file the store or an output promotion creates is written to a hidden temporary file
beside its final name, flushed to disk, then moved into place in one step, so that a
reader (or a crash) never sees a half-written file under a final name. Temporary names
carry the writer's pid so that ``recover`` can remove those of dead writers.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import os
import secrets
import socket
from pathlib import Path

__all__ = [
    "TEMP_SUFFIX",
    "fsync_dir",
    "host_tag",
    "rename_noreplace",
    "temp_owner",
    "temp_path",
    "write_new",
    "write_replace",
]

TEMP_SUFFIX = ".tmp"

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def host_tag() -> str:
    """A short tag of this machine's name, so that temporary files say where they came from."""
    return hashlib.blake2b(socket.gethostname().encode(), digest_size=3).hexdigest()


def temp_path(path: Path) -> Path:
    """Return a unique hidden temporary path beside ``path``.

    The name is ``.<name>.<host tag>-<pid>-<random>.tmp``: ``recover`` removes the
    temporary files of dead writers on this machine (see :func:`temp_owner`).
    """
    owner = f"{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.name}.{owner}{TEMP_SUFFIX}")


def temp_owner(name: str) -> tuple[str, int] | None:
    """Return the (host tag, pid) a temporary file name carries, or None if it is not one."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return None
    owner = name[: -len(TEMP_SUFFIX)].rsplit(".", 1)[-1].split("-")
    if len(owner) != 3 or not owner[1].isdigit():
        return None
    return owner[0], int(owner[1])


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry to disk (so a rename or link survives a power cut)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes, mode: int, durable: bool = True) -> Path:
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:  # os.write may write less than asked
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)
    return tmp


def write_new(path: Path, data: bytes, *, mode: int = 0o444, durable: bool = True) -> None:
    """Create ``path`` holding ``data``, atomically and only if it does not exist.

    Args:
        path: Final path; its directory must exist.
        data: The complete content.
        mode: Permission bits of the new file (read-only by default: created files are
            immutable).
        durable: Flush the data and the directory entry to disk before returning. Without
            it the file still survives a crash of the process (the threat runrecord is
            built for: SIGKILL, out-of-memory kills), not necessarily a power cut.

    Raises:
        FileExistsError: ``path`` already exists; nothing was changed.
        OSError: The write failed (disk full, permission denied); nothing is left behind.
    """
    tmp = _write_temp(path, data, mode, durable)
    try:
        rename_noreplace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        fsync_dir(path.parent)


def write_replace(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``path`` atomically, replacing what is there (for small mutable pointers)."""
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def _renameat2() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError, TypeError):  # pragma: no cover - non-glibc platforms
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_RENAMEAT2 = _renameat2()


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` atomically, failing if ``dst`` exists (files or directories).

    Uses ``renameat2(RENAME_NOREPLACE)`` where the platform has it; elsewhere a hard link
    (files) or a check, then a rename (directories: a narrow race that only matters between
    two promoters of the same path).

    Raises:
        FileExistsError: ``dst`` exists; nothing was changed.
    """
    if _RENAMEAT2 is not None:
        result = _RENAMEAT2(  # type: ignore[operator]
            _AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE
        )
        if result == 0:
            return
        err = ctypes.get_errno()
        if err in {errno.EEXIST, errno.ENOTEMPTY}:
            raise FileExistsError(err, os.strerror(err), str(dst))
        if err not in (errno.EINVAL, errno.ENOSYS):  # EINVAL: file system lacks the flag
            raise OSError(err, os.strerror(err), str(src))
    if src.is_dir():
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
        os.rename(src, dst)  # no atomic no-replace rename for directories here
        return
    os.link(src, dst)  # atomic, and fails if dst exists
    os.unlink(src)
