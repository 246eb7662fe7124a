"""The ``runrecord`` command: exit statuses, output formats, and the installed entry points.

Most tests call :func:`runrecord.cli.main` in-process; a few run the installed console
script and ``python -m runrecord`` to prove the command a user types works.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import example_records
import jsonschema
import pytest
from example_records import PARTIAL_SUCCESS, SUCCESS

import runrecord
from runrecord.cli import main

EXAMPLES = example_records.EXAMPLES
EXAMPLE_REGISTRY = EXAMPLES / "runrecord.toml"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.run_record.json"))

LoadExample = Callable[[str], dict[str, Any]]

# "<file>: /<pointer>: <message> [<rule>]", once the "<file>: " prefix is removed.
PROBLEM_RE = re.compile(r"^(?P<pointer>/\S*): (?P<message>.+) \[(?P<rule>[a-z_]+(?:\.[a-z_]+)+)\]$")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def exit_code(code: object) -> int:
    """The exit status ``sys.exit(code)`` would give."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``runrecord`` in-process; argparse's own exits count as exit statuses."""

    def run(*argv: str) -> Result:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exit_code(exc.code)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


Cli = Callable[..., Result]


def problem_lines(result: Result, file: str) -> list[re.Match[str]]:
    """Parse stdout; every line must be a problem line of ``file``."""
    matches = []
    for line in result.out.splitlines():
        assert line.startswith(f"{file}: "), line
        match = PROBLEM_RE.match(line[len(file) + 2 :])
        assert match, line
        matches.append(match)
    return matches


def write_record(path: Path, record: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


def refs(node: object) -> Iterator[object]:
    """Every ``$ref`` value in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


# --- validate: valid input -------------------------------------------------------------


def test_validate_examples_directory(cli: Cli) -> None:
    result = cli("validate", str(EXAMPLES))
    assert result.code == 0
    assert result.out == ""
    assert result.err.strip() == "checked 7 records: 7 valid, 0 invalid"


def test_validate_example_files(cli: Cli) -> None:
    result = cli("validate", *map(str, EXAMPLE_FILES))
    assert result.code == 0
    assert result.out == ""
    assert "checked 7 records: 7 valid, 0 invalid" in result.err


def test_validate_one_file_says_record_not_records(cli: Cli) -> None:
    result = cli("validate", str(EXAMPLE_FILES[0]))
    assert result.code == 0
    assert result.err.strip() == "checked 1 record: 1 valid, 0 invalid"


def test_validate_relative_directory(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent.parent)
    result = cli("validate", "examples/records")
    assert result.code == 0
    assert result.out == ""


# --- validate: invalid input -----------------------------------------------------------


def drop_status(record: dict[str, Any]) -> None:
    del record["status"]


def wrong_warnings_count(record: dict[str, Any]) -> None:
    record["counters"]["warnings_count"] = 5


def unknown_field(record: dict[str, Any]) -> None:
    record["colour"] = "blue"


def bad_enum(record: dict[str, Any]) -> None:
    record["status"] = "mostly_fine"


@pytest.mark.parametrize(
    ("mutate", "rule", "pointer"),
    [
        (drop_status, "schema.required", "/status"),
        (wrong_warnings_count, "counters.warnings_count", "/counters/warnings_count"),
        (unknown_field, "schema.unknown_field", "/colour"),
        (bad_enum, "schema.enum", "/status"),
    ],
)
def test_invalid_record_file(
    cli: Cli,
    tmp_path: Path,
    mutate: Callable[[dict[str, Any]], None],
    rule: str,
    pointer: str,
) -> None:
    record = example_records.load(SUCCESS)
    mutate(record)
    file = write_record(tmp_path / f"{SUCCESS}.run_record.json", record)
    result = cli("validate", str(file))
    assert result.code == 1
    problems = problem_lines(result, str(file))
    assert problems
    assert (pointer, rule) in {(m["pointer"], m["rule"]) for m in problems}
    assert all(m["rule"] in runrecord.RULES for m in problems)
    assert "checked 1 record: 0 valid, 1 invalid" in result.err
    assert "Traceback" not in result.both


def test_invalid_record_in_a_directory_is_reported_by_its_path(
    cli: Cli, tmp_path: Path, load_example: LoadExample
) -> None:
    record = load_example(SUCCESS)
    wrong_warnings_count(record)
    record["run_id"] = "bad"  # a record file is named after its run id
    file = write_record(tmp_path / "sub" / "bad.run_record.json", record)
    result = cli("validate", str(tmp_path))
    assert result.code == 1
    [problem] = problem_lines(result, str(file))
    assert problem["rule"] == "counters.warnings_count"


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        pytest.param(b"{not json", "json.syntax", id="unparseable"),
        pytest.param(b"", "json.empty", id="empty"),
        pytest.param(b"  \n", "json.empty", id="whitespace"),
        pytest.param(b"[1, 2]", "json.not_object", id="array"),
        pytest.param(b'{"a": 1, "a": 2}', "json.duplicate_key", id="duplicate-key"),
        pytest.param(b"\xff\xfe{}", "json.syntax", id="not-utf8"),
    ],
)
def test_unreadable_documents(cli: Cli, tmp_path: Path, content: bytes, rule: str) -> None:
    file = tmp_path / "x.run_record.json"
    file.write_bytes(content)
    result = cli("validate", str(file))
    assert result.code == 1
    [problem] = problem_lines(result, str(file))
    assert problem["rule"] == rule
    assert "Traceback" not in result.both


def test_truncated_file(cli: Cli, tmp_path: Path) -> None:
    data = EXAMPLE_FILES[0].read_bytes()
    file = tmp_path / EXAMPLE_FILES[0].name
    file.write_bytes(data[: len(data) // 2])
    result = cli("validate", str(file))
    assert result.code == 1
    [problem] = problem_lines(result, str(file))
    assert problem["rule"] == "json.syntax"
    assert problem["pointer"] == "/"


def test_directory_without_records(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    result = cli("validate", str(tmp_path))
    assert result.code == 1
    assert result.out == ""
    assert "no *.run_record.json files under" in result.err
    assert str(tmp_path) in result.err
    assert "checked 0 records" in result.err


def test_mix_of_valid_and_invalid(cli: Cli, tmp_path: Path, load_example: LoadExample) -> None:
    good = tmp_path / EXAMPLE_FILES[0].name
    shutil.copyfile(EXAMPLE_FILES[0], good)
    record = load_example(SUCCESS)
    wrong_warnings_count(record)
    record["run_id"] = "bad"  # a record file is named after its run id
    bad = write_record(tmp_path / "bad.run_record.json", record)
    result = cli("validate", str(tmp_path))
    assert result.code == 1
    problems = problem_lines(result, str(bad))
    assert {m["rule"] for m in problems} == {"counters.warnings_count"}
    assert "checked 2 records: 1 valid, 1 invalid" in result.err

    # The same with the files named one by one, valid first.
    result = cli("validate", str(good), str(bad))
    assert result.code == 1
    assert "checked 2 records: 1 valid, 1 invalid" in result.err


def test_hidden_directories_and_files_are_ignored(
    cli: Cli, tmp_path: Path, load_example: LoadExample
) -> None:
    shutil.copyfile(EXAMPLE_FILES[0], tmp_path / EXAMPLE_FILES[0].name)
    nested = tmp_path / "2026" / "11" / EXAMPLE_FILES[1].name
    nested.parent.mkdir(parents=True)
    shutil.copyfile(EXAMPLE_FILES[1], nested)
    bad = load_example(SUCCESS)
    wrong_warnings_count(bad)
    write_record(tmp_path / ".staging" / "half.run_record.json", bad)
    write_record(tmp_path / "2026" / ".tmp" / "half.run_record.json", bad)
    (tmp_path / ".partial.run_record.json").write_text("{", encoding="utf-8")
    result = cli("validate", str(tmp_path))
    assert result.code == 0, result.out
    assert result.out == ""
    assert "checked 2 records: 2 valid, 0 invalid" in result.err


def test_a_hidden_directory_named_explicitly_is_searched(
    cli: Cli, tmp_path: Path, load_example: LoadExample
) -> None:
    bad = load_example(SUCCESS)
    wrong_warnings_count(bad)
    file = write_record(tmp_path / ".staging" / "half.run_record.json", bad)
    result = cli("validate", str(tmp_path / ".staging"))
    assert result.code == 1
    assert problem_lines(result, str(file))


# --- usage errors: exit 2, no traceback ------------------------------------------------


def test_no_such_path(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.run_record.json"
    result = cli("validate", str(missing))
    assert result.code == 2
    assert "no such file or directory" in result.err
    assert str(missing) in result.err
    assert result.out == ""
    assert "Traceback" not in result.both


def test_no_such_path_among_existing_ones_checks_nothing(cli: Cli, tmp_path: Path) -> None:
    result = cli("validate", str(EXAMPLES), str(tmp_path / "missing"))
    assert result.code == 2
    assert "checked" not in result.err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param((), id="no-arguments"),
        pytest.param(("validate",), id="validate-without-paths"),
        pytest.param(("--bogus",), id="unknown-global-option"),
        pytest.param(("validate", "--bogus", str(EXAMPLES)), id="unknown-validate-option"),
        pytest.param(("frobnicate",), id="unknown-command"),
        pytest.param(("validate", "--registry"), id="registry-without-value"),
    ],
)
def test_usage_errors(cli: Cli, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert "usage:" in result.err
    assert "Traceback" not in result.both


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, "registry file not found", id="missing"),
        pytest.param('project_id = "x"\nstages = [\n', "not valid TOML", id="invalid-toml"),
        pytest.param('project_id = "x"\nproject_name = "X"\n', "stages", id="missing-key"),
        pytest.param(
            'project_id = "x"\nproject_name = "X"\nstage = ["a"]\n',
            "did you mean 'stages'",
            id="unknown-key",
        ),
    ],
)
def test_bad_registry(cli: Cli, tmp_path: Path, content: str | None, expected: str) -> None:
    registry = tmp_path / "runrecord.toml"
    if content is not None:
        registry.write_text(content, encoding="utf-8")
    result = cli("validate", "--registry", str(registry), str(EXAMPLES))
    assert result.code == 2
    assert result.out == ""
    assert str(registry) in result.err
    assert expected in result.err
    assert "hint:" in result.err
    assert "Traceback" not in result.both


def test_directory_as_registry(cli: Cli, tmp_path: Path) -> None:
    result = cli("validate", "--registry", str(tmp_path), str(EXAMPLES))
    assert result.code == 2
    assert str(tmp_path) in result.err
    assert "Traceback" not in result.both


def test_pyproject_without_table_as_registry(cli: Cli, tmp_path: Path) -> None:
    registry = tmp_path / "pyproject.toml"
    registry.write_text('[project]\nname = "x"\n', encoding="utf-8")
    result = cli("validate", "--registry", str(registry), str(EXAMPLES))
    assert result.code == 2
    assert "[tool.runrecord]" in result.err
    assert "Traceback" not in result.both


def test_schema_unknown_version(cli: Cli) -> None:
    result = cli("schema", "--version", "9.9.9")
    assert result.code == 2
    assert result.out == ""
    assert "9.9.9" in result.err
    assert runrecord.RUN_RECORD_VERSION in result.err  # names the known versions
    assert "Traceback" not in result.both


# --- --json ----------------------------------------------------------------------------


def check_json_shape(report: Any) -> None:
    assert set(report) == {"checked", "invalid", "files"}
    assert report["checked"] == len(report["files"])
    assert report["invalid"] == sum(not f["valid"] for f in report["files"])
    for entry in report["files"]:
        assert set(entry) == {"path", "valid", "problems"}
        assert isinstance(entry["path"], str)
        assert entry["valid"] is (not entry["problems"])
        for problem in entry["problems"]:
            assert set(problem) == {"pointer", "rule", "message"}
            assert problem["rule"] in runrecord.RULES
            assert problem["pointer"] == "" or problem["pointer"].startswith("/")


def test_json_valid(cli: Cli) -> None:
    result = cli("validate", "--json", str(EXAMPLES))
    assert result.code == 0
    report = json.loads(result.out)
    check_json_shape(report)
    assert report["checked"] == 7
    assert report["invalid"] == 0
    assert sorted(f["path"] for f in report["files"]) == sorted(map(str, EXAMPLE_FILES))
    assert all(f["valid"] and f["problems"] == [] for f in report["files"])


def test_json_invalid(cli: Cli, tmp_path: Path, load_example: LoadExample) -> None:
    shutil.copyfile(EXAMPLE_FILES[0], tmp_path / EXAMPLE_FILES[0].name)
    record = load_example(SUCCESS)
    wrong_warnings_count(record)
    record["run_id"] = "bad"  # a record file is named after its run id
    bad = write_record(tmp_path / "bad.run_record.json", record)
    (tmp_path / "empty.run_record.json").write_bytes(b"")
    result = cli("validate", "--json", str(tmp_path))
    assert result.code == 1
    report = json.loads(result.out)
    check_json_shape(report)
    assert report["checked"] == 3
    assert report["invalid"] == 2
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path[str(bad)]["problems"] == [
        {
            "pointer": "/counters/warnings_count",
            "rule": "counters.warnings_count",
            "message": by_path[str(bad)]["problems"][0]["message"],
        }
    ]
    assert [p["rule"] for p in by_path[str(tmp_path / "empty.run_record.json")]["problems"]] == [
        "json.empty"
    ]


def test_json_empty_directory(cli: Cli, tmp_path: Path) -> None:
    result = cli("validate", "--json", str(tmp_path))
    assert result.code == 1
    assert json.loads(result.out) == {"checked": 0, "invalid": 0, "files": []}


# --- stdin -----------------------------------------------------------------------------


def fake_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(data)))


def test_stdin_valid(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, EXAMPLE_FILES[0].read_bytes())
    result = cli("validate", "-")
    assert result.code == 0
    assert result.out == ""
    assert "checked 1 record: 1 valid, 0 invalid" in result.err


def test_stdin_invalid(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, load_example: LoadExample
) -> None:
    record = load_example(SUCCESS)
    wrong_warnings_count(record)
    fake_stdin(monkeypatch, json.dumps(record).encode())
    result = cli("validate", "-")
    assert result.code == 1
    [problem] = problem_lines(result, "-")
    assert problem["rule"] == "counters.warnings_count"


def test_stdin_json(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, b"")
    result = cli("validate", "--json", "-")
    assert result.code == 1
    report = json.loads(result.out)
    check_json_shape(report)
    assert report["files"][0]["path"] == "-"
    assert report["files"][0]["problems"][0]["rule"] == "json.empty"


# --- --registry ------------------------------------------------------------------------


def test_registry_examples(cli: Cli) -> None:
    result = cli("validate", "--registry", str(EXAMPLE_REGISTRY), str(EXAMPLES))
    assert result.code == 0
    assert result.out == ""
    assert "checked 7 records: 7 valid, 0 invalid" in result.err


def test_registry_relative_path(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent.parent)
    result = cli("validate", "--registry", "examples/records/runrecord.toml", "examples/records")
    assert result.code == 0


def test_registry_catches_a_registry_only_violation(
    cli: Cli, tmp_path: Path, load_example: LoadExample
) -> None:
    record = load_example(PARTIAL_SUCCESS)
    record["outputs"][1]["name"] = "weekly_summary_html"  # not declared optional
    file = write_record(tmp_path / f"{PARTIAL_SUCCESS}.run_record.json", record)

    assert cli("validate", str(file)).code == 0  # fine without the registry

    result = cli("validate", "--registry", str(EXAMPLE_REGISTRY), str(file))
    assert result.code == 1
    [problem] = problem_lines(result, str(file))
    assert problem["rule"] == "registry.optional_output"
    assert problem["pointer"] == "/outputs/1/required"


def test_registry_project_violation_in_json(
    cli: Cli, tmp_path: Path, load_example: LoadExample
) -> None:
    record = load_example(SUCCESS)
    record["project"]["project_id"] = "someone-else"
    file = write_record(tmp_path / f"{SUCCESS}.run_record.json", record)
    result = cli("validate", "--json", "--registry", str(EXAMPLE_REGISTRY), str(file))
    assert result.code == 1
    report = json.loads(result.out)
    check_json_shape(report)
    assert [p["rule"] for p in report["files"][0]["problems"]] == ["registry.project"]


# --- schema ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return runrecord.load_schema()


def test_schema_prints_the_shipped_schema(cli: Cli, schema: dict[str, Any]) -> None:
    result = cli("schema")
    assert result.code == 0
    assert json.loads(result.out) == schema
    assert result.err == ""


def test_schema_explicit_version(cli: Cli) -> None:
    result = cli("schema", "--version", runrecord.RUN_RECORD_VERSION)
    assert result.code == 0
    assert json.loads(result.out) == runrecord.load_schema(runrecord.RUN_RECORD_VERSION)


def test_schema_has_only_internal_refs(schema: dict[str, Any]) -> None:
    all_refs = list(refs(schema))
    assert all_refs, "the schema is expected to use $defs"
    for ref in all_refs:
        assert isinstance(ref, str)
        assert ref.startswith("#/"), ref


def test_schema_is_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name.split(".run_record")[0])
def test_examples_validate_against_the_schema(path: Path, schema: dict[str, Any]) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(record)]
    assert errors == []


def test_schema_rejects_what_the_validator_rejects(
    schema: dict[str, Any], load_example: LoadExample
) -> None:
    record = load_example(SUCCESS)
    del record["status"]
    assert not jsonschema.Draft202012Validator(schema).is_valid(record)


# --- --version -------------------------------------------------------------------------


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"runrecord {runrecord.__version__}"
    assert runrecord.__version__ != "0+unknown"


# --- the installed command -------------------------------------------------------------


def console_script() -> str:
    """The ``runrecord`` script installed next to this interpreter, else the one on PATH."""
    found = shutil.which("runrecord", path=str(Path(sys.executable).parent)) or shutil.which(
        "runrecord"
    )
    if found is None:
        pytest.fail("the runrecord console script is not installed")
    return found


def run(argv: list[str], cwd: Path, stdin: bytes | None = None) -> Result:
    env = {k: v for k, v in os.environ.items() if k != runrecord.REGISTRY_ENV_VAR}
    proc = subprocess.run(
        argv, cwd=cwd, input=stdin, capture_output=True, env=env, check=False, timeout=120
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_console_script_validates_examples(tmp_path: Path) -> None:
    result = run([console_script(), "validate", str(EXAMPLES)], tmp_path)
    assert result.code == 0, result.err
    assert result.out == ""
    assert "checked 7 records: 7 valid, 0 invalid" in result.err


def test_console_script_reports_problems(tmp_path: Path, load_example: LoadExample) -> None:
    record = load_example(SUCCESS)
    wrong_warnings_count(record)
    record["run_id"] = "bad"  # a record file is named after its run id
    file = write_record(tmp_path / "bad.run_record.json", record)
    result = run(
        [console_script(), "validate", "--registry", str(EXAMPLE_REGISTRY), str(file)], tmp_path
    )
    assert result.code == 1, result.err
    [problem] = problem_lines(result, str(file))
    assert problem["rule"] == "counters.warnings_count"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["validate", "missing.run_record.json"], id="no-such-path"),
        pytest.param(["--bogus"], id="unknown-option"),
        pytest.param([], id="no-arguments"),
        pytest.param(["validate", "--registry", "missing.toml", "."], id="missing-registry"),
        pytest.param(["schema", "--version", "9.9.9"], id="unknown-schema-version"),
    ],
)
def test_console_script_usage_errors(tmp_path: Path, argv: list[str]) -> None:
    result = run([console_script(), *argv], tmp_path)
    assert result.code == 2
    assert result.err
    assert "Traceback" not in result.both


def test_console_script_schema(tmp_path: Path, schema: dict[str, Any]) -> None:
    result = run([console_script(), "schema"], tmp_path)
    assert result.code == 0, result.err
    assert json.loads(result.out) == schema


def test_console_script_version(tmp_path: Path) -> None:
    result = run([console_script(), "--version"], tmp_path)
    assert result.code == 0
    assert result.out.strip() == f"runrecord {runrecord.__version__}"


def test_python_m_runrecord_reads_stdin(tmp_path: Path, load_example: LoadExample) -> None:
    good = EXAMPLE_FILES[0].read_bytes()
    result = run([sys.executable, "-m", "runrecord", "validate", "-"], tmp_path, stdin=good)
    assert result.code == 0, result.err
    assert result.out == ""
    assert "checked 1 record: 1 valid, 0 invalid" in result.err

    record = load_example(SUCCESS)
    wrong_warnings_count(record)
    bad = json.dumps(record).encode()
    result = run([sys.executable, "-m", "runrecord", "validate", "-"], tmp_path, stdin=bad)
    assert result.code == 1
    [problem] = problem_lines(result, "-")
    assert problem["rule"] == "counters.warnings_count"


def test_python_m_runrecord_version_and_usage_error(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "runrecord", "--version"], tmp_path)
    assert result.code == 0
    assert result.out.strip() == f"runrecord {runrecord.__version__}"
    result = run([sys.executable, "-m", "runrecord", "validate", "nope"], tmp_path)
    assert result.code == 2
    assert "Traceback" not in result.both
