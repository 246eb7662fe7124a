"""Manifests: built from the data, written once read-only, read strictly, verified."""

from __future__ import annotations

import errno
import json
import re
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from permissions import where_permissions_apply

import runrecord.manifest
from runrecord.errors import (
    ConfigError,
    CountersError,
    IntegrityError,
    ManifestError,
    PromotionError,
    ResourceError,
    RunRecordError,
    UnsafeNameError,
)
from runrecord.hashing import ALGORITHMS, FileEntry, hash_bytes, hash_path, tree_hash
from runrecord.manifest import (
    MANIFEST_SUFFIX,
    MANIFEST_VERSION,
    Manifest,
    ManifestFile,
    build_manifest,
    manifest_path_for,
    read_manifest,
    verify,
    write_manifest,
)
from runrecord.taxonomy import ErrorType

WHEN = datetime(2026, 11, 26, 10, 52, 24, tzinfo=UTC)
TAMPERED_HINT = "treat the data as tampered or torn: rerun the producer; never edit the manifest"
FIELDS = {
    "manifest_version",
    "artifact_family",
    "schema_version",
    "data_hash",
    "files",
    "record_count",
    "producing_run_id",
    "created_at",
}


def data_file(tmp_path: Path, content: bytes = b"id,amount\n1,9.5\n2,3.0\n") -> Path:
    path = tmp_path / "sales.csv"
    path.write_bytes(content)
    return path


def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "daily"
    (root / "day=1").mkdir(parents=True)
    (root / "day=2").mkdir()
    (root / "day=1" / "part-0.csv").write_bytes(b"id\n1\n")
    (root / "day=2" / "part-0.csv").write_bytes(b"id\n2\n")
    (root / "_SUCCESS").write_bytes(b"")
    return root


def build(data: Path, **kwargs: Any) -> Manifest:
    options: dict[str, Any] = {
        "artifact_family": "sales",
        "schema_version": "2",
        "record_count": 2,
        "producing_run_id": "sales.daily-2026-11-26",
        "created_at": WHEN,
    }
    options.update(kwargs)
    return build_manifest(data, **options)


def entries(files: list[dict[str, Any]]) -> list[FileEntry]:
    return [FileEntry(f["path"], f["size"], f["hash"]) for f in files]


def written(data: Path, **kwargs: Any) -> Path:
    return write_manifest(build(data, **kwargs), manifest_path_for(data))


# --- where manifests live ----------------------------------------------------------------


def test_manifest_path_is_beside_the_data() -> None:
    assert MANIFEST_SUFFIX == ".manifest.json"
    assert manifest_path_for("out/sales.csv") == Path("out/sales.csv.manifest.json")
    assert manifest_path_for(Path("out/daily")) == Path("out/daily.manifest.json")
    assert manifest_path_for("out/daily/") == Path("out/daily.manifest.json")


@pytest.mark.parametrize("path", [".", "..", "/", "out/.."])
def test_manifest_path_needs_a_named_artifact(path: str) -> None:
    with pytest.raises(UnsafeNameError):
        manifest_path_for(path)


# --- build, write, read ------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("make", [data_file, data_dir], ids=["file", "directory"])
def test_round_trip(tmp_path: Path, algorithm: str, make: Any) -> None:
    data = make(tmp_path)
    manifest = build(data, algorithm=algorithm)
    path = write_manifest(manifest, manifest_path_for(data))

    assert path == manifest_path_for(data)
    assert path.read_bytes() == manifest.to_json()
    assert read_manifest(path) == manifest
    assert manifest.manifest_version == MANIFEST_VERSION == "1.0"
    assert manifest.data_hash == hash_path(data, algorithm)
    assert manifest.algorithm == algorithm
    # The manifest of a directory is outside it: writing it did not change the data hash.
    assert verify(data, read_manifest(path)) == manifest.data_hash


def test_json_shape(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    raw = written(data).read_bytes()
    assert raw.endswith(b"}\n")
    assert raw.startswith(b'{\n  "manifest_version": "1.0"')
    obj = json.loads(raw)
    assert set(obj) == FIELDS
    assert obj["created_at"] == "2026-11-26T10:52:24.000000Z"
    assert obj["record_count"] == 2
    assert obj["producing_run_id"] == "sales.daily-2026-11-26"
    assert [f["path"] for f in obj["files"]] == [
        "_SUCCESS",
        "day=1/part-0.csv",
        "day=2/part-0.csv",
    ]
    assert [f["size"] for f in obj["files"]] == [0, 5, 5]
    assert obj["data_hash"] == tree_hash(entries(obj["files"]), "blake3")


def test_optional_fields_are_written_as_null(tmp_path: Path) -> None:
    data = data_file(tmp_path)
    manifest = build_manifest(data, artifact_family="sales", schema_version="2")
    obj = json.loads(manifest.to_json())
    assert obj["record_count"] is None
    assert obj["producing_run_id"] is None
    assert manifest.created_at.utcoffset() is not None


def test_file_manifest_lists_the_file_by_its_name(tmp_path: Path) -> None:
    data = data_file(tmp_path)
    manifest = build(data)
    assert manifest.files == [
        ManifestFile(path="sales.csv", size=data.stat().st_size, hash=manifest.data_hash)
    ]


def test_written_manifest_is_read_only(tmp_path: Path) -> None:
    path = written(data_file(tmp_path))
    assert path.stat().st_mode & 0o222 == 0
    assert stat.S_ISREG(path.stat().st_mode)


def test_a_second_write_is_refused_and_leaves_the_first_unchanged(tmp_path: Path) -> None:
    data = data_file(tmp_path)
    path = written(data)
    original = path.read_bytes()
    other = build(data, schema_version="3", record_count=99)
    for manifest in (other, read_manifest(path)):
        with pytest.raises(PromotionError, match="never overwritten") as caught:
            write_manifest(manifest, path)
        assert caught.value.error_type is ErrorType.PROMOTION_FAILED
        assert str(path) in caught.value.message
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sales.csv", path.name]


def test_writing_into_a_missing_directory_is_a_resource_error(tmp_path: Path) -> None:
    manifest = build(data_file(tmp_path))
    target = tmp_path / "no-such-dir" / "sales.csv.manifest.json"
    with pytest.raises(ResourceError) as caught:
        write_manifest(manifest, target)
    assert str(target) in caught.value.message
    assert not target.parent.exists()


def test_writing_into_a_read_only_directory_is_a_resource_error() -> None:
    def body(base: Path) -> None:
        manifest = build(data_file(base))
        directory = base / "locked"
        directory.mkdir()
        directory.chmod(0o500)
        with pytest.raises(ResourceError):
            write_manifest(manifest, directory / "x.manifest.json")
        assert list(directory.iterdir()) == []
        directory.chmod(0o700)
        write_manifest(manifest, directory / "x.manifest.json")
        assert [p.name for p in directory.iterdir()] == ["x.manifest.json"]

    where_permissions_apply(body)


# --- build refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"artifact_family": "../sales"}, UnsafeNameError),
        ({"artifact_family": ""}, UnsafeNameError),
        ({"producing_run_id": "run/1"}, UnsafeNameError),
        ({"schema_version": ""}, ConfigError),
        ({"record_count": -1}, CountersError),
        ({"record_count": True}, CountersError),
        ({"record_count": 1.0}, CountersError),
        ({"created_at": datetime(2026, 11, 26, 10, 52)}, ConfigError),
        ({"algorithm": "md5"}, ConfigError),
    ],
    ids=repr,
)
def test_build_refuses_bad_arguments_with_typed_errors(
    tmp_path: Path, kwargs: dict[str, Any], error: type[RunRecordError]
) -> None:
    with pytest.raises(error):
        build(data_file(tmp_path), **kwargs)


def test_build_of_missing_data_is_a_resource_error(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="does not exist"):
        build(tmp_path / "missing.csv")


def test_build_refuses_data_with_a_link(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    try:
        (data / "link.csv").symlink_to(data / "_SUCCESS")
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links are not supported here")
    with pytest.raises(UnsafeNameError, match="symbolic link"):
        build(data)


# --- reading bad manifests ---------------------------------------------------------------


def valid_manifest_object(tmp_path: Path) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(build(data_dir(tmp_path)).to_json())
    return obj


def with_files(obj: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    """Replace the files and make data_hash consistent with them, as a forger would."""
    try:
        data_hash = tree_hash(entries(files), "blake3")
    except RunRecordError:
        data_hash = obj["data_hash"]
    return {**obj, "files": files, "data_hash": data_hash}


def one_file(path: object, size: object = 1, digest: object = None) -> dict[str, Any]:
    return {"path": path, "size": size, "hash": digest or hash_bytes(b"x")}


BAD_BYTES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b"  \n",
    "not-json": b"manifest: yes\n",
    "truncated": b'{"manifest_version": "1.0", "artifact_family": "sal',
    "not-utf8": b'{"artifact_family": "\xff"}',
    "nan": b'{"record_count": NaN}',
    "duplicate-key": b'{"manifest_version": "1.0", "manifest_version": "1.0"}',
    "array": b"[]",
    "string": b'"manifest"',
    "null": b"null",
    "number": b"1",
}


@pytest.mark.parametrize("content", BAD_BYTES.values(), ids=BAD_BYTES.keys())
def test_unparseable_manifest_files_are_manifest_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data.manifest.json"
    path.write_bytes(content)
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert str(path) in caught.value.message
    assert caught.value.error_type is ErrorType.MANIFEST_MISMATCH


MUTATIONS: dict[str, tuple[Any, str]] = {
    "missing-field": (
        lambda o: {k: v for k, v in o.items() if k != "data_hash"},
        "data_hash: Field required",
    ),
    "missing-files": (
        lambda o: {k: v for k, v in o.items() if k != "files"},
        "files: Field required",
    ),
    "extra-field": (lambda o: {**o, "signed_by": "me"}, "signed_by: Extra inputs"),
    "unknown-version": (
        lambda o: {**o, "manifest_version": "2.0"},
        "manifest_version: Input should be '1.0'",
    ),
    "version-as-number": (
        lambda o: {**o, "manifest_version": 1.0},
        "manifest_version: Input should be '1.0'",
    ),
    "bad-family": (
        lambda o: {**o, "artifact_family": "../sales"},
        "artifact_family: String should match",
    ),
    "empty-schema-version": (
        lambda o: {**o, "schema_version": ""},
        "schema_version: String should have at least 1",
    ),
    "schema-version-number": (
        lambda o: {**o, "schema_version": 2},
        "schema_version: Input should be a valid string",
    ),
    "malformed-hash": (
        lambda o: {**o, "data_hash": "blake3:abc"},
        "data_hash: String should match",
    ),
    "unknown-algorithm": (
        lambda o: {**o, "data_hash": "md5:" + "0" * 64},
        "data_hash: String should match",
    ),
    "negative-count": (
        lambda o: {**o, "record_count": -1},
        "record_count: Input should be greater than or equal to 0",
    ),
    "bool-count": (
        lambda o: {**o, "record_count": True},
        "record_count: Input should be a valid integer",
    ),
    "string-count": (
        lambda o: {**o, "record_count": "2"},
        "record_count: Input should be a valid integer",
    ),
    "bad-run-id": (
        lambda o: {**o, "producing_run_id": "run 1"},
        "producing_run_id: String should match",
    ),
    "naive-timestamp": (
        lambda o: {**o, "created_at": "2026-11-26T10:52:24"},
        "created_at: timestamp '2026-11-26T10:52:24' is naive",
    ),
    "offset-timestamp": (
        lambda o: {**o, "created_at": "2026-11-26T10:52:24+01:00"},
        "created_at: timestamp '2026-11-26T10:52:24+01:00' is not in UTC",
    ),
    "not-a-timestamp": (
        lambda o: {**o, "created_at": "yesterday"},
        "created_at: timestamp 'yesterday' is not ISO 8601",
    ),
    "files-not-a-list": (lambda o: {**o, "files": {}}, "files: Input should be a valid list"),
    "file-not-an-object": (
        lambda o: {**o, "files": ["a.csv"]},
        "files/0: Input should be a valid dictionary",
    ),
    "file-extra-field": (
        lambda o: {**o, "files": [{**o["files"][0], "mode": 420}]},
        "files/0/mode: Extra inputs",
    ),
    "negative-size": (
        lambda o: with_files(o, [one_file("a", size=-1)]),
        "files/0/size: Input should be greater than or equal to 0",
    ),
    "bool-size": (
        lambda o: with_files(o, [one_file("a", size=False)]),
        "files/0/size: Input should be a valid integer",
    ),
    "string-size": (
        lambda o: with_files(o, [one_file("a", size="1")]),
        "files/0/size: Input should be a valid integer",
    ),
    "data-hash-not-of-its-files": (
        lambda o: {**o, "data_hash": hash_bytes(b"forged")},
        "data_hash is neither the hash of its one file nor the tree hash",
    ),
    "file-dropped": (
        lambda o: {**o, "files": o["files"][1:]},
        "data_hash is neither the hash of its one file nor the tree hash",
    ),
    "mixed-algorithms": (
        lambda o: with_files(o, [one_file("a"), one_file("b", digest=hash_bytes(b"x", "sha256"))]),
        "file 'b' is hashed with another algorithm",
    ),
    "duplicate-path": (
        lambda o: {**o, "files": [o["files"][0], *o["files"]]},
        "file '_SUCCESS' is listed twice",
    ),
    "dotdot-path": (
        lambda o: with_files(o, [one_file("../../etc/passwd")]),
        "files/0/path: file path '../../etc/passwd' has an empty, '.' or '..' segment",
    ),
    "inner-dotdot-path": (
        lambda o: with_files(o, [one_file("a/../../b")]),
        "files/0/path: file path 'a/../../b' has an empty",
    ),
    "absolute-path": (
        lambda o: with_files(o, [one_file("/etc/passwd")]),
        "files/0/path: file path '/etc/passwd' is absolute",
    ),
    "backslash-path": (lambda o: with_files(o, [one_file("..\\..\\b")]), "contains a backslash"),
    "drive-path": (lambda o: with_files(o, [one_file("C:/b")]), "starts with a drive letter"),
    "empty-path": (lambda o: with_files(o, [one_file("")]), "files/0/path: file path '' is empty"),
    "dot-path": (
        lambda o: with_files(o, [one_file("./a")]),
        "files/0/path: file path './a' has an empty",
    ),
    "control-path": (lambda o: with_files(o, [one_file("a\nb")]), "contains a control character"),
    "path-not-a-string": (
        lambda o: with_files(o, [one_file(["a"])]),
        "files/0/path: Input should be a valid string",
    ),
}


@pytest.mark.parametrize(("mutate", "reason"), MUTATIONS.values(), ids=MUTATIONS.keys())
def test_invalid_manifests_are_manifest_errors(tmp_path: Path, mutate: Any, reason: str) -> None:
    obj = mutate(valid_manifest_object(tmp_path))
    path = tmp_path / "data.manifest.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert str(path) in caught.value.message
    assert "is invalid: " in caught.value.message
    assert reason in caught.value.message
    assert "never edit" in caught.value.remediation_hint


def test_the_unmutated_manifest_object_is_valid(tmp_path: Path) -> None:
    """The mutations above fail because of what they change, not of the base object."""
    path = tmp_path / "data.manifest.json"
    path.write_text(json.dumps(valid_manifest_object(tmp_path)), encoding="utf-8")
    assert read_manifest(path).artifact_family == "sales"


def test_hostile_paths_are_named_in_the_error(tmp_path: Path) -> None:
    obj = with_files(valid_manifest_object(tmp_path), [one_file("../../etc/passwd")])
    path = tmp_path / "data.manifest.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"files/0/path: .*'\.\./\.\./etc/passwd'"):
        read_manifest(path)


def test_missing_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv.manifest.json"
    with pytest.raises(ManifestError, match="does not exist") as caught:
        read_manifest(path)
    assert str(path) in caught.value.message


def test_a_directory_is_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot be read"):
        read_manifest(tmp_path)


def test_unreadable_manifest_is_a_manifest_error() -> None:
    def body(directory: Path) -> None:
        path = written(data_file(directory))
        path.chmod(0)
        with pytest.raises(ManifestError, match="cannot be read"):
            read_manifest(path)
        path.chmod(0o444)
        assert read_manifest(path).files

    where_permissions_apply(body)


# --- verify ------------------------------------------------------------------------------


def flip_one_byte(path: Path, offset: int = 3) -> None:
    content = bytearray(path.read_bytes())
    content[offset] ^= 0x01
    path.write_bytes(bytes(content))


def test_verify_returns_the_verified_hash(tmp_path: Path) -> None:
    data = data_file(tmp_path)
    manifest = read_manifest(written(data))
    assert verify(data, manifest) == manifest.data_hash == hash_path(data)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tampered_file_is_an_integrity_error(tmp_path: Path, algorithm: str) -> None:
    data = data_file(tmp_path)
    manifest = read_manifest(written(data, algorithm=algorithm))
    flip_one_byte(data)
    actual = hash_path(data, algorithm)
    with pytest.raises(IntegrityError) as caught:
        verify(data, manifest)
    error = caught.value
    assert error.error_type is ErrorType.INTEGRITY_ERROR
    assert str(data) in error.message
    assert manifest.data_hash in error.message
    assert actual in error.message
    assert error.remediation_hint == TAMPERED_HINT


def test_torn_file_is_an_integrity_error(tmp_path: Path) -> None:
    data = data_file(tmp_path)
    manifest = build(data)
    data.write_bytes(data.read_bytes()[:-5])
    with pytest.raises(IntegrityError):
        verify(data, manifest)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda r: flip_one_byte(r / "day=1" / "part-0.csv"), "changed: 'day=1/part-0.csv'"),
        (lambda r: (r / "day=3.csv").write_bytes(b""), "added: 'day=3.csv'"),
        (lambda r: (r / "_SUCCESS").unlink(), "missing: '_SUCCESS'"),
        (
            lambda r: (r / "day=2" / "part-0.csv").rename(r / "day=2" / "part-1.csv"),
            "added: 'day=2/part-1.csv'; missing: 'day=2/part-0.csv'",
        ),
    ],
    ids=["changed", "added", "removed", "renamed"],
)
def test_tampered_directory_names_the_files(tmp_path: Path, change: Any, named: str) -> None:
    data = data_dir(tmp_path)
    manifest = read_manifest(written(data))
    change(data)
    with pytest.raises(IntegrityError) as caught:
        verify(data, manifest)
    assert named in caught.value.message
    assert caught.value.remediation_hint == TAMPERED_HINT


def test_data_replaced_by_another_kind_is_an_integrity_error(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    manifest = build(data)
    shutil.rmtree(data)
    data.write_bytes(b"a file now")
    with pytest.raises(IntegrityError, match="describes a directory, the data is a file"):
        verify(data, manifest)


@pytest.mark.parametrize("make", [data_file, data_dir], ids=["file", "directory"])
def test_missing_data_is_a_manifest_error(tmp_path: Path, make: Any) -> None:
    data = make(tmp_path)
    manifest = read_manifest(written(data))
    data.rename(tmp_path / "moved")
    with pytest.raises(ManifestError, match="does not exist") as caught:
        verify(data, manifest)
    assert str(data) in caught.value.message


def test_forged_size_is_a_manifest_error(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    obj = json.loads(build(data).to_json())
    obj["files"][1]["size"] += 1  # sizes are not in the tree hash: the manifest stays valid
    manifest = Manifest.model_validate(obj)
    with pytest.raises(
        ManifestError, match=re.escape("declares 6 bytes for 'day=1/part-0.csv', the data has 5")
    ):
        verify(data, manifest)


def test_a_promoted_file_keeps_its_manifest(tmp_path: Path) -> None:
    staged = tmp_path / ".sales.csv.tmp"
    staged.write_bytes(b"id\n1\n")
    manifest = build(staged)
    final = staged.rename(tmp_path / "sales.csv")
    assert verify(final, manifest) == manifest.data_hash


def test_verify_refuses_a_link_in_the_data(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    manifest = build(data)
    try:
        (data / "_SUCCESS").unlink()
        (data / "_SUCCESS").symlink_to(tmp_path / "elsewhere")
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links are not supported here")
    with pytest.raises(UnsafeNameError):
        verify(data, manifest)


def test_a_failed_write_is_a_resource_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = data_file(tmp_path)
    manifest = build(data)
    target = manifest_path_for(data)

    def disk_full(path: Path, content: bytes, *, mode: int = 0o444) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(runrecord.manifest, "write_new", disk_full)
    with pytest.raises(ResourceError, match="No space left on device") as caught:
        write_manifest(manifest, target)
    assert str(target) in caught.value.message


def test_an_unreadable_manifest_is_a_manifest_error_whoever_runs_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mapping of OSError, checked even as root (where chmod 0 does not deny reads)."""
    path = written(data_file(tmp_path))
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ManifestError, match="cannot be read: Permission denied") as caught:
        read_manifest(path)
    assert str(path) in caught.value.message
