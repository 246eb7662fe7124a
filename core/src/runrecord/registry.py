"""The project registry: what a project declares about its runs.

A registry lives in ``runrecord.toml`` (top-level keys) or in the ``[tool.runrecord]`` table
of ``pyproject.toml``. It is found, in this order:

1. an explicit path passed by the caller;
2. the file named by the ``RUNRECORD_REGISTRY`` environment variable (task processes of a
   scheduler start in arbitrary working directories);
3. a search upward from the working directory, where in each directory ``runrecord.toml``
   wins over a ``pyproject.toml`` that has a ``[tool.runrecord]`` table.

A missing or invalid registry is a :class:`~runrecord.errors.ConfigError` naming the file, the
key and what to write instead — never a guess.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from runrecord.errors import ConfigError
from runrecord.ids import NAME_PATTERN
from runrecord.objectstore import ObjectPath, credentials_problem, is_url, redact_url

__all__ = ["REGISTRY_ENV_VAR", "Registry", "find_registry_file", "load_registry"]

REGISTRY_ENV_VAR = "RUNRECORD_REGISTRY"
"""Environment variable naming the registry file."""

_Name = Annotated[StrictStr, StringConstraints(pattern=NAME_PATTERN)]

_EXAMPLES = {
    "project_id": 'project_id = "sales-pipelines"',
    "project_name": 'project_name = "Sales pipelines"',
    "run_record_dir": 'run_record_dir = "artifacts/run_records"',
    "stages": 'stages = ["extract", "transform", "load"]',
    "optional_outputs": 'optional_outputs = ["summary_report"]',
    "optional_stages": 'optional_stages = ["publish"]',
    "no_input_entrypoints": 'no_input_entrypoints = ["sales.backfill"]',
    "records_stance": 'records_stance = "whole files are moved; records are not a concept"',
}


class Registry(BaseModel):
    """A project's registry.

    Construct it in code, or load it with :func:`load_registry`. Relative paths
    (``run_record_dir``) are relative to the directory of the registry file, or to the
    working directory at construction time for a registry built in code.

    Examples:
        >>> reg = Registry(project_id="sales", project_name="Sales",
        ...                stages=["extract", "load"], run_record_dir="/srv/records")
        >>> reg.record_dir.as_posix(), reg.stages
        ('/srv/records', ('extract', 'load'))
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    project_id: _Name
    """Stable project identifier, written into every record."""
    project_name: Annotated[StrictStr, StringConstraints(min_length=1)]
    """Human-readable project name."""
    run_record_dir: Annotated[StrictStr, StringConstraints(min_length=1)] = "artifacts/run_records"
    """Canonical directory of run records, relative to the registry file's directory, or an
    object storage URL (``s3://bucket/prefix``, any fsspec protocol)."""
    stages: tuple[_Name, ...] = Field(min_length=1)
    """The project's stage set; every stage record names one of these."""
    optional_outputs: tuple[Annotated[StrictStr, StringConstraints(min_length=1)], ...] = ()
    """Output names that may be absent (the only way to ``partial_success``)."""
    optional_stages: tuple[_Name, ...] = ()
    """Non-critical stages whose skip allows ``partial_success``."""
    no_input_entrypoints: tuple[_Name, ...] = ()
    """Entrypoints that allow a no-input mode (``empty_success`` with ``no_input_mode``)."""
    records_stance: StrictStr | None = None
    """Set when records are not a concept in this project: why record counters stay 0."""

    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)
    _record_dir: Path | ObjectPath | None = PrivateAttr(default=None)

    def __init__(self, **data: object) -> None:
        """Build a registry in code; invalid values raise ``ConfigError`` naming the key."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _config_error(exc, None, "") from None

    @field_validator("stages", "optional_outputs", "optional_stages", "no_input_entrypoints")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise ValueError(f"duplicate entries {dupes}")
        return value

    @field_validator("run_record_dir")
    @classmethod
    def _dir_or_url(cls, value: str) -> str:
        if value.startswith("file://"):
            raise ValueError("write a local directory as a path, without file://")
        problem = credentials_problem(value) if is_url(value) else None
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_serializer("run_record_dir")
    def _without_credentials(self, value: str) -> str:
        return redact_url(value) if is_url(value) else value

    @field_validator("optional_stages")
    @classmethod
    def _optional_stages_declared(
        cls, value: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        stages = info.data.get("stages", ())
        unknown = [s for s in value if s not in stages]
        if unknown:
            raise ValueError(f"{unknown} are not in stages {list(stages)}")
        return value

    @property
    def source(self) -> Path | None:
        """The file this registry was loaded from, if any."""
        return self._source

    @property
    def root(self) -> Path:
        """The directory relative paths are resolved against."""
        return self._root

    @property
    def record_location(self) -> Path | ObjectPath:
        """Where the run records are: an absolute directory, or a place on object storage."""
        if self._record_dir is None:
            if is_url(self.run_record_dir):
                self._record_dir = ObjectPath.from_url(self.run_record_dir)
            else:
                self._record_dir = (self._root / self.run_record_dir).resolve()
        return self._record_dir

    @property
    def record_dir(self) -> Path:
        """The run record directory as an absolute path.

        Raises:
            ConfigError: ``run_record_dir`` is an object storage URL (use
                :attr:`record_location`, or :func:`runrecord.open_store` on it).
        """
        location = self.record_location
        if isinstance(location, ObjectPath):
            raise ConfigError(
                f"run_record_dir is on object storage ({location}), not a directory",
                hint="use registry.record_location, or runrecord.open_store(registry."
                "record_location) to read and write the store",
            )
        return location

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: Path | None = None, table: str = ""
    ) -> Registry:
        """Build a registry from parsed TOML, with errors that name file and key.

        Args:
            data: The registry's keys and values.
            source: The file they came from; relative paths resolve against its directory.
            table: The TOML table holding the keys (``tool.runrecord``), for messages.

        Returns:
            The registry.

        Raises:
            ConfigError: A key is missing, unknown or has an invalid value.
        """
        try:
            registry = cls(**dict(data))
        except ConfigError as exc:  # name the file and the table the key is in
            raise ConfigError(
                exc.detail,
                hint=exc.remediation_hint,
                path=str(source) if source else None,
                key=f"{table}.{exc.key}" if table and exc.key else exc.key,
            ) from None
        if source is not None:
            registry._source = source.resolve()
            registry._root = registry._source.parent
        return registry


def _config_error(exc: ValidationError, source: Path | None, table: str) -> ConfigError:
    # An unknown key is usually a misspelling of the "missing" one: report it first.
    problems = sorted(
        exc.errors(), key=lambda e: {"extra_forbidden": 0, "missing": 1}.get(e["type"], 2)
    )
    first = problems[0]
    field = ".".join(str(part) for part in first["loc"][:1]) or "(table)"
    key = f"{table}.{field}" if table else field
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(field, list(_EXAMPLES), n=1)
        message = f"unknown key {field!r}" + (f"; did you mean {close[0]!r}?" if close else "")
        hint = f"remove it; known keys: {', '.join(_EXAMPLES)}"
    elif first["type"] == "missing":
        message = f"required key {field!r} is missing"
        hint = f"add it, for example: {_EXAMPLES.get(field, field)}"
    else:
        detail = first["msg"].removeprefix("Value error, ").replace("tuple", "array")
        message = f"invalid value for {field!r}: {detail}"
        hint = f"write it like: {_EXAMPLES.get(field, field)}"
    more = len(problems) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(message, hint=hint, path=str(source) if source else None, key=key)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            "registry file not found",
            hint="pass the path of an existing runrecord.toml or pyproject.toml",
            path=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read registry file: {exc}", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}", hint="fix the TOML syntax at the line named", path=str(path)
        ) from None


def _registry_table(path: Path, data: dict[str, Any]) -> tuple[Mapping[str, Any] | None, str]:
    if path.name != "pyproject.toml":
        return data, ""
    table = data.get("tool", {}).get("runrecord") if isinstance(data.get("tool"), dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(
            "[tool.runrecord] must be a table",
            hint=f"write a [tool.runrecord] table with {_EXAMPLES['project_id']} and friends",
            path=str(path),
            key="tool.runrecord",
        )
    return table, "tool.runrecord"


def find_registry_file(start: str | os.PathLike[str] | None = None) -> Path | None:
    """Search upward from ``start`` for a registry file.

    Args:
        start: Directory to start from; the working directory by default.

    Returns:
        The first ``runrecord.toml``, or ``pyproject.toml`` with a ``[tool.runrecord]``
        table, found in ``start`` or one of its parents; ``None`` if there is none.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "runrecord.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                table, _ = _registry_table(pyproject, _read_toml(pyproject))
            except ConfigError:
                continue
            if table is not None:
                return pyproject
    return None


def load_registry(
    path: str | os.PathLike[str] | None = None,
    *,
    start: str | os.PathLike[str] | None = None,
) -> Registry:
    r"""Load the project registry.

    Args:
        path: An explicit ``runrecord.toml`` or ``pyproject.toml``. When omitted, the file
            named by ``RUNRECORD_REGISTRY`` is used, else the first one found searching
            upward from ``start``.
        start: Where the upward search begins; the working directory by default.

    Returns:
        The registry.

    Raises:
        ConfigError: No registry found, or the file is unreadable or invalid.

    Examples:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "runrecord.toml").write_text(
        ...     'project_id = "sales"\nproject_name = "Sales"\nstages = ["extract"]\n')
        >>> load_registry(start=d).project_id
        'sales'
    """
    if path is None and os.environ.get(REGISTRY_ENV_VAR):
        path = os.environ[REGISTRY_ENV_VAR]
    if path is None:
        found = find_registry_file(start)
        if found is None:
            raise ConfigError(
                f"no project registry found from {Path(start or Path.cwd()).resolve()} upward",
                hint=(
                    "create runrecord.toml with project_id, project_name and stages, "
                    f"or set {REGISTRY_ENV_VAR} to its path"
                ),
            )
        path = found
    file = Path(path)
    try:  # keyed by content: an edited registry is parsed again
        key = (str(file.resolve()), file.read_bytes())
    except OSError:
        key = None  # _read_toml says what is wrong
    if key is not None and (loaded := _LOADED.get(key)) is not None:
        return loaded
    table, name = _registry_table(file, _read_toml(file))
    if table is None:
        raise ConfigError(
            "no [tool.runrecord] table in this pyproject.toml",
            hint=f"add [tool.runrecord] with {_EXAMPLES['project_id']}, "
            f"{_EXAMPLES['project_name']} and {_EXAMPLES['stages']}",
            path=str(file),
            key="tool.runrecord",
        )
    registry = Registry.from_mapping(table, source=file, table=name)
    if key is not None:
        if len(_LOADED) >= 64:
            _LOADED.clear()
        _LOADED[key] = registry
    return registry


# Registries parsed in this process, by path and content. Orchestrator hooks load the
# registry for every step; a Registry is immutable, so sharing one is safe.
_LOADED: dict[tuple[str, bytes], Registry] = {}
