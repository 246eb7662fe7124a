"""Manifests: the small JSON file beside an artifact that says what it is and what it hashes to.

An artifact (a file, or a directory of files) at ``<path>`` has its manifest at
``<path>.manifest.json``; for a directory ``out/`` that is the sibling
``out.manifest.json``, outside the data it describes. A manifest names the artifact
family and schema version, the data hash (see :mod:`runrecord.hashing`), every file with
its size and hash, and the run that produced it. It is written once, read-only, and never
overwritten: data that changes gets a new path, not a new manifest.

Reading is strict: a manifest that is missing, unreadable, not one strict JSON object,
shaped wrongly, or inconsistent with itself (a file path that leaves the artifact, a file
listed twice, a data hash that is not the hash of its files) is a
:class:`~runrecord.errors.ManifestError`. :func:`verify` re-hashes the data; a difference
is an :class:`~runrecord.errors.IntegrityError`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StrictStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from runrecord._fs import write_new
from runrecord.errors import (
    ConfigError,
    CountersError,
    IntegrityError,
    ManifestError,
    PromotionError,
    ResourceError,
    UnsafeNameError,
)
from runrecord.hashing import (
    DEFAULT_ALGORITHM,
    ArtifactDigest,
    FileEntry,
    StrPath,
    check_relpath,
    hash_artifact,
    tree_hash,
)
from runrecord.ids import check_name
from runrecord.model import Count, DataHash, Name, UtcTimestamp
from runrecord.reader import JsonSyntaxError, parse_json

__all__ = [
    "MANIFEST_SUFFIX",
    "MANIFEST_VERSION",
    "Manifest",
    "ManifestFile",
    "build_manifest",
    "manifest_path_for",
    "read_manifest",
    "verify",
    "write_manifest",
]

MANIFEST_VERSION: Literal["1.0"] = "1.0"
"""The ``manifest_version`` this library writes and reads."""

MANIFEST_SUFFIX = ".manifest.json"
"""Appended to an artifact's path to name its manifest."""

_TAMPERED_HINT = "treat the data as tampered or torn: rerun the producer; never edit the manifest"
_ERRORS_SHOWN = 5


def manifest_path_for(data_path: StrPath) -> Path:
    """Return where the manifest of an artifact lives: ``<data path>.manifest.json``.

    Args:
        data_path: The artifact: a file, or a directory (a trailing ``/`` is ignored).

    Returns:
        The manifest's path, a sibling of the artifact.

    Raises:
        UnsafeNameError: ``data_path`` has no name to append to (``.``, ``..``, ``/``).

    Examples:
        >>> manifest_path_for("out/sales.parquet").as_posix()
        'out/sales.parquet.manifest.json'
        >>> manifest_path_for("out/daily/").as_posix()
        'out/daily.manifest.json'
    """
    data = Path(data_path)
    if data.name in ("", ".", ".."):
        raise UnsafeNameError(
            f"artifact path {os.fspath(data_path)!r} has no name to put a manifest beside",
            hint="name the artifact itself (e.g. out/daily), not '.', '..' or a root",
        )
    return data.with_name(data.name + MANIFEST_SUFFIX)


def _safe_relpath(value: str) -> str:
    try:
        return check_relpath(value)
    except UnsafeNameError as exc:
        raise PydanticCustomError("unsafe_path", "{message}", {"message": exc.message}) from None


RelPath = Annotated[StrictStr, AfterValidator(_safe_relpath)]
SchemaVersion = Annotated[StrictStr, StringConstraints(min_length=1, max_length=256)]


class _ManifestObject(BaseModel):
    # The same configuration as the run record's contract objects.
    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
    )


class ManifestFile(_ManifestObject):
    """One regular file of the artifact.

    Examples:
        >>> ManifestFile(path="day=1/part-0.csv", size=0, hash="sha256:" + "0" * 64).size
        0
    """

    path: RelPath
    """Path relative to the artifact root with ``/`` separators; a file artifact's name."""
    size: Count
    """Size in bytes."""
    hash: DataHash
    """The file's hash, ``"<algorithm>:<hex>"``, with the manifest's algorithm."""


class Manifest(_ManifestObject):
    r"""What an artifact is, who produced it, and what its data hashes to.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     data = pathlib.Path(tmp, "sales.csv")
        ...     _ = data.write_bytes(b"id,amount\n1,9.5\n")
        ...     manifest = build_manifest(data, artifact_family="sales", schema_version="2")
        >>> manifest.files[0].path, manifest.files[0].size, manifest.algorithm
        ('sales.csv', 16, 'blake3')
        >>> Manifest.model_validate_json(manifest.to_json()) == manifest
        True
    """

    model_config = ConfigDict(title="Manifest")

    manifest_version: Literal["1.0"]
    """Version of the manifest format."""
    artifact_family: Name
    """The artifact family, as the registry and run records name it."""
    schema_version: SchemaVersion
    """Schema version of the data."""
    data_hash: DataHash
    """Hash of the whole artifact: its file's hash, or the tree hash of a directory."""
    files: list[ManifestFile]
    """Every regular file of the artifact, sorted by path."""
    record_count: Count | None = None
    """Number of records in the data, when records are a concept."""
    producing_run_id: Name | None = None
    """Run id of the run that produced the data: the link upstream."""
    created_at: UtcTimestamp
    """When the manifest was built (UTC)."""

    @property
    def algorithm(self) -> str:
        """The hash algorithm of ``data_hash`` and of every file."""
        return self.data_hash.partition(":")[0]

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        # A hand-edited manifest usually breaks one of these; refusing it at read time
        # keeps a forged file list from being trusted by anything downstream.
        seen: set[str] = set()
        for file in self.files:
            if file.hash.partition(":")[0] != self.algorithm:
                raise PydanticCustomError(
                    "manifest_algorithm",
                    "file '{path}' is hashed with another algorithm than data_hash",
                    {"path": file.path[:200]},
                )
            if file.path in seen:
                raise PydanticCustomError(
                    "manifest_duplicate", "file '{path}' is listed twice", {"path": file.path[:200]}
                )
            seen.add(file.path)
        if _describes(self) is None:
            raise PydanticCustomError(
                "manifest_inconsistent",
                "data_hash is neither the hash of its one file nor the tree hash of its files",
            )
        return self

    def to_json(self) -> bytes:
        """Serialize the manifest the way it is stored: UTF-8 JSON, indented, newline-ended.

        Returns:
            The manifest's bytes.
        """
        return self.model_dump_json(indent=2).encode() + b"\n"


def _entries(manifest: Manifest) -> list[FileEntry]:
    return [FileEntry(f.path, f.size, f.hash) for f in manifest.files]


def _describes(manifest: Manifest) -> Literal["file", "directory"] | None:
    files = manifest.files
    if len(files) == 1 and files[0].hash == manifest.data_hash:
        return "file"
    if tree_hash(_entries(manifest), manifest.algorithm) == manifest.data_hash:
        return "directory"
    return None


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = "/".join(str(part) for part in error["loc"]) or "manifest"
        parts.append(f"{where}: {error['msg']}")
    shown = "; ".join(parts[:_ERRORS_SHOWN])
    more = len(parts) - _ERRORS_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def build_manifest(
    data_path: StrPath,
    *,
    artifact_family: str,
    schema_version: str,
    record_count: int | None = None,
    producing_run_id: str | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    created_at: datetime | None = None,
    name: str | None = None,
) -> Manifest:
    r"""Build the manifest of an artifact, hashing its data once.

    Args:
        data_path: The artifact: a file or a directory, finished writing.
        artifact_family: Its artifact family (a filename-safe name).
        schema_version: The schema version of the data (non-empty).
        record_count: Number of records, when records are a concept.
        producing_run_id: Run id of the run producing it.
        algorithm: Hash algorithm, one of :data:`runrecord.hashing.ALGORITHMS`.
        created_at: When the manifest is built; now by default. Must be timezone-aware.
        name: The file name a single-file artifact is listed under, when it is built at a
            staging path and promoted under another name later.

    Returns:
        The manifest; write it with :func:`write_manifest`.

    Raises:
        UnsafeNameError: ``artifact_family`` or ``producing_run_id`` is not filename-safe,
            or the artifact holds a symbolic link or an unsafe file name.
        CountersError: ``record_count`` is not a non-negative integer.
        ConfigError: ``schema_version`` is empty, ``created_at`` is naive, or
            ``algorithm`` is unknown.
        ResourceError: The data does not exist or cannot be read.
        IntegrityError: A file changed while it was being hashed.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     data = pathlib.Path(tmp, "daily")
        ...     data.mkdir()
        ...     _ = (data / "part-0.csv").write_bytes(b"id\n1\n")
        ...     manifest = build_manifest(
        ...         data, artifact_family="sales", schema_version="2", record_count=1,
        ...         producing_run_id="sales.daily-2026-11-26", algorithm="sha256")
        >>> [f.path for f in manifest.files], manifest.record_count, manifest.algorithm
        (['part-0.csv'], 1, 'sha256')
    """
    check_name(artifact_family, what="artifact family")
    if producing_run_id is not None:
        check_name(producing_run_id, what="run id")
    if not isinstance(schema_version, str) or not schema_version:
        raise ConfigError(
            f"schema version {schema_version!r} is not a non-empty string",
            hint="pass the data's schema version as the registry declares it, e.g. '2'",
        )
    if record_count is not None and (
        isinstance(record_count, bool) or not isinstance(record_count, int) or record_count < 0
    ):
        raise CountersError(
            f"record count {record_count!r} is not a non-negative integer",
            hint="pass the number of records written, or None where records are not a concept",
        )
    digest: ArtifactDigest = hash_artifact(data_path, algorithm)
    files = [ManifestFile(path=f.path, size=f.size, hash=f.hash) for f in digest.files]
    if name is not None and digest.kind == "file":
        files[0] = files[0].model_copy(update={"path": check_relpath(name)})
    try:
        return Manifest(
            manifest_version=MANIFEST_VERSION,
            artifact_family=artifact_family,
            schema_version=schema_version,
            data_hash=digest.data_hash,
            files=files,
            record_count=record_count,
            producing_run_id=producing_run_id,
            created_at=datetime.now(UTC) if created_at is None else created_at,
        )
    except ValidationError as exc:
        raise ConfigError(
            f"cannot build the manifest of {os.fspath(data_path)}: {_summary(exc)}"
        ) from None


def write_manifest(manifest: Manifest, path: StrPath) -> Path:
    r"""Write a manifest atomically, read-only, and only if none exists there.

    Args:
        manifest: The manifest.
        path: Where to write it; normally ``manifest_path_for(data_path)``. Its directory
            must exist.

    Returns:
        The manifest's path.

    Raises:
        PromotionError: A file already exists at ``path``; it is left unchanged.
        ResourceError: The write failed (directory missing, permission denied, disk
            full); nothing is left behind.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     data = pathlib.Path(tmp, "sales.csv")
        ...     _ = data.write_bytes(b"id\n1\n")
        ...     manifest = build_manifest(data, artifact_family="sales", schema_version="2")
        ...     written = write_manifest(manifest, manifest_path_for(data))
        ...     read_manifest(written) == manifest
        True
    """
    target = Path(path)
    try:
        write_new(target, manifest.to_json())
    except FileExistsError:
        raise PromotionError(
            f"manifest {target} already exists; a manifest is never overwritten",
            hint="write new data under a new path (a new run's directory); to replace an "
            "artifact, remove it and its manifest deliberately first",
        ) from None
    except OSError as exc:
        raise ResourceError(
            f"cannot write manifest {target}: {exc.strerror or exc}",
            hint="check that the directory exists, is writable and has free space",
        ) from None
    return target


def read_manifest(path: StrPath) -> Manifest:
    """Read and validate a manifest file.

    Args:
        path: The manifest file (see :func:`manifest_path_for`).

    Returns:
        The manifest.

    Raises:
        ManifestError: The file is missing, unreadable or empty; not one strict JSON
            object; not a valid manifest; or inconsistent with itself (a file path that is
            absolute or leaves the artifact, a file listed twice, a data hash that is not
            the hash of its files). The message names the file and the problem.

    Examples:
        >>> read_manifest("no/such.manifest.json")
        Traceback (most recent call last):
        ...
        runrecord.errors.ManifestError: manifest no/such.manifest.json does not exist ...
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ManifestError(
            f"manifest {file} does not exist",
            hint="the data has no manifest: rerun its producer so that data and manifest are "
            "written together",
        ) from None
    except OSError as exc:
        raise ManifestError(f"manifest {file} cannot be read: {exc.strerror or exc}") from None
    try:
        obj = parse_json(data)
    except JsonSyntaxError as exc:
        raise ManifestError(f"manifest {file} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ManifestError(f"manifest {file} is {_json_type(obj)}, not a JSON object")
    try:
        return Manifest.model_validate(obj)
    except ValidationError as exc:
        raise ManifestError(
            f"manifest {file} is invalid: {_summary(exc)}",
            hint="rerun the producer so that data and manifest are written together; never "
            "edit a manifest by hand",
        ) from None


def _differences(declared: Manifest, actual: ArtifactDigest) -> str:
    kind = _describes(declared)
    if kind != actual.kind:
        return f" (the manifest describes a {kind}, the data is a {actual.kind})"
    if kind == "file":
        return ""
    want = {f.path: f.hash for f in declared.files}
    have = {f.path: f.hash for f in actual.files}
    groups = (
        ("changed", sorted(p for p in want.keys() & have.keys() if want[p] != have[p])),
        ("added", sorted(have.keys() - want.keys())),
        ("missing", sorted(want.keys() - have.keys())),
    )
    parts = []
    for label, paths in groups:
        if paths:
            more = f" and {len(paths) - _ERRORS_SHOWN} more" if len(paths) > _ERRORS_SHOWN else ""
            parts.append(f"{label}: {', '.join(map(repr, paths[:_ERRORS_SHOWN]))}{more}")
    return f" ({'; '.join(parts)})" if parts else ""


def verify(data_path: StrPath, manifest: Manifest) -> str:
    r"""Re-hash an artifact and check it against its manifest.

    The data is hashed with the manifest's algorithm. Besides the data hash, every file's
    size must be the one declared. A file artifact's name is not compared: a file keeps
    its manifest when it is promoted from a staging name.

    Args:
        data_path: The artifact the manifest describes.
        manifest: Its manifest (see :func:`read_manifest`).

    Returns:
        The verified data hash.

    Raises:
        ManifestError: The data does not exist while its manifest does, or a file's size
            differs from the declared one although its hash matches.
        IntegrityError: The data's hash differs from the declared one; the message names
            the path, both hashes and, for a directory, the files that differ.
        ResourceError: The data cannot be read.
        UnsafeNameError: The data holds a symbolic link or an unsafe file name.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     data = pathlib.Path(tmp, "sales.csv")
        ...     _ = data.write_bytes(b"id\n1\n")
        ...     manifest = build_manifest(data, artifact_family="sales", schema_version="2")
        ...     ok = verify(data, manifest) == manifest.data_hash
        ...     _ = data.write_bytes(b"id\n2\n")
        ...     verify(data, manifest)
        Traceback (most recent call last):
        ...
        runrecord.errors.IntegrityError: ...sales.csv: data hash blake3:... differs ...
        >>> ok
        True
    """
    data = Path(data_path)
    if not os.path.lexists(data):
        raise ManifestError(
            f"{data} does not exist, but its manifest does",
            hint="the data was moved or deleted after it was written: restore it or rerun "
            "its producer",
        )
    actual = hash_artifact(data, manifest.algorithm)
    if actual.data_hash != manifest.data_hash:
        raise IntegrityError(
            f"{data}: data hash {actual.data_hash} differs from the declared "
            f"{manifest.data_hash}{_differences(manifest, actual)}",
            hint=_TAMPERED_HINT,
        )
    declared = manifest.files if actual.kind == "directory" else manifest.files[:1]
    sizes = {f.path: f.size for f in actual.files}
    for file in declared:
        size = sizes.get(file.path) if actual.kind == "directory" else actual.files[0].size
        if size != file.size:
            raise ManifestError(
                f"{data}: the manifest declares {file.size} bytes for {file.path!r}, the data "
                f"has {size}",
                hint="the manifest was edited after it was written: rerun the producer; never "
                "edit a manifest",
            )
    return actual.data_hash
