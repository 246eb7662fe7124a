"""The ``runrecord`` command.

Exit status: 0 when everything checked is fine, 1 when something checked is not (an
invalid record), 2 for a usage error (no such path, bad option, bad registry). A user
mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from runrecord import __version__
from runrecord.errors import RunRecordError
from runrecord.model import RUN_RECORD_VERSION
from runrecord.registry import Registry, load_registry
from runrecord.schema import load_schema, shipped_versions
from runrecord.validate import ValidationReport, validate_record

__all__ = ["main"]

RECORD_SUFFIX = ".run_record.json"

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """A mistake in how the command was called (exit status 2)."""


def _record_files(paths: Sequence[str]) -> list[Path]:
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        raise _UsageError(f"no such file or directory: {', '.join(missing)}")
    files: list[Path] = []
    for raw in paths:
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
    except KeyboardInterrupt:
        return 130
