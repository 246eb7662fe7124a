"""Recognize and redact secret-looking values.

The writer redacts every message, detail, trace and command before a byte is written; the
validator uses the same recognizer to refuse records that still carry something
secret-looking. Both agree by construction: a string is clean exactly when redacting it
changes nothing.

Recognized: ``key=value``, ``key: value`` and ``--key value`` spans whose key names a secret
(password, secret, token, api_key, access_key, private_key, authorization, credential, ...),
mapping entries with such keys, credentials in URLs (``scheme://user:pass@host``),
``Bearer``/``Basic`` authorization values, and a few well-known token shapes (AWS access key
ids, GitHub and Slack tokens, JWTs, PEM private keys).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator

from pydantic import JsonValue

__all__ = [
    "REDACTED",
    "escape_pointer",
    "find_secrets",
    "is_secret_key",
    "json_may_hold_secret",
    "redact",
    "redact_text",
]

REDACTED = "[REDACTED]"
"""What a redacted value is replaced with."""

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "apikey",
        "cookie",
    }
)
_SECRET_PAIRS = frozenset(
    {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("session", "key")}
)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT_RE = re.compile(r"[^a-z0-9]+")

_KEY = r"[A-Za-z_][A-Za-z0-9_.-]*"
_VALUE = r"(?:[Bb]earer|[Bb]asic)[ \t]+[^\s\"']+|\"[^\"]*\"|'[^']*'|[^\s&;,\"']+"
# Order matters: at one position the first alternative that matches wins, so URLs and
# authorization values come before the generic key/value forms that would swallow them.
_PATTERNS: tuple[str, ...] = (
    # scheme://user:pass@host
    r"(?P<url_scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<url_userinfo>[^/\s@]+)@",
    # Authorization: Bearer abc
    r"(?P<bearer_kind>\b(?:[Bb]earer|[Bb]asic)[ \t]+)(?P<bearer_val>[A-Za-z0-9._~+/=-]{6,})",
    # well-known token shapes
    (
        r"(?P<shape>\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}"
        r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
        r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z))"
    ),
    # --token abc, --token=abc
    rf"(?P<flag_key>--?{_KEY})(?P<flag_sep>=|[ \t]+)(?P<flag_val>{_VALUE})",
    # password=abc, "password": "abc", token: abc
    rf"(?P<pair_key>[\"']?{_KEY}[\"']?)(?P<pair_sep>[ \t]*[=:][ \t]*)(?P<pair_val>{_VALUE})",
)
_SECRET_RE = re.compile("|".join(_PATTERNS), re.DOTALL)
# Every pattern above needs one of these; strings without any are clean.
_MAYBE_SECRET_RE = re.compile(
    r"[=:@]|--|(?:^|\s)-|-----BEGIN|AKIA|gh[pousr]_|xox[abprs]-|eyJ|[Bb]earer|[Bb]asic"
)
# And every match that is redacted needs one of these: a URL's ``@``, an authorization
# value, a token shape, or a key that names a secret (each word of _SECRET_WORDS contains
# one of the words below; each pair of _SECRET_PAIRS ends in "key"). Timestamps, paths and
# names, which have ``:`` or ``-`` but none of these, skip the full pattern.
# Matched against the lower-cased text: re.IGNORECASE makes this alternation ten times slower.
_SECRET_HINT_RE = re.compile(
    r"@|bearer|basic|akia|gh[pousr]_|xox[abprs]-|eyj|-----begin"
    r"|pass|pwd|secret|token|auth|credential|cookie|key"
)


def _may_hold_secret(text: str) -> bool:
    return (
        _SECRET_HINT_RE.search(text.lower()) is not None
        and _MAYBE_SECRET_RE.search(text) is not None
    )


@functools.lru_cache(maxsize=4096)  # the same keys come back in every fragment
def is_secret_key(name: str) -> bool:
    """Tell whether a key or option name names a secret.

    The name is split into words (``AWS_SECRET_ACCESS_KEY`` → aws, secret, access, key;
    ``apiKey`` → api, key); it names a secret when a word is one of password, secret,
    token, auth, credential, ... or two adjacent words form api key, access key, private
    key, secret key or session key. ``max_tokens`` and ``tokenizer`` are not secrets.

    Args:
        name: A mapping key, option name (``--token``) or environment variable name.

    Returns:
        True when the name looks like it holds a secret.

    Examples:
        >>> [is_secret_key(n) for n in ("DB_PASSWORD", "--api-key", "apiKey", "max_tokens")]
        [True, True, True, False]
    """
    words = [w for w in _SPLIT_RE.split(_CAMEL_RE.sub("_", name).lower()) if w]
    if any(w in _SECRET_WORDS or "password" in w or "secret" in w for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def _mask(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[0] + REDACTED + value[0]
    return REDACTED


def _replace(match: re.Match[str]) -> str:
    groups = match.groupdict()
    if groups["url_scheme"] is not None:
        return groups["url_scheme"] + REDACTED + "@"
    if groups["bearer_kind"] is not None:
        return groups["bearer_kind"] + REDACTED
    if groups["shape"] is not None:
        return REDACTED
    kind = "flag" if groups["flag_key"] is not None else "pair"
    key, sep, val = groups[f"{kind}_key"], groups[f"{kind}_sep"], groups[f"{kind}_val"]
    if is_secret_key(key.strip("\"'")):
        return key + sep + _mask(val)
    # Not a secret key, but the value may still hold a URL with credentials or a token.
    return key + sep + _SECRET_RE.sub(_replace, val)


def redact_text(text: str, *, extra: Iterable[str] = ()) -> str:
    """Replace every secret-looking span of ``text`` with ``[REDACTED]``.

    Idempotent: redacting redacted text changes nothing.

    Args:
        text: Any message, trace or command line.
        extra: Literal secret values to redact wherever they occur (for example the values
            of environment variables whose names look secret). Values shorter than 4
            characters are ignored, to avoid shredding ordinary text.

    Returns:
        The text with secrets replaced.

    Examples:
        >>> redact_text("connect failed: password=hunter2 host=db")
        'connect failed: password=[REDACTED] host=db'
        >>> redact_text("postgresql://app:s3cret@db:5432/sales")
        'postgresql://[REDACTED]@db:5432/sales'
        >>> redact_text("etl --token abc123 --date 2026-11-26")
        'etl --token [REDACTED] --date 2026-11-26'
    """
    return _redact_text(text, _literals(extra))


def _literals(extra: Iterable[str]) -> tuple[str, ...]:
    # Longest first, so that a value containing another is replaced whole.
    return tuple(sorted((v for v in extra if len(v) >= 4), key=len, reverse=True))


def _redact_text(text: str, literals: tuple[str, ...]) -> str:
    for value in literals:
        if value in text:
            text = text.replace(value, REDACTED)
    if not _may_hold_secret(text):  # most strings: timestamps, paths, names, numbers
        return text
    return _SECRET_RE.sub(_replace, text)


def json_may_hold_secret(text: str, *, extra: Iterable[str] = ()) -> bool:
    """Tell whether :func:`redact` could change the JSON value that ``text`` serializes.

    False is a guarantee: every string and key of the document is in ``text`` (escaped only
    where it has quotes, backslashes or control characters, none of which a secret's marker
    contains), so a document with no marker anywhere and no literal secret has nothing to
    redact. The writer uses it to skip walking fragments that hold nothing secret-looking.

    Args:
        text: A JSON document.
        extra: Literal secret values, as for :func:`redact_text`.

    Returns:
        True when the document needs a walk with :func:`redact`.

    Examples:
        >>> json_may_hold_secret('{"stage": "load", "at": "2026-11-26T06:00:02Z"}')
        False
        >>> json_may_hold_secret('{"note": "db_password=x"}')
        True
    """
    for value in _literals(extra):
        if value in text or not value.isprintable() or '"' in value or "\\" in value:
            return True  # (a value JSON would escape may hide in the text: walk to be sure)
    return _SECRET_HINT_RE.search(text.lower()) is not None


def redact(value: JsonValue, *, extra: Iterable[str] = ()) -> JsonValue:
    """Redact a JSON-like value: strings are redacted, secret-named keys lose their value.

    Args:
        value: A string, number, list or mapping (nested).
        extra: Literal secret values, as for :func:`redact_text`.

    Returns:
        A redacted copy.

    Examples:
        >>> redact({"user": "etl", "db_password": "hunter2", "rows": 3})
        {'user': 'etl', 'db_password': '[REDACTED]', 'rows': 3}
    """
    literals = _literals(extra)
    return _walk(value, lambda s: _redact_text(s, literals))


def _walk(value: JsonValue, on_string: Callable[[str], str]) -> JsonValue:
    if isinstance(value, str):
        return on_string(value)
    if isinstance(value, list):
        return [_walk(item, on_string) for item in value]
    if isinstance(value, dict):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():  # every fragment goes through here: kept lean
            if isinstance(item, str):
                out[key] = REDACTED if _is_secret_entry(key, item) else on_string(item)
            elif isinstance(item, list | dict):
                out[key] = _walk(item, on_string)
            else:
                out[key] = item
        return out
    return value


def _is_secret_entry(key: object, value: object) -> bool:
    # Only string values: ``token_count: 3`` is a count, not a secret.
    return (
        isinstance(key, str)
        and isinstance(value, str)
        and value not in ("", REDACTED)
        and is_secret_key(key)
    )


def find_secrets(value: object, pointer: str = "") -> Iterator[str]:
    """Yield the JSON pointer of every secret-looking value inside ``value``.

    A string holds a secret when :func:`redact_text` would change it; a mapping entry does
    when its key names a secret and its value is a non-empty string other than
    ``[REDACTED]``.

    Args:
        value: Parsed JSON (dicts, lists, strings, numbers).
        pointer: JSON pointer of ``value`` itself.

    Yields:
        JSON pointers, e.g. ``/environment/hostname``.

    Examples:
        >>> list(find_secrets({"details": {"api_key": "abc", "note": "ok"}}))
        ['/details/api_key']
    """
    if _is_secret_text(value):
        yield pointer
    # Pointers are built only for containers and hits: records hold thousands of leaves.
    stack: list[tuple[object, str]] = [(value, pointer)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, list):
            for i, child in enumerate(item):
                if isinstance(child, list | dict):
                    stack.append((child, f"{where}/{i}"))
                elif _is_secret_text(child):
                    yield f"{where}/{i}"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(child, list | dict):
                    stack.append((child, f"{where}/{escape_pointer(str(key))}"))
                elif _is_secret_entry(key, child) or _is_secret_text(child):
                    yield f"{where}/{escape_pointer(str(key))}"


def _is_secret_text(value: object) -> bool:
    return isinstance(value, str) and _redact_text(value, ()) != value


def escape_pointer(token: str) -> str:
    """Escape one JSON pointer reference token (RFC 6901).

    Examples:
        >>> escape_pointer("a/b~c")
        'a~1b~0c'
    """
    return token.replace("~", "~0").replace("/", "~1")
