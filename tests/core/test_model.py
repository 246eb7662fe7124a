"""The models: contract field names, strictness, timestamps, and round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import example_records
import pytest
from pydantic import ValidationError

import runrecord
from runrecord import (
    COUNTER_NAMES,
    Counters,
    ErrorObject,
    EvidencePointer,
    ExceptionInfo,
    RunRecord,
    read_record,
)


@pytest.mark.parametrize("run_id", example_records.ALL)
def test_examples_round_trip_byte_for_byte(run_id: str) -> None:
    data = example_records.path_of(run_id).read_bytes()
    record = read_record(data)
    assert record.to_json() == data
    assert RunRecord.model_validate_json(record.to_json()) == record


def test_completed_at_is_required_but_nullable() -> None:
    doc = example_records.load(example_records.CRASHED)
    assert doc["completed_at"] is None
    assert read_record(doc).completed_at is None
    del doc["completed_at"]
    with pytest.raises(ValidationError):
        RunRecord.model_validate(doc)
    assert (
        '"completed_at": null'
        in read_record(example_records.load(example_records.CRASHED)).to_json().decode()
    )


def test_exception_class_field_is_spelled_class() -> None:
    info = ExceptionInfo(class_="builtins.KeyError", trace=None)
    assert json.loads(info.model_dump_json()) == {"class": "builtins.KeyError", "trace": None}
    assert ExceptionInfo.model_validate({"class": "x.Y"}).class_ == "x.Y"


def test_counters_hold_the_nine_plus_extras() -> None:
    counters = Counters.model_validate({**dict.fromkeys(COUNTER_NAMES, 0), "rows_upserted": 7})
    assert counters.as_dict()["rows_upserted"] == 7
    assert set(Counters.zero().as_dict()) == set(COUNTER_NAMES)
    with pytest.raises(ValidationError):
        Counters.model_validate({**dict.fromkeys(COUNTER_NAMES, 0), "rows_upserted": -1})
    with pytest.raises(ValidationError):
        Counters.model_validate(dict.fromkeys(COUNTER_NAMES[:-1], 0))


def test_timestamps_are_stored_in_utc_with_z() -> None:
    local = datetime(2026, 11, 26, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    error = ErrorObject(
        error_id="E-timeout-000000000000",
        type=runrecord.ErrorType.TIMEOUT,
        stage="load",
        message="load took too long",
        evidence=[],
        remediation_hint="raise the limit",
        severity=runrecord.Severity.ERROR,
        recorded_at=local,
    )
    assert error.recorded_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert json.loads(error.model_dump_json())["recorded_at"] == "2026-11-26T06:00:00.000000Z"
    with pytest.raises(ValidationError):
        ErrorObject.model_validate(
            {**json.loads(error.model_dump_json()), "recorded_at": datetime(2026, 1, 1)}
        )


@pytest.mark.parametrize(
    "value", ["2026-11-26T06:00:00Z", "2026-11-26T06:00:00.5Z", "2026-11-26T06:00:00+00:00"]
)
def test_utc_spellings_accepted(value: str) -> None:
    doc = example_records.load(example_records.SUCCESS)
    doc["created_at"] = value
    assert read_record(doc).created_at.tzinfo is not None


def test_evidence_needs_a_path_or_a_ref() -> None:
    assert EvidencePointer(kind=runrecord.EvidenceKind.URL, ref="https://ui/runs/1").ref
    with pytest.raises(ValidationError):
        EvidencePointer(kind=runrecord.EvidenceKind.FILE)


def test_contract_objects_forbid_unknown_keys_and_extensions_take_anything() -> None:
    doc = example_records.load(example_records.SUCCESS)
    doc["extensions"] = {"team": {"owner": "data-eng", "oncall": ["a", "b"]}, "n": 1.5}
    assert read_record(doc).extensions["team"] == {"owner": "data-eng", "oncall": ["a", "b"]}
    doc["project"]["owner"] = "x"
    with pytest.raises(runrecord.RecordInvalidError):
        read_record(doc)


def test_all_errors_and_warnings_include_embedded_objects() -> None:
    doc = example_records.load(example_records.ERROR)
    embedded = dict(doc["errors"][0])
    embedded["error_id"] = "E-runtime_error-embedded0000"
    doc["stages"][1]["errors"].append(embedded)
    doc["stages"][1]["counters"]["errors_count"] = 2
    record = read_record(doc)
    assert [e.error_id for e in record.all_errors()][-1] == "E-runtime_error-embedded0000"
    assert record.all_warnings() == []
