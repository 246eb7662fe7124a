"""runrecord: one immutable, validated JSON run record for every pipeline run.

The package root exports the whole public API; adapters import nothing else. It never
imports an orchestrator.

Examples:
    >>> import runrecord
    >>> runrecord.validate_record(b"{}").valid
    False
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from runrecord.errors import (
    ConfigError,
    IntegrityError,
    RecordExistsError,
    RecordInvalidError,
    RunRecordError,
    SchemaMismatchError,
    UnsafeNameError,
)
from runrecord.ids import check_name, stable_id
from runrecord.model import (
    COUNTER_NAMES,
    RUN_RECORD_VERSION,
    Counters,
    Entrypoint,
    Environment,
    ErrorObject,
    EvidencePointer,
    ExceptionInfo,
    GitInfo,
    InputRef,
    NodeRef,
    OrchestratorInfo,
    OutputRef,
    Project,
    RunRecord,
    SchemaVersions,
    SkipReason,
    StageRecord,
    Toolchain,
    WarningObject,
)
from runrecord.redact import is_secret_key, redact, redact_text
from runrecord.registry import REGISTRY_ENV_VAR, Registry, find_registry_file, load_registry
from runrecord.schema import generate_schema, load_schema
from runrecord.status import Assessment, assess
from runrecord.taxonomy import (
    RUN_STAGE,
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
from runrecord.validate import RULES, Problem, ValidationReport, read_record, validate_record

try:
    __version__ = version("runrecord")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "COUNTER_NAMES",
    "REGISTRY_ENV_VAR",
    "RULES",
    "RUN_RECORD_VERSION",
    "RUN_STAGE",
    "Assessment",
    "ConfigError",
    "Counters",
    "Entrypoint",
    "Environment",
    "ErrorObject",
    "ErrorType",
    "EvidenceKind",
    "EvidencePointer",
    "ExceptionInfo",
    "GitInfo",
    "InputRef",
    "IntegrityError",
    "NodeRef",
    "OrchestratorInfo",
    "OutputRef",
    "Problem",
    "Project",
    "PromotionStatus",
    "ReasonCode",
    "RecordExistsError",
    "RecordInvalidError",
    "Registry",
    "Resolution",
    "RunRecord",
    "RunRecordError",
    "SchemaMismatchError",
    "SchemaVersions",
    "Severity",
    "SkipReason",
    "SkipUnit",
    "StageRecord",
    "StageStatus",
    "Status",
    "Toolchain",
    "UnsafeNameError",
    "ValidationReport",
    "WarningObject",
    "WarningType",
    "__version__",
    "assess",
    "check_name",
    "find_registry_file",
    "generate_schema",
    "is_secret_key",
    "load_registry",
    "load_schema",
    "read_record",
    "redact",
    "redact_text",
    "stable_id",
    "validate_record",
]
