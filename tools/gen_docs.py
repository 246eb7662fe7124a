"""Write the reference pages generated from code: docs/taxonomy.md, docs/validation-rules.md.

Run `python tools/gen_docs.py` (in any environment with runrecord installed) after changing
a vocabulary or a rule; a core test fails while the pages are stale.
"""

from __future__ import annotations

from pathlib import Path

from runrecord import RULES
from runrecord.taxonomy import vocabularies

DOCS = Path(__file__).resolve().parents[1] / "docs"

_TITLES = {
    "statuses": "Run statuses (`status`)",
    "stage_statuses": "Stage statuses (`stages[].status`)",
    "input_resolutions": "Input resolutions (`inputs[].resolution`)",
    "promotion_statuses": "Promotion statuses (`outputs[].promotion_status`)",
    "severities": "Error severities (`errors[].severity`)",
    "evidence_kinds": "Evidence kinds (`evidence[].kind`)",
    "error_types": "Error types (`errors[].type`)",
    "warning_types": "Warning types (`warnings[].type`)",
    "skip_reason_codes": "Skip reason codes (`skip_reasons[].code`, `inputs[].reason`, "
    "`outputs[].reason`)",
    "skip_units": "Skip units (`skip_reasons[].what`)",
}


def render_taxonomy() -> str:
    """Render the controlled vocabularies as Markdown."""
    lines = [
        "# Controlled vocabularies",
        "",
        "Generated from `runrecord/taxonomy.py` by `python tools/gen_docs.py`; do not edit.",
        "",
        "Every value below is part of `run_record_version` 1.0.0. Adding, removing or renaming",
        "one is a change-controlled act: an ADR, a version bump and a migration note (see the",
        "README). Stage names are not a vocabulary of the library: each project declares its",
        "stage set in its registry; the stage name `run` is always allowed for errors and",
        "warnings that belong to the run as a whole.",
        "",
    ]
    for key, enum in vocabularies().items():
        lines += [f"## {_TITLES[key]}", "", "| value | meaning | typical remediation |"]
        lines.append("|---|---|---|")
        for member in enum:
            remedy = member.remediation or "—"
            lines.append(f"| `{member.value}` | {member.meaning} | {remedy} |")
        lines.append("")
    return "\n".join(lines)


def render_rules() -> str:
    """Render the validator's rule ids as Markdown."""
    lines = [
        "# Validation rules",
        "",
        "Generated from `runrecord/validate.py` by `python tools/gen_docs.py`; do not edit.",
        "",
        "`runrecord validate` and `runrecord.validate_record` report every problem with a JSON",
        "pointer, one of these rule ids and a message. `json.*` and `version.*` rules stop",
        "reading; `schema.*` and `timestamp.format`/`timestamp.utc` come from the schema;",
        "the rest are semantic rules, checked once the record is well-formed; `registry.*`",
        "rules run only when a registry is given (`--registry`).",
        "",
        "| rule | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{rule}` | {text} |" for rule, text in RULES.items()]
    lines.append("")
    return "\n".join(lines)


PAGES = {"taxonomy.md": render_taxonomy, "validation-rules.md": render_rules}


def main() -> None:
    """Write every generated page."""
    DOCS.mkdir(exist_ok=True)
    for name, render in PAGES.items():
        (DOCS / name).write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
