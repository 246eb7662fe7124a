"""The contract's controlled vocabularies.

Every value carries its meaning and a typical remediation, so that the documentation
(``docs/taxonomy.md``), the JSON Schema and the hints written into records come from one
place. Adding, removing or renaming a value is a change-controlled act: it needs an ADR, a
``run_record_version`` bump and a migration note (see the README).

Stage names are deliberately *not* an enum: they are the project's declared stage set, read
from the registry.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "RUN_STAGE",
    "ErrorType",
    "EvidenceKind",
    "PromotionStatus",
    "ReasonCode",
    "Resolution",
    "Severity",
    "SkipUnit",
    "StageStatus",
    "Status",
    "WarningType",
    "vocabularies",
]

RUN_STAGE = "run"
"""Stage name for errors and warnings that belong to the run as a whole (an input that could
not be resolved before any stage began, a crashed process). Always allowed, in addition to
the registry's stage set."""


class _Documented(StrEnum):
    """A string enum whose members carry a meaning and a typical remediation."""

    @property
    def meaning(self) -> str:
        """What the value means."""
        return _DOCS[type(self).__name__, self.value][0]

    @property
    def remediation(self) -> str:
        """What a person typically does about it ("" where nothing applies)."""
        return _DOCS[type(self).__name__, self.value][1]


_DOCS: dict[tuple[str, str], tuple[str, str]] = {}


def _document(enum: type[_Documented], docs: dict[str, tuple[str, str]]) -> None:
    missing = {m.value for m in enum} ^ set(docs)
    if missing:  # pragma: no cover - caught by any import
        raise RuntimeError(f"{enum.__name__}: undocumented or unknown values {missing}")
    _DOCS.update({(enum.__name__, value): text for value, text in docs.items()})


class Status(_Documented):
    """Run status. Derived from the facts in the record, never trusted from a caller."""

    SUCCESS = "success"
    EMPTY_SUCCESS = "empty_success"
    PARTIAL_SUCCESS = "partial_success"
    ERROR = "error"


_document(
    Status,
    {
        "success": (
            "Required outputs were produced, promoted and are valid.",
            "Nothing to do; downstream work may proceed.",
        ),
        "empty_success": (
            (
                "The run completed and produced valid empty outputs with manifests, or ran in the "
                "entrypoint's declared no-input mode (reason code `no_input_mode`)."
            ),
            "Nothing to do, unless data was expected: check the inputs' windows and filters.",
        ),
        "partial_success": (
            (
                "The run completed, but optional outputs failed or non-critical stages were "
                "skipped, each with a reason code. Only possible for outputs and stages the "
                "registry declares optional."
            ),
            "Read the reason codes and warnings; rerun when the optional parts are needed.",
        ),
        "error": (
            (
                "A required input or output is missing, validation failed, a manifest or hash did "
                "not match, promotion failed, or an error was recorded. Downstream work must stop."
            ),
            "Read the errors and their remediation hints; fix the cause and rerun.",
        ),
    },
)


class StageStatus(_Documented):
    """Outcome of one stage attempt."""

    SUCCESS = "success"
    SKIPPED = "skipped"
    ERROR = "error"


_document(
    StageStatus,
    {
        "success": (
            "The stage ran to completion.",
            "Nothing to do.",
        ),
        "skipped": (
            "The stage did not run; its skip reason says why.",
            "Read the reason code; for `upstream_failed`, fix the upstream stage first.",
        ),
        "error": (
            "The stage failed; its errors say how.",
            "Read the stage's errors and remediation hints.",
        ),
    },
)


class Resolution(_Documented):
    """How an input was resolved."""

    PRESENT = "present"
    MISSING = "missing"
    SUBSTITUTED = "substituted"


_document(
    Resolution,
    {
        "present": (
            "The input was found and its manifest read.",
            "Nothing to do.",
        ),
        "missing": (
            (
                "The input was not found. A required missing input makes the run `error`, unless "
                "the entrypoint declares a no-input mode."
            ),
            "Check that the upstream run succeeded and wrote to the expected path.",
        ),
        "substituted": (
            (
                "Another artifact was used in place of the declared one (a fallback or an older "
                "partition); a warning says which."
            ),
            (
                "Check the warning; rerun once the declared input exists if the substitute is not "
                "acceptable."
            ),
        ),
    },
)


class PromotionStatus(_Documented):
    """Where an output got to on the staged → promoted path."""

    STAGED = "staged"
    PROMOTED = "promoted"
    NOT_WRITTEN = "not_written"


_document(
    PromotionStatus,
    {
        "staged": (
            "The output was written and hashed in its staging location but not promoted.",
            (
                "A required staged output makes the run `error`: find why promotion did not happen"
                " and rerun."
            ),
        ),
        "promoted": (
            "The output was promoted to its final path with its manifest.",
            "Nothing to do.",
        ),
        "not_written": (
            "The output was never written.",
            "For a required output, read the run's errors; for an optional one, its reason code.",
        ),
    },
)


class Severity(_Documented):
    """Severity of an error object. Every error stops the line; `fatal` also ended the run."""

    ERROR = "error"
    FATAL = "fatal"


_document(
    Severity,
    {
        "error": (
            "The run cannot be trusted; it may have continued past the failure.",
            "Fix the cause and rerun.",
        ),
        "fatal": (
            "The run stopped at this error.",
            "Fix the cause and rerun.",
        ),
    },
)


class EvidenceKind(_Documented):
    """What an evidence pointer points at. Evidence is durable, never ephemeral stdout."""

    FILE = "file"
    MANIFEST = "manifest"
    LOG = "log"
    ARTIFACT = "artifact"
    URL = "url"


_document(
    EvidenceKind,
    {
        "file": (
            "A file on disk or object storage.",
            "",
        ),
        "manifest": (
            "An artifact manifest.",
            "",
        ),
        "log": (
            "A stored log or trace file.",
            "",
        ),
        "artifact": (
            "A pipeline artifact (data file or directory).",
            "",
        ),
        "url": (
            "A durable URL, such as an orchestrator's run page.",
            "",
        ),
    },
)


class ErrorType(_Documented):
    """Error taxonomy: the `type` of an error object."""

    INPUT_MISSING = "input_missing"
    INPUT_INVALID = "input_invalid"
    SCHEMA_MISMATCH = "schema_mismatch"
    MANIFEST_MISMATCH = "manifest_mismatch"
    INTEGRITY_ERROR = "integrity_error"
    UPSTREAM_ERROR = "upstream_error"
    OUTPUT_MISSING = "output_missing"
    OUTPUT_INVALID = "output_invalid"
    PROMOTION_FAILED = "promotion_failed"
    CONFIG_ERROR = "config_error"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    CRASHED = "crashed"
    RESOURCE_ERROR = "resource_error"
    RECORD_INVALID = "record_invalid"


_document(
    ErrorType,
    {
        "input_missing": (
            "A required input could not be found.",
            "Check that the upstream run succeeded and wrote to the expected path, then rerun.",
        ),
        "input_invalid": (
            "An input was found but its content is invalid.",
            "Inspect the input and the run that produced it; do not repair it by hand.",
        ),
        "schema_mismatch": (
            "An input, output or record has a schema version this code does not accept.",
            "Upgrade the reader or pin the producer to a supported schema version.",
        ),
        "manifest_mismatch": (
            "A manifest is missing, unreadable or disagrees with the artifact it describes.",
            "Rerun the producing run so that data and manifest are written together.",
        ),
        "integrity_error": (
            "The data's hash differs from the hash its manifest declares.",
            "Treat the data as tampered or torn: rerun the producer; never edit the manifest.",
        ),
        "upstream_error": (
            "The gate refused to start: the upstream record is `error`, missing or invalid.",
            "Fix and rerun the upstream entrypoint, then rerun this one.",
        ),
        "output_missing": (
            "A required output was not written.",
            "Read the stage errors that precede this one; fix them and rerun.",
        ),
        "output_invalid": (
            "An output was written but failed its own validation.",
            "Fix the transformation that produced it and rerun.",
        ),
        "promotion_failed": (
            (
                "An output or the record could not be promoted atomically (it already exists, or "
                "the move failed)."
            ),
            (
                "Check the target directory's permissions and free space; never overwrite a "
                "promoted artifact, use a new run id."
            ),
        ),
        "config_error": (
            "The project registry or the run's configuration is missing or invalid.",
            "Fix the file and key named in the message.",
        ),
        "runtime_error": (
            "User code raised an exception.",
            "Read the exception class and the stored trace; fix the code or the data it met.",
        ),
        "timeout": (
            "A stage or the run exceeded its time limit.",
            "Find the slow step in the stage timings; raise the limit only if the work grew.",
        ),
        "cancelled": (
            "The run was cancelled by a person or the orchestrator.",
            "Rerun when appropriate.",
        ),
        "crashed": (
            (
                "The process died before finalizing (killed, out of memory, lost worker); the "
                "record was recovered from the stages that finished."
            ),
            "Check the worker's memory and logs around the time of the last stage, then rerun.",
        ),
        "resource_error": (
            "A resource was unavailable: disk full, permission denied, a service unreachable.",
            "Free or grant the resource named in the message, then rerun.",
        ),
        "record_invalid": (
            "The run record failed validation; it was written as `error` with the problems named.",
            "Fix the code that reported the inconsistent facts (counters, ids, outputs).",
        ),
    },
)


class WarningType(_Documented):
    """Warning taxonomy: the `type` of a warning object. Warnings do not stop the line."""

    OPTIONAL_INPUT_MISSING = "optional_input_missing"
    INPUT_SUBSTITUTED = "input_substituted"
    SCHEMA_DRIFT_HANDLED = "schema_drift_handled"
    VALIDATION_DOWNGRADED = "validation_downgraded"
    RECORDS_SKIPPED = "records_skipped"
    OPTIONAL_OUTPUT_MISSING = "optional_output_missing"
    DEPRECATED_SCHEMA_VERSION = "deprecated_schema_version"


_document(
    WarningType,
    {
        "optional_input_missing": (
            "An optional input was not found; the run continued without it.",
            "Nothing, unless the input was expected.",
        ),
        "input_substituted": (
            "A substitute was used for an input (resolution `substituted`).",
            "Rerun once the declared input exists if the substitute is not acceptable.",
        ),
        "schema_drift_handled": (
            "An input's schema differed in a way the code handles (a new optional column).",
            "Update the declared schema version when convenient.",
        ),
        "validation_downgraded": (
            "A validation failure was recorded as a warning by an explicit project rule.",
            "Review the rule that downgraded it.",
        ),
        "records_skipped": (
            "More records than usual were skipped; counts and reason codes are in the stage.",
            "Check the skip reasons for a change in the input data.",
        ),
        "optional_output_missing": (
            "An optional output was not written (the run is `partial_success`).",
            "Read the output's reason code; rerun if the output is needed.",
        ),
        "deprecated_schema_version": (
            "An input uses a schema version that is still accepted but deprecated.",
            "Upgrade the producer before support is removed.",
        ),
    },
)


class ReasonCode(_Documented):
    """Skip reason codes: why something was intentionally not processed or is absent.

    Covers skipped files, records and stages, and optional inputs and outputs that are
    absent on purpose.
    """

    DUPLICATE = "duplicate"
    FILTERED = "filtered"
    ALREADY_PROCESSED = "already_processed"
    OUT_OF_WINDOW = "out_of_window"
    QUARANTINED_INVALID = "quarantined_invalid"
    UPSTREAM_FAILED = "upstream_failed"
    UPSTREAM_EMPTY = "upstream_empty"
    NOT_SELECTED = "not_selected"
    NO_INPUT_MODE = "no_input_mode"
    OPTIONAL_FAILED = "optional_failed"


_document(
    ReasonCode,
    {
        "duplicate": (
            "The item duplicates one already processed.",
            "Nothing; check the source if duplicates grow.",
        ),
        "filtered": (
            "A filter of the pipeline excluded the item.",
            "Nothing.",
        ),
        "already_processed": (
            "An earlier run already processed the item.",
            "Nothing; force a reprocess if that is what you want.",
        ),
        "out_of_window": (
            "The item is outside the run's time or partition window.",
            "Nothing, unless the window is wrong.",
        ),
        "quarantined_invalid": (
            "The item was invalid and moved to quarantine.",
            "Inspect the quarantine and fix the producer.",
        ),
        "upstream_failed": (
            "The stage did not run because something upstream failed.",
            "Fix the upstream failure first.",
        ),
        "upstream_empty": (
            "Nothing to do: the upstream produced no data.",
            "Nothing, unless data was expected upstream.",
        ),
        "not_selected": (
            "The item or stage was not selected for this run (a subset run).",
            "Nothing.",
        ),
        "no_input_mode": (
            (
                "A required input is absent and the entrypoint declares a no-input mode; the run "
                "is `empty_success`."
            ),
            "Nothing, unless input was expected.",
        ),
        "optional_failed": (
            "An optional output or stage failed; a warning in the record carries the details.",
            "Read the warning; rerun if the optional part is needed.",
        ),
    },
)


class SkipUnit(_Documented):
    """What a skip reason counts."""

    FILES = "files"
    RECORDS = "records"
    STAGE = "stage"


_document(
    SkipUnit,
    {
        "files": (
            "Counts files (`files_skipped`).",
            "",
        ),
        "records": (
            "Counts records (`records_skipped`).",
            "",
        ),
        "stage": (
            "The stage itself was skipped (count 1).",
            "",
        ),
    },
)


def vocabularies() -> dict[str, type[_Documented]]:
    """Return every controlled vocabulary by the name the documentation uses.

    Returns:
        A mapping from vocabulary name to its enum class, in documentation order.

    Examples:
        >>> sorted(vocabularies())[:2]
        ['error_types', 'evidence_kinds']
    """
    return {
        "statuses": Status,
        "stage_statuses": StageStatus,
        "input_resolutions": Resolution,
        "promotion_statuses": PromotionStatus,
        "severities": Severity,
        "evidence_kinds": EvidenceKind,
        "error_types": ErrorType,
        "warning_types": WarningType,
        "skip_reason_codes": ReasonCode,
        "skip_units": SkipUnit,
    }
