"""The layout of a run record store, the same on a file system and on object storage.

::

    <run_id>.run_record.json        promoted records: created once, read-only, never changed
    latest/<entrypoint_id>.json     pointer to the newest record of an entrypoint (mutable)
    .staging/<run_id>/header.json   the open run's header
    .staging/<run_id>/<seq>-<kind>-<pid>-<rand>.json   one file per fragment
    .evidence/<run_id>/...          traces and other evidence files, read-only
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass

__all__ = [
    "DONE",
    "EVIDENCE",
    "HEADER_NAME",
    "KEYED",
    "LATEST",
    "RECORD_SUFFIX",
    "STAGING",
    "LatestPointer",
    "fragment_name",
    "is_fragment_name",
    "parse_pointer",
]

RECORD_SUFFIX = ".run_record.json"
HEADER_NAME = "header.json"
STAGING = ".staging"
EVIDENCE = ".evidence"
LATEST = "latest"
DONE = ".done"
KEYED = "key-"


@dataclass(frozen=True, slots=True)
class LatestPointer:
    """The ``latest/<entrypoint>.json`` pointer: the newest record of an entrypoint."""

    entrypoint_id: str
    run_id: str
    created_at: str
    status: str


def parse_pointer(data: bytes) -> LatestPointer | None:
    """Parse a ``latest`` pointer's bytes; None when they are not a pointer."""
    try:
        raw = json.loads(data)
        return LatestPointer(
            entrypoint_id=str(raw["entrypoint_id"]),
            run_id=str(raw["run_id"]),
            created_at=str(raw["created_at"]),
            status=str(raw["status"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def fragment_name(kind: str, key: str | None = None) -> str:
    """A fragment's file or object name.

    Without ``key``: fresh, unique and time-ordered (``<ns>-<kind>-<pid>-<random>.json``).
    With ``key``: derived from the key, so that a second write of it finds the first.
    """
    if key is None:
        return f"{time.time_ns():020d}-{kind}-{os.getpid()}-{secrets.token_hex(4)}.json"
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    return f"{KEYED}{kind}-{digest}.json"


def is_fragment_name(name: str) -> bool:
    """Whether a name in a staging directory is a fragment's (not the header, not a temp)."""
    return (name[:1].isdigit() or name.startswith(KEYED)) and name.endswith(".json")
