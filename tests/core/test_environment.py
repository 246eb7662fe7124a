"""Environment capture: what a record says about where it ran, and that it holds no secret.

Git is exercised for real (a temporary repository) and through fake ``git`` scripts on
PATH that answer like git, optionally after hanging; nothing of runrecord is mocked.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from permissions import where_permissions_apply

from runrecord import environment
from runrecord.environment import (
    capture_environment,
    config_fingerprint,
    dependency_lock_hash,
    git_info,
    secret_values,
)
from runrecord.model import HASH_PATTERN, Environment, GitInfo
from runrecord.redact import REDACTED, find_secrets
from runrecord.registry import Registry

PLANTED = "hunter2-very-secret"
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"

requires_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="fake git is a shell script")

GitRunner = Callable[..., str]


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's git configuration and repositories out of every test."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # tmp_path is never inside a repository, whatever the host's layout.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


@pytest.fixture
def git() -> GitRunner:
    """Run a real git command in a directory and return its stdout."""

    def run(cwd: Path, *args: str) -> str:
        command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
        command += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
        done = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    return run


def fake_git(bin_dir: Path, *, sleep: float, head: str = FAKE_COMMIT) -> Path:
    """Install a ``git`` that answers like a work tree with a modified file, after ``sleep`` s.

    Each call appends ``call <GIT_TERMINAL_PROMPT> <GIT_OPTIONAL_LOCKS> <args>`` to the
    returned log file, and ``done`` once it has waited, so a test can tell that git was
    called, how, and whether it was cut off.
    """
    bin_dir.mkdir(exist_ok=True)
    log = bin_dir / "calls.log"
    script = bin_dir / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "call $GIT_TERMINAL_PROMPT $GIT_OPTIONAL_LOCKS $*" >> "{log}"\n'
        f"sleep {sleep}\n"
        f'echo done >> "{log}"\n'
        'case "$*" in\n'
        "  *--is-inside-work-tree*) echo true ;;\n"
        f"  *HEAD*) echo '{head}' ;;\n"
        '  *status*) echo " M tracked.txt" ;;\n'
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return log


def put_first_on_path(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")


def registry(**changes: object) -> Registry:
    data: dict[str, object] = {"project_id": "sales", "project_name": "Sales", "stages": ["x"]}
    return Registry.model_validate({**data, **changes})


# --- capture_environment ---------------------------------------------------------------


def test_capture_outside_a_repository_fills_every_required_field(tmp_path: Path) -> None:
    env = capture_environment(root=tmp_path)

    assert env.git is None
    assert env.os
    assert env.arch
    assert env.python_version == platform.python_version()
    assert env.toolchain.name == "python"
    assert env.toolchain.version == platform.python_version()
    assert re.fullmatch(HASH_PATTERN, env.config_fingerprint)
    stored = env.model_dump(mode="json")
    assert Environment.model_validate(stored) == env
    assert list(find_secrets(stored)) == []


@requires_git
def test_capture_in_a_repository_records_the_commit(tmp_path: Path, git: GitRunner) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    git(tmp_path, "add", "uv.lock")
    git(tmp_path, "commit", "-q", "-m", "init")

    env = capture_environment(root=tmp_path)

    assert env.git == GitInfo(commit=git(tmp_path, "rev-parse", "HEAD"), dirty=False)
    assert env.dependency_lock_hash == dependency_lock_hash(tmp_path) is not None


def test_capture_survives_odd_platform_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise OSError("no uname here")

    monkeypatch.setattr(platform, "system", lambda: "")
    monkeypatch.setattr(platform, "release", lambda: "")
    monkeypatch.setattr(platform, "machine", broken)
    monkeypatch.setattr(socket, "gethostname", broken)

    env = capture_environment(root=tmp_path / "does-not-exist")

    assert (env.os, env.arch, env.hostname) == ("unknown", "unknown", None)
    assert env.git is None
    assert env.dependency_lock_hash is None
    assert Environment.model_validate(env.model_dump(mode="json")) == env


@posix_only
def test_capture_uses_the_module_timeout_for_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_git(tmp_path / "bin", sleep=5)
    put_first_on_path(monkeypatch, tmp_path / "bin")
    monkeypatch.setattr(environment, "GIT_TIMEOUT", 0.2)

    env = capture_environment(root=tmp_path)

    assert env.git is None
    assert log.read_text().splitlines()[0].startswith("call ")
    assert "done" not in log.read_text()  # cut off, not waited for


# --- git_info --------------------------------------------------------------------------


@requires_git
def test_git_commit_and_dirty_state(tmp_path: Path, git: GitRunner) -> None:
    git(tmp_path, "init", "-q")
    tracked = tmp_path / "tracked.txt"
    tracked.write_text("one\n")
    git(tmp_path, "add", "tracked.txt")
    git(tmp_path, "commit", "-q", "-m", "first")
    (tmp_path / "sub").mkdir()
    (tmp_path / "untracked.txt").write_text("not part of the code\n")

    clean = git_info(tmp_path)
    assert clean == GitInfo(commit=git(tmp_path, "rev-parse", "HEAD"), dirty=False)
    assert git_info(tmp_path / "sub") == clean

    tracked.write_text("two\n")
    assert git_info(tmp_path) == GitInfo(commit=clean.commit, dirty=True)


@requires_git
def test_repository_without_commits_has_no_commit(tmp_path: Path, git: GitRunner) -> None:
    git(tmp_path, "init", "-q")
    assert git_info(tmp_path) == GitInfo(commit=None, dirty=False)

    (tmp_path / "staged.txt").write_text("x\n")
    git(tmp_path, "add", "staged.txt")
    assert git_info(tmp_path) == GitInfo(commit=None, dirty=True)


@requires_git
def test_bare_repository_is_not_a_work_tree(tmp_path: Path, git: GitRunner) -> None:
    git(tmp_path, "init", "-q", "--bare")
    assert git_info(tmp_path) is None


def test_git_not_on_path_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    assert git_info(tmp_path) is None
    assert capture_environment(root=tmp_path).git is None


@posix_only
def test_fake_git_answering_at_once_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control for the hanging test below: the same fake, without the wait, is a git.
    log = fake_git(tmp_path / "bin", sleep=0)
    put_first_on_path(monkeypatch, tmp_path / "bin")

    assert git_info(tmp_path, timeout=30) == GitInfo(commit=FAKE_COMMIT, dirty=True)
    lines = log.read_text().splitlines()
    assert lines.count("done") == 3
    calls = [line.removeprefix("call ") for line in lines if line != "done"]
    assert len(calls) == 3
    # No prompt may wait on a terminal, no optional lock is taken, no fsmonitor hook runs.
    assert all(call.startswith("0 0 ") for call in calls)
    assert all("core.fsmonitor=false" in call for call in calls)
    assert "status --porcelain --untracked-files=no" in calls[-1]


@posix_only
def test_unexpected_head_output_is_no_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_git(tmp_path / "bin", sleep=0, head="ref: refs/heads/main?")
    put_first_on_path(monkeypatch, tmp_path / "bin")

    assert git_info(tmp_path) == GitInfo(commit=None, dirty=True)
    assert capture_environment(root=tmp_path).git == GitInfo(commit=None, dirty=True)


@posix_only
def test_hanging_git_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_git(tmp_path / "bin", sleep=5)
    put_first_on_path(monkeypatch, tmp_path / "bin")

    # Without the timeout this would be GitInfo(FAKE_COMMIT, dirty=True), 15 s later.
    assert git_info(tmp_path, timeout=0.2) is None
    lines = log.read_text().splitlines()
    assert len(lines) == 1  # gave up at the first command...
    assert lines[0].startswith("call ")  # ...which was cut off, not waited for


@posix_only
def test_failing_git_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "git"
    script.write_text("#!/bin/sh\necho 'fatal: broken' >&2\nexit 128\n")
    script.chmod(0o755)
    put_first_on_path(monkeypatch, bin_dir)

    assert git_info(tmp_path) is None


# --- dependency_lock_hash --------------------------------------------------------------


def make_project(base: Path) -> Path:
    project = base / "project"
    (project / ".git").mkdir(parents=True)
    (project / "uv.lock").write_text("version = 1\n")
    (project / "requirements-dev.txt").write_text("pytest==8.3.3\n")
    (project / "src" / "pkg").mkdir(parents=True)
    return project


def test_lock_hash_is_found_upward_and_stable(tmp_path: Path) -> None:
    project = make_project(tmp_path)

    found = dependency_lock_hash(project / "src" / "pkg")

    assert found is not None
    assert re.fullmatch(HASH_PATTERN, found)
    assert found == dependency_lock_hash(project) == dependency_lock_hash(project / "src")


def test_lock_hash_changes_with_any_lock_file(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    seen = {dependency_lock_hash(project)}

    (project / "requirements-dev.txt").write_text("pytest==8.3.4\n")
    seen.add(dependency_lock_hash(project))
    (project / "requirements.txt").write_text("pydantic==2.11\n")
    seen.add(dependency_lock_hash(project))
    # Same contents under another name is another dependency set.
    (project / "requirements.txt").rename(project / "requirements-prod.txt")
    seen.add(dependency_lock_hash(project))

    assert len(seen) == 4
    assert None not in seen


def test_lock_hash_ignores_other_files(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    before = dependency_lock_hash(project)

    (project / "README.md").write_text("docs\n")
    (project / "src" / "requirements.txt").mkdir()  # a directory, not a lock file
    if hasattr(os, "mkfifo"):
        # Reading a FIFO would block forever; it is not a lock file either.
        os.mkfifo(project / "poetry.lock")

    assert dependency_lock_hash(project / "src") == before


def test_nearest_directory_with_lock_files_wins(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "src" / "requirements.txt").write_text("attrs\n")

    assert dependency_lock_hash(project / "src" / "pkg") != dependency_lock_hash(project)
    assert dependency_lock_hash(project / "src" / "pkg") == dependency_lock_hash(project / "src")


def test_search_stops_at_the_work_tree_top(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("an unrelated project above\n")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "src").mkdir()

    assert dependency_lock_hash(project / "src") is None
    # Without the work tree boundary, the lock file above is the project's.
    shutil.rmtree(project / ".git")
    assert dependency_lock_hash(project / "src") == dependency_lock_hash(tmp_path) is not None


def test_unreadable_lock_file_gives_none() -> None:
    def body(directory: Path) -> None:
        project = make_project(directory)
        (project / "uv.lock").chmod(0)
        assert dependency_lock_hash(project) is None
        (project / "uv.lock").chmod(0o644)
        assert dependency_lock_hash(project) is not None

    where_permissions_apply(body)


# --- config_fingerprint ----------------------------------------------------------------


def test_fingerprint_follows_every_value() -> None:
    config: dict[str, object] = {"date": "2026-11-26", "limits": {"rows": 10, "mode": "fast"}}
    base = config_fingerprint(registry(), config)

    assert re.fullmatch(HASH_PATTERN, base)
    assert base == config_fingerprint(registry(), dict(config))
    others = [
        config_fingerprint(registry(project_name="Sales EU"), config),
        config_fingerprint(registry(stages=["x", "y"]), config),
        config_fingerprint(None, config),
        config_fingerprint(registry(), {**config, "date": "2026-11-27"}),
        config_fingerprint(registry(), {**config, "limits": {"rows": 11, "mode": "fast"}}),
        config_fingerprint(registry(), {**config, "extra": None}),
        config_fingerprint(registry(), {"date": "2026-11-26"}),
        config_fingerprint(registry(), {}),
        config_fingerprint(registry(), None),
    ]
    assert len({base, *others}) == len(others) + 1


def test_fingerprint_ignores_ordering_and_location(tmp_path: Path) -> None:
    one = {"b": 2, "a": {"y": [1, 2], "x": "z"}}
    two = {"a": {"x": "z", "y": [1, 2]}, "b": 2}
    data = {"project_id": "sales", "project_name": "Sales", "stages": ["x"]}
    here = Registry.from_mapping(data, source=tmp_path / "a" / "runrecord.toml")
    there = Registry.from_mapping(data, source=tmp_path / "b" / "runrecord.toml")

    assert config_fingerprint(here, one) == config_fingerprint(there, two)
    # A list's order is meaningful.
    assert config_fingerprint(None, {"y": [1, 2]}) != config_fingerprint(None, {"y": [2, 1]})


def test_fingerprint_of_a_set_does_not_depend_on_hash_randomization() -> None:
    program = (
        "from runrecord.environment import config_fingerprint;"
        "print(config_fingerprint(None, {'s': {f'name-{i}' for i in range(50)}}, secrets=()))"
    )
    prints = {
        subprocess.run(
            [sys.executable, "-c", program],
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(prints) == 1


def test_fingerprint_accepts_values_json_cannot_hold() -> None:
    moment = datetime(2026, 11, 26, tzinfo=UTC)
    config: dict[str, object] = {"path": Path("/data/in"), "at": moment}

    assert config_fingerprint(None, config) == config_fingerprint(None, dict(config))
    assert config_fingerprint(None, config) != config_fingerprint(
        None, {**config, "path": Path("/data/out")}
    )


def test_fingerprint_hashes_secrets_redacted() -> None:
    def fingerprint(config: dict[str, object]) -> str:
        return config_fingerprint(None, config, secrets=())

    # A hash over a raw password could be brute-forced from the record.
    assert fingerprint({"db_password": "hunter2"}) == fingerprint({"db_password": "letmein"})
    assert fingerprint({"dsn": "postgresql://etl:pw1@db/sales"}) == fingerprint(
        {"dsn": "postgresql://etl:pw2@db/sales"}
    )
    # What is around the secret still counts, and so do counts under secret-ish names.
    assert fingerprint({"dsn": "postgresql://etl:pw1@db/sales"}) != fingerprint(
        {"dsn": "postgresql://etl:pw1@db/sales_eu"}
    )
    assert fingerprint({"token_count": 3}) != fingerprint({"token_count": 4})


def test_fingerprint_redacts_environment_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_DB_PASSWORD", PLANTED)

    assert config_fingerprint(None, {"note": f"uses {PLANTED}"}) == config_fingerprint(
        None, {"note": f"uses {REDACTED}"}
    )
    assert config_fingerprint(None, {"note": f"uses {PLANTED}"}, secrets=()) != (
        config_fingerprint(None, {"note": f"uses {REDACTED}"}, secrets=())
    )


# --- secret_values and the secret-free guarantee ---------------------------------------


def test_secret_values_come_from_secret_named_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_DB_PASSWORD", PLANTED)
    monkeypatch.setenv("PATH", "/opt/acme/bin")
    monkeypatch.setenv("HOME", "/home/acme")

    values = secret_values()

    assert PLANTED in values
    assert "/opt/acme/bin" not in values
    assert "/home/acme" not in values


def test_secret_values_selection_and_order() -> None:
    environ = {
        "API_TOKEN": "abcd1234efgh5678",
        "DB_PASSWORD": PLANTED,
        "OTHER_SECRET": PLANTED,  # the same value, listed once
        "SHORT_TOKEN": "abc",  # too short to redact safely
        "AUTH_ENABLED": "true",  # a flag, not a secret
        "SSH_AUTH_SOCK": "/run/user/1000/ssh-agent.sock",  # where an agent is, not a secret
        "POSTGRES_PASSWORD_FILE": "/run/secrets/db",
        "MAX_TOKENS": "4096",
        "HOME": "/home/acme",
    }

    assert secret_values(environ) == (PLANTED, "abcd1234efgh5678")  # longest first


def test_planted_secret_is_in_no_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_DB_PASSWORD", PLANTED)
    monkeypatch.setattr(socket, "gethostname", lambda: f"build-{PLANTED}.example")
    config: dict[str, object] = {"db": {"password": PLANTED}, "note": PLANTED}

    env = capture_environment(root=tmp_path, registry=registry(), config=config)

    stored = env.model_dump(mode="json")
    assert PLANTED not in json.dumps(stored)
    assert env.hostname == f"build-{REDACTED}.example"
    assert list(find_secrets(stored)) == []
    assert PLANTED in secret_values()
