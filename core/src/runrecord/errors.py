"""The exception hierarchy. Every refusal of the library is a :class:`RunRecordError`.

Each class carries the taxonomy value it is recorded as (``error_type``) and a remediation
hint a person can act on; the CLI prints them as one line without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runrecord.taxonomy import ErrorType

if TYPE_CHECKING:
    from runrecord.validate import Problem

__all__ = [
    "ConfigError",
    "CountersError",
    "InputMissingError",
    "IntegrityError",
    "ManifestError",
    "PromotionError",
    "RecordExistsError",
    "RecordInvalidError",
    "ResourceError",
    "RunNotFoundError",
    "RunRecordError",
    "SchemaMismatchError",
    "UnsafeNameError",
    "UpstreamError",
]


class RunRecordError(Exception):
    """Root of every error the library raises on purpose.

    Args:
        message: What went wrong, in one sentence.
        hint: What to do about it; defaults to the error type's typical remediation.

    Attributes:
        error_type: The taxonomy value this failure is recorded as.
        message: What went wrong.
        remediation_hint: What to do about it.

    Examples:
        >>> try:
        ...     raise ConfigError("no project registry found", hint="create runrecord.toml")
        ... except RunRecordError as exc:
        ...     print(exc.error_type, "|", exc)
        config_error | no project registry found (hint: create runrecord.toml)
    """

    error_type: ErrorType = ErrorType.RUNTIME_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remediation_hint = hint or self.error_type.remediation

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.remediation_hint})"


class ConfigError(RunRecordError):
    """The project registry or a configuration value is missing or invalid.

    Attributes:
        path: The file at fault, when there is one.
        key: The key at fault, when there is one (dotted, e.g. ``tool.runrecord.stages``).
        detail: What is wrong, without the file and key.
    """

    error_type = ErrorType.CONFIG_ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | None = None,
        key: str | None = None,
    ) -> None:
        where = ": ".join(part for part in (path, key) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.path = path
        self.key = key
        self.detail = message


class UnsafeNameError(RunRecordError):
    """A run id, entrypoint id, stage name or path is not safe to use as a file name.

    Raised before anything is written.
    """

    error_type = ErrorType.CONFIG_ERROR


class RecordInvalidError(RunRecordError):
    """A run record failed validation.

    Attributes:
        problems: Every problem found, each with a JSON pointer and a rule id.
    """

    error_type = ErrorType.RECORD_INVALID

    def __init__(
        self, message: str, *, problems: Sequence[Problem] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = tuple(problems)


class SchemaMismatchError(RecordInvalidError):
    """A record declares a ``run_record_version`` this library does not know."""

    error_type = ErrorType.SCHEMA_MISMATCH


class IntegrityError(RunRecordError):
    """Data does not match the hash its manifest declares."""

    error_type = ErrorType.INTEGRITY_ERROR


class RecordExistsError(RunRecordError):
    """A record for this run id was already promoted; records are never overwritten."""

    error_type = ErrorType.PROMOTION_FAILED


class ManifestError(RunRecordError):
    """A manifest is missing, unreadable or invalid, or disagrees with its data's files."""

    error_type = ErrorType.MANIFEST_MISMATCH


class InputMissingError(RunRecordError):
    """A required input does not exist (and the entrypoint has no no-input mode)."""

    error_type = ErrorType.INPUT_MISSING


class UpstreamError(RunRecordError):
    """The stop-the-line gate refused: the upstream record is error, missing or invalid."""

    error_type = ErrorType.UPSTREAM_ERROR


class PromotionError(RunRecordError):
    """An output could not be promoted atomically to its final path."""

    error_type = ErrorType.PROMOTION_FAILED


class ResourceError(RunRecordError):
    """The store or an artifact path is unusable: disk full, read-only, permission denied.

    Fragments already written are kept; ``runrecord recover`` finalizes the run later.
    """

    error_type = ErrorType.RESOURCE_ERROR


class RunNotFoundError(RunRecordError):
    """No open run (staging) and no record exists for a run id."""

    error_type = ErrorType.CONFIG_ERROR


class CountersError(RunRecordError):
    """Counters reported by pipeline code break a contract rule (negative, unnamed skip)."""

    error_type = ErrorType.RECORD_INVALID
