"""The ``runrecord`` commands that read a store: ``show``, ``ls``, ``gate`` and ``recover``.

Every store is built in ``tmp_path`` with the real API (``runrecord.run``, ``open_run``,
``write_stage``), or from copies of the example records where fixed times are needed. Most
tests call :func:`runrecord.cli.main` in-process; one runs the installed console script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import example_records
import pytest

import runrecord
from runrecord import cli as cli_module
from runrecord.cli import main

NONE = "\u2014"
HINT = "rerun orders.daily first, then this run"
REGISTRY_TOML = """\
project_id = "demo"
project_name = "Demo pipelines"
run_record_dir = "records"
stages = ["extract", "transform", "load", "publish"]
optional_stages = ["publish"]
"""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@dataclass(frozen=True)
class Project:
    """A project in ``tmp_path``: its registry file and its run record directory."""

    file: Path
    registry: runrecord.Registry

    @property
    def records(self) -> Path:
        return self.registry.record_dir

    @property
    def opt(self) -> list[str]:
        return ["--registry", str(self.file)]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No registry from the environment; the working directory is this test's own."""
    monkeypatch.delenv(runrecord.REGISTRY_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``runrecord`` in-process; argparse's own exits count as exit statuses."""

    def run(*argv: str) -> Result:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Result(code, out, err)

    return run


def make_project(root: Path) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    file = root / "runrecord.toml"
    file.write_text(REGISTRY_TOML, encoding="utf-8")
    return Project(file, runrecord.load_registry(file))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


# --- building records with the real API --------------------------------------------------


def succeed(
    project: Project, entrypoint: str = "demo.daily", **kwargs: Any
) -> tuple[runrecord.RunRecord, Path]:
    with runrecord.run(entrypoint, registry=project.registry, command="demo", **kwargs) as run:
        with run.stage("extract", node=runrecord.NodeRef(id="extract_op", attempt=1)) as stage:
            stage.count(records_seen=10, records_processed=9)
            stage.skip(1, "duplicate")
        with run.stage("load"):
            pass
    assert isinstance(run.record_path, Path)
    return run.record, run.record_path


def fail(project: Project, entrypoint: str = "demo.daily") -> tuple[runrecord.RunRecord, Path]:
    with runrecord.run(entrypoint, registry=project.registry, command="demo") as run:
        with run.stage("extract") as stage:
            stage.error("input_missing", "orders are missing", remediation_hint=HINT)
    assert run.record.status is runrecord.Status.ERROR
    assert isinstance(run.record_path, Path)
    return run.record, run.record_path


def partial(project: Project, entrypoint: str = "demo.daily") -> tuple[runrecord.RunRecord, Path]:
    with runrecord.run(entrypoint, registry=project.registry, command="demo") as run:
        with run.stage("extract"):
            pass
        run.skip_stage("publish", "not_selected")
    assert run.record.status is runrecord.Status.PARTIAL_SUCCESS
    assert isinstance(run.record_path, Path)
    return run.record, run.record_path


def corrupt(project: Project, run_id: str = "demo.daily-corrupt") -> Path:
    project.records.mkdir(parents=True, exist_ok=True)
    path = project.records / f"{run_id}.run_record.json"
    path.write_bytes(b'{"run_record_version": "1.0.0", "run_id": ')
    return path


def copy_examples(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for run_id in example_records.ALL:
        shutil.copyfile(example_records.path_of(run_id), directory / f"{run_id}.run_record.json")


def fields(out: str) -> dict[str, str]:
    """The header lines of ``show``: ``key: value`` up to the first blank line."""
    header = out.split("\n\n", 1)[0]
    return {k: v.strip() for k, v in (line.split(":", 1) for line in header.splitlines())}


def section(out: str, title: str) -> list[str]:
    """The lines of one ``show`` section, title line included."""
    for block in out.split("\n\n"):
        if block.startswith((f"{title} (", f"{title}:")):
            return block.splitlines()
    raise AssertionError(f"no section {title!r} in:\n{out}")


def ls_rows(out: str) -> list[list[str]]:
    """The rows of ``ls`` (header dropped), split into cells; no cell holds a space."""
    lines = out.splitlines()
    assert lines[0].split() == [
        "created",
        "run",
        "id",
        "entrypoint",
        "status",
        "stages",
        "errors",
        "duration",
    ]
    return [line.split() for line in lines[1:]]


def ls_ids(out: str) -> list[str]:
    return [row[1] for row in ls_rows(out)] if out else []


# --- show --------------------------------------------------------------------------------


def test_show_by_run_id(cli: Cli, project: Project) -> None:
    orchestrator = runrecord.OrchestratorInfo(name="dagster", run_id="abc-123", attempt=2)
    record, path = succeed(project, orchestrator=orchestrator)
    result = cli("show", *project.opt, record.run_id)
    assert result.code == 0, result.err
    head = fields(result.out)
    assert head["run id"] == record.run_id
    assert head["entrypoint"] == "demo.daily"
    assert head["status"] == "success"
    assert head["created"] == record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record.completed_at is not None
    assert head["completed"] == record.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert head["duration"].endswith("s")
    assert head["project"] == "demo (Demo pipelines)"
    assert head["orchestrator"] == "dagster, run abc-123, attempt 2"
    assert head["file"] == str(path)
    stages = section(result.out, "stages")
    assert stages[0] == "stages (2):"
    assert stages[1].split() == [
        "stage",
        "status",
        "started",
        "duration",
        "files",
        "records",
        "errors",
        "warnings",
        "node",
    ]
    extract = stages[2].split()
    assert extract[:2] == ["extract", "success"]
    assert extract[4:] == ["0/0/0", "10/9/1", "0", "0", "extract_op", "(attempt", "1)"]
    assert stages[3].split()[-1] == NONE  # load has no node
    assert section(result.out, "inputs") == ["inputs: none"]
    assert section(result.out, "outputs") == ["outputs: none"]
    assert section(result.out, "errors") == ["errors: none"]


def test_show_inputs_and_outputs(cli: Cli, project: Project, tmp_path: Path) -> None:
    with runrecord.run("demo.daily", registry=project.registry, command="demo") as run:
        with run.output(
            "report", tmp_path / "out" / "report.txt", artifact_family="report", schema_version="1"
        ) as out:
            out.path.write_text("9 records")
            out.record_count = 9
    upstream = run.record.outputs[0]
    with runrecord.run("demo.weekly", registry=project.registry, command="demo") as run:
        run.input(
            "daily report",
            upstream.path,
            artifact_family="report",
            manifest_path=upstream.manifest_path,
        )
    result = cli("show", *project.opt, run.record.run_id)
    assert result.code == 0, result.err
    inputs = section(result.out, "inputs")
    assert inputs[1].split() == ["name", "resolution", "path"]
    assert inputs[2].split() == ["daily", "report", "present", upstream.path]
    result = cli("show", *project.opt, "latest", "--entrypoint", "demo.daily")
    outputs = section(result.out, "outputs")
    assert outputs[1].split() == ["name", "promotion_status", "path"]
    assert outputs[2].split() == ["report", "promoted", upstream.path]


def test_show_by_path_needs_no_registry(cli: Cli, tmp_path: Path) -> None:
    proj = make_project(tmp_path / "proj")
    record, path = succeed(proj)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)  # no registry here or above it (tmp_path has none)
    by_path = cli("show", str(path))
    assert by_path.code == 0, by_path.err
    assert fields(by_path.out)["run id"] == record.run_id
    shutil.copyfile(path, elsewhere / "copy.run_record.json")
    relative = cli("show", "copy.run_record.json")
    assert relative.code == 0, relative.err
    assert fields(relative.out)["file"] == "copy.run_record.json"
    assert relative.out.split("\n\n", 1)[1] == by_path.out.split("\n\n", 1)[1]


def test_show_latest(cli: Cli, project: Project) -> None:
    first, _ = succeed(project, "demo.daily")
    weekly, _ = fail(project, "demo.weekly")
    newest, _ = partial(project, "demo.daily")
    assert first.created_at < weekly.created_at < newest.created_at
    assert fields(cli("show", *project.opt, "latest").out)["run id"] == newest.run_id
    for entrypoint, expected in (("demo.weekly", weekly), ("demo.daily", newest)):
        result = cli("show", *project.opt, "latest", "--entrypoint", entrypoint)
        assert result.code == 0, result.err
        assert fields(result.out)["run id"] == expected.run_id


def test_show_json_is_the_file(cli: Cli, project: Project) -> None:
    record, path = fail(project)
    for target in (record.run_id, str(path), "latest"):
        result = cli("show", *project.opt, target, "--json")
        assert result.code == 0, result.err
        assert json.loads(result.out) == json.loads(path.read_text(encoding="utf-8"))
        assert result.out == path.read_text(encoding="utf-8")


def test_show_failed_run_prints_remediation_hint(cli: Cli, project: Project) -> None:
    record, _ = fail(project)
    result = cli("show", *project.opt, record.run_id)
    assert result.code == 0, result.err
    assert fields(result.out)["status"] == "error"
    errors = section(result.out, "errors")
    assert errors[0] == "errors (1):"
    assert errors[1] == "  input_missing (extract): orders are missing"
    assert errors[2] == f"    hint: {HINT}"
    assert section(result.out, "stages")[2].split()[:2] == ["extract", "error"]


def test_show_exception_with_evidence(cli: Cli, project: Project) -> None:
    with (
        pytest.raises(ValueError, match="bad row"),
        runrecord.run("demo.daily", registry=project.registry, command="demo") as run,
        run.stage("transform"),
    ):
        raise ValueError("bad row")
    result = cli("show", *project.opt, run.record.run_id)
    errors = section(result.out, "errors")
    assert errors[1] == "  runtime_error (transform): ValueError: bad row"
    assert errors[2].startswith("    hint: ")
    assert any(line.startswith("    evidence: ") for line in errors)


def test_show_warnings(cli: Cli, project: Project) -> None:
    with runrecord.run("demo.daily", registry=project.registry, command="demo") as run:
        with run.stage("extract") as stage:
            stage.warn("schema_drift_handled", "new optional column 'note'")
    result = cli("show", *project.opt, run.record.run_id)
    warnings = section(result.out, "warnings")
    assert warnings == [
        "warnings (1):",
        "  schema_drift_handled (extract): new optional column 'note'",
    ]


def test_show_example_crashed_record(cli: Cli, tmp_path: Path) -> None:
    copy_examples(tmp_path / "examples")
    result = cli("show", "--dir", str(tmp_path / "examples"), example_records.CRASHED)
    assert result.code == 0, result.err
    assert fields(result.out)["completed"] == NONE
    assert fields(result.out)["duration"] == NONE
    assert "crashed (" in result.out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["demo.daily-20990101T000000Z-nothere"], id="missing-run-id"),
        pytest.param(["missing.run_record.json"], id="missing-path"),
        pytest.param(["no/such/dir/x.json"], id="missing-nested-path"),
        pytest.param(["latest"], id="latest-in-empty-store"),
        pytest.param(["latest", "--entrypoint", "demo.daily"], id="latest-entrypoint-none"),
        pytest.param(["latest", "--entrypoint", "bad name"], id="latest-entrypoint-unsafe"),
        pytest.param(["some-run", "--entrypoint", "demo.daily"], id="entrypoint-without-latest"),
        pytest.param(["bad run id"], id="unsafe-run-id"),
        pytest.param(["."], id="directory"),
        pytest.param([], id="no-target"),
    ],
)
def test_show_usage_errors(cli: Cli, project: Project, argv: list[str]) -> None:
    result = cli("show", *project.opt, *argv)
    assert result.code == 2
    assert result.out == ""
    assert result.err.strip()


def test_show_missing_run_id_names_the_store(cli: Cli, project: Project) -> None:
    succeed(project)
    result = cli("show", *project.opt, "demo.daily-nothere")
    assert result.code == 2
    assert result.err.strip() == (
        f"runrecord show: no run record 'demo.daily-nothere' in {project.records}"
    )
    by_entrypoint = cli("show", *project.opt, "demo.daily")
    assert by_entrypoint.code == 2
    assert "show latest --entrypoint demo.daily" in by_entrypoint.err


def test_show_corrupt_record(cli: Cli, project: Project) -> None:
    path = corrupt(project)
    result = cli("show", *project.opt, "demo.daily-corrupt")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert "[json.syntax]" in result.out
    assert "not a valid run record" in result.err
    as_json = cli("show", str(path), "--json")
    assert as_json.code == 1
    report = json.loads(as_json.out)
    assert report["valid"] is False
    assert report["path"] == str(path)
    assert [p["rule"] for p in report["problems"]] == ["json.syntax"]


def test_show_semantically_invalid_record(cli: Cli, project: Project) -> None:
    _, path = succeed(project)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["counters"]["warnings_count"] += 1
    bad = project.records / "demo.daily-tampered.run_record.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = cli("show", *project.opt, "demo.daily-tampered")
    assert result.code == 1
    assert "counters.warnings_count" in result.out


# --- ls ----------------------------------------------------------------------------------


def test_ls_newest_first(cli: Cli, project: Project) -> None:
    made = [succeed(project)[0], fail(project, "demo.weekly")[0], partial(project)[0]]
    result = cli("ls", *project.opt)
    assert result.code == 0, result.err
    rows = ls_rows(result.out)
    assert [r[1] for r in rows] == [r.run_id for r in reversed(made)]
    newest = made[-1]
    assert rows[0] == [
        newest.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        newest.run_id,
        "demo.daily",
        "partial_success",
        "2",
        "0",
        rows[0][6],
    ]
    assert rows[1][2:6] == ["demo.weekly", "error", "1", "1"]
    assert rows[2][3:6] == ["success", "2", "0"]
    assert all(r[6].endswith("s") for r in rows)


def test_ls_filters(cli: Cli, project: Project) -> None:
    ok, _ = succeed(project)
    bad, _ = fail(project, "demo.weekly")
    part, _ = partial(project)
    corrupt(project)
    assert ls_ids(cli("ls", *project.opt, "--status", "error").out) == [bad.run_id]
    assert ls_ids(cli("ls", *project.opt, "--status", "success", "error").out) == [
        bad.run_id,
        ok.run_id,
    ]
    assert ls_ids(
        cli("ls", *project.opt, "--status", "success", "--status", "partial_success").out
    ) == [part.run_id, ok.run_id]
    assert ls_ids(cli("ls", *project.opt, "--status", "INVALID").out) == ["demo.daily-corrupt"]
    assert ls_ids(cli("ls", *project.opt, "--entrypoint", "demo.daily").out) == [
        part.run_id,
        ok.run_id,
    ]
    assert ls_ids(
        cli("ls", *project.opt, "--entrypoint", "demo.daily", "--status", "success").out
    ) == [ok.run_id]
    assert len(ls_rows(cli("ls", *project.opt, "--limit", "2").out)) == 2
    everything = ls_ids(cli("ls", *project.opt).out)
    assert ls_ids(cli("ls", *project.opt, "--limit", "3").out) == everything[:3]
    nothing = cli("ls", *project.opt, "--entrypoint", "demo.hourly")
    assert nothing.code == 0
    assert nothing.out == ""
    assert "match" in nothing.err


@pytest.fixture
def examples_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The example records in a store, with "now" fixed at 2026-11-26T12:00:00Z."""
    copy_examples(tmp_path / "examples")
    monkeypatch.setattr(cli_module, "_now", lambda: datetime(2026, 11, 26, 12, tzinfo=UTC))
    return ["--dir", str(tmp_path / "examples")]


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        pytest.param("6h", 3, id="hours"),
        pytest.param("360m", 3, id="minutes"),
        pytest.param("1d", 3, id="day"),
        pytest.param("2d", 5, id="days"),
        pytest.param("1w", 7, id="week"),
        pytest.param("2026-11-25", 5, id="date"),
        pytest.param("2026-11-25T06:15:00", 4, id="naive-datetime-is-utc"),
        pytest.param("2026-11-25T07:15:00+01:00", 4, id="offset-datetime"),
        pytest.param("2026-11-26T06:00:02.114233Z", 3, id="exact-created-at-included"),
        pytest.param("2027-01-01", 0, id="future"),
    ],
)
def test_ls_since(cli: Cli, examples_store: list[str], since: str, expected: int) -> None:
    result = cli("ls", *examples_store, "--since", since)
    assert result.code == 0, result.err
    assert len(ls_rows(result.out) if result.out else []) == expected


def test_ls_examples_in_order(cli: Cli, examples_store: list[str]) -> None:
    rows = ls_rows(cli("ls", *examples_store).out)
    assert [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    assert rows[0][1:4] == [example_records.NO_INPUT_MODE, "sales.backfill", "empty_success"]
    crashed = next(r for r in rows if r[1] == example_records.CRASHED)
    assert crashed[3] == "error"
    assert crashed[6] == NONE


def test_ls_json(cli: Cli, project: Project) -> None:
    ok, ok_path = succeed(project)
    bad, _ = fail(project)
    broken = corrupt(project)
    result = cli("ls", *project.opt, "--json")
    assert result.code == 0, result.err
    listed = json.loads(result.out)
    by_id = {item["run_id"]: item for item in listed}
    assert set(by_id) == {ok.run_id, bad.run_id, "demo.daily-corrupt"}
    assert [i["run_id"] for i in listed if i["valid"]] == [bad.run_id, ok.run_id]
    assert by_id[ok.run_id] == {
        "path": str(ok_path),
        "run_id": ok.run_id,
        "entrypoint_id": "demo.daily",
        "status": "success",
        "valid": True,
        "created_at": ok.created_at.isoformat(),
        "completed_at": ok.completed_at.isoformat() if ok.completed_at else None,
        "duration_seconds": by_id[ok.run_id]["duration_seconds"],
        "stages": 2,
        "errors": 0,
        "problems": [],
    }
    assert isinstance(by_id[ok.run_id]["duration_seconds"], float)
    assert by_id[bad.run_id]["errors"] == 1
    invalid = by_id["demo.daily-corrupt"]
    assert invalid["path"] == str(broken)
    assert invalid["valid"] is False
    assert invalid["status"] is None
    assert invalid["problems"][0]["rule"] == "json.syntax"
    limited = json.loads(cli("ls", *project.opt, "--json", "--status", "error").out)
    assert [i["run_id"] for i in limited] == [bad.run_id]


def test_ls_lists_invalid_files(cli: Cli, project: Project) -> None:
    ok, path = succeed(project)
    broken = corrupt(project)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["run_id"] = "demo.daily-tampered"
    data["counters"]["warnings_count"] += 1
    (project.records / "demo.daily-tampered.run_record.json").write_text(json.dumps(data))
    (project.records / "demo.daily-empty.run_record.json").write_bytes(b"")
    result = cli("ls", *project.opt)
    assert result.code == 0, result.err
    rows = {r[1]: r for r in ls_rows(result.out)}
    assert set(rows) == {ok.run_id, "demo.daily-corrupt", "demo.daily-tampered", "demo.daily-empty"}
    assert rows["demo.daily-corrupt"] == [NONE, "demo.daily-corrupt", NONE, "INVALID", *[NONE] * 3]
    assert rows["demo.daily-empty"][3] == "INVALID"
    # parsed, but its counters do not add up: what it says is shown, its status is not
    assert rows["demo.daily-tampered"][:4] == [
        ok.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "demo.daily-tampered",
        "demo.daily",
        "INVALID",
    ]
    assert rows[ok.run_id][3] == "success"
    assert broken.exists()


@pytest.mark.parametrize("as_json", [False, True])
def test_ls_empty_store(cli: Cli, project: Project, as_json: bool) -> None:
    assert not project.records.exists()
    result = cli("ls", *project.opt, *(["--json"] if as_json else []))
    assert result.code == 0
    assert result.out == ("[]\n" if as_json else "")
    assert result.err.strip() == f"runrecord ls: no run records in {project.records}"


def test_ls_empty_existing_directory(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("ls", "--dir", str(tmp_path / "empty"))
    assert result.code == 0
    assert "no run records in" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--status", "bogus"], id="unknown-status"),
        pytest.param(["--status"], id="status-without-value"),
        pytest.param(["--since", "yesterday"], id="since-word"),
        pytest.param(["--since", "5x"], id="since-bad-unit"),
        pytest.param(["--since", "10"], id="since-no-unit"),
        pytest.param(["--since", "-5m"], id="since-negative"),
        pytest.param(["--since", "2026-13-01"], id="since-bad-date"),
        pytest.param(["--since", "99999999999999d"], id="since-too-long"),
        pytest.param(["--limit", "0"], id="limit-zero"),
        pytest.param(["--limit", "x"], id="limit-word"),
        pytest.param(["--bogus"], id="unknown-option"),
    ],
)
def test_ls_bad_filters(cli: Cli, project: Project, argv: list[str]) -> None:
    succeed(project)
    result = cli("ls", *project.opt, *argv)
    assert result.code == 2
    assert result.out == ""
    assert result.err


# --- gate --------------------------------------------------------------------------------


def test_gate_passes_on_success(cli: Cli, project: Project) -> None:
    record, _ = succeed(project)
    result = cli("gate", *project.opt, "demo.daily")
    assert result.code == 0, result.err
    assert result.out == f"passed: upstream {record.run_id} is success\n"
    assert result.err == ""


def test_gate_blocks_on_error(cli: Cli, project: Project) -> None:
    succeed(project)
    record, _ = fail(project)
    result = cli("gate", *project.opt, "demo.daily")
    assert result.code == 1
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith(f"blocked: upstream {record.run_id} is error")
    assert "input_missing" in line


def test_gate_blocks_on_missing_record(cli: Cli, project: Project) -> None:
    succeed(project)
    result = cli("gate", *project.opt, "demo.hourly")
    assert result.code == 1
    [line] = result.err.splitlines()
    assert line.startswith("blocked: no run record of 'demo.hourly'")


def test_gate_blocks_on_missing_store(cli: Cli, project: Project) -> None:
    result = cli("gate", *project.opt, "demo.daily")
    assert result.code == 1
    assert result.err.startswith("blocked: ")


def test_gate_blocks_on_invalid_record_named_by_latest(cli: Cli, project: Project) -> None:
    record, _ = succeed(project)
    broken = corrupt(project, "demo.daily-corrupt")
    pointer = project.records / "latest" / "demo.daily.json"
    assert json.loads(pointer.read_text())["run_id"] == record.run_id
    pointer.unlink()
    pointer.write_text(
        json.dumps(
            {
                "entrypoint_id": "demo.daily",
                "run_id": "demo.daily-corrupt",
                "created_at": "2099-01-01T00:00:00.000000Z",
                "status": "success",
            }
        )
    )
    result = cli("gate", *project.opt, "demo.daily")
    assert result.code == 1
    [line] = result.err.splitlines()
    assert line.startswith(f"blocked: upstream record {broken.name} is invalid")


def test_gate_allow(cli: Cli, project: Project) -> None:
    record, _ = partial(project)
    blocked = cli("gate", *project.opt, "demo.daily")
    assert blocked.code == 1
    assert "partial_success" in blocked.err
    allowed = cli("gate", *project.opt, "demo.daily", "--allow", "partial_success")
    assert allowed.code == 0, allowed.err
    assert allowed.out == f"passed: upstream {record.run_id} is partial_success\n"
    several = cli("gate", *project.opt, "demo.daily", "--allow", "success", "partial_success")
    assert several.code == 0
    repeated = cli("gate", *project.opt, "demo.daily", "--allow", "success", "--allow", "error")
    assert repeated.code == 1


def test_gate_by_run_id(cli: Cli, project: Project) -> None:
    old, _ = succeed(project)
    fail(project)
    assert cli("gate", *project.opt, "demo.daily").code == 1
    result = cli("gate", *project.opt, old.run_id)
    assert result.code == 0, result.err
    assert old.run_id in result.out


def test_gate_empty_success_allowed_by_default(cli: Cli, examples_store: list[str]) -> None:
    result = cli("gate", *examples_store, "sales.backfill")
    assert result.code == 0, result.err
    assert "empty_success" in result.out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["demo.daily", "--allow", "fine"], id="unknown-status"),
        pytest.param([], id="no-upstream"),
        pytest.param(["--registry", "missing.toml", "demo.daily"], id="missing-registry"),
        pytest.param(["--dir", "missing", "demo.daily"], id="missing-dir"),
    ],
)
def test_gate_usage_errors(cli: Cli, argv: list[str]) -> None:
    result = cli("gate", *argv)
    assert result.code == 2
    assert result.err


def test_gate_unsafe_name_blocks(cli: Cli, project: Project) -> None:
    succeed(project)
    result = cli("gate", *project.opt, "../demo.daily")
    assert result.code == 1
    assert result.err.startswith("blocked: ")


# --- recover -----------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    import runrecord

    option, where = sys.argv[1], sys.argv[2]
    if option == "--dir":
        registry = runrecord.Registry(
            project_id="demo", project_name="Demo", stages=["extract"], run_record_dir=where
        )
    else:
        registry = runrecord.load_registry(where)
    run_id = runrecord.open_run("demo.daily", registry=registry, command="demo child")
    runrecord.write_stage(
        run_id, "extract", registry=registry, counters={"records_seen": 5, "records_processed": 5}
    )
    print(run_id)
    """
)


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != runrecord.REGISTRY_ENV_VAR}


def abandon_run(option: str, where: Path, cwd: Path) -> str:
    """Open a run in a child process that exits without finalizing it; its pid is dead."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, option, str(where)],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize("option", ["--registry", "--dir"])
def test_recover_abandoned_run(cli: Cli, project: Project, tmp_path: Path, option: str) -> None:
    where = project.file if option == "--registry" else project.records
    run_id = abandon_run(option, where, tmp_path)
    store = [option, str(where)]
    record_path = project.records / f"{run_id}.run_record.json"
    assert not record_path.exists()
    assert (project.records / ".staging" / run_id).is_dir()

    result = cli("recover", *store)
    assert result.code == 0, result.err
    [line] = result.out.splitlines()
    cells = line.split()
    assert cells[:2] == ["recovered", run_id]
    assert cells[-1] == str(record_path)
    assert "gone" in line

    record = runrecord.read_record(record_path)
    assert record.status is runrecord.Status.ERROR
    assert record.completed_at is None
    assert [e.type for e in record.errors] == [runrecord.ErrorType.CRASHED]
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", runrecord.StageStatus.SUCCESS)
    ]

    shown = cli("show", *store, run_id)
    assert shown.code == 0, shown.err
    assert fields(shown.out)["completed"] == NONE
    assert fields(shown.out)["duration"] == NONE
    errors = section(shown.out, "errors")
    assert errors[1].startswith("  crashed (run): ")
    assert errors[2] == f"    hint: {runrecord.ErrorType.CRASHED.remediation}"

    again = cli("recover", *store)
    assert again.code == 0
    assert again.out == ""
    assert again.err.strip() == f"runrecord recover: nothing to recover in {project.records}"
    assert sorted(project.records.glob("*.run_record.json")) == [record_path]

    assert cli("gate", *store, "demo.daily").code == 1
    assert ls_rows(cli("ls", *store).out)[0][1:4] == [run_id, "demo.daily", "error"]


def test_recover_leaves_live_run_alone(cli: Cli, project: Project) -> None:
    run_id = runrecord.open_run("demo.daily", registry=project.registry, command="live")
    for older_than in ("24h", "0s"):
        result = cli("recover", *project.opt, "--older-than", older_than)
        assert result.code == 0, result.err
        [line] = result.out.splitlines()
        assert line.split()[:2] == ["live", run_id]
        assert line.split()[-1] == NONE
    assert (project.records / ".staging" / run_id).is_dir()
    assert not list(project.records.glob("*.run_record.json"))
    runrecord.finalize_run(run_id, registry=project.registry)
    assert cli("recover", *project.opt).err.startswith("runrecord recover: nothing to recover")


def test_recover_mixed_outcomes_and_failure(cli: Cli, project: Project, tmp_path: Path) -> None:
    dead = abandon_run("--registry", project.file, tmp_path)
    live = runrecord.open_run("demo.weekly", registry=project.registry, command="live")
    unreadable = project.records / ".staging" / "demo.daily-unreadable"
    unreadable.mkdir(parents=True)
    (unreadable / "header.json").write_text("{not json")
    result = cli("recover", *project.opt)
    assert result.code == 1
    outcomes = {line.split()[1]: line.split()[0] for line in result.out.splitlines()}
    assert outcomes == {dead: "recovered", live: "live", "demo.daily-unreadable": "failed"}


def test_recover_nothing(cli: Cli, project: Project) -> None:
    result = cli("recover", *project.opt)
    assert result.code == 0
    assert result.out == ""
    assert "nothing to recover" in result.err


@pytest.mark.parametrize("value", ["soon", "10", "-5m", "5x", "1h30", "99999999999999d", ""])
def test_recover_bad_older_than(cli: Cli, project: Project, value: str) -> None:
    result = cli("recover", *project.opt, "--older-than", value)
    assert result.code == 2
    assert "--older-than" in result.err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("12h", 43200), ("2d", 172800), ("1w", 604800), ("1.5h", 5400)],
)
def test_duration_parser(text: str, seconds: float) -> None:
    assert cli_module._duration(text).total_seconds() == seconds


# --- choosing the store ------------------------------------------------------------------


def test_dir_wins_over_registry(cli: Cli, project: Project, tmp_path: Path) -> None:
    mine, _ = succeed(project)
    copy_examples(tmp_path / "examples")
    both = ["--registry", str(project.file), "--dir", str(tmp_path / "examples")]
    listed = ls_ids(cli("ls", *both).out)
    assert sorted(listed) == sorted(example_records.ALL)
    assert mine.run_id not in listed
    assert cli("show", *both, mine.run_id).code == 2
    assert cli("show", *both, example_records.SUCCESS).code == 0
    assert cli("gate", *both, "sales.daily").code == 0
    assert cli("gate", *project.opt, "demo.daily").code == 0
    assert ls_ids(cli("ls", *project.opt).out) == [mine.run_id]


def test_registry_from_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = make_project(tmp_path / "proj")
    record, _ = succeed(proj)
    monkeypatch.setenv(runrecord.REGISTRY_ENV_VAR, str(proj.file))
    assert ls_ids(cli("ls").out) == [record.run_id]
    assert fields(cli("show", "latest").out)["run id"] == record.run_id
    assert cli("gate", "demo.daily").code == 0
    monkeypatch.setenv(runrecord.REGISTRY_ENV_VAR, str(tmp_path / "missing.toml"))
    result = cli("ls")
    assert result.code == 2
    assert "registry file not found" in result.err


def test_registry_discovered_upward(cli: Cli, project: Project, tmp_path: Path) -> None:
    record, _ = succeed(project)
    (tmp_path / "src" / "deep").mkdir(parents=True)
    os.chdir(tmp_path / "src" / "deep")
    assert ls_ids(cli("ls").out) == [record.run_id]
    assert cli("gate", "demo.daily").code == 0


@pytest.mark.parametrize("command", [["ls"], ["show", "latest"], ["gate", "x"], ["recover"]])
def test_bad_store_options(cli: Cli, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "bad.toml").write_text("project_id = \n")
    (tmp_path / "file").write_text("not a directory")
    for store in (
        ["--registry", str(tmp_path / "missing.toml")],
        ["--registry", str(tmp_path / "bad.toml")],
        ["--dir", str(tmp_path / "missing")],
        ["--dir", str(tmp_path / "file")],
    ):
        result = cli(*command, *store)
        assert result.code == 2, (store, result)
        [line] = result.err.splitlines()
        assert line.startswith(f"runrecord {command[0]}: ")


@pytest.mark.parametrize("command", [["ls"], ["show", "latest"], ["gate", "x"], ["recover"]])
def test_unreadable_store_directory(cli: Cli, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the run record directory should be")
    registry = tmp_path / "runrecord.toml"
    registry.write_text(REGISTRY_TOML.replace('"records"', '"not-a-dir"'))
    result = cli(*command, "--registry", str(registry))
    [line] = result.err.splitlines()
    assert "not-a-dir" in line
    if command[0] == "gate":  # the gate fails closed: an unreadable store blocks
        assert (result.code, line.split(":")[0]) == (1, "blocked")
    else:
        assert result.code == 2
        assert line.startswith(f"runrecord {command[0]}: ")


# --- the installed command ---------------------------------------------------------------


def console_script() -> str:
    found = shutil.which("runrecord", path=str(Path(sys.executable).parent)) or shutil.which(
        "runrecord"
    )
    if found is None:
        pytest.fail("the runrecord console script is not installed")
    return found


def test_console_script(project: Project, tmp_path: Path) -> None:
    ok, _ = succeed(project)
    partial(project, "demo.weekly")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [console_script(), *argv],
            cwd=tmp_path,
            env=child_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    passed = run("gate", "--registry", str(project.file), "demo.daily")
    assert (passed.returncode, passed.stdout) == (0, f"passed: upstream {ok.run_id} is success\n")
    blocked = run("gate", "--registry", str(project.file), "demo.weekly")
    assert blocked.returncode == 1
    assert blocked.stderr.startswith("blocked: ")
    listed = run("ls", "--dir", str(project.records), "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 2
    bad = run("recover", "--older-than", "later")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stdout + bad.stderr


# --- the core under the commands -------------------------------------------------------


@pytest.mark.parametrize("call", ["check_upstream", "recover"])
def test_core_unlistable_store_raises_a_library_error(tmp_path: Path, call: str) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the run record directory should be")
    registry = runrecord.Registry(
        project_id="demo",
        project_name="Demo",
        stages=("extract",),
        run_record_dir=str(tmp_path / "not-a-dir"),
    )
    try:
        if call == "check_upstream":
            assert not runrecord.check_upstream("demo.daily", registry=registry).passed
        else:
            runrecord.recover(registry=registry)
    except runrecord.RunRecordError:
        pass
