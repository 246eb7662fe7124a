"""The exception hierarchy: one root, a taxonomy value and a hint on every class."""

from __future__ import annotations

import pytest

import runrecord
from runrecord import (
    ConfigError,
    CountersError,
    ErrorType,
    InputMissingError,
    IntegrityError,
    ManifestError,
    PromotionError,
    RecordExistsError,
    RecordInvalidError,
    ResourceError,
    RunNotFoundError,
    RunRecordError,
    SchemaMismatchError,
    UnsafeNameError,
    UpstreamError,
)

ALL = [
    ConfigError,
    CountersError,
    InputMissingError,
    IntegrityError,
    ManifestError,
    PromotionError,
    RecordExistsError,
    RecordInvalidError,
    ResourceError,
    RunNotFoundError,
    SchemaMismatchError,
    UnsafeNameError,
    UpstreamError,
]


@pytest.mark.parametrize("cls", ALL)
def test_every_error_is_a_runrecord_error_with_type_and_hint(cls: type[RunRecordError]) -> None:
    assert issubclass(cls, RunRecordError)
    assert isinstance(cls.error_type, ErrorType)
    exc = cls("something went wrong")
    assert exc.remediation_hint == cls.error_type.remediation
    assert str(exc) == f"something went wrong (hint: {exc.remediation_hint})"


def test_every_exported_exception_is_in_the_hierarchy() -> None:
    exported = [getattr(runrecord, n) for n in runrecord.__all__]
    exceptions = [e for e in exported if isinstance(e, type) and issubclass(e, BaseException)]
    assert set(exceptions) == {RunRecordError, *ALL}


def test_config_error_names_file_and_key() -> None:
    exc = ConfigError("bad", path="/srv/runrecord.toml", key="stages", hint="write stages = [..]")
    assert exc.message == "/srv/runrecord.toml: stages: bad"
    assert (exc.path, exc.key, exc.remediation_hint) == (
        "/srv/runrecord.toml",
        "stages",
        "write stages = [..]",
    )


def test_invalid_record_error_carries_every_problem() -> None:
    with pytest.raises(RecordInvalidError) as caught:
        runrecord.read_record(b'{"run_record_version": "1.0.0"}')
    assert len(caught.value.problems) == 14
    assert {p.rule for p in caught.value.problems} == {"schema.required"}
    assert caught.value.error_type == "record_invalid"
