"""The published JSON Schema of each ``run_record_version``.

The schema is generated from the models and shipped inside the package as
``runrecord/schemas/run_record-<version>.schema.json``, one self-contained document
(references are internal ``#/$defs/...`` only). A shipped schema never changes: a change to
the models needs a new ``run_record_version`` (see the README's change control).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from runrecord.model import RUN_RECORD_VERSION, RunRecord

__all__ = ["generate_schema", "load_schema", "shipped_versions"]


def generate_schema() -> dict[str, Any]:
    """Generate the JSON Schema of the current version from the models.

    Returns:
        A JSON Schema (draft 2020-12) document.
    """
    schema = RunRecord.model_json_schema(mode="validation")
    return {
        "$schema": schema.pop("$schema"),
        "$id": schema.pop("$id"),
        **schema,
    }


def shipped_versions() -> list[str]:
    """List the versions whose schema ships with this package, oldest first.

    Examples:
        >>> "1.0.0" in shipped_versions()
        True
    """
    prefix, suffix = "run_record-", ".schema.json"
    names = [
        p.name
        for p in resources.files("runrecord").joinpath("schemas").iterdir()
        if p.name.startswith(prefix) and p.name.endswith(suffix)
    ]
    versions = [n[len(prefix) : -len(suffix)] for n in names]
    return sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def load_schema(version: str = RUN_RECORD_VERSION) -> dict[str, Any]:
    """Load the shipped JSON Schema of a version.

    Args:
        version: A ``run_record_version``; the current one by default.

    Returns:
        The schema document.

    Raises:
        KeyError: No schema ships for ``version``.
    """
    if version not in shipped_versions():
        raise KeyError(version)
    path = resources.files("runrecord").joinpath("schemas", f"run_record-{version}.schema.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
