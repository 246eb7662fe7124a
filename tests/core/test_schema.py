"""The shipped JSON Schema: generated from the models, self-contained, and frozen per version."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import example_records
import jsonschema
import pytest

import runrecord
from runrecord import RUN_RECORD_VERSION, generate_schema, load_schema
from runrecord.schema import shipped_versions

# A shipped schema never changes: a change to the models is a new run_record_version, with
# its own schema file, an upgrade step in runrecord.reader.UPGRADES and a migration note.
# Add the new version's hash here; never edit an existing line.
FROZEN_SCHEMA_SHA256 = {
    "1.0.0": "4d40ac0ab61e684ff2ad264edce5ce983472d31b6a33b43abf132009f2e5ffd0",
}


def _schema_bytes(version: str) -> bytes:
    return (
        resources.files("runrecord")
        .joinpath("schemas", f"run_record-{version}.schema.json")
        .read_bytes()
    )


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_models_and_shipped_schema_agree() -> None:
    assert generate_schema() == load_schema(RUN_RECORD_VERSION), (
        "the models changed but the shipped schema did not: a model change needs a new "
        "run_record_version (see README, change control)"
    )


@pytest.mark.parametrize("version", sorted(FROZEN_SCHEMA_SHA256))
def test_shipped_schema_of_a_version_never_changes(version: str) -> None:
    assert hashlib.sha256(_schema_bytes(version)).hexdigest() == FROZEN_SCHEMA_SHA256[version]


def test_every_shipped_version_is_frozen_and_readable() -> None:
    assert shipped_versions() == sorted(FROZEN_SCHEMA_SHA256)
    assert RUN_RECORD_VERSION in shipped_versions()
    assert set(runrecord.reader.known_versions()) == set(shipped_versions())


def test_schema_is_self_contained_and_valid() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    refs = _refs(schema)
    assert refs
    assert all(ref.startswith("#/$defs/") for ref in refs)
    assert all(ref.removeprefix("#/$defs/") in schema["$defs"] for ref in refs)


def test_every_contract_field_is_required_in_the_schema() -> None:
    schema = load_schema()
    top = set(schema["required"])
    assert top == {
        "run_record_version",
        "run_id",
        "created_at",
        "completed_at",
        "status",
        "project",
        "entrypoint",
        "stages",
        "inputs",
        "outputs",
        "schema_versions",
        "counters",
        "warnings",
        "errors",
        "environment",
    }
    completed = schema["properties"]["completed_at"]
    assert {"type": "null"} in completed["anyOf"]
    assert "default" not in completed
    defs = schema["$defs"]
    assert set(defs["Counters"]["required"]) == set(runrecord.COUNTER_NAMES)
    assert set(defs["StageRecord"]["required"]) >= {
        "stage",
        "started_at",
        "completed_at",
        "status",
        "counters",
        "warnings",
        "errors",
        "evidence",
    }
    assert set(defs["ErrorObject"]["required"]) >= {
        "error_id",
        "type",
        "stage",
        "message",
        "evidence",
        "remediation_hint",
        "severity",
        "recorded_at",
    }
    assert set(defs["InputRef"]["required"]) >= {
        "name",
        "artifact_family",
        "path",
        "manifest_path",
        "data_hash",
        "schema_version",
        "required",
        "resolution",
    }
    assert set(defs["OutputRef"]["required"]) >= {
        "name",
        "artifact_family",
        "path",
        "manifest_path",
        "data_hash",
        "schema_version",
        "promotion_status",
        "required",
    }
    # contract objects forbid unknown keys; counters alone admit (typed) extra ones
    closed = {name for name, d in defs.items() if d.get("additionalProperties") is False}
    objects = {name for name, d in defs.items() if d.get("type") == "object"}
    assert objects - closed == {"Counters"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("run_id", example_records.ALL)
def test_examples_validate_against_the_shipped_schema(run_id: str) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(example_records.load(run_id))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status", "succeeded"),
        ("run_id", "../etc/passwd"),
        ("completed_at", 5),
        ("counters", {"files_seen": 1}),
        ("owner", "someone"),
    ],
)
def test_shipped_schema_rejects_what_the_models_reject(path: str, value: Any) -> None:
    doc = example_records.load(example_records.SUCCESS)
    doc[path] = value
    assert not runrecord.validate_record(doc).valid
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(load_schema()).validate(doc)


def test_unknown_version_is_a_schema_mismatch() -> None:
    doc = example_records.load(example_records.SUCCESS)
    doc["run_record_version"] = "2.0.0"
    with pytest.raises(runrecord.SchemaMismatchError) as caught:
        runrecord.read_record(json.dumps(doc).encode())
    assert caught.value.error_type == "schema_mismatch"
    assert "1.0.0" in caught.value.remediation_hint


def test_reader_applies_registered_upgrades(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook where upgrades of older versions go: an old record is upgraded, then
    validated as the current version."""

    def from_0_9(obj: dict[str, Any]) -> dict[str, Any]:
        obj = dict(obj)
        obj["run_record_version"] = "1.0.0"
        obj["environment"] = obj.pop("env")
        return obj

    monkeypatch.setitem(runrecord.reader.UPGRADES, "0.9.0", ("1.0.0", from_0_9))
    old = example_records.load(example_records.SUCCESS)
    old["run_record_version"] = "0.9.0"
    old["env"] = old.pop("environment")
    record = runrecord.read_record(old)
    assert record.run_record_version == "1.0.0"
    assert record.environment.os.startswith("Linux")
