"""Secret recognition and redaction: what the writer removes, the validator refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from runrecord import is_secret_key, redact, redact_text
from runrecord.redact import (
    _SECRET_RE,
    REDACTED,
    _may_hold_secret,
    _replace,
    find_secrets,
    json_may_hold_secret,
)

SECRET_TEXTS = [
    ("connect failed: password=hunter2 host=db", "hunter2"),
    ("PGPASSWORD='hunter 2' psql", "hunter 2"),
    ('{"api_key": "sk_live_51Habc"}', "sk_live_51Habc"),
    ("etl --token abc123 --date 2026-11-26", "abc123"),
    ("etl --client-secret=xyz987", "xyz987"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payloadpayload.signature123", "eyJhbGci"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz'", "dXNlcjpwYXNz"),
    ("postgresql://app:s3cret@db:5432/sales", "s3cret"),
    ("s3://AKIAABCDEFGHIJKLMNOP:wJalrXUtnFEMI@bucket/x", "wJalrXUtnFEMI"),
    ("key id AKIAABCDEFGHIJKLMNOP leaked", "AKIAABCDEFGHIJKLMNOP"),
    ("ghp_" + "a1B2" * 9 + " in a log", "a1B2a1B2"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
    ("x=postgres://u:p4ss@h/db", "p4ss"),
]

CLEAN_TEXTS = [
    "KeyError: 'currency'",
    "max_tokens=5 tokenizer=bpe",
    "http://example.com/path?a=1",
    "read 4821 records from /data/orders/date=2026-11-25",
    "ValueError: invalid literal for int() with base 10: 'abc'",
    "",
]


@pytest.mark.parametrize(("text", "secret"), SECRET_TEXTS)
def test_secrets_are_redacted(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert REDACTED in redacted
    assert redact_text(redacted) == redacted  # idempotent
    assert list(find_secrets({"m": text})) == ["/m"]
    assert list(find_secrets({"m": redacted})) == []


@pytest.mark.parametrize("text", CLEAN_TEXTS)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text
    assert list(find_secrets({"m": text})) == []


# Text built from the pieces secrets are made of, so that the full pattern often matches.
_PIECES = st.sampled_from(
    [
        "password",
        "Token",
        "apiKey",
        "_key",
        "AUTH",
        "pwd",
        "secret",
        "cookie",
        "id",
        "=",
        ":",
        " ",
        "--",
        "-",
        "@",
        "://",
        "'",
        '"',
        "Bearer ",
        "basic ",
        "AKIA",
        "ABCDEFGHIJKLMNOP",
        "ghp_",
        "xoxb-",
        "eyJ",
        ".",
        "-----BEGIN PRIVATE KEY-----",
        "2026-11-26T07:15:00Z",
        "/data/x",
        "abc123",
        "x",
    ]
)


@given(st.lists(_PIECES | st.text(max_size=8), max_size=12).map("".join))
def test_the_fast_path_skips_only_text_the_full_pattern_leaves_alone(text: str) -> None:
    if not _may_hold_secret(text):
        assert _SECRET_RE.sub(_replace, text) == text


_TEXTS = st.lists(_PIECES | st.text(max_size=8), max_size=6).map("".join)
_DOCUMENTS = st.recursive(
    _TEXTS | st.integers(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_TEXTS, children, max_size=3),
    max_leaves=8,
)


@given(_DOCUMENTS, st.lists(_TEXTS, max_size=2))
def test_a_document_said_to_hold_no_secret_is_left_alone_by_redact(
    document: JsonValue, extra: list[str]
) -> None:
    text = json.dumps(document, ensure_ascii=False)
    if not json_may_hold_secret(text, extra=extra):
        assert redact(document, extra=extra) == document


def test_literal_extra_values_are_redacted_wherever_they_appear() -> None:
    text = "upload failed with key Zq81xYw in request"
    assert (
        redact_text(text, extra=["Zq81xYw", "ab"])
        == f"upload failed with key {REDACTED} in request"
    )


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("password", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("apiKey", True),
        ("--api-key", True),
        ("X-Auth-Token", True),
        ("client_secret", True),
        ("credentials", True),
        ("session_key", True),
        ("max_tokens", False),
        ("tokenizer", False),
        ("author", False),
        ("keyboard", False),
        ("partition_key", False),
        ("HOME", False),
    ],
)
def test_secret_key_names(name: str, secret: bool) -> None:
    assert is_secret_key(name) is secret


def test_redact_walks_nested_values() -> None:
    value: JsonValue = {
        "user": "etl",
        "db_password": "hunter2",
        "token_count": 3,
        "nested": [{"url": "https://u:pw@host/x"}, "token=abc"],
    }
    assert redact(value) == {
        "user": "etl",
        "db_password": REDACTED,
        "token_count": 3,
        "nested": [{"url": f"https://{REDACTED}@host/x"}, f"token={REDACTED}"],
    }
    assert list(find_secrets(redact(value))) == []
    assert sorted(find_secrets(value)) == ["/db_password", "/nested/0/url", "/nested/1"]
