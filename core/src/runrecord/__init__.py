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
    CountersError,
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
from runrecord.finalize import FinalizeResult, finalize_run, staged_stages
from runrecord.gate import Verdict, check_upstream, latest_record, upstream_error
from runrecord.hashing import hash_bytes, hash_file, hash_path
from runrecord.ids import check_name, run_id_for, stable_id
from runrecord.inprocess import OutputWriter, Run, Stage, StageReport, output_writer, run
from runrecord.manifest import (
    Manifest,
    ManifestFile,
    build_manifest,
    manifest_path_for,
    read_manifest,
    verify,
    write_manifest,
)
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
from runrecord.objectstore import ObjectPath, ObjectStore
from runrecord.recorder import (
    check_counts,
    error_from_exception,
    error_object,
    is_recorded,
    mark_recorded,
    new_run_id,
    open_run,
    output_not_written,
    promote_output,
    recorded_error,
    resolve_input,
    warning_object,
    write_note,
    write_output,
    write_stage,
    write_unreported_stage,
)
from runrecord.recover import Recovered, recover
from runrecord.redact import is_secret_key, redact, redact_text
from runrecord.registry import REGISTRY_ENV_VAR, Registry, find_registry_file, load_registry
from runrecord.schema import generate_schema, load_schema
from runrecord.status import Assessment, assess
from runrecord.store import Store, open_store
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
    "CountersError",
    "Entrypoint",
    "Environment",
    "ErrorObject",
    "ErrorType",
    "EvidenceKind",
    "EvidencePointer",
    "ExceptionInfo",
    "FinalizeResult",
    "GitInfo",
    "InputMissingError",
    "InputRef",
    "IntegrityError",
    "Manifest",
    "ManifestError",
    "ManifestFile",
    "NodeRef",
    "ObjectPath",
    "ObjectStore",
    "OrchestratorInfo",
    "OutputRef",
    "OutputWriter",
    "Problem",
    "Project",
    "PromotionError",
    "PromotionStatus",
    "ReasonCode",
    "RecordExistsError",
    "RecordInvalidError",
    "Recovered",
    "Registry",
    "Resolution",
    "ResourceError",
    "Run",
    "RunNotFoundError",
    "RunRecord",
    "RunRecordError",
    "SchemaMismatchError",
    "SchemaVersions",
    "Severity",
    "SkipReason",
    "SkipUnit",
    "Stage",
    "StageRecord",
    "StageReport",
    "StageStatus",
    "Status",
    "Store",
    "Toolchain",
    "UnsafeNameError",
    "UpstreamError",
    "ValidationReport",
    "Verdict",
    "WarningObject",
    "WarningType",
    "__version__",
    "assess",
    "build_manifest",
    "check_counts",
    "check_name",
    "check_upstream",
    "error_from_exception",
    "error_object",
    "finalize_run",
    "find_registry_file",
    "generate_schema",
    "hash_bytes",
    "hash_file",
    "hash_path",
    "is_recorded",
    "is_secret_key",
    "latest_record",
    "load_registry",
    "load_schema",
    "manifest_path_for",
    "mark_recorded",
    "new_run_id",
    "open_run",
    "open_store",
    "output_not_written",
    "output_writer",
    "promote_output",
    "read_manifest",
    "read_record",
    "recorded_error",
    "recover",
    "redact",
    "redact_text",
    "resolve_input",
    "run",
    "run_id_for",
    "stable_id",
    "staged_stages",
    "upstream_error",
    "validate_record",
    "verify",
    "warning_object",
    "write_manifest",
    "write_note",
    "write_output",
    "write_stage",
    "write_unreported_stage",
]
