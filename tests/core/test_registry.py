"""The project registry: where it is found, what it accepts, what it refuses, what it checks.

A registry lives in ``runrecord.toml`` (top-level keys) or in ``pyproject.toml`` under
``[tool.runrecord]``, or is built in code. Every refusal is a :class:`runrecord.ConfigError`
that names the file and the key and says what to write instead.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import example_records
import pytest
from example_records import ERROR, NO_INPUT_MODE, PARTIAL_SUCCESS, SUCCESS

import runrecord
from runrecord import REGISTRY_ENV_VAR, ConfigError, Registry, find_registry_file, load_registry

EXAMPLES = example_records.EXAMPLES
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.run_record.json"))

LoadExample = Callable[[str], dict[str, Any]]

PYPROJECT_HEAD = '[project]\nname = "demo"\nversion = "0"\n\n'


def body(project_id: str = "demo", stages: str = '["extract", "load"]', extra: str = "") -> str:
    """The keys of a small valid registry, as TOML."""
    return f'project_id = "{project_id}"\nproject_name = "Demo"\nstages = {stages}\n{extra}'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_runrecord_toml(directory: Path, project_id: str = "demo", extra: str = "") -> Path:
    return write(directory / "runrecord.toml", body(project_id, extra=extra))


def write_pyproject(directory: Path, project_id: str | None = "demo", extra: str = "") -> Path:
    """A pyproject.toml; with ``project_id=None`` it has no [tool.runrecord] table."""
    table = "" if project_id is None else "[tool.runrecord]\n" + body(project_id, extra=extra)
    return write(directory / "pyproject.toml", PYPROJECT_HEAD + table)


@pytest.fixture(autouse=True)
def _no_registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests decide whether RUNRECORD_REGISTRY is set, not the environment they run in."""
    monkeypatch.delenv(REGISTRY_ENV_VAR, raising=False)


@pytest.fixture
def isolated(tmp_path: Path) -> Path:
    """A directory with no registry in it or in any parent directory."""
    directory = tmp_path / "isolated"
    directory.mkdir()
    if find_registry_file(directory) is not None:  # pragma: no cover - depends on the host
        pytest.skip("a parent directory of tmp_path holds a registry")
    return directory


# --- loading ---------------------------------------------------------------------------


def test_loads_top_level_keys_from_runrecord_toml(tmp_path: Path) -> None:
    file = write(
        tmp_path / "runrecord.toml",
        """
project_id = "sales-pipelines"
project_name = "Sales pipelines"
run_record_dir = "records"
stages = ["extract", "transform", "load", "publish"]
optional_outputs = ["summary_report"]
optional_stages = ["publish"]
no_input_entrypoints = ["sales.backfill"]
records_stance = "whole files are moved; records are not a concept"
""",
    )
    registry = load_registry(file)
    assert registry.project_id == "sales-pipelines"
    assert registry.project_name == "Sales pipelines"
    assert registry.stages == ("extract", "transform", "load", "publish")
    assert registry.optional_outputs == ("summary_report",)
    assert registry.optional_stages == ("publish",)
    assert registry.no_input_entrypoints == ("sales.backfill",)
    assert registry.records_stance == "whole files are moved; records are not a concept"
    assert registry.source == file.resolve()
    assert registry.root == tmp_path.resolve()
    assert registry.record_dir == (tmp_path / "records").resolve()


def test_optional_keys_have_defaults(tmp_path: Path) -> None:
    registry = load_registry(write_runrecord_toml(tmp_path))
    assert registry.optional_outputs == ()
    assert registry.optional_stages == ()
    assert registry.no_input_entrypoints == ()
    assert registry.records_stance is None
    assert registry.run_record_dir == "artifacts/run_records"


def test_loads_tool_runrecord_table_from_pyproject(tmp_path: Path) -> None:
    file = write_pyproject(tmp_path, "from-pyproject", extra='optional_stages = ["load"]\n')
    registry = load_registry(file)
    assert registry.project_id == "from-pyproject"
    assert registry.stages == ("extract", "load")
    assert registry.optional_stages == ("load",)
    assert registry.source == file.resolve()


def test_any_other_file_name_holds_top_level_keys(tmp_path: Path) -> None:
    file = write(tmp_path / "registry.toml", body("custom-name"))
    assert load_registry(file).project_id == "custom-name"


def test_the_example_registry_loads(example_registry: Registry) -> None:
    assert example_registry.project_id == "acme-sales"
    assert example_registry.stages == ("extract", "transform", "load", "publish")
    assert example_registry.optional_stages == ("publish",)
    assert example_registry.record_dir == EXAMPLES.resolve()


def test_constructible_in_code() -> None:
    registry = runrecord.Registry(
        project_id="sales",
        project_name="Sales",
        stages=("extract", "load"),
        optional_stages=("load",),
        run_record_dir="/srv/records",
    )
    assert registry.project_id == "sales"
    assert registry.stages == ("extract", "load")
    assert registry.source is None
    assert registry.record_dir == Path("/srv/records").resolve()


def test_built_in_code_resolves_relative_dir_against_cwd_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    registry = Registry(project_id="p", project_name="P", stages=("a",), run_record_dir="recs")
    monkeypatch.chdir(tmp_path.parent)
    assert registry.root == tmp_path.resolve()
    assert registry.record_dir == (tmp_path / "recs").resolve()


def test_from_mapping_accepts_lists_from_toml() -> None:
    registry = Registry.from_mapping({"project_id": "p", "project_name": "P", "stages": ["a", "b"]})
    assert registry.stages == ("a", "b")
    assert registry.source is None


def test_registry_is_immutable(example_registry: Registry) -> None:
    with pytest.raises(ValueError, match="frozen"):
        example_registry.project_id = "other"  # type: ignore[misc]


# --- where it is found -----------------------------------------------------------------


def test_explicit_path(tmp_path: Path) -> None:
    file = write_runrecord_toml(tmp_path / "elsewhere", "explicit")
    assert load_registry(file).project_id == "explicit"
    assert load_registry(str(file)).project_id == "explicit"


def test_a_file_loaded_again_is_parsed_again_only_when_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "runrecord.toml"
    path.write_text('project_id = "sales"\nproject_name = "Sales"\nstages = ["extract"]\n')
    first = load_registry(path)
    assert load_registry(path) is first  # hooks load it for every step
    path.write_text('project_id = "sales"\nproject_name = "Sales"\nstages = ["load"]\n')
    assert load_registry(path).stages == ("load",)  # same size, maybe the same mtime
    path.write_text("project_id = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_registry(path)


def test_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    file = write_runrecord_toml(tmp_path / "conf", "from-env")
    monkeypatch.setenv(REGISTRY_ENV_VAR, str(file))
    monkeypatch.chdir(isolated)
    registry = load_registry()
    assert registry.project_id == "from-env"
    assert registry.source == file.resolve()


def test_env_var_may_name_a_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    file = write_pyproject(tmp_path / "conf", "env-pyproject")
    monkeypatch.setenv(REGISTRY_ENV_VAR, str(file))
    assert load_registry(start=isolated).project_id == "env-pyproject"


def test_empty_env_var_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_runrecord_toml(tmp_path, "searched")
    monkeypatch.setenv(REGISTRY_ENV_VAR, "")
    assert load_registry(start=tmp_path).project_id == "searched"


def test_search_upward_from_start_dir(tmp_path: Path) -> None:
    file = write_runrecord_toml(tmp_path / "proj", "upward")
    deep = tmp_path / "proj" / "src" / "pkg" / "deep"
    deep.mkdir(parents=True)
    assert find_registry_file(deep) == file.resolve()
    registry = load_registry(start=deep)
    assert registry.project_id == "upward"
    assert registry.root == (tmp_path / "proj").resolve()


def test_search_upward_from_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write_pyproject(tmp_path / "proj", "cwd-search")
    deep = tmp_path / "proj" / "jobs" / "nightly"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_registry_file() == file.resolve()
    assert load_registry().project_id == "cwd-search"


def test_search_starts_in_the_start_dir_itself(tmp_path: Path) -> None:
    file = write_runrecord_toml(tmp_path, "here")
    assert find_registry_file(tmp_path) == file.resolve()


def test_nearest_directory_wins(tmp_path: Path) -> None:
    write_runrecord_toml(tmp_path / "outer", "outer")
    write_pyproject(tmp_path / "outer" / "inner", "inner")
    start = tmp_path / "outer" / "inner" / "sub"
    start.mkdir()
    assert load_registry(start=start).project_id == "inner"


def test_runrecord_toml_wins_over_pyproject_in_one_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(tmp_path, "pyproject-loses")
    file = write_runrecord_toml(tmp_path, "runrecord-wins")
    assert find_registry_file(tmp_path) == file.resolve()
    assert load_registry(start=tmp_path).project_id == "runrecord-wins"
    monkeypatch.chdir(tmp_path)
    assert load_registry().project_id == "runrecord-wins"


def test_pyproject_without_table_is_skipped_by_the_search(tmp_path: Path) -> None:
    file = write_runrecord_toml(tmp_path, "outer")
    write_pyproject(tmp_path / "pkg", None)
    start = tmp_path / "pkg" / "src"
    start.mkdir()
    assert find_registry_file(start) == file.resolve()
    assert load_registry(start=start).project_id == "outer"


def test_unparseable_pyproject_is_skipped_by_the_search(tmp_path: Path) -> None:
    file = write_runrecord_toml(tmp_path, "outer")
    write(tmp_path / "pkg" / "pyproject.toml", "[tool.runrecord\nbroken")
    assert find_registry_file(tmp_path / "pkg") == file.resolve()


def test_explicit_path_beats_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = write_runrecord_toml(tmp_path / "env", "from-env")
    explicit = write_runrecord_toml(tmp_path / "explicit", "explicit")
    monkeypatch.setenv(REGISTRY_ENV_VAR, str(env_file))
    assert load_registry(explicit).project_id == "explicit"


def test_env_var_beats_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = write_runrecord_toml(tmp_path / "env", "from-env")
    write_runrecord_toml(tmp_path / "proj", "searched")
    monkeypatch.setenv(REGISTRY_ENV_VAR, str(env_file))
    monkeypatch.chdir(tmp_path / "proj")
    assert load_registry().project_id == "from-env"
    assert load_registry(start=tmp_path / "proj").project_id == "from-env"


def test_env_var_naming_a_missing_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_runrecord_toml(tmp_path / "proj", "searched")  # no fallback to the search
    missing = tmp_path / "nope" / "runrecord.toml"
    monkeypatch.setenv(REGISTRY_ENV_VAR, str(missing))
    with pytest.raises(ConfigError) as info:
        load_registry(start=tmp_path / "proj")
    assert info.value.error_type == "config_error"
    assert str(missing) in info.value.message


# --- run_record_dir --------------------------------------------------------------------


def test_record_dir_default_is_relative_to_the_registry_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write_runrecord_toml(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)  # not the registry's directory
    registry = load_registry(file)
    assert registry.run_record_dir == "artifacts/run_records"
    assert registry.record_dir == (tmp_path / "proj" / "artifacts" / "run_records").resolve()
    assert registry.record_dir.is_absolute()


def test_record_dir_from_pyproject_is_relative_to_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(tmp_path / "proj", extra='run_record_dir = "../shared/records"\n')
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    registry = load_registry()
    assert registry.record_dir == (tmp_path / "shared" / "records").resolve()


def test_record_dir_found_via_env_var_is_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    file = write_runrecord_toml(tmp_path / "conf", extra='run_record_dir = "out"\n')
    monkeypatch.setenv(REGISTRY_ENV_VAR, str(file))
    monkeypatch.chdir(isolated)
    assert load_registry().record_dir == (tmp_path / "conf" / "out").resolve()


def test_record_dir_absolute_path_is_kept(tmp_path: Path) -> None:
    target = (tmp_path / "elsewhere" / "records").resolve()
    file = write_runrecord_toml(tmp_path / "proj", extra=f"run_record_dir = '{target}'\n")
    registry = load_registry(file)
    assert registry.run_record_dir == str(target)
    assert registry.record_dir == target


# --- refusals --------------------------------------------------------------------------


def assert_config_error(
    exc: ConfigError,
    *,
    file: Path | None,
    key: str | None,
    message: str = "",
    hint: str = "",
) -> None:
    assert exc.error_type == "config_error"
    assert isinstance(exc, runrecord.RunRecordError)
    if file is not None:
        assert exc.path == str(file)
        assert str(file) in exc.message
    if key is not None:
        assert exc.key == key
        assert key in exc.message
    assert message in exc.message
    assert hint in exc.remediation_hint
    assert exc.remediation_hint in str(exc)


def test_no_registry_found(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_registry_file(isolated) is None
    with pytest.raises(ConfigError) as info:
        load_registry(start=isolated)
    assert_config_error(
        info.value,
        file=None,
        key=None,
        message=f"no project registry found from {isolated.resolve()}",
        hint="runrecord.toml",
    )
    assert REGISTRY_ENV_VAR in info.value.remediation_hint
    assert "project_id" in info.value.remediation_hint

    monkeypatch.chdir(isolated)
    with pytest.raises(ConfigError, match="no project registry found"):
        load_registry()


def test_explicit_file_missing(tmp_path: Path) -> None:
    missing = tmp_path / "runrecord.toml"
    with pytest.raises(ConfigError) as info:
        load_registry(missing)
    assert_config_error(
        info.value, file=missing, key=None, message="not found", hint="runrecord.toml"
    )


def test_explicit_file_is_never_replaced_by_the_search(tmp_path: Path) -> None:
    write_runrecord_toml(tmp_path, "would-be-found")
    missing = tmp_path / "sub" / "runrecord.toml"
    with pytest.raises(ConfigError, match="not found"):
        load_registry(missing, start=tmp_path)


@pytest.mark.parametrize("name", ["runrecord.toml", "pyproject.toml"])
def test_invalid_toml(tmp_path: Path, name: str) -> None:
    file = write(tmp_path / name, 'project_id = "demo"\nproject_name = = "x"\nstages = ["a"]\n')
    with pytest.raises(ConfigError) as info:
        load_registry(file)
    assert_config_error(
        info.value, file=file, key=None, message="not valid TOML", hint="TOML syntax"
    )
    assert "line 2" in info.value.message


def test_explicit_pyproject_without_table(tmp_path: Path) -> None:
    file = write_pyproject(tmp_path, None)
    with pytest.raises(ConfigError) as info:
        load_registry(file)
    assert_config_error(
        info.value,
        file=file,
        key="tool.runrecord",
        message="no [tool.runrecord] table",
        hint="[tool.runrecord]",
    )
    for key in ("project_id = ", "project_name = ", "stages = "):
        assert key in info.value.remediation_hint


def test_pyproject_tool_runrecord_not_a_table(tmp_path: Path) -> None:
    file = write(tmp_path / "pyproject.toml", PYPROJECT_HEAD + '[tool]\nrunrecord = "yes"\n')
    with pytest.raises(ConfigError) as info:
        load_registry(file)
    assert_config_error(
        info.value,
        file=file,
        key="tool.runrecord",
        message="must be a table",
        hint="[tool.runrecord]",
    )


_NAMES = 'project_id = "demo"\nproject_name = "Demo"\n'

# (keys, key at fault, part of the message, part of the hint: what to write)
INVALID = [
    pytest.param(
        'project_name = "Demo"\nstages = ["a"]\n',
        "project_id",
        "required key 'project_id' is missing",
        'project_id = "',
        id="missing-project_id",
    ),
    pytest.param(
        'project_id = "demo"\nstages = ["a"]\n',
        "project_name",
        "required key 'project_name' is missing",
        'project_name = "',
        id="missing-project_name",
    ),
    pytest.param(
        _NAMES,
        "stages",
        "required key 'stages' is missing",
        "stages = [",
        id="missing-stages",
    ),
    pytest.param(
        _NAMES + 'stage = ["extract", "load"]\n',
        "stage",
        "unknown key 'stage'; did you mean 'stages'?",
        "stages",
        id="unknown-key-stage",
    ),
    pytest.param(
        _NAMES + 'stages = ["a"]\noptional_output = ["x"]\n',
        "optional_output",
        "did you mean 'optional_outputs'?",
        "optional_outputs",
        id="unknown-key-optional_output",
    ),
    pytest.param(
        _NAMES + 'stages = "a"\n',
        "stages",
        "invalid value for 'stages'",
        "stages = [",
        id="stages-not-array",
    ),
    pytest.param(
        'project_id = "demo"\nproject_name = 3\nstages = ["a"]\n',
        "project_name",
        "invalid value for 'project_name'",
        'project_name = "',
        id="project_name-not-string",
    ),
    pytest.param(
        _NAMES + 'stages = ["a", 2]\n',
        "stages",
        "invalid value for 'stages'",
        "stages = [",
        id="stage-not-string",
    ),
    pytest.param(
        _NAMES + "stages = []\n",
        "stages",
        "invalid value for 'stages'",
        "stages = [",
        id="empty-stages",
    ),
    pytest.param(
        _NAMES + 'stages = ["extract", "load", "extract"]\n',
        "stages",
        "duplicate entries ['extract']",
        "stages = [",
        id="duplicate-stages",
    ),
    pytest.param(
        _NAMES + 'stages = ["a"]\noptional_outputs = ["x", "x"]\n',
        "optional_outputs",
        "duplicate",
        "optional_outputs = [",
        id="duplicate-optional_outputs",
    ),
    pytest.param(
        _NAMES + 'stages = ["extract", "load"]\noptional_stages = ["publish"]\n',
        "optional_stages",
        "['publish'] are not in stages",
        "optional_stages = [",
        id="optional_stages-not-in-stages",
    ),
    pytest.param(
        'project_id = "../x"\nproject_name = "Demo"\nstages = ["a"]\n',
        "project_id",
        "invalid value for 'project_id'",
        'project_id = "',
        id="unsafe-project_id",
    ),
    pytest.param(
        _NAMES + 'stages = ["extract", "a/b"]\n',
        "stages",
        "invalid value for 'stages'",
        "stages = [",
        id="stage-with-slash",
    ),
    pytest.param(
        _NAMES + 'stages = ["extract", "load data"]\n',
        "stages",
        "invalid value for 'stages'",
        "stages = [",
        id="stage-with-space",
    ),
    pytest.param(
        _NAMES + 'stages = [".hidden"]\n',
        "stages",
        "invalid value for 'stages'",
        "stages = [",
        id="stage-with-leading-dot",
    ),
    pytest.param(
        _NAMES + 'stages = ["a"]\nno_input_entrypoints = ["../etc"]\n',
        "no_input_entrypoints",
        "invalid value for 'no_input_entrypoints'",
        "no_input_entrypoints = [",
        id="unsafe-entrypoint",
    ),
    pytest.param(
        _NAMES + 'stages = ["a"]\nrun_record_dir = "file:///srv/run_records"\n',
        "run_record_dir",
        "write a local directory as a path",
        "run_record_dir = ",
        id="file-url-run_record_dir",
    ),
    pytest.param(
        _NAMES + 'stages = ["a"]\nrun_record_dir = "gs://user:secret@bucket/run_records"\n',
        "run_record_dir",
        "credentials in the URL are only understood for s3://",
        "run_record_dir = ",
        id="gs-credentials-run_record_dir",
    ),
    pytest.param(
        _NAMES + 'stages = ["a"]\nrun_record_dir = ""\n',
        "run_record_dir",
        "invalid value for 'run_record_dir'",
        "run_record_dir = ",
        id="empty-run_record_dir",
    ),
]


@pytest.mark.parametrize(("keys", "key", "message", "hint"), INVALID)
def test_invalid_runrecord_toml(
    tmp_path: Path, keys: str, key: str, message: str, hint: str
) -> None:
    file = write(tmp_path / "runrecord.toml", keys)
    with pytest.raises(ConfigError) as info:
        load_registry(file)
    assert_config_error(info.value, file=file, key=key, message=message, hint=hint)


@pytest.mark.parametrize(("keys", "key", "message", "hint"), INVALID)
def test_invalid_pyproject_table(
    tmp_path: Path, keys: str, key: str, message: str, hint: str
) -> None:
    file = write(tmp_path / "pyproject.toml", PYPROJECT_HEAD + "[tool.runrecord]\n" + keys)
    with pytest.raises(ConfigError) as info:
        load_registry(file)
    assert_config_error(
        info.value, file=file, key=f"tool.runrecord.{key}", message=message, hint=hint
    )


def test_invalid_registry_found_by_search_is_refused_not_skipped(tmp_path: Path) -> None:
    write_runrecord_toml(tmp_path, "outer")
    file = write(tmp_path / "inner" / "runrecord.toml", _NAMES)
    with pytest.raises(ConfigError) as info:
        load_registry(start=tmp_path / "inner")
    assert_config_error(info.value, file=file.resolve(), key="stages", message="missing")


def test_several_problems_are_counted(tmp_path: Path) -> None:
    file = write(tmp_path / "runrecord.toml", 'stage = ["a"]\n')
    with pytest.raises(ConfigError) as info:
        load_registry(file)
    # The misspelt key is reported first, the rest are counted.
    assert "unknown key 'stage'" in info.value.message
    assert "more problems" in info.value.message


# --- registry-aware validation ---------------------------------------------------------


def rules(report: runrecord.ValidationReport) -> set[str]:
    return {p.rule for p in report.problems}


def only(report: runrecord.ValidationReport, rule: str) -> list[str]:
    """Assert every problem has ``rule``; return their pointers."""
    assert report.problems, f"expected {rule}, got a valid record"
    assert rules(report) == {rule}, [str(p) for p in report.problems]
    return [p.pointer for p in report.problems]


def test_every_registry_rule_is_documented() -> None:
    expected = {
        "registry.project",
        "registry.stage",
        "registry.optional_output",
        "registry.optional_stage",
        "registry.no_input_mode",
        "registry.records_stance",
    }
    assert {r for r in runrecord.RULES if r.startswith("registry.")} == expected


def test_there_are_seven_examples() -> None:
    assert len(EXAMPLE_FILES) == 7


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name.split(".run_record")[0])
def test_every_example_is_valid_under_the_example_registry(
    path: Path, example_registry: Registry
) -> None:
    report = runrecord.validate_record(path, registry=example_registry)
    assert report.valid, [str(p) for p in report.problems]
    assert report.record is not None
    assert runrecord.read_record(path, registry=example_registry).run_id == report.record.run_id


def test_registry_rules_only_apply_with_a_registry(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(SUCCESS)
    record["project"]["project_id"] = "someone-else"
    assert runrecord.validate_record(record).valid
    assert not runrecord.validate_record(record, registry=example_registry).valid


def test_registry_project(load_example: LoadExample, example_registry: Registry) -> None:
    record = load_example(SUCCESS)
    record["project"]["project_id"] = "someone-else"
    report = runrecord.validate_record(record, registry=example_registry)
    assert only(report, "registry.project") == ["/project/project_id"]
    assert "someone-else" in report.problems[0].message
    assert "acme-sales" in report.problems[0].message


def test_registry_stage_in_stage_list(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(SUCCESS)
    record["stages"][1]["stage"] = "enrich"
    report = runrecord.validate_record(record, registry=example_registry)
    assert only(report, "registry.stage") == ["/stages/1/stage"]
    assert "enrich" in report.problems[0].message


def test_registry_stage_in_warning_objects(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(PARTIAL_SUCCESS)
    narrow = example_registry.model_copy(
        update={"stages": ("extract", "transform", "load"), "optional_stages": ()}
    )
    # The warning belongs to the publish stage, which this registry does not declare.
    assert record["warnings"][0]["stage"] == "publish"
    report = runrecord.validate_record(record, registry=narrow)
    assert set(only(report, "registry.stage")) == {"/stages/3/stage", "/warnings/0/stage"}


def test_registry_stage_in_error_objects(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(ERROR)
    stage_names = {e["stage"] for e in record["errors"]} - {runrecord.RUN_STAGE}
    assert stage_names, "the error example has an error object of a declared stage"
    pruned = tuple(s for s in example_registry.stages if s not in stage_names)
    narrow = Registry(project_id="acme-sales", project_name="ACME", stages=pruned)
    report = runrecord.validate_record(record, registry=narrow)
    pointers = only(report, "registry.stage")
    assert any(p.startswith("/errors/") for p in pointers)
    assert any(p.startswith("/stages/") for p in pointers)


def test_run_stage_is_always_allowed(load_example: LoadExample) -> None:
    record = load_example(ERROR)
    assert runrecord.RUN_STAGE in {e["stage"] for e in record["errors"]}
    registry = Registry(
        project_id="acme-sales",
        project_name="ACME",
        stages=("extract", "transform", "load"),
    )
    assert runrecord.validate_record(record, registry=registry).valid


def test_registry_optional_output(load_example: LoadExample, example_registry: Registry) -> None:
    record = load_example(PARTIAL_SUCCESS)
    assert record["outputs"][1]["required"] is False
    record["outputs"][1]["name"] = "weekly_summary_html"
    report = runrecord.validate_record(record, registry=example_registry)
    assert only(report, "registry.optional_output") == ["/outputs/1/required"]
    assert "weekly_summary_html" in report.problems[0].message


def test_registry_optional_output_undeclared_in_registry(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(PARTIAL_SUCCESS)
    strict = example_registry.model_copy(update={"optional_outputs": ()})
    report = runrecord.validate_record(record, registry=strict)
    assert only(report, "registry.optional_output") == ["/outputs/1/required"]


def skip_stage(record: dict[str, Any], index: int) -> dict[str, Any]:
    """Mark a stage of a record skipped (with a stage skip reason), as a writer would."""
    stage = record["stages"][index]
    stage.update(
        status="skipped",
        started_at=None,
        completed_at=None,
        skip_reasons=[{"code": "not_selected", "count": 1, "what": "stage", "note": None}],
    )
    return record


def test_skipping_an_optional_stage_is_accepted(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = skip_stage(load_example(PARTIAL_SUCCESS), 3)
    assert record["stages"][3]["stage"] == "publish"
    assert runrecord.validate_record(record, registry=example_registry).valid


def test_registry_optional_stage(load_example: LoadExample, example_registry: Registry) -> None:
    record = skip_stage(load_example(PARTIAL_SUCCESS), 1)
    assert record["stages"][1]["stage"] == "transform"
    assert runrecord.validate_record(record).valid  # fine without the registry
    report = runrecord.validate_record(record, registry=example_registry)
    assert only(report, "registry.optional_stage") == ["/stages/1/status"]
    assert "transform" in report.problems[0].message


def test_registry_optional_stage_undeclared_in_registry(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = skip_stage(load_example(PARTIAL_SUCCESS), 3)
    strict = Registry(
        project_id="acme-sales",
        project_name="ACME",
        stages=example_registry.stages,
        optional_outputs=example_registry.optional_outputs,
    )
    report = runrecord.validate_record(record, registry=strict)
    assert only(report, "registry.optional_stage") == ["/stages/3/status"]


def test_skipped_stage_in_an_error_run_is_not_a_registry_problem(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(ERROR)
    skipped = [s["stage"] for s in record["stages"] if s["status"] == "skipped"]
    assert skipped
    assert not set(skipped) & set(example_registry.optional_stages)
    assert runrecord.validate_record(record, registry=example_registry).valid


def test_registry_no_input_mode(load_example: LoadExample, example_registry: Registry) -> None:
    record = load_example(NO_INPUT_MODE)
    assert record["inputs"][0]["reason"] == "no_input_mode"
    record["entrypoint"]["entrypoint_id"] = "sales.rebuild"
    report = runrecord.validate_record(record, registry=example_registry)
    assert only(report, "registry.no_input_mode") == ["/inputs/0/reason"]
    assert "sales.rebuild" in report.problems[0].message


def test_registry_no_input_mode_undeclared_in_registry(
    load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(NO_INPUT_MODE)
    strict = example_registry.model_copy(update={"no_input_entrypoints": ()})
    report = runrecord.validate_record(record, registry=strict)
    assert only(report, "registry.no_input_mode") == ["/inputs/0/reason"]


@pytest.fixture
def stance_registry(example_registry: Registry) -> Registry:
    return Registry(
        project_id=example_registry.project_id,
        project_name=example_registry.project_name,
        stages=example_registry.stages,
        optional_outputs=example_registry.optional_outputs,
        optional_stages=example_registry.optional_stages,
        no_input_entrypoints=example_registry.no_input_entrypoints,
        records_stance="whole files are moved; records are not a concept",
    )


def test_records_stance_accepts_zero_record_counters(
    load_example: LoadExample, stance_registry: Registry
) -> None:
    record = load_example(NO_INPUT_MODE)
    assert runrecord.validate_record(record, registry=stance_registry).valid


def test_registry_records_stance_top_level(
    load_example: LoadExample, stance_registry: Registry
) -> None:
    record = load_example(NO_INPUT_MODE)
    record["counters"]["records_seen"] = 5
    report = runrecord.validate_record(record, registry=stance_registry)
    assert only(report, "registry.records_stance") == ["/counters/records_seen"]


def test_registry_records_stance_stage_level(
    load_example: LoadExample, stance_registry: Registry
) -> None:
    record = load_example(NO_INPUT_MODE)
    record["stages"][0]["counters"]["records_seen"] = 3
    record["stages"][0]["counters"]["records_processed"] = 3
    report = runrecord.validate_record(record, registry=stance_registry)
    assert set(only(report, "registry.records_stance")) == {
        "/stages/0/counters/records_seen",
        "/stages/0/counters/records_processed",
    }


def test_registry_records_stance_on_a_record_with_records(
    load_example: LoadExample, stance_registry: Registry
) -> None:
    report = runrecord.validate_record(load_example(SUCCESS), registry=stance_registry)
    pointers = only(report, "registry.records_stance")
    assert "/counters/records_seen" in pointers
    assert any(p.startswith("/stages/") for p in pointers)


def test_registry_validation_of_a_file_and_of_bytes(
    tmp_path: Path, load_example: LoadExample, example_registry: Registry
) -> None:
    record = load_example(SUCCESS)
    record["project"]["project_id"] = "someone-else"
    data = json.dumps(record).encode()
    file = write(tmp_path / f"{SUCCESS}.run_record.json", data.decode())
    for source in (file, str(file), data):
        report = runrecord.validate_record(source, registry=example_registry)
        assert only(report, "registry.project") == ["/project/project_id"]
    with pytest.raises(runrecord.RecordInvalidError) as info:
        runrecord.read_record(file, registry=example_registry)
    assert {p.rule for p in info.value.problems} == {"registry.project"}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"project_id": "../x"}, "project_id"),
        ({"stages": ["a b"]}, "stages"),
        ({"stages": []}, "stages"),
        ({"optional_stages": ["publish"]}, "optional_stages"),
        ({"run_record_dir": "file:///srv/records"}, "run_record_dir"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_a_registry_built_in_code_refuses_with_a_config_error(
    kwargs: dict[str, object], key: str
) -> None:
    base: dict[str, object] = {"project_id": "p", "project_name": "P", "stages": ["extract"]}
    with pytest.raises(runrecord.ConfigError) as caught:
        runrecord.Registry(**{**base, **kwargs})
    assert caught.value.key == key
    assert caught.value.path is None
    assert caught.value.remediation_hint


def test_an_object_storage_url_without_its_backend_names_the_extra() -> None:
    if importlib.util.find_spec("fsspec") is not None:
        pytest.skip("fsspec is installed here; tests/objectstore covers URLs with a backend")
    registry = runrecord.Registry(
        project_id="p", project_name="P", stages=["extract"], run_record_dir="s3://b/records"
    )
    with pytest.raises(runrecord.ConfigError, match="fsspec is not installed") as caught:
        runrecord.open_run("sales.daily", registry=registry, command="t")
    assert "runrecord[s3]" in caught.value.remediation_hint
