"""Pydantic models of every object the run record contract names.

Field names are exactly the contract's. Every field the contract requires is required here
and in the generated JSON Schema (``completed_at`` included: nullable, never defaulted
away); fields the contract calls optional default to ``None``. Contract objects forbid
unknown keys; ``extensions`` is the one place for extra data, and ``orchestrator`` holds
an adapter's identifiers. The few fields this project adds (``node``, ``skip_reasons``,
``reason``, ``record_count``, ``details`` on warnings) are declared, optional and
documented.

These models check the *shape* of a record. The rules a schema cannot express (counters
that add up, a status that agrees with the facts, ...) live in :mod:`runrecord.validate`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from runrecord.ids import ID_PATTERN, NAME_PATTERN
from runrecord.taxonomy import (
    ErrorType,
    EvidenceKind,
    PromotionStatus,
    ReasonCode,
    Resolution,
    Severity,
    SkipUnit,
    StageStatus,
    Status,
    WarningType,
)

__all__ = [
    "COUNTER_NAMES",
    "HASH_PATTERN",
    "RUN_RECORD_VERSION",
    "UNION_TAGS",
    "Counters",
    "Entrypoint",
    "Environment",
    "ErrorObject",
    "EvidencePointer",
    "ExceptionInfo",
    "GitInfo",
    "InputRef",
    "NodeRef",
    "OrchestratorInfo",
    "OutputRef",
    "Project",
    "RunRecord",
    "SchemaVersions",
    "SkipReason",
    "StageRecord",
    "Toolchain",
    "WarningObject",
    "format_timestamp",
]

RUN_RECORD_VERSION = "1.0.0"
"""The ``run_record_version`` this library writes."""

HASH_PATTERN = r"^(blake3|sha256):[0-9a-f]{64}$"
"""``data_hash`` and fingerprint values: ``"<algorithm>:<hex>"``."""

COUNTER_NAMES = (
    "files_seen",
    "files_processed",
    "files_skipped",
    "records_seen",
    "records_processed",
    "records_skipped",
    "artifacts_written",
    "errors_count",
    "warnings_count",
)
"""The nine counters every record carries at top level and in every stage."""

_COUNTER_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
_COUNTER_NAME_RE = re.compile(_COUNTER_NAME_PATTERN)

# ISO 8601 extended format with an explicit UTC designator. Python's fromisoformat alone
# accepts more (basic format, dates without times, other offsets).
_TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-]00:00)$"
)
_ISO_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _parse_timestamp(value: object) -> datetime:
    # A Python datetime with any time zone is unambiguous and converted to UTC; a string
    # (what a stored record holds) must already say UTC, as the contract requires.
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise PydanticCustomError(
                "timestamp_not_utc",
                "datetime {value} is naive; give it a time zone",
                {"value": str(value)},
            )
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise PydanticCustomError(
            "timestamp_format",
            "timestamp must be an ISO 8601 string, not {type}",
            {"type": type(value).__name__},
        )
    shown = {"value": value[:64]}
    if _ISO_RE.fullmatch(value) is None:
        raise PydanticCustomError(
            "timestamp_format",
            "timestamp '{value}' is not ISO 8601 UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)",
            shown,
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "timestamp_format", "timestamp '{value}' is not a real date and time", shown
        ) from None
    offset = parsed.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise PydanticCustomError(
            "timestamp_not_utc",
            "timestamp '{value}' is {what}; write it in UTC with 'Z'",
            {**shown, "what": "naive" if offset is None else "not in UTC"},
        )
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """Format a timezone-aware datetime the way records store it.

    Args:
        value: An aware datetime; converted to UTC.

    Returns:
        ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Examples:
        >>> from datetime import datetime, UTC
        >>> format_timestamp(datetime(2026, 11, 26, 10, 52, 24, tzinfo=UTC))
        '2026-11-26T10:52:24.000000Z'
    """
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


UtcTimestamp = Annotated[
    datetime,
    PlainValidator(_parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _TIMESTAMP_PATTERN}),
]
Name = Annotated[StrictStr, StringConstraints(pattern=NAME_PATTERN)]
ObjectId = Annotated[StrictStr, StringConstraints(pattern=ID_PATTERN)]
DataHash = Annotated[StrictStr, StringConstraints(pattern=HASH_PATTERN)]
Text = Annotated[StrictStr, StringConstraints(min_length=1, max_length=4096)]
Count = Annotated[StrictInt, Field(ge=0)]

# Unions are tagged so that a validation error names one branch, not every branch. The
# tags cannot be field names or names (``<`` is not allowed in either); the validator drops
# them from error locations.
UNION_TAGS = frozenset({"<id>", "<object>", "<string>", "<list>"})


def _id_or_object(value: object) -> str:
    return "<id>" if isinstance(value, str) else "<object>"


def _string_or_list(value: object) -> str:
    return "<list>" if isinstance(value, list) else "<string>"


class _ContractObject(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
    )


class Project(_ContractObject):
    """The project that ran, as declared in its registry."""

    project_id: Name
    """Stable project identifier."""
    project_name: Text
    """Human-readable project name."""
    repo_path: StrictStr | None = None
    """Repository path, when useful to a reader."""


class Entrypoint(_ContractObject):
    """What was run: a stable identifier, not a free-form description."""

    entrypoint_id: Name
    """Stable entrypoint identifier, e.g. ``sales.daily``; the gate looks records up by it."""
    entrypoint_name: StrictStr | None = None
    """Normalized human-readable name."""
    command: StrictStr | None = None
    """The command as executed, with secrets redacted."""


class EvidencePointer(_ContractObject):
    """A pointer to a durable artifact (never ephemeral stdout). Needs ``path`` or ``ref``."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["path"], "properties": {"path": {"type": "string"}}},
                {"required": ["ref"], "properties": {"ref": {"type": "string"}}},
            ]
        }
    )

    kind: EvidenceKind
    """What the pointer points at."""
    path: StrictStr | None = None
    """A file path."""
    ref: StrictStr | None = None
    """Any other reference: a URL, an object key, a log id."""
    note: StrictStr | None = None
    """Why this evidence matters."""

    @model_validator(mode="after")
    def _has_target(self) -> EvidencePointer:
        if self.path is None and self.ref is None:
            raise PydanticCustomError(
                "evidence_target", "an evidence pointer needs a 'path' or a 'ref'"
            )
        return self


class ExceptionInfo(_ContractObject):
    """The exception behind an error."""

    class_: Text = Field(alias="class")
    """Exception class, qualified by module (``builtins.ValueError``)."""
    trace: Annotated[StrictStr, StringConstraints(max_length=65536)] | None = None
    """Traceback, possibly truncated. Long traces belong in an evidence file instead."""


class ErrorObject(_ContractObject):
    """A structured error: what failed, where, with what evidence, and what to do."""

    error_id: ObjectId
    """Stable id within the run, derived from key fields (see ``runrecord.stable_id``)."""
    type: ErrorType
    """Controlled taxonomy value."""
    stage: Name
    """Stage where the error occurred (``run`` for run-level errors)."""
    message: Text
    """Short human-readable summary."""
    details: dict[str, JsonValue] | None = None
    """Structured payload, safe to store."""
    exception: ExceptionInfo | None = None
    """The exception, when one was raised."""
    evidence: list[EvidencePointer]
    """Pointers to durable evidence."""
    remediation_hint: Text
    """Short, actionable hint."""
    severity: Severity
    """``error`` or ``fatal``."""
    recorded_at: UtcTimestamp
    """When the error was recorded (UTC)."""


class WarningObject(_ContractObject):
    """A recoverable issue: recorded, but it does not stop the line."""

    warning_id: ObjectId
    """Stable id within the run."""
    type: WarningType
    """Controlled taxonomy value."""
    stage: Name
    """Stage where the warning arose (``run`` for run-level warnings)."""
    message: Text
    """Short human-readable summary."""
    details: dict[str, JsonValue] | None = None
    """Structured payload, safe to store."""
    evidence: list[EvidencePointer] = Field(default_factory=list)
    """Pointers to durable evidence."""
    recorded_at: UtcTimestamp
    """When the warning was recorded (UTC)."""


class Counters(_ContractObject):
    """The nine required counters, plus any counters the project adds.

    Extra counters are non-negative integers with snake_case names; the required ones can
    never be removed or renamed without a new ``run_record_version``.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"propertyNames": {"pattern": _COUNTER_NAME_PATTERN}},
    )
    __pydantic_extra__: dict[str, Count]

    files_seen: Count
    """Files discovered as candidate input."""
    files_processed: Count
    """Files actually consumed and transformed."""
    files_skipped: Count
    """Files intentionally not processed, each with a reason code."""
    records_seen: Count
    """Records discovered as candidate input (0 where records are not a concept)."""
    records_processed: Count
    """Records actually consumed and transformed."""
    records_skipped: Count
    """Records intentionally not processed, each with a reason code."""
    artifacts_written: Count
    """Outputs promoted."""
    errors_count: Count
    """Number of error objects at this level."""
    warnings_count: Count
    """Number of warning objects at this level."""

    @model_validator(mode="after")
    def _extra_names(self) -> Counters:
        for name in self.__pydantic_extra__:
            if not _COUNTER_NAME_RE.fullmatch(name):
                raise PydanticCustomError(
                    "counter_name",
                    "extra counter name '{name}' is not snake_case ([a-z][a-z0-9_]*)",
                    {"name": name[:64]},
                )
        return self

    @classmethod
    def zero(cls) -> Counters:
        """Return counters that are all zero.

        Examples:
            >>> Counters.zero().files_seen
            0
        """
        return cls.model_validate(dict.fromkeys(COUNTER_NAMES, 0))

    def as_dict(self) -> dict[str, int]:
        """Return every counter, required and extra, by name."""
        return {name: int(value) for name, value in self.model_dump().items()}


class SkipReason(_ContractObject):
    """Why files, records or a whole stage were intentionally not processed."""

    code: ReasonCode
    """Controlled reason code."""
    count: Annotated[StrictInt, Field(ge=1)]
    """How many were skipped for this reason (1 for a skipped stage)."""
    what: SkipUnit
    """What was skipped: ``files``, ``records`` or the ``stage`` itself."""
    note: StrictStr | None = None
    """Free-text context."""


class NodeRef(_ContractObject):
    """The orchestrator node a stage came from, so a reader can find it in the UI."""

    id: Text
    """Task id, op name or asset key."""
    attempt: Annotated[StrictInt, Field(ge=0)] | None = None
    """Attempt or try number, when the orchestrator has one."""


class StageRecord(_ContractObject):
    """One stage boundary of the run, listed in execution order."""

    stage: Name
    """Name from the project's declared stage set."""
    started_at: UtcTimestamp | None
    """When the stage started; null for a stage that never ran."""
    completed_at: UtcTimestamp | None
    """When the stage ended; null for a stage that never ran or did not finish."""
    status: StageStatus
    """``success``, ``skipped`` or ``error``."""
    counters: Counters
    """Stage-scoped counters."""
    warnings: list[
        Annotated[
            Annotated[ObjectId, Tag("<id>")] | Annotated[WarningObject, Tag("<object>")],
            Discriminator(_id_or_object),
        ]
    ]
    """Ids of warning objects in the record's ``warnings``, or embedded warning objects."""
    errors: list[
        Annotated[
            Annotated[ObjectId, Tag("<id>")] | Annotated[ErrorObject, Tag("<object>")],
            Discriminator(_id_or_object),
        ]
    ]
    """Ids of error objects in the record's ``errors``, or embedded error objects."""
    evidence: list[EvidencePointer]
    """Pointers to logs, files or artifacts relevant to the stage."""
    node: NodeRef | None = None
    """Orchestrator node (task / op / asset and attempt) this stage came from."""
    skip_reasons: list[SkipReason] = Field(default_factory=list)
    """Reason codes for skipped files, records, or the stage itself."""


class InputRef(_ContractObject):
    """A structured, traceable reference to an input artifact."""

    name: Text
    """Logical name, e.g. "event bus daily"."""
    artifact_family: Name
    """Artifact family; the key of ``schema_versions.read``."""
    path: Text
    """Path of the input data file or directory root."""
    manifest_path: StrictStr | None
    """Path of the input manifest; null only when the input is missing."""
    data_hash: DataHash | None
    """Hash of the data as the manifest declares it; null only when the input is missing."""
    schema_version: StrictStr | None
    """Schema version the input declares; null only when the input is missing."""
    required: StrictBool
    """Whether the run needs this input."""
    resolution: Resolution
    """``present``, ``missing`` or ``substituted``."""
    reason: ReasonCode | None = None
    """Reason code when the input is absent on purpose (``no_input_mode``)."""
    producing_run_id: Name | None = None
    """Run id of the run that produced the input, from its manifest: the link upstream."""


class OutputRef(_ContractObject):
    """A structured, traceable reference to an output artifact."""

    name: Text
    """Logical name."""
    artifact_family: Name
    """Artifact family; the key of ``schema_versions.written``."""
    path: Text
    """Path of the output data file or directory root."""
    manifest_path: StrictStr | None
    """Path of the output manifest; null only when not written."""
    data_hash: DataHash | None
    """Hash of the output data; null only when not written."""
    schema_version: StrictStr | None
    """Schema version emitted."""
    promotion_status: PromotionStatus
    """``staged``, ``promoted`` or ``not_written``."""
    required: StrictBool
    """Whether the run must produce this output; ``false`` only for outputs the registry
    declares optional."""
    reason: ReasonCode | None = None
    """Reason code when an optional output was not promoted."""
    record_count: Count | None = None
    """Number of records in the output, when records are a concept."""


SchemaVersionSet = Annotated[
    Annotated[StrictStr, StringConstraints(min_length=1), Tag("<string>")]
    | Annotated[list[Annotated[StrictStr, StringConstraints(min_length=1)]], Tag("<list>")],
    Discriminator(_string_or_list),
]


class SchemaVersions(_ContractObject):
    """Schema versions read and written, by artifact family."""

    read: dict[Name, SchemaVersionSet]
    """Artifact family → schema version (or list of versions) seen in inputs."""
    written: dict[Name, SchemaVersionSet]
    """Artifact family → schema version (or list of versions) emitted."""


class Toolchain(_ContractObject):
    """The language toolchain that ran the pipeline."""

    name: Text
    """E.g. ``python``."""
    version: Text
    """E.g. ``3.11.7``."""


class GitInfo(_ContractObject):
    """Source revision of the code that ran."""

    commit: Annotated[StrictStr, StringConstraints(pattern=r"^[0-9a-f]{7,64}$")] | None
    """Commit hash, if available."""
    dirty: StrictBool | None
    """Whether the work tree had uncommitted changes, if known."""


class Environment(_ContractObject):
    """Minimal, safe-to-store metadata to debug or reproduce the run. Never secrets."""

    hostname: StrictStr | None = None
    """Host that ran the run."""
    os: Text
    """Operating system, e.g. ``Linux-6.1``."""
    arch: Text
    """CPU architecture, e.g. ``x86_64``."""
    python_version: StrictStr | None = None
    """Python version, if relevant."""
    toolchain: Toolchain
    """Language toolchain."""
    git: GitInfo | None
    """Source revision; null when the code is not in a git work tree."""
    dependency_lock_hash: DataHash | None = None
    """Hash of the dependency lock file (uv.lock, poetry.lock, requirements*.txt)."""
    config_fingerprint: DataHash
    """Hash of the effective configuration (never the configuration itself)."""


class OrchestratorInfo(_ContractObject):
    """The orchestrator's own identifiers for this run, filled in by adapters."""

    name: Text
    """``dagster``, ``prefect``, ``airflow``, ..."""
    version: StrictStr | None = None
    """Orchestrator version."""
    run_id: StrictStr | None = None
    """The orchestrator's run id (not necessarily filename-safe)."""
    job: StrictStr | None = None
    """Job, DAG or flow name."""
    attempt: StrictInt | None = None
    """Run attempt, when the orchestrator retries whole runs."""
    url: StrictStr | None = None
    """Link to the run in the orchestrator's UI."""


class RunRecord(_ContractObject):
    """The authoritative audit trail of one execution of a pipeline entrypoint."""

    model_config = ConfigDict(
        title="RunRecord",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:runrecord:schema:run_record:{RUN_RECORD_VERSION}",
        },
    )

    run_record_version: Literal["1.0.0"]
    """Version of the run record schema."""
    run_id: Name
    """Unique id of this run within the project; also the record's file name."""
    created_at: UtcTimestamp
    """When the record was created (UTC)."""
    completed_at: UtcTimestamp | None
    """When the run completed (UTC); null if the process crashed before finalization."""
    status: Status
    """Derived run status."""
    project: Project
    """The project, from its registry."""
    entrypoint: Entrypoint
    """What was run."""
    stages: list[StageRecord]
    """Stage records in execution order."""
    inputs: list[InputRef]
    """Inputs the run resolved or attempted to resolve."""
    outputs: list[OutputRef]
    """Outputs the run declared."""
    schema_versions: SchemaVersions
    """Schema versions read and written."""
    counters: Counters
    """Run-level counters (stage counters summed, plus run-level ones)."""
    warnings: list[WarningObject]
    """Every warning object of the run."""
    errors: list[ErrorObject]
    """Every error object of the run."""
    environment: Environment
    """Minimal environment metadata."""
    orchestrator: OrchestratorInfo | None = None
    """The orchestrator's identifiers, when an adapter wrote the record."""
    skip_reasons: list[SkipReason] = Field(default_factory=list)
    """Reason codes for files or records skipped at run level, outside any stage."""
    extensions: dict[str, JsonValue] = Field(default_factory=dict)
    """The one place for data the contract does not define."""

    def to_json(self) -> bytes:
        """Serialize the record the way it is stored: UTF-8 JSON, indented, newline-ended.

        Returns:
            The record's bytes.
        """
        return self.model_dump_json(indent=2).encode() + b"\n"

    def all_errors(self) -> list[ErrorObject]:
        """Return every error object: the top-level ones, then any embedded in stages."""
        embedded = [e for s in self.stages for e in s.errors if isinstance(e, ErrorObject)]
        return [*self.errors, *embedded]

    def all_warnings(self) -> list[WarningObject]:
        """Return every warning object: the top-level ones, then any embedded in stages."""
        embedded = [w for s in self.stages for w in s.warnings if isinstance(w, WarningObject)]
        return [*self.warnings, *embedded]
