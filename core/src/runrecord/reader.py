"""Reading record bytes: strict JSON, and the version dispatch where upgrades go.

Records are UTF-8 JSON objects without duplicate keys or non-standard numbers (``NaN``).
A record whose ``run_record_version`` this library does not know is a ``schema_mismatch``.
A record of an *older* known version is upgraded to the current one, step by step, by the
functions registered in :data:`UPGRADES`, before it is validated; none exist yet because
``1.0.0`` is the first version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from runrecord.model import RUN_RECORD_VERSION

__all__ = ["UPGRADES", "JsonSyntaxError", "known_versions", "parse_json", "upgrade"]

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]

UPGRADES: dict[str, tuple[str, Upgrade]] = {}
"""``old version → (next version, function)``. A function takes a record of the old
version (a parsed JSON object) and returns it in the next version's shape. Add one with
every ``run_record_version`` bump, together with the migration note."""


def known_versions() -> tuple[str, ...]:
    """Every ``run_record_version`` this library can read.

    That is the current version and every version with a registered upgrade.

    Examples:
        >>> known_versions()
        ('1.0.0',)
    """
    return (RUN_RECORD_VERSION, *UPGRADES)


class JsonSyntaxError(ValueError):
    """The bytes are not one strict JSON document."""

    def __init__(self, message: str, *, duplicate_key: bool = False) -> None:
        super().__init__(message)
        self.duplicate_key = duplicate_key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonSyntaxError(f"duplicate key {key!r}", duplicate_key=True)
            seen.add(key)
    return obj


def _no_constants(name: str) -> object:
    raise JsonSyntaxError(f"{name} is not valid JSON")


def parse_json(data: bytes) -> object:
    """Parse one strict JSON document.

    Args:
        data: UTF-8 bytes.

    Returns:
        The parsed value.

    Raises:
        JsonSyntaxError: Empty input, invalid UTF-8 or JSON, a duplicate key, ``NaN`` or
            ``Infinity``, or nesting too deep to parse.
    """
    if not data.strip():
        raise JsonSyntaxError("empty document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonSyntaxError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except JsonSyntaxError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(
            f"not valid JSON (truncated or corrupt?): {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
    except RecursionError:
        raise JsonSyntaxError("nesting too deep") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python accepts
        raise JsonSyntaxError(f"not valid JSON: {exc}") from None


def upgrade(obj: dict[str, Any]) -> dict[str, Any]:
    """Bring a parsed record of a known older version to the current version.

    Args:
        obj: A parsed record whose ``run_record_version`` is in :func:`known_versions`.

    Returns:
        The record in the shape of :data:`~runrecord.model.RUN_RECORD_VERSION`.
    """
    version = obj.get("run_record_version")
    while isinstance(version, str) and version in UPGRADES:
        _next_version, step = UPGRADES[version]
        obj = step(obj)
        version = obj.get("run_record_version")
    return obj
