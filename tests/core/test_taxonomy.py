"""The controlled vocabularies: the contract's minimum sets, documented, docs current."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

import runrecord
from runrecord.taxonomy import vocabularies

REPO = Path(__file__).resolve().parents[2]

MINIMUM = {
    "statuses": {"success", "empty_success", "partial_success", "error"},
    "stage_statuses": {"success", "skipped", "error"},
    "input_resolutions": {"present", "missing", "substituted"},
    "promotion_statuses": {"staged", "promoted", "not_written"},
    "severities": {"error", "fatal"},
    "evidence_kinds": {"file", "manifest", "log", "artifact", "url"},
    "error_types": {
        "input_missing",
        "input_invalid",
        "schema_mismatch",
        "manifest_mismatch",
        "integrity_error",
        "upstream_error",
        "output_missing",
        "output_invalid",
        "promotion_failed",
        "config_error",
        "runtime_error",
        "timeout",
        "cancelled",
        "crashed",
        "resource_error",
        "record_invalid",
    },
    "warning_types": {
        "optional_input_missing",
        "input_substituted",
        "schema_drift_handled",
        "validation_downgraded",
        "records_skipped",
        "optional_output_missing",
        "deprecated_schema_version",
    },
    "skip_reason_codes": {
        "duplicate",
        "filtered",
        "already_processed",
        "out_of_window",
        "quarantined_invalid",
        "upstream_failed",
        "upstream_empty",
        "not_selected",
        "no_input_mode",
    },
}


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_vocabulary_holds_the_contracts_values(name: str) -> None:
    values = {member.value for member in vocabularies()[name]}
    assert values >= MINIMUM[name]


@pytest.mark.parametrize("name", sorted(vocabularies()))
def test_every_value_is_documented(name: str) -> None:
    for member in vocabularies()[name]:
        assert len(member.meaning) > 10, member
        if name not in {"evidence_kinds", "skip_units"}:
            assert len(member.remediation) > 5, member


def test_enum_members_are_plain_strings() -> None:
    assert isinstance(runrecord.Status.SUCCESS, str)
    assert runrecord.Status.SUCCESS.value == "success"
    assert runrecord.ErrorType("crashed") is runrecord.ErrorType.CRASHED
    assert f"{runrecord.ReasonCode.NO_INPUT_MODE}" == "no_input_mode"


def _gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "tools" / "gen_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["taxonomy.md", "validation-rules.md"])
def test_generated_reference_pages_are_current(page: str) -> None:
    gen = _gen_docs()
    current = (REPO / "docs" / page).read_text(encoding="utf-8")
    assert current == gen.PAGES[page](), f"docs/{page} is stale: run python tools/gen_docs.py"
