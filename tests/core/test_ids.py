"""Filename-safe names and stable error/warning ids."""

from __future__ import annotations

import pytest

from runrecord import UnsafeNameError, check_name, stable_id


@pytest.mark.parametrize(
    "name",
    ["a", "sales.daily", "sales.daily-20261126T060002Z-3f9a1c", "A_b-C.9", "x" * 128, "_x"],
)
def test_safe_names_pass(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "../x",
        "/abs",
        "a/b",
        "a\\b",
        ".hidden",
        "x" * 129,
        "x" * 300,
        "a\x00b",
        "a b",
        "line\nbreak",
        "trailing\n",
        "ümlaut",
        "fullwidth\uff0fslash",
        "C:",
        None,
        42,
        b"bytes",
    ],
)
def test_unsafe_names_are_refused(name: object) -> None:
    with pytest.raises(UnsafeNameError) as caught:
        check_name(name, what="run id")
    assert caught.value.error_type == "config_error"
    assert "[A-Za-z0-9._-]" in caught.value.remediation_hint
    assert "run id" in caught.value.message


def test_unsafe_name_message_is_bounded() -> None:
    with pytest.raises(UnsafeNameError) as caught:
        check_name("y" * 10_000)
    assert len(str(caught.value)) < 300


def test_stable_id_is_deterministic_and_distinguishes_key_fields() -> None:
    a = stable_id("E", "input_missing", "extract", "input orders missing")
    assert a == stable_id("E", "input_missing", "extract", "input orders missing")
    assert a.startswith("E-input_missing-")
    assert a != stable_id("E", "input_missing", "load", "input orders missing")
    assert a != stable_id("E", "input_invalid", "extract", "input orders missing")
    assert a != stable_id("W", "input_missing", "extract", "input orders missing")
    assert a != stable_id("E", "input_missing", "extract", "input fx missing")


def test_stable_id_ignores_numbers_in_messages_but_not_in_details() -> None:
    assert stable_id("E", "timeout", "load", "took 31 s") == stable_id(
        "E", "timeout", "load", "took 45 s"
    )
    assert stable_id("E", "timeout", "load", {"partition": 1}) != stable_id(
        "E", "timeout", "load", {"partition": 2}
    )
    assert stable_id("E", "timeout", "load", {"a": 1, "b": 2}) == stable_id(
        "E", "timeout", "load", {"b": 2, "a": 1}
    )
