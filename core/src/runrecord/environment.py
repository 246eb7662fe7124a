"""Capture where a run ran: minimal, safe-to-store metadata, never secrets.

:func:`capture_environment` builds the record's ``environment``: host, operating system,
architecture, Python version, the git revision of the code, a hash of the dependency lock
files and a fingerprint of the effective configuration. It never raises for environmental
reasons (no git, not a repository, an unreadable lock file, odd platform values); what
cannot be found is ``None``. Its time is bounded: git gets :data:`GIT_TIMEOUT` seconds in
all, and the lock-file search lists one directory per level upward, never a tree.

What is *not* captured, on purpose: environment variables, git remotes (their URLs often
carry credentials), the configuration itself (only its fingerprint), absolute paths. Every
string that is stored is redacted, with the values of secret-named environment variables
(:func:`secret_values`) redacted wherever they occur.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, JsonValue

from runrecord.hashing import hash_bytes
from runrecord.model import Environment, GitInfo, Toolchain
from runrecord.redact import is_secret_key, redact, redact_text
from runrecord.registry import Registry

__all__ = [
    "GIT_TIMEOUT",
    "LOCK_FILE_PATTERNS",
    "capture_environment",
    "config_fingerprint",
    "dependency_lock_hash",
    "git_info",
    "secret_values",
]

GIT_TIMEOUT = 2.0
"""Seconds the git commands of one :func:`git_info` call may take together."""

LOCK_FILE_PATTERNS = ("uv.lock", "poetry.lock", "requirements*.txt")
"""File names (glob patterns) that pin a project's dependencies."""

_HEX_COMMIT_RE = re.compile(r"^[0-9a-f]{7,64}$")
_WORD_RE = re.compile(r"[^a-z0-9]+")
_MAX_TEXT = 256
# A secret-named variable whose last word is one of these holds where a secret is (a
# file, a socket, an endpoint), not the secret: SSH_AUTH_SOCK, POSTGRES_PASSWORD_FILE.
# PWD and OLDPWD are working directories, whatever "pwd" means elsewhere.
_LOCATION_WORDS = frozenset(
    {"file", "path", "dir", "sock", "socket", "url", "uri", "pwd", "oldpwd"}
)
# Flag-like values of secret-named variables (AUTH_ENABLED=true): redacting them
# everywhere would shred ordinary text.
_TRIVIAL_VALUES = frozenset({"true", "false", "none", "null"})


def _hash(data: bytes) -> str:
    return hash_bytes(data)


def _names_a_location(name: str) -> bool:
    words = [w for w in _WORD_RE.split(name.lower()) if w]
    return bool(words) and words[-1] in _LOCATION_WORDS


def secret_values(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Return the values of environment variables whose names look secret.

    The writer passes them as ``extra=`` to :func:`~runrecord.redact.redact_text`, so a
    secret from the environment that ends up in a message or trace is redacted even where
    nothing around it says "password".

    A variable counts when :func:`~runrecord.redact.is_secret_key` accepts its name, its
    value has at least 4 characters, its name does not end in a location word (``_FILE``,
    ``_PATH``, ``_DIR``, ``_SOCK``, ``_URL``, ...: ``SSH_AUTH_SOCK`` holds a socket path,
    not a secret) and its value is not a flag (``true``, ``false``, ``none``, ``null``).

    Args:
        environ: The variables to look at; ``os.environ`` by default.

    Returns:
        The distinct values, longest first (so that a secret containing another is
        redacted whole).

    Examples:
        >>> secret_values({"DB_PASSWORD": "hunter2-x", "API_TOKEN": "abcd1234efgh",
        ...                "PATH": "/usr/bin", "SSH_AUTH_SOCK": "/tmp/agent.1",
        ...                "PIN_SECRET": "123", "AUTH_ENABLED": "true"})
        ('abcd1234efgh', 'hunter2-x')
    """
    if environ is None:
        # Keyed by the raw environment (no decoding): this runs for every fragment written.
        raw = getattr(os.environ, "_data", None)
        items = raw.items() if isinstance(raw, dict) else os.environ.items()
        return _environ_secrets(frozenset(items))
    return _secret_values(environ)


@functools.lru_cache(maxsize=4)
def _environ_secrets(items: frozenset[tuple[object, object]]) -> tuple[str, ...]:
    # Cached for as long as the environment is unchanged.
    return _secret_values(
        {os.fsdecode(k): os.fsdecode(v) for k, v in items}  # type: ignore[arg-type]
        if any(isinstance(k, bytes) for k, _ in items)
        else {str(k): str(v) for k, v in items}
    )


def _secret_values(variables: Mapping[str, str]) -> tuple[str, ...]:
    found = {
        value
        for name, value in variables.items()
        if len(value.strip()) >= 4
        and value.strip().lower() not in _TRIVIAL_VALUES
        and is_secret_key(name)
        and not _names_a_location(name)
    }
    return tuple(sorted(found, key=lambda v: (-len(v), v)))


def _run_git(git: str, args: list[str], cwd: Path, deadline: float) -> tuple[int, str] | None:
    """Run one git command; ``(returncode, stdout)``, or None if it did not finish in time."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    # No prompt may wait for a terminal, and no status call may take the index lock (a
    # concurrent git of the user's would fail). The rest of the environment is inherited.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    # A repository's config can name an fsmonitor hook: a command that could hang or
    # run anything. Capturing metadata must not execute repository-controlled code.
    command = [git, "--no-pager", "-c", "core.fsmonitor=false", *args]
    try:
        # A fixed argument list, never a shell; git is the executable found on PATH.
        proc = subprocess.Popen(  # noqa: S603
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except (OSError, ValueError):
        return None
    with proc:
        try:
            out, _ = proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return None
    return proc.returncode, out.decode("utf-8", errors="replace").strip()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    # The whole session: a git wrapper script or a hook it started would otherwise keep
    # running, and keep our pipe open, after git itself is gone.
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait()


def git_info(root: Path, *, timeout: float | None = None) -> GitInfo | None:
    """Return the git revision of the work tree containing ``root``, and whether it is dirty.

    Runs ``git rev-parse --is-inside-work-tree``, ``git rev-parse --verify HEAD`` and
    ``git status --porcelain --untracked-files=no`` in ``root``, without a shell, with
    ``GIT_TERMINAL_PROMPT=0`` and ``GIT_OPTIONAL_LOCKS=0``, and with a repository's
    fsmonitor hook disabled. Remotes are never read.

    A repository without commits yet gives ``commit=None`` and ``dirty`` as detected
    (staged files count): the code *is* in a work tree, which ``git=None`` would deny.
    When ``git status`` fails or runs out of time after the commit is known, ``dirty``
    is ``None`` ("unknown") rather than losing the commit.

    Args:
        root: A directory inside the work tree.
        timeout: Seconds all git commands may take together; :data:`GIT_TIMEOUT` (read
            at call time) by default.

    Returns:
        The revision, or ``None`` when git is not installed, ``root`` is not inside a
        work tree, or git fails or runs out of time before the commit is known.

    Examples:
        >>> import pathlib, tempfile
        >>> git_info(pathlib.Path(tempfile.mkdtemp())) is None
        True
    """
    git = shutil.which("git")
    if git is None:
        return None
    deadline = time.monotonic() + (GIT_TIMEOUT if timeout is None else timeout)
    inside = _run_git(git, ["rev-parse", "--is-inside-work-tree"], root, deadline)
    if inside is None or inside != (0, "true"):
        return None
    head = _run_git(git, ["rev-parse", "--verify", "--quiet", "HEAD"], root, deadline)
    if head is None:
        return None
    returncode, out = head
    # Anything but a hex object name (an unborn branch, a broken repository) is no commit.
    commit = out if returncode == 0 and _HEX_COMMIT_RE.fullmatch(out) else None
    status = _run_git(git, ["status", "--porcelain", "--untracked-files=no"], root, deadline)
    dirty = bool(status[1]) if status is not None and status[0] == 0 else None
    return GitInfo(commit=commit, dirty=dirty)


def _lock_files(directory: Path) -> tuple[list[Path], bool]:
    """Return the lock files directly in ``directory``, and whether it holds ``.git``."""
    locks: list[Path] = []
    top = False
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name == ".git":
                top = True
            elif any(fnmatch.fnmatchcase(entry.name, p) for p in LOCK_FILE_PATTERNS) and (
                entry.is_file()
            ):
                locks.append(Path(entry.path))
    return sorted(locks, key=lambda p: p.name), top


def dependency_lock_hash(root: Path) -> str | None:
    """Hash the dependency lock files of the project containing ``root``.

    Searches ``root`` and then its parents for the first directory holding any of
    :data:`LOCK_FILE_PATTERNS` (``uv.lock``, ``poetry.lock``, ``requirements*.txt``). The
    search stops at the top of the git work tree (a directory holding ``.git``), so that
    an unrelated project above is never attributed, or at the file system root. Only one
    directory listing per level is read.

    Args:
        root: Where the search starts.

    Returns:
        ``"blake3:<hex>"`` over the names and contents of every lock file of that
        directory, in name order; ``None`` when there is none, or a directory or file on
        the way cannot be read (a partial hash would claim a dependency set that is not).

    Examples:
        >>> import pathlib, tempfile
        >>> project = pathlib.Path(tempfile.mkdtemp())
        >>> (project / ".git").mkdir()
        >>> _ = (project / "uv.lock").write_text("version = 1")
        >>> (project / "src").mkdir()
        >>> found = dependency_lock_hash(project / "src")
        >>> found == dependency_lock_hash(project), found.startswith("blake3:")
        (True, True)
    """
    try:
        start = root.resolve()
        for directory in (start, *start.parents):
            locks, top = _lock_files(directory)
            if locks:
                # Length-prefixed names and contents: no two different sets of files
                # serialize to the same bytes.
                payload = bytearray()
                for lock in locks:
                    name, content = lock.name.encode(), lock.read_bytes()
                    payload += b"%d:%b%d:%b" % (len(name), name, len(content), content)
                return _hash(bytes(payload))
            if top:
                return None
    except (OSError, RuntimeError, ValueError):
        return None
    return None


def _canonical(value: object, seen: frozenset[int] = frozenset()) -> JsonValue:
    """Return ``value`` as JSON data whose serialization does not depend on ordering."""
    if value is None or isinstance(value, str | int | float):
        return value
    if id(value) in seen:
        return "[cycle]"
    inner = seen | {id(value)}
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump(mode="json"), inner)
    if isinstance(value, Mapping):
        items = [(str(k), _canonical(v, inner)) for k, v in value.items()]
        # Sorted by the canonical value too, so keys that collide once stringified
        # ({1: ..., "1": ...}) resolve the same way whatever the insertion order.
        return dict(sorted(items, key=lambda kv: (kv[0], _dumps(kv[1]))))
    if isinstance(value, list | tuple):
        return [_canonical(v, inner) for v in value]
    if isinstance(value, set | frozenset):
        # Set iteration order changes between processes (hash randomization).
        return sorted((_canonical(v, inner) for v in value), key=_dumps)
    return str(value)


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def config_fingerprint(
    registry: Registry | None,
    config: Mapping[str, object] | None,
    *,
    secrets: Iterable[str] | None = None,
) -> str:
    """Fingerprint the effective configuration, without storing it.

    The fingerprint is the hash of a canonical JSON (sorted keys, no spaces, ``str()`` of
    anything JSON cannot hold, sets sorted) of ``{"registry": <registry's keys>, "config":
    config}``. It changes when any non-secret value changes; ``None`` and ``{}`` differ.

    Secret-looking values are redacted *before* hashing: ``db_password: "hunter2"`` hashes
    as ``db_password: "[REDACTED]"``. A hash over a low-entropy password would let anyone
    holding the record recover it by guessing; the price is that rotating a secret does
    not change the fingerprint. Redacted are string values under secret-named keys,
    secret-looking spans of strings (URL credentials, ``password=...``) and the values of
    secret-named environment variables. Numbers under secret-named keys are kept, as
    :func:`~runrecord.redact.redact` does (``token_count: 3`` is a count).

    Args:
        registry: The project registry; its declared keys are included, not its location.
        config: The run's effective configuration.
        secrets: Literal values to redact; :func:`secret_values` by default.

    Returns:
        ``"blake3:<hex>"``.

    Examples:
        >>> a = config_fingerprint(None, {"date": "2026-11-26", "retries": 3})
        >>> a == config_fingerprint(None, {"retries": 3, "date": "2026-11-26"})
        True
        >>> a == config_fingerprint(None, {"date": "2026-11-27", "retries": 3})
        False
        >>> (config_fingerprint(None, {"db_password": "hunter2"})
        ...  == config_fingerprint(None, {"db_password": "correct horse"}))
        True
    """
    document = _canonical(
        {
            "registry": None if registry is None else registry.model_dump(mode="json"),
            "config": None if config is None else dict(config),
        }
    )
    extra = secret_values() if secrets is None else tuple(secrets)
    redacted = redact(document, extra=extra)
    return _hash(_dumps(redacted).encode())


def _text(value: object, extra: tuple[str, ...]) -> str | None:
    """Redact and bound a platform value; ``None`` for an empty one."""
    if not isinstance(value, str):
        return None
    cleaned = redact_text(value.strip(), extra=extra)[:_MAX_TEXT]
    return cleaned or None


def _probe(function: Callable[[], object]) -> str:
    # Platform queries are cheap, but none of them may break a run's record.
    try:
        result = function()
    except Exception:  # noqa: BLE001 - any failure just means "unknown"
        return ""
    return result if isinstance(result, str) else ""


def capture_environment(
    *,
    root: Path,
    registry: Registry | None = None,
    config: Mapping[str, object] | None = None,
) -> Environment:
    """Capture the environment of this run.

    Never raises for environmental reasons: a value that cannot be found is ``None``
    (``"unknown"`` for the required ``os`` and ``arch``). Every stored string is redacted,
    including the values of secret-named environment variables.

    Args:
        root: The project directory: where git is asked and the lock-file search starts.
        registry: The project registry, part of the configuration fingerprint.
        config: The run's effective configuration; only its fingerprint is stored.

    Returns:
        The environment, ready for the record.

    Examples:
        >>> import pathlib, tempfile
        >>> env = capture_environment(root=pathlib.Path(tempfile.mkdtemp()))
        >>> env.toolchain.name, env.git, env.config_fingerprint.startswith("blake3:")
        ('python', None, True)
    """
    extra = secret_values()
    system = _probe(platform.system)
    release = _probe(platform.release)
    python = _text(_probe(platform.python_version), extra)
    git = git_info(root)
    # A commit is hex, so redaction can only change it if an environment "secret" happens
    # to be a piece of it; drop the commit then rather than store a broken one.
    if git is not None and git.commit and redact_text(git.commit, extra=extra) != git.commit:
        git = GitInfo(commit=None, dirty=git.dirty)
    return Environment(
        hostname=_text(_probe(socket.gethostname), extra),
        os=_text("-".join(p for p in (system, release) if p), extra) or "unknown",
        arch=_text(_probe(platform.machine), extra) or "unknown",
        python_version=python,
        toolchain=Toolchain(name="python", version=python or "unknown"),
        git=git,
        dependency_lock_hash=dependency_lock_hash(root),
        config_fingerprint=config_fingerprint(registry, config, secrets=extra),
    )
