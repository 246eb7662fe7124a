"""Run a test body where file permission bits apply, even when the suite runs as root.

Root reads and writes files whatever their mode, so a test of "unreadable file" or
"read-only directory" proves nothing as root. :func:`where_permissions_apply` runs such a
test as it is for any other user and, under root, in a forked child that has given up the
capabilities that override permission bits (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``,
``CAP_FOWNER``). The child stays root by id, so the files the test makes are its own and
the owner's bits decide, as for any user; and it can still import from a Python installed
under root's home. The child's failure (its traceback) fails the test in the parent.

The child is a fork: it has none of the parent's threads, so a body should not need a
thread pool the parent started (blake3 hashing a large file on every core, for one). A
child that has not finished after a minute is ended and fails the test.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

__all__ = ["where_permissions_apply"]

_OVERRIDES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
_CAPABILITY_VERSION_3 = 0x20080522
_CANNOT_DROP = 77  # the child's exit code when it could not give the capabilities up
_CHILD_SECONDS = 60


def where_permissions_apply(body: Callable[[Path], None]) -> None:
    """Call ``body(directory)`` with file permissions enforced on it.

    Args:
        body: The test's body; it creates what it needs under ``directory`` (a fresh empty
            directory, removed afterwards) and asserts as usual.
    """
    if os.name != "posix":
        pytest.skip("needs POSIX permissions")
    directory = Path(tempfile.mkdtemp(prefix="runrecord-perm-"))
    try:
        if os.geteuid() != 0:
            body(directory)
        elif not sys.platform.startswith("linux"):
            pytest.skip("running as root, and dropping capabilities needs Linux")
        else:
            _without_overrides(body, directory)
    finally:
        for parent, names, _ in os.walk(directory):  # a body that failed may leave them closed
            for name in names:
                with contextlib.suppress(OSError):
                    (Path(parent) / name).chmod(0o700)
        shutil.rmtree(directory, ignore_errors=True)


def _without_overrides(body: Callable[[Path], None], directory: Path) -> None:
    """Run ``body(directory)`` in a forked child without the permission-override capabilities."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            signal.alarm(_CHILD_SECONDS)  # a fork has none of the parent's threads: never hang
            try:
                _drop_overrides()
            except OSError:
                code = _CANNOT_DROP
                raise
            body(directory)
            code = 0
        except BaseException:  # noqa: BLE001 - everything goes back to the parent
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == _CANNOT_DROP:
        pytest.skip(f"running as root, and the capabilities cannot be dropped here:\n{said}")
    if code == -signal.SIGALRM:
        said = f"no answer in {_CHILD_SECONDS} s (a fork has none of the parent's threads)"
    if code != 0:
        pytest.fail(f"without permission overrides:\n{said or f'the child ended with {code}'}")


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _drop_overrides() -> None:
    """Remove the permission-override capabilities from this process (capget/capset)."""
    libc = ctypes.CDLL(None, use_errno=True)
    header = _Header(_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()  # version 3: capabilities 0-31, then 32-63
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    keep = ~sum(1 << cap for cap in _OVERRIDES) & 0xFFFFFFFF
    for field in ("effective", "permitted", "inheritable"):
        setattr(data[0], field, getattr(data[0], field) & keep)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
