"""The ``runrecord`` command.

Exit status: 0 when everything checked is fine, 1 when something checked is not (an
invalid record, a gate that blocks, a run that could not be recovered), 2 for a usage error
(no such path or run, bad option, bad registry, unreadable store). A user mistake never
prints a traceback.

``show``, ``ls``, ``gate`` and ``recover`` work on one run record directory: the one given
with ``--dir``, else the one the project registry names (``--registry``, else
``RUNRECORD_REGISTRY``, else a search upward from the working directory).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runrecord import __version__
from runrecord.demo import run_demo
from runrecord.errors import RunRecordError
from runrecord.gate import DEFAULT_ALLOWED, check_upstream, latest_record_path
from runrecord.model import (
    RUN_RECORD_VERSION,
    Counters,
    ErrorObject,
    OrchestratorInfo,
    RunRecord,
    StageRecord,
    WarningObject,
)
from runrecord.objectstore import ObjectPath, ObjectStore, is_url, redact_url
from runrecord.recover import DEFAULT_OLDER_THAN, recover
from runrecord.registry import Registry, load_registry
from runrecord.schema import load_schema, shipped_versions
from runrecord.store import AnyStore, Store, StorePath, open_store
from runrecord.taxonomy import RUN_STAGE, Status
from runrecord.validate import ValidationReport, validate_record

__all__ = ["main"]

RECORD_SUFFIX = ".run_record.json"

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

NONE = "\u2014"
"""Shown for a value that is absent (a crashed run's ``completed_at``)."""
INVALID = "INVALID"
"""The status ``ls`` shows for a record file that is unreadable or invalid."""
LATEST = "latest"


class _UsageError(Exception):
    """A mistake in how the command was called (exit status 2)."""


def _record_files(paths: Sequence[str]) -> list[StorePath]:
    missing = [p for p in paths if p != "-" and not is_url(p) and not Path(p).exists()]
    if missing:
        raise _UsageError(f"no such file or directory: {', '.join(missing)}")
    files: list[StorePath] = []
    for raw in paths:
        if is_url(raw):  # one record object, or a store's prefix
            if raw.endswith(RECORD_SUFFIX):
                files.append(ObjectPath.from_url(raw))
                continue
            records = ObjectStore(raw).record_paths()
            if not records:
                print(
                    f"runrecord: no *{RECORD_SUFFIX} objects in {redact_url(raw)}", file=sys.stderr
                )
            files.extend(records)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                f
                for f in path.rglob(f"*{RECORD_SUFFIX}")
                if not any(part.startswith(".") for part in f.relative_to(path).parts)
            )
            if not found:
                print(f"runrecord: no *{RECORD_SUFFIX} files under {raw}", file=sys.stderr)
            files.extend(found)
        else:
            files.append(path)
    return files


def _cmd_validate(args: argparse.Namespace) -> int:
    registry: Registry | None = load_registry(args.registry) if args.registry else None
    files = _record_files(args.paths)
    reports: list[ValidationReport] = []
    for file in files:
        if str(file) == "-":
            report = validate_record(sys.stdin.buffer.read(), registry=registry)
            reports.append(dataclasses.replace(report, source="-"))
        else:
            reports.append(validate_record(file, registry=registry))
    invalid = sum(not r.valid for r in reports)
    if args.json:
        out = {
            "checked": len(reports),
            "invalid": invalid,
            "files": [
                {
                    "path": r.source,
                    "valid": r.valid,
                    "problems": [
                        {"pointer": p.pointer, "rule": p.rule, "message": p.message}
                        for p in r.problems
                    ],
                }
                for r in reports
            ],
        }
        print(json.dumps(out, indent=2))
    else:
        for report in reports:
            for problem in report.problems:
                print(f"{report.source}: {problem}")
        print(
            f"checked {len(reports)} record{'s' if len(reports) != 1 else ''}: "
            f"{len(reports) - invalid} valid, {invalid} invalid",
            file=sys.stderr,
        )
    return EXIT_FAILED if invalid or not reports else EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    if args.version not in shipped_versions():
        raise _UsageError(
            f"no schema for run_record_version {args.version!r}; "
            f"known: {', '.join(shipped_versions())}"
        )
    print(json.dumps(load_schema(args.version), indent=2))
    return EXIT_OK


# --- shared: the store, time values, durations ------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration(text: str) -> timedelta:
    """Parse ``90s``, ``30m``, ``12h``, ``7d`` or ``2w`` (for --since and --older-than)."""
    match = _DURATION_RE.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: write a number and a unit (s, m, h, d, w), "
            "like 90s, 30m, 12h or 7d"
        )
    try:
        return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    except OverflowError:
        raise argparse.ArgumentTypeError(f"duration {text!r} is too long") from None


def _since(text: str) -> datetime:
    """Parse an ISO date or time (UTC when naive) or a duration back from now."""
    if _DURATION_RE.fullmatch(text.strip().lower()):
        try:
            return _now() - _duration(text)
        except OverflowError:
            raise argparse.ArgumentTypeError(f"duration {text!r} is too long") from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: give an ISO date or time (2026-11-26, "
            "2026-11-26T06:00, UTC unless it says otherwise) or a duration (30m, 12h, 7d)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _registry(args: argparse.Namespace) -> Registry:
    """The registry locating the store: one made for ``--dir``, else the project's."""
    if args.dir is None:
        return load_registry(args.registry)
    if is_url(args.dir):
        location = args.dir
    else:
        directory = Path(args.dir)
        if not directory.is_dir():
            raise _UsageError(f"no such directory: {args.dir}")
        location = str(directory.resolve())
    # check_upstream and recover locate the store through a registry; a run's own
    # semantics come from the registry saved in its header, never from this one.
    return Registry(
        project_id="runrecord-cli",
        project_name="runrecord --dir",
        stages=(RUN_STAGE,),
        run_record_dir=location,
    )


def _store(args: argparse.Namespace) -> AnyStore:
    return open_store(_registry(args).record_location)


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    """One record file of a store, validated."""

    path: StorePath
    report: ValidationReport
    when: datetime
    """``created_at``; the file's modification time when the record cannot be parsed."""

    @property
    def record(self) -> RunRecord | None:
        """The record, when it parsed (it may still have semantic problems)."""
        return self.report.record

    @property
    def run_id(self) -> str:
        return self.record.run_id if self.record else self.path.name.removesuffix(RECORD_SUFFIX)

    @property
    def status(self) -> str:
        return self.record.status.value if self.record and self.report.valid else INVALID


def _modified(path: StorePath) -> datetime:
    try:
        when = path.modified() if isinstance(path, ObjectPath) else path.stat().st_mtime
        return datetime.fromtimestamp(when, UTC)
    except (OSError, RunRecordError):
        return datetime.min.replace(tzinfo=UTC)


def _scan(store: AnyStore) -> list[_Entry]:
    """Every record file of the store, newest first (by ``created_at``)."""
    entries = []
    for path in store.record_paths():
        report = validate_record(path)
        when = report.record.created_at if report.record else _modified(path)
        entries.append(_Entry(path, report, when))
    return sorted(entries, key=lambda e: (e.when, e.path.name), reverse=True)


def _read(path: StorePath) -> tuple[bytes, ValidationReport]:
    """Read and validate one record file; its bytes are what ``--json`` prints."""
    try:
        data = path.read_bytes()
    except OSError:
        return b"", validate_record(path)  # its problem says why the file is unreadable
    return data, dataclasses.replace(validate_record(data), source=str(path))


def _problems_json(report: ValidationReport) -> list[dict[str, str]]:
    return [{"pointer": p.pointer, "rule": p.rule, "message": p.message} for p in report.problems]


# --- formatting ------------------------------------------------------------------------


def _ts(value: datetime | None) -> str:
    """A UTC time to the second, or the absent sign."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else NONE


def _span(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return NONE
    seconds = (end - start).total_seconds()
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def _table(
    rows: Sequence[Sequence[str]], header: Sequence[str] | None = None, indent: str = ""
) -> list[str]:
    """Left-aligned columns, two spaces apart."""
    lines = [list(header), *rows] if header is not None else [list(r) for r in rows]
    if not lines:
        return []
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))).rstrip()
        for line in lines
    ]


def _section(title: str, rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    print()
    if not rows:
        print(f"{title}: none")
        return
    print(f"{title} ({len(rows)}):")
    for line in _table(rows, header, indent="  "):
        print(line)


def _triple(counters: Counters, unit: str) -> str:
    c = counters.as_dict()
    return f"{c[f'{unit}_seen']}/{c[f'{unit}_processed']}/{c[f'{unit}_skipped']}"


def _orchestrator(info: OrchestratorInfo) -> str:
    parts = [info.name + (f" {info.version}" if info.version else "")]
    parts += [
        f"{label} {value}"
        for label, value in (("run", info.run_id), ("job", info.job), ("attempt", info.attempt))
        if value is not None
    ]
    if info.url:
        parts.append(info.url)
    return ", ".join(parts)


def _stage_row(stage: StageRecord, with_node: bool) -> list[str]:
    row = [
        stage.stage,
        stage.status.value,
        _ts(stage.started_at),
        _span(stage.started_at, stage.completed_at),
        _triple(stage.counters, "files"),
        _triple(stage.counters, "records"),
        str(len(stage.errors)),
        str(len(stage.warnings)),
    ]
    if with_node:
        node = stage.node
        attempt = f" (attempt {node.attempt})" if node and node.attempt is not None else ""
        row.append(f"{node.id}{attempt}" if node else NONE)
    return row


def _with_reason(value: str, reason: object) -> str:
    return f"{value} ({reason})" if reason is not None else value


def _print_issue(item: ErrorObject | WarningObject) -> None:
    print(f"  {item.type} ({item.stage}): {item.message}")
    if isinstance(item, ErrorObject):
        print(f"    hint: {item.remediation_hint}")
    for pointer in item.evidence:
        note = f" ({pointer.note})" if pointer.note else ""
        print(f"    evidence: {pointer.path or pointer.ref}{note}")


def _print_record(record: RunRecord, path: StorePath) -> None:
    entrypoint = record.entrypoint
    project = record.project
    fields = [
        ("run id", record.run_id),
        ("entrypoint", _with_reason(entrypoint.entrypoint_id, entrypoint.entrypoint_name)),
        ("status", record.status.value),
        ("created", _ts(record.created_at)),
        ("completed", _ts(record.completed_at)),
        ("duration", _span(record.created_at, record.completed_at)),
        ("project", f"{project.project_id} ({project.project_name})"),
    ]
    if record.orchestrator is not None:
        fields.append(("orchestrator", _orchestrator(record.orchestrator)))
    if entrypoint.command:
        fields.append(("command", entrypoint.command))
    fields.append(("file", str(path)))
    width = max(len(key) for key, _ in fields) + 1
    for key, value in fields:
        print(f"{key + ':':<{width}} {value}")

    with_node = any(s.node is not None for s in record.stages)
    header = ["stage", "status", "started", "duration", "files", "records", "errors", "warnings"]
    _section(
        "stages",
        [_stage_row(s, with_node) for s in record.stages],
        [*header, "node"] if with_node else header,
    )
    if record.stages:
        print("  (files, records: seen/processed/skipped)")
    _section(
        "inputs",
        [[i.name, _with_reason(i.resolution.value, i.reason), i.path] for i in record.inputs],
        ["name", "resolution", "path"],
    )
    _section(
        "outputs",
        [
            [o.name, _with_reason(o.promotion_status.value, o.reason), o.path]
            for o in record.outputs
        ],
        ["name", "promotion_status", "path"],
    )
    for title, items in (("errors", record.all_errors()), ("warnings", record.all_warnings())):
        print()
        print(f"{title} ({len(items)}):" if items else f"{title}: none")
        for item in items:
            _print_issue(item)


# --- show ------------------------------------------------------------------------------


def _looks_like_path(target: str) -> bool:
    return os.sep in target or "/" in target or target.endswith(".json")


def _show_target(args: argparse.Namespace) -> StorePath:
    target: str = args.target
    if target == LATEST:
        store = _store(args)
        if args.entrypoint is not None:
            found = latest_record_path(store, args.entrypoint)
            if found is None:
                raise _UsageError(
                    f"no run record of entrypoint {args.entrypoint!r} in {store.root}"
                )
            return found
        entries = _scan(store)
        if not entries:
            raise _UsageError(f"no run records in {store.root}")
        return entries[0].path
    if args.entrypoint is not None:
        raise _UsageError(f"--entrypoint goes with {LATEST!r} only")
    path: StorePath
    if _looks_like_path(target):
        path = ObjectPath.from_url(target) if is_url(target) else Path(target)
        if not path.exists():
            raise _UsageError(f"no such file: {target}")
    else:
        store = _store(args)
        path = store.record_path(target)
        if not path.exists():
            also = ""
            if store.read_latest(target) is not None:
                also = (
                    f"; for the newest record of that entrypoint: show latest --entrypoint {target}"
                )
            raise _UsageError(f"no run record {target!r} in {store.root}{also}")
    if isinstance(path, Path) and path.is_dir():
        raise _UsageError(f"{target} is a directory, not a run record file")
    return path


def _cmd_show(args: argparse.Namespace) -> int:
    path = _show_target(args)
    data, report = _read(path)
    if not report.valid or report.record is None:
        if args.json:
            out = {"path": report.source, "valid": False, "problems": _problems_json(report)}
            print(json.dumps(out, indent=2))
        else:
            for problem in report.problems:
                print(f"{report.source}: {problem}")
        print(f"runrecord show: {report.source} is not a valid run record", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        text = data.decode("utf-8")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        _print_record(report.record, path)
    return EXIT_OK


# --- ls --------------------------------------------------------------------------------


def _selected(entry: _Entry, args: argparse.Namespace) -> bool:
    if args.status and entry.status.lower() not in args.status:
        return False
    if args.entrypoint is not None and (
        entry.record is None or entry.record.entrypoint.entrypoint_id != args.entrypoint
    ):
        return False
    return args.since is None or entry.when >= args.since


def _ls_json(entry: _Entry) -> dict[str, Any]:
    record = entry.record
    return {
        "path": str(entry.path),
        "run_id": entry.run_id,
        "entrypoint_id": record.entrypoint.entrypoint_id if record else None,
        "status": entry.status if entry.report.valid else None,
        "valid": entry.report.valid,
        "created_at": record.created_at.isoformat() if record else None,
        "completed_at": record.completed_at.isoformat() if record and record.completed_at else None,
        "duration_seconds": _seconds(record.created_at, record.completed_at) if record else None,
        "stages": len(record.stages) if record else None,
        "errors": len(record.all_errors()) if record else None,
        "problems": _problems_json(entry.report),
    }


def _ls_row(entry: _Entry) -> list[str]:
    record = entry.record
    if record is None:
        return [NONE, entry.run_id, NONE, entry.status, NONE, NONE, NONE]
    return [
        _ts(record.created_at),
        entry.run_id,
        record.entrypoint.entrypoint_id,
        entry.status,
        str(len(record.stages)),
        str(len(record.all_errors())),
        _span(record.created_at, record.completed_at),
    ]


def _cmd_ls(args: argparse.Namespace) -> int:
    store = _store(args)
    entries = _scan(store)
    chosen = [e for e in entries if _selected(e, args)][: args.limit]
    if args.json:
        print(json.dumps([_ls_json(e) for e in chosen], indent=2))
    elif chosen:
        header = ["created", "run id", "entrypoint", "status", "stages", "errors", "duration"]
        for line in _table([_ls_row(e) for e in chosen], header):
            print(line)
    if not entries:
        print(f"runrecord ls: no run records in {store.root}", file=sys.stderr)
    elif not chosen:
        print(f"runrecord ls: no run records in {store.root} match", file=sys.stderr)
    return EXIT_OK


# --- gate ------------------------------------------------------------------------------


def _cmd_gate(args: argparse.Namespace) -> int:
    allowed = args.allow or DEFAULT_ALLOWED
    verdict = check_upstream(args.upstream, registry=_registry(args), allowed=allowed)
    if verdict.passed:
        print(f"passed: {verdict.reason}")
        return EXIT_OK
    print(f"blocked: {verdict.reason}", file=sys.stderr)
    return EXIT_FAILED


# --- recover ---------------------------------------------------------------------------


def _cmd_recover(args: argparse.Namespace) -> int:
    registry = _registry(args)
    results = recover(registry=registry, older_than=args.older_than)
    if not results:
        print(
            f"runrecord recover: nothing to recover in {registry.record_location}", file=sys.stderr
        )
        return EXIT_OK
    rows = [[r.outcome, r.run_id, r.detail, str(r.path) if r.path else NONE] for r in results]
    for line in _table(rows):
        print(line)
    return EXIT_FAILED if any(r.outcome == "failed" for r in results) else EXIT_OK


# --- demo ------------------------------------------------------------------------------

_DEMO_EXPECTED = (
    ("success", None),
    ("error", "runtime_error"),
    ("error", "upstream_error"),
    ("error", "crashed"),
)


def _cmd_demo(args: argparse.Namespace) -> int:
    directory = (
        Path(args.directory).absolute()
        if args.directory
        else Path(tempfile.mkdtemp(prefix="runrecord-demo-"))
    )
    records = run_demo(directory)
    store = Store(directory / "artifacts" / "run_records")
    header = ["created", "run id", "entrypoint", "status", "stages", "errors", "duration"]
    print(f"$ runrecord ls --dir {store.root}")
    for line in _table([_ls_row(e) for e in _scan(store)], header):
        print(line)
    reports = [validate_record(store.record_path(r.run_id)) for r in records]
    print(f"\n$ runrecord validate {store.root}")
    print(f"checked {len(reports)} records: {sum(r.valid for r in reports)} valid")
    got = tuple((r.status.value, r.errors[0].type.value if r.errors else None) for r in records)
    if (
        got != _DEMO_EXPECTED
        or records[-1].completed_at is not None
        or not all(r.valid for r in reports)
    ):
        print(f"runrecord demo: unexpected records {got}", file=sys.stderr)
        return EXIT_FAILED
    print(
        "\nLook closer:\n"
        f"  runrecord show latest --entrypoint shop.daily --dir {store.root}\n"
        f"  runrecord gate shop.daily --dir {store.root}\n"
        f"  the records themselves: {store.root}"
    )
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runrecord",
        description="Validate, inspect and gate on pipeline run records.",
    )
    parser.add_argument("--version", action="version", version=f"runrecord {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="validate run record files",
        description="Validate run records. Prints one line per problem: "
        "'file: /pointer: message [rule]'. Exit 0 when all are valid, 1 when any is "
        "invalid (or there was nothing to check), 2 on a usage error.",
    )
    validate.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help=f"record files, directories searched for *{RECORD_SUFFIX}, or - for stdin",
    )
    validate.add_argument("--json", action="store_true", help="print a JSON report")
    validate.add_argument(
        "--registry",
        metavar="FILE",
        help="also check against this project registry (stage set, optional outputs, ...)",
    )
    validate.set_defaults(func=_cmd_validate)

    schema = commands.add_parser(
        "schema",
        help="print the run record JSON Schema",
        description="Print the self-contained JSON Schema of a run_record_version.",
    )
    schema.add_argument(
        "--version",
        default=RUN_RECORD_VERSION,
        help=f"run_record_version (default {RUN_RECORD_VERSION})",
    )
    schema.set_defaults(func=_cmd_schema)

    store = argparse.ArgumentParser(add_help=False)
    where = store.add_argument_group("where the run records are")
    where.add_argument(
        "--registry",
        metavar="FILE",
        help="project registry naming the run record directory (default: the file named by "
        "$RUNRECORD_REGISTRY, else runrecord.toml or pyproject.toml searched upward from "
        "the working directory)",
    )
    where.add_argument(
        "--dir",
        metavar="DIR",
        help="run record directory (or object storage URL, s3://bucket/prefix) to use "
        "directly, without a registry (wins over --registry)",
    )
    statuses = [s.value for s in Status]

    show = commands.add_parser(
        "show",
        parents=[store],
        help="show one run record",
        description="Show one run record: header, stages, inputs, outputs, errors with their "
        "remediation hints, and warnings. TARGET is a run id, a path to a record file "
        "(anything with a '/' or ending in .json), or 'latest': the newest record of the "
        "store by created_at, or with --entrypoint the newest of that entrypoint. Exit 0; "
        "1 when the record is invalid (its problems are printed); 2 when there is no such "
        "record or on a usage error.",
    )
    show.add_argument("target", metavar="RUN_ID|PATH|latest", help="the record to show")
    show.add_argument(
        "--entrypoint", metavar="E", help="with 'latest': the newest record of this entrypoint"
    )
    show.add_argument("--json", action="store_true", help="print the record's JSON as stored")
    show.set_defaults(func=_cmd_show)

    ls = commands.add_parser(
        "ls",
        parents=[store],
        help="list run records, newest first",
        description="List run records, newest first (by created_at): created (UTC), run id, "
        f"entrypoint, status, stages, errors, duration. Unreadable or invalid record files "
        f"are listed with status {INVALID} (placed by their modification time when they "
        "cannot be parsed). Exit 0 (also when there are none); 2 on a usage error.",
    )
    ls.add_argument(
        "--status",
        nargs="+",
        action="extend",
        type=str.lower,
        choices=[*statuses, INVALID.lower()],
        metavar="S",
        help=f"only these statuses: {', '.join(statuses)}, {INVALID.lower()}",
    )
    ls.add_argument("--entrypoint", metavar="E", help="only records of this entrypoint")
    ls.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="only records created at or after WHEN: an ISO date or time (UTC when it has "
        "no offset) or a duration back from now (30m, 12h, 7d)",
    )
    ls.add_argument("--limit", type=_positive_int, metavar="N", help="at most N records")
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.set_defaults(func=_cmd_ls)

    gate = commands.add_parser(
        "gate",
        parents=[store],
        help="may downstream work start on an upstream entrypoint's newest record?",
        description="Check the newest record of an upstream entrypoint (or a record by run "
        "id): exit 0 and print 'passed: <reason>' on stdout when its status is allowed; "
        "exit 1 and print 'blocked: <reason>' on stderr when it is not, or when the record "
        "is missing or invalid (the gate fails closed); 2 on a usage error.",
    )
    gate.add_argument("upstream", metavar="ENTRYPOINT", help="entrypoint id, or a run id")
    gate.add_argument(
        "--allow",
        nargs="+",
        action="extend",
        choices=statuses,
        metavar="STATUS",
        help="statuses that let downstream work start (default: "
        f"{', '.join(s.value for s in DEFAULT_ALLOWED)})",
    )
    gate.set_defaults(func=_cmd_gate)

    recover_ = commands.add_parser(
        "recover",
        parents=[store],
        help="finalize abandoned runs as crashed",
        description="Give every abandoned run its record (status error, a 'crashed' error, "
        "completed_at null). Prints one line per staged run: outcome (recovered, cleaned, "
        "live, failed), run id, detail, record file. Exit 0 (also when there is nothing to "
        "recover); 1 when any run could not be recovered; 2 on a usage error.",
    )
    recover_.add_argument(
        "--older-than",
        type=_duration,
        default=DEFAULT_OLDER_THAN,
        metavar="DURATION",
        help="silence after which a run of another machine, or one spanning processes, "
        "counts as abandoned: 90s, 30m, 12h, 2d (default: 24h)",
    )
    recover_.set_defaults(func=_cmd_recover)

    demo = commands.add_parser(
        "demo",
        help="run a small real pipeline four ways and show the records it leaves",
        description="In DIR (new or empty; a temporary directory by default) write a demo "
        "project and run its pipeline four ways: a success; a failing stage; a downstream "
        "run the gate blocks (it writes its own upstream_error record); a run killed with "
        "SIGKILL mid-run, then recovered. Prints the records. Exit 0 when the four records "
        "are what they should be, 1 otherwise.",
    )
    demo.add_argument("directory", nargs="?", metavar="DIR", help="where the demo project goes")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``runrecord`` command.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except _UsageError as exc:
        print(f"runrecord {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunRecordError as exc:
        print(f"runrecord {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head); nothing more to say
        return EXIT_OK
    except OSError as exc:  # an unreadable store or file the library did not report
        where = f": {exc.filename}" if exc.filename else ""
        print(f"runrecord {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
