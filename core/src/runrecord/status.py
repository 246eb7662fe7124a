"""Stop-the-line status semantics, as code.

:func:`assess` reads the facts of a record (errors, inputs, outputs, stages) and says which
status they allow. The validator uses it to check that a record's status agrees with its
facts; the writer uses it to derive the status it writes. Neither trusts a caller's claim.

The rules, from the contract:

- ``error`` — any error object (every error has severity error or fatal), a stage that
  ended in error, a required input missing (outside a declared no-input mode), or a
  required output not promoted.
- ``partial_success`` — no error facts, but optional outputs were not promoted or stages
  were skipped; each such part must carry a reason code.
- ``empty_success`` — no error facts and nothing degraded, and either the entrypoint ran
  in its declared no-input mode (reason code ``no_input_mode``) or every output was
  promoted with a manifest and zero records.
- ``success`` — everything else.

Skipping *records* inside a stage (duplicates, filtered rows) is normal processing and
lowers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from runrecord.model import RunRecord
from runrecord.taxonomy import (
    PromotionStatus,
    ReasonCode,
    Resolution,
    SkipUnit,
    StageStatus,
    Status,
)

__all__ = ["Assessment", "Fact", "assess"]


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact that constrains the status.

    Attributes:
        pointer: JSON pointer of the part of the record the fact is about.
        message: The fact in words.
        reason: The reason code the part carries, if any.
    """

    pointer: str
    message: str
    reason: ReasonCode | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the facts of a record allow.

    Attributes:
        error_facts: Facts that make the run ``error``.
        degraded: Optional parts absent or skipped (allow at best ``partial_success``).
        no_input_mode: A required input is absent under a declared no-input mode.
        empty_outputs: There are outputs, all promoted with manifests and zero records.
    """

    error_facts: tuple[Fact, ...] = ()
    degraded: tuple[Fact, ...] = ()
    no_input_mode: bool = False
    empty_outputs: bool = False

    @property
    def derived(self) -> Status:
        """The best status the facts allow."""
        if self.error_facts:
            return Status.ERROR
        if self.degraded:
            return Status.PARTIAL_SUCCESS
        if self.no_input_mode or self.empty_outputs:
            return Status.EMPTY_SUCCESS
        return Status.SUCCESS


def assess(record: RunRecord) -> Assessment:
    """Collect the facts of ``record`` that decide its status.

    Args:
        record: A record that passed schema validation (its own ``status`` is ignored).

    Returns:
        The assessment; ``assess(record).derived`` is the status the facts allow.
    """
    errors: list[Fact] = []
    degraded: list[Fact] = []
    no_input_mode = False

    for i, error in enumerate(record.errors):
        errors.append(Fact(f"/errors/{i}", f"error {error.error_id} ({error.type})"))
    for i, stage in enumerate(record.stages):
        ptr = f"/stages/{i}"
        for j, item in enumerate(stage.errors):
            if not isinstance(item, str):
                errors.append(Fact(f"{ptr}/errors/{j}", f"error {item.error_id} ({item.type})"))
        if stage.status is StageStatus.ERROR:
            errors.append(Fact(f"{ptr}/status", f"stage {stage.stage!r} ended in error"))
        elif stage.status is StageStatus.SKIPPED:
            reason = next((r.code for r in stage.skip_reasons if r.what is SkipUnit.STAGE), None)
            degraded.append(Fact(f"{ptr}/status", f"stage {stage.stage!r} was skipped", reason))

    for i, inp in enumerate(record.inputs):
        if inp.required and inp.resolution is Resolution.MISSING:
            if inp.reason is ReasonCode.NO_INPUT_MODE:
                no_input_mode = True
            else:
                errors.append(
                    Fact(f"/inputs/{i}/resolution", f"required input {inp.name!r} is missing")
                )

    for i, out in enumerate(record.outputs):
        if out.promotion_status is PromotionStatus.PROMOTED:
            continue
        ptr = f"/outputs/{i}/promotion_status"
        what = f"output {out.name!r} is {out.promotion_status}"
        if out.required:
            errors.append(Fact(ptr, f"required {what}"))
        else:
            degraded.append(Fact(ptr, f"optional {what}", out.reason))

    empty_outputs = bool(record.outputs) and all(
        o.promotion_status is PromotionStatus.PROMOTED
        and o.manifest_path is not None
        and o.record_count == 0
        for o in record.outputs
    )
    return Assessment(
        error_facts=tuple(errors),
        degraded=tuple(degraded),
        no_input_mode=no_input_mode,
        empty_outputs=empty_outputs,
    )
