"""R4 — bad input: mutation and property fuzzing of the record reader, validator and manifest
reader. No input may raise an unhandled exception; every invalid input is rejected with a
rule id (records) or a ManifestError (manifests)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import example_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torture_support import Figures, Row, seeded

import runrecord

HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**70),
    1.5,
    1e308,
    "",
    "x" * 10_000,
    "../../etc/passwd",
    "\x00",
    "a\nb",
    "2026-13-45T99:99:99Z",
    "2026-11-26T06:00:00",
    "\u202egnp.exe",
    [],
    {},
    [None],
    {"": None},
    "blake3:" + "0" * 64,
    "sha256:zz",
    "success",
    "error",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*prefix, i))
    return found


def _mutate_structure(doc: dict[str, Any], rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc))
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = rng.randrange(4)
    if action == 0 and isinstance(parent, dict):
        del parent[last]
    elif action == 1 and isinstance(parent, dict):
        parent[rng.choice(["extra", "run_id2", "__proto__", "Status"])] = rng.choice(HOSTILE)
    else:
        parent[last] = rng.choice(HOSTILE)
    return doc


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        at = rng.randrange(len(buf) or 1)
        if op == 0 and buf:
            buf[at] = rng.randrange(256)
        elif op == 1:
            del buf[at : at + rng.randint(1, 64)]
        elif op == 2:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3:
            buf = buf[: rng.randrange(len(buf) + 1)]
        else:
            end = min(len(buf), at + rng.randint(1, 200))
            buf[at:at] = buf[at:end]
    return bytes(buf)


def _check_report(report: object) -> int:
    """Return 1 when a report breaks the validator's promises, else 0."""
    if not isinstance(report, runrecord.ValidationReport):
        return 1
    rules = [p.rule for p in report.problems]
    if "validator.internal" in rules or any(r not in runrecord.RULES for r in rules):
        return 1
    return int(report.valid != (report.record is not None and not rules))


def test_mutation_fuzzing_of_records_and_manifests(
    tmp_path: Path, figures: Figures, long_run: bool
) -> None:
    cases = 100_000 if long_run else 5_000
    rng = seeded()
    docs = [example_records.load(run_id) for run_id in example_records.ALL]
    raw = [example_records.path_of(run_id).read_bytes() for run_id in example_records.ALL]
    data = tmp_path / "data.csv"
    data.write_bytes(b"id,city\n1,berlin\n")
    manifest = runrecord.build_manifest(data, artifact_family="orders", schema_version="1")
    manifest_bytes = manifest.to_json()
    target = tmp_path / "probe.manifest.json"

    unhandled = broken = accepted = 0
    for i in range(cases):
        kind = i % 3
        try:
            if kind == 0:
                doc = _mutate_structure(rng.choice(docs), rng)
                report = runrecord.validate_record(doc)
                broken += _check_report(report)
                as_bytes = runrecord.validate_record(json.dumps(doc).encode())
                broken += _check_report(as_bytes)
                broken += report.valid != as_bytes.valid
                accepted += report.valid
            elif kind == 1:
                report = runrecord.validate_record(_mutate_bytes(rng.choice(raw), rng))
                broken += _check_report(report)
                accepted += report.valid
            else:
                target.write_bytes(_mutate_bytes(manifest_bytes, rng))
                try:
                    read = runrecord.read_manifest(target)
                    accepted += 1
                    broken += read.data_hash != manifest.data_hash and read.files == manifest.files
                except runrecord.ManifestError:
                    pass
        except Exception:  # noqa: BLE001 - this is what the suite counts
            unhandled += 1
    figures.add(
        Row(
            "R4 mutation fuzzing (records, manifests)",
            trials=cases,
            failures=broken,
            unhandled=unhandled,
            note=f"{accepted} mutants still valid",
        )
    )
    assert (unhandled, broken) == (0, 0)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["run_id", "status", "stages", "counters", "x"]) | st.text(),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


def test_property_fuzzing_of_the_validator(figures: Figures, long_run: bool) -> None:
    examples = 20_000 if long_run else 1_000
    seen = {"cases": 0, "broken": 0, "unhandled": 0}

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(_json, st.binary(max_size=2_000)))
    def check(value: Any) -> None:
        seen["cases"] += 1
        try:
            source = value if isinstance(value, bytes) else json.dumps(value).encode()
            seen["broken"] += _check_report(runrecord.validate_record(source))
            if isinstance(value, dict):
                seen["broken"] += _check_report(runrecord.validate_record(value))
        except Exception:  # noqa: BLE001 - this is what the suite counts
            seen["unhandled"] += 1

    check()
    figures.add(
        Row(
            "R4 property fuzzing (any JSON, any bytes)",
            trials=seen["cases"],
            failures=seen["broken"],
            unhandled=seen["unhandled"],
        )
    )
    assert (seen["broken"], seen["unhandled"]) == (0, 0)
