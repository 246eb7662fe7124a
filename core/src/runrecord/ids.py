"""Safe names and stable ids.

A run id becomes a file name (``<run_id>.run_record.json``) and an entrypoint id names the
``latest`` pointer file, so both are restricted to ``[A-Za-z0-9._-]``, bounded in length,
and may not start with a dot. Error and warning ids are derived from the failure's key
fields, so the same failure gets the same id in every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from runrecord.errors import UnsafeNameError

__all__ = [
    "ID_PATTERN",
    "MAX_NAME_LENGTH",
    "NAME_PATTERN",
    "check_name",
    "check_path",
    "run_id_for",
    "stable_id",
]

MAX_NAME_LENGTH = 128
"""Longest run id, entrypoint id, project id or stage name accepted."""

NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"
"""Filename-safe name: ``[A-Za-z0-9._-]``, 1-128 characters, no leading dot."""

ID_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,127}$"
"""Error and warning ids: like names, with ``:`` also allowed."""

_NAME_RE = re.compile(NAME_PATTERN)
_DIGITS_RE = re.compile(r"\d+")


def check_name(value: object, *, what: str = "run id") -> str:
    """Return ``value`` if it is a filename-safe name, else raise.

    Args:
        value: The candidate name.
        what: What the name is, for the error message ("run id", "entrypoint id", ...).

    Returns:
        The name, unchanged.

    Raises:
        UnsafeNameError: ``value`` is not a string matching :data:`NAME_PATTERN`.

    Examples:
        >>> check_name("sales.daily-2026-11-26")
        'sales.daily-2026-11-26'
        >>> check_name("../etc")
        Traceback (most recent call last):
        ...
        runrecord.errors.UnsafeNameError: run id '../etc' is not filename-safe ...
    """
    if isinstance(value, str) and _NAME_RE.fullmatch(value):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise UnsafeNameError(
        f"{what} {shown} is not filename-safe",
        hint=f"use 1-{MAX_NAME_LENGTH} characters from [A-Za-z0-9._-], not starting with '.'",
    )


def stable_id(kind: str, type_: str, stage: str, key: str | Mapping[str, object]) -> str:
    """Derive a stable error or warning id from the failure's key fields.

    The same type, stage and key give the same id in every run, so that automation can
    count recurrences of one failure across runs. ``key`` is a message *template* or the
    details that identify the failure; when a plain message is passed, runs of digits are
    ignored so that "3 rows" and "4 rows" give the same id.

    Args:
        kind: ``"E"`` for an error, ``"W"`` for a warning.
        type_: The taxonomy value (``"input_missing"``).
        stage: The stage name.
        key: A message template, or a mapping of the key details.

    Returns:
        An id such as ``"E-input_missing-3f9a1c2b7d4e"``.

    Examples:
        >>> stable_id("E", "input_missing", "extract", "input 3 missing") == stable_id(
        ...     "E", "input_missing", "extract", "input 4 missing")
        True
        >>> stable_id("W", "records_skipped", "load", {"reason": "duplicate"})[:18]
        'W-records_skipped-'
    """
    if isinstance(key, str):
        canonical = _DIGITS_RE.sub("#", key)
    else:
        canonical = json.dumps(key, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.blake2b(
        "\x1f".join((kind, type_, stage, canonical)).encode(), digest_size=6
    ).hexdigest()
    return f"{kind}-{type_}-{digest}"


_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


def run_id_for(entrypoint: str, external_id: str) -> str:
    """Derive a deterministic, filename-safe run id from an orchestrator's own run id.

    Every process of one orchestrator run (task processes, callbacks, sensors) computes the
    same run id, so they all write to the same run. Characters outside ``[A-Za-z0-9._-]``
    (Airflow's ``:`` and ``+``, spaces, slashes) become ``-``, and a short hash of the
    original keeps ids distinct that would otherwise read the same.

    Args:
        entrypoint: The entrypoint id (DAG id, job name, flow name), filename-safe.
        external_id: The orchestrator's run id, any string.

    Returns:
        ``<entrypoint>-<readable external id>-<hash>``, at most 128 characters.

    Raises:
        UnsafeNameError: ``entrypoint`` is not filename-safe.

    Examples:
        >>> run_id_for("sales_daily", "scheduled__2026-11-26T06:00:00+00:00")
        'sales_daily-scheduled__2026-11-26T06-00-00-00-00-09d0af84'
    """
    check_name(entrypoint, what="entrypoint id")
    digest = hashlib.blake2b(external_id.encode(), digest_size=4).hexdigest()
    readable = _UNSAFE_RE.sub("-", external_id).strip(".-")
    room = MAX_NAME_LENGTH - len(entrypoint) - len(digest) - 2
    parts = [entrypoint, readable[: max(room - 1, 0)].rstrip(".-"), digest]
    run_id = "-".join(p for p in parts if p)
    if len(run_id) > MAX_NAME_LENGTH:  # a very long entrypoint: keep its start and the hash
        run_id = f"{entrypoint[: MAX_NAME_LENGTH - len(digest) - 1]}-{digest}"
    return check_name(run_id)


MAX_PATH_LENGTH = 4096
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_path(value: str | os.PathLike[str], *, what: str = "path") -> Path:
    """Return an input, output or manifest path as an absolute, normalized path, or refuse it.

    Paths are the user's to choose (``..`` is resolved, not refused), but a path holding a
    NUL byte, a newline or another control character, or longer than 4096 characters, is
    refused before anything touches the file system.

    Args:
        value: The path.
        what: What the path is, for the error message.

    Returns:
        The absolute path with ``.`` and ``..`` resolved (symbolic links are not followed).

    Raises:
        UnsafeNameError: The path is empty, too long or holds control characters.

    Examples:
        >>> check_path("/data/out/../orders.csv").as_posix()
        '/data/orders.csv'
    """
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if (
        not isinstance(text, str)
        or not text
        or len(text) > MAX_PATH_LENGTH
        or (_CONTROL_RE.search(text))
    ):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise UnsafeNameError(
            f"{what} {shown} is not usable",
            hint=f"give a non-empty path of at most {MAX_PATH_LENGTH} characters without "
            "control characters (NUL, newline, ...)",
        )
    return Path(os.path.abspath(text))  # noqa: PTH100 - resolve() would follow links
