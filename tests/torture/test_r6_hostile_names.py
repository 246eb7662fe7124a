"""R6 — hostile names: refused with a typed error; nothing written outside the store or the
declared output directories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torture_support import Figures, Row, registry_file

import runrecord

STAGES = ["extract"]

HOSTILE = [
    "",
    ".",
    "..",
    "../x",
    "../../etc/passwd",
    "/abs",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "a\x00b",
    "a\nb",
    "a\rb",
    "tab\there",
    " lead",
    "trail ",
    ".hidden",
    "ｓａｌｅｓ",  # fullwidth letters  # noqa: RUF001
    "sales\u202egnp",  # right-to-left override
    "sa\u200bles",  # zero-width space
    "x" * 10_000,
    "C:\\windows",
    "~root",
    "$HOME",
    "a;rm -rf /",
    "é",
]


def _snapshot(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def test_hostile_names_are_refused_and_nothing_escapes(tmp_path: Path, figures: Figures) -> None:
    registry = runrecord.load_registry(registry_file(tmp_path, stages=STAGES))
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    attempts: list[tuple[str, Callable[[str], object]]] = [
        ("run id", lambda v: runrecord.open_run("torture.h", registry=registry, run_id=v)),
        ("entrypoint", lambda v: runrecord.open_run(v, registry=registry)),
        ("run() run id", lambda v: runrecord.run("torture.h", registry=registry, run_id=v)),
        ("run() entrypoint", lambda v: runrecord.run(v, registry=registry)),
        ("run_id_for entrypoint", lambda v: runrecord.run_id_for(v, "x")),
        ("check_name", runrecord.check_name),
        (
            "registry stage",
            lambda v: runrecord.Registry(project_id="p", project_name="P", stages=[v]),
        ),
        (
            "registry project id",
            lambda v: runrecord.Registry(project_id=v, project_name="P", stages=["s"]),
        ),
    ]
    refused = unhandled = accepted = 0
    before = _snapshot(tmp_path)
    for value in HOSTILE:
        for what, attempt in attempts:
            try:
                attempt(value)
                accepted += 1
                print(f"accepted {what}: {value[:40]!r}")
            except runrecord.RunRecordError:
                refused += 1
            except Exception as exc:  # noqa: BLE001 - what this counts
                unhandled += 1
                print(f"unhandled {what}: {value[:40]!r}: {exc!r}")
    after_names = _snapshot(tmp_path)

    # Names used inside a run: stage names, families, output and input paths, evidence.
    in_run = 0
    with runrecord.run("torture.h", registry=registry, command="t") as run:
        for value in HOSTILE:
            for attempt in (
                run.stage,
                lambda v: run.skip_stage(v, "not_selected"),
                lambda v: run.output("o", outputs / "x.csv", artifact_family=v, schema_version="1"),
                lambda v: run.input("i", outputs / "x.csv", artifact_family=v),
                lambda v: run.warn("records_skipped", "w", stage=v),
            ):
                in_run += 1
                try:
                    attempt(value)
                    accepted += 1
                    print(f"accepted in a run: {value[:40]!r}")
                except runrecord.RunRecordError:
                    refused += 1
                except Exception as exc:  # noqa: BLE001 - what this counts
                    unhandled += 1
                    print(f"unhandled in a run: {value[:40]!r}: {exc!r}")
            if "\x00" in value or "\n" in value or len(value) > 4096 or not value:
                for attempt in (
                    lambda v: run.output("o", v, artifact_family="t", schema_version="1"),
                    lambda v: run.input("i", v, artifact_family="t"),
                ):
                    in_run += 1
                    try:
                        attempt(value)
                        accepted += 1
                    except runrecord.RunRecordError:
                        refused += 1
                    except Exception:  # noqa: BLE001
                        unhandled += 1
    assert run.record.status == "success"  # every hostile piece was refused before recording

    allowed = {registry.record_dir, outputs}
    escaped = sorted(
        str(p)
        for p in _snapshot(tmp_path) - before
        if not any(p == a or a in p.parents for a in allowed)
    )
    figures.add(
        Row(
            "R6 hostile names and paths",
            trials=len(HOSTILE) * len(attempts) + in_run,
            failures=accepted + len(escaped),
            unhandled=unhandled,
            note=f"{refused} refused",
        )
    )
    assert after_names == before  # refused before anything was written
    assert (accepted, unhandled, escaped) == (0, 0, [])
