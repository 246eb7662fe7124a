"""Data hashes: known vectors, files streamed, directory trees, and every refusal typed."""

from __future__ import annotations

import hashlib
import os
import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from permissions import where_permissions_apply

from runrecord import hashing
from runrecord.errors import (
    ConfigError,
    IntegrityError,
    ResourceError,
    RunRecordError,
    UnsafeNameError,
)
from runrecord.hashing import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    TREE_HEADER,
    FileEntry,
    check_relpath,
    file_entries,
    hash_artifact,
    hash_bytes,
    hash_file,
    hash_path,
    parse_hash,
    tree_hash,
)
from runrecord.model import HASH_PATTERN
from runrecord.taxonomy import ErrorType

SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
BLAKE3_EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
BLAKE3_ABC = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"

MIB = 1 << 20


def reference(data: bytes, algorithm: str) -> str:
    """The hash computed independently of runrecord, over the whole bytes at once."""
    if algorithm == "blake3":
        return "blake3:" + blake3.blake3(data).hexdigest()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for relpath, content in files.items():
        path = root.joinpath(*relpath.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def expected_tree_hash(files: dict[str, bytes], algorithm: str) -> str:
    """The documented construction, spelled out independently of the implementation."""
    text = b"runrecord-tree-v1\n"
    for relpath in sorted(files, key=lambda p: p.encode("utf-8")):
        text += relpath.encode("utf-8") + b"\0" + reference(files[relpath], algorithm).encode()
        text += b"\n"
    return reference(text, algorithm)


TREE = {
    "a.csv": b"id\n1\n",
    "b.csv": b"id\n2\n",
    "day=1/part-0.parquet": b"\x00\x01\x02",
    "day=1/part-1.parquet": b"",
    "day=2/nested/deep.bin": bytes(range(256)),
    ".hidden": b"dotfiles are data too",
    "a-b": b"sorts before a/ in byte order",
}


# --- bytes and known vectors -------------------------------------------------------------


def test_known_vectors() -> None:
    assert hash_bytes(b"", "sha256") == f"sha256:{SHA256_EMPTY}"
    assert hash_bytes(b"abc", "sha256") == f"sha256:{SHA256_ABC}"
    assert hash_bytes(b"", "blake3") == f"blake3:{BLAKE3_EMPTY}"
    assert hash_bytes(b"abc", "blake3") == f"blake3:{BLAKE3_ABC}"


def test_default_algorithm_is_blake3() -> None:
    assert DEFAULT_ALGORITHM == "blake3"
    assert hash_bytes(b"") == f"blake3:{BLAKE3_EMPTY}"


def test_algorithms_are_exactly_those_the_contract_pattern_accepts() -> None:
    assert set(ALGORITHMS) == set(re.findall(r"\w+", HASH_PATTERN.split(":")[0]))
    for algorithm in ALGORITHMS:
        assert re.fullmatch(HASH_PATTERN, hash_bytes(b"x", algorithm))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "content",
    [b"", b"abc", b"\x00" * 4096, os.urandom(100_000), os.urandom(MIB), os.urandom(MIB + 1)],
    ids=["empty", "abc", "zeros", "100k", "1MiB", "1MiB+1"],
)
def test_file_and_bytes_agree(tmp_path: Path, algorithm: str, content: bytes) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    expected = reference(content, algorithm)
    assert hash_bytes(content, algorithm) == expected
    assert hash_file(path, algorithm) == expected
    assert hash_path(path, algorithm) == expected
    assert hash_file(str(path), algorithm) == expected


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_large_file_hashes_like_the_whole_bytes(tmp_path: Path, algorithm: str) -> None:
    content = os.urandom(20 * MIB + 12345)
    path = tmp_path / "large.bin"
    path.write_bytes(content)
    assert hash_file(path, algorithm) == reference(content, algorithm)


def test_blake3_without_update_mmap_streams_the_same_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback for blake3 modules without update_mmap reads in chunks, same result."""
    created: list[Limited] = []
    real = blake3.blake3

    class Limited:
        AUTO = real.AUTO

        def __init__(self, *, max_threads: int = 1) -> None:
            self._hasher = real(max_threads=max_threads)
            self.updates = 0
            created.append(self)

        def update(self, data: bytes) -> None:
            self.updates += 1
            self._hasher.update(data)

        def hexdigest(self) -> str:
            return self._hasher.hexdigest()

    content = os.urandom(3 * MIB + 7)
    expected = reference(content, "blake3")
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    monkeypatch.setattr(blake3, "blake3", Limited)

    assert hash_file(path, "blake3") == expected
    assert created[-1].updates == 4  # streamed in 1 MiB chunks, never read whole
    assert hash_file(empty, "blake3") == f"blake3:{BLAKE3_EMPTY}"


def test_installed_blake3_offers_the_memory_mapped_multithreaded_path() -> None:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    assert callable(getattr(hasher, "update_mmap", None))


# --- directories -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_directory_hash_follows_the_documented_construction(tmp_path: Path, algorithm: str) -> None:
    root = make_tree(tmp_path / "out", TREE)
    assert hash_path(root, algorithm) == expected_tree_hash(TREE, algorithm)
    assert TREE_HEADER == "runrecord-tree-v1\n"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_empty_directory_hashes_the_header_alone(tmp_path: Path, algorithm: str) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    expected = reference(b"runrecord-tree-v1\n", algorithm)
    assert hash_path(root, algorithm) == expected
    assert file_entries(root, algorithm) == []
    (root / "sub" / "subsub").mkdir(parents=True)
    assert hash_path(root, algorithm) == expected


def test_empty_subdirectories_contribute_nothing(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "out", TREE)
    before = hash_path(root)
    (root / "empty").mkdir()
    (root / "day=1" / "empty").mkdir()
    assert hash_path(root) == before


def test_directory_hash_is_independent_of_creation_order(tmp_path: Path) -> None:
    items = list(TREE.items())
    first = make_tree(tmp_path / "first", dict(items))
    second = make_tree(tmp_path / "second", dict(reversed(items)))
    scrambled = sorted(items, key=lambda item: item[0][::-1])
    third = make_tree(tmp_path / "third", dict(scrambled))
    assert hash_path(first) == hash_path(second) == hash_path(third)


def test_directory_hash_is_independent_of_times_and_modes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "out", TREE)
    before = hash_path(root)
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    (root / "a.csv").chmod(0o400)
    assert hash_path(root) == before


def test_directory_hash_does_not_depend_on_the_root_name(tmp_path: Path) -> None:
    assert hash_path(make_tree(tmp_path / "one", TREE)) == hash_path(
        make_tree(tmp_path / "two", TREE)
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: (r / "a.csv").write_bytes(b"id\n3\n"), id="content"),
        pytest.param(lambda r: (r / "a.csv").write_bytes(b"id\n1\n\n"), id="appended"),
        pytest.param(lambda r: (r / "a.csv").write_bytes(b""), id="truncated"),
        pytest.param(lambda r: (r / "a.csv").rename(r / "c.csv"), id="renamed"),
        pytest.param(lambda r: (r / "a.csv").rename(r / "day=2" / "a.csv"), id="moved"),
        pytest.param(lambda r: (r / "new.csv").write_bytes(b"x"), id="added"),
        pytest.param(lambda r: (r / "new.csv").write_bytes(b""), id="added-empty"),
        pytest.param(lambda r: (r / "b.csv").unlink(), id="removed"),
        pytest.param(lambda r: (r / "day=1" / "part-1.parquet").unlink(), id="removed-empty"),
    ],
)
def test_directory_hash_changes_with_the_data(
    tmp_path: Path, change: Callable[[Path], object]
) -> None:
    root = make_tree(tmp_path / "out", TREE)
    before = hash_path(root)
    change(root)
    assert hash_path(root) != before


def test_swapping_contents_between_files_changes_the_hash(tmp_path: Path) -> None:
    one = make_tree(tmp_path / "one", {"a": b"1", "b": b"2"})
    two = make_tree(tmp_path / "two", {"a": b"2", "b": b"1"})
    assert hash_path(one) != hash_path(two)


def test_a_file_and_a_directory_holding_it_hash_differently(tmp_path: Path) -> None:
    file = tmp_path / "data.csv"
    file.write_bytes(b"abc")
    root = make_tree(tmp_path / "out", {"data.csv": b"abc"})
    assert hash_path(file) != hash_path(root)


def test_file_entries_of_a_directory(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "out", TREE)
    entries = file_entries(root, "sha256")
    assert [e.path for e in entries] == sorted(TREE)
    for entry in entries:
        assert entry.size == len(TREE[entry.path])
        assert entry.hash == reference(TREE[entry.path], "sha256")


def test_file_entries_of_a_file_is_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_bytes(b"abc")
    assert file_entries(path) == [FileEntry("sales.csv", 3, f"blake3:{BLAKE3_ABC}")]
    digest = hash_artifact(path)
    assert digest.kind == "file"
    assert digest.data_hash == hash_file(path)


def test_hash_artifact_gives_the_hash_and_the_entries_it_came_from(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "out", TREE)
    digest = hash_artifact(root, "sha256")
    assert digest.kind == "directory"
    assert digest.data_hash == hash_path(root, "sha256")
    assert digest.data_hash == tree_hash(digest.files, "sha256")
    assert list(digest.files) == file_entries(root, "sha256")


def test_tree_hash_ignores_entry_order_and_refuses_bad_entries() -> None:
    a = FileEntry("a", 1, hash_bytes(b"1"))
    b = FileEntry("b", 1, hash_bytes(b"2"))
    assert tree_hash([a, b]) == tree_hash([b, a])
    with pytest.raises(IntegrityError, match="listed twice"):
        tree_hash([a, b, a])
    with pytest.raises(IntegrityError, match="another algorithm"):
        tree_hash([a, FileEntry("c", 1, hash_bytes(b"3", "sha256"))])
    with pytest.raises(IntegrityError, match="malformed"):
        tree_hash([FileEntry("c", 1, "blake3:xyz")])
    with pytest.raises(UnsafeNameError):
        tree_hash([FileEntry("../c", 1, hash_bytes(b"3"))])


@settings(max_examples=25, deadline=None, database=None)
@given(
    files=st.dictionaries(
        st.lists(
            st.text(alphabet="abcXYZ019_-.=é", min_size=1, max_size=6).filter(
                lambda name: name not in (".", "..")
            ),
            min_size=1,
            max_size=3,
        ).map("/".join),
        st.binary(max_size=64),
        max_size=8,
    ),
    shuffler=st.randoms(use_true_random=False),
)
def test_any_tree_hashes_as_documented_whatever_the_creation_order(
    files: dict[str, bytes], shuffler: random.Random
) -> None:
    # A path may not also be a directory of another path; keep the first of such clashes.
    kept: dict[str, bytes] = {}
    for path, content in files.items():
        clash = any(other.startswith(path + "/") or path.startswith(other + "/") for other in kept)
        if not clash:
            kept[path] = content
    order = list(kept.items())
    shuffler.shuffle(order)
    with tempfile.TemporaryDirectory() as tmp:
        one = make_tree(Path(tmp, "one"), kept)
        two = make_tree(Path(tmp, "two"), dict(order))
        assert hash_path(one) == hash_path(two) == expected_tree_hash(kept, "blake3")


# --- refusals ----------------------------------------------------------------------------


def links_supported(tmp_path: Path) -> bool:
    try:
        (tmp_path / ".probe").symlink_to(tmp_path)
    except (OSError, NotImplementedError):
        return False
    (tmp_path / ".probe").unlink()
    return True


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    if not links_supported(tmp_path):
        pytest.skip("symbolic links are not supported here")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"outside the artifact")
    return make_tree(tmp_path / "out", TREE)


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("link.txt", "../outside/secret.txt"),
        ("day=1/linked-dir", "../../outside"),
        ("inner-link.csv", "a.csv"),  # even a link that stays inside is refused
        ("inner-dir", "day=2"),
        ("dangling", "no-such-file"),
    ],
)
def test_links_inside_an_artifact_are_refused(tree: Path, link: str, target: str) -> None:
    (tree / link).symlink_to(target)
    for function in (hash_path, file_entries, hash_artifact):
        with pytest.raises(UnsafeNameError, match=re.escape(str(tree / link))) as caught:
            function(tree)
        assert "symbolic link" in caught.value.message


def test_a_link_as_the_artifact_root_is_refused(tree: Path) -> None:
    file_link = tree.parent / "file-link"
    file_link.symlink_to(tree / "a.csv")
    dir_link = tree.parent / "dir-link"
    dir_link.symlink_to(tree, target_is_directory=True)
    for link in (file_link, dir_link):
        with pytest.raises(UnsafeNameError, match="symbolic link"):
            hash_path(link)
    with pytest.raises(UnsafeNameError, match="symbolic link"):
        hash_file(file_link)


def test_missing_path_is_a_resource_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-data"
    for function in (hash_path, hash_file, file_entries):
        with pytest.raises(ResourceError, match="does not exist") as caught:
            function(missing)
        assert str(missing) in caught.value.message
        assert caught.value.error_type is ErrorType.RESOURCE_ERROR


def test_hash_file_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="is a directory"):
        hash_file(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "out", {"a.csv": b"1"})
    os.mkfifo(root / "pipe")
    with pytest.raises(ResourceError, match="not a regular file"):
        hash_path(root)
    with pytest.raises(ResourceError, match="not a regular file"):
        hash_file(root / "pipe")


def test_unreadable_data_is_a_resource_error() -> None:
    def body(directory: Path) -> None:
        root = make_tree(directory / "out", {"a.csv": b"1", "sub/b.csv": b"2"})
        (root / "a.csv").chmod(0)
        with pytest.raises(ResourceError, match="permission denied"):
            hash_path(root)
        (root / "a.csv").chmod(0o600)
        (root / "sub").chmod(0)
        with pytest.raises(ResourceError, match="permission denied"):
            hash_path(root)
        (root / "sub").chmod(0o700)
        assert hash_path(root).startswith("blake3:")

    where_permissions_apply(body)


@pytest.mark.parametrize("name", ["back\\slash", "new\nline", "tab\there", "C:drive"], ids=repr)
def test_unsafe_file_names_are_refused(tmp_path: Path, name: str) -> None:
    root = make_tree(tmp_path / "out", {"a.csv": b"1"})
    (root / name).write_bytes(b"x")
    with pytest.raises(UnsafeNameError) as caught:
        hash_path(root)
    assert repr(str(root / name)) in caught.value.message
    with pytest.raises(UnsafeNameError):
        hash_path(root / name)  # alone, as a file artifact


def test_a_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "out", {"a.csv": b"1"})
    try:
        fd = os.open(os.fsencode(root) + b"/caf\xe9", os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:
        pytest.skip("this file system only accepts UTF-8 names")
    os.close(fd)
    with pytest.raises(UnsafeNameError, match="UTF-8"):
        hash_path(root)


def test_a_file_changing_while_hashed_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing.csv"
    path.write_bytes(b"id\n1\n")
    real = hashing._sha256_file

    def append_while_reading(target: Path) -> str:
        digest = real(target)
        with target.open("ab") as fh:
            fh.write(b"2\n")
        return digest

    monkeypatch.setattr(hashing, "_sha256_file", append_while_reading)
    with pytest.raises(IntegrityError, match="changed while it was being hashed"):
        hash_file(path, "sha256")


@pytest.mark.parametrize("algorithm", ["md5", "BLAKE3", "sha-256", "", "blake2b"])
def test_unknown_algorithm_is_a_config_error(tmp_path: Path, algorithm: str) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"abc")
    calls: list[Callable[[], object]] = [
        lambda: hash_bytes(b"abc", algorithm),
        lambda: hash_file(path, algorithm),
        lambda: hash_path(tmp_path, algorithm),
        lambda: file_entries(path, algorithm),
        lambda: tree_hash([], algorithm),
    ]
    for call in calls:
        with pytest.raises(ConfigError) as caught:
            call()
        assert caught.value.error_type is ErrorType.CONFIG_ERROR
        assert "blake3" in caught.value.remediation_hint
        assert "sha256" in caught.value.remediation_hint


# --- parse_hash and check_relpath --------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_parse_hash_splits_a_valid_hash(algorithm: str) -> None:
    value = hash_bytes(b"abc", algorithm)
    assert parse_hash(value) == (algorithm, value.split(":")[1])


HEX = "a" * 64


@pytest.mark.parametrize(
    "value",
    [
        "",
        "blake3",
        "blake3:",
        f"blake3:{HEX[:63]}",
        f"blake3:{HEX}a",
        f"blake3:{HEX.upper()}",
        f"blake3:{'g' * 64}",
        f"md5:{HEX}",
        f"BLAKE3:{HEX}",
        f" blake3:{HEX}",
        f"blake3:{HEX}\n",
        f"blake3: {HEX[:63]}",
        f"blake3::{HEX}",
        HEX,
        None,
        123,
        HEX.encode(),
        ["blake3", HEX],
    ],
    ids=repr,
)
def test_parse_hash_refuses_malformed_values(value: object) -> None:
    with pytest.raises(IntegrityError, match="malformed data hash") as caught:
        parse_hash(value)
    assert caught.value.error_type is ErrorType.INTEGRITY_ERROR
    assert "<algorithm>:<64 lowercase hex digits>" in caught.value.remediation_hint
    assert isinstance(caught.value, RunRecordError)


@pytest.mark.parametrize("path", ["a", "a.csv", "day=1/part-0.parquet", ".hidden/x", "a b/c"])
def test_check_relpath_accepts_plain_relative_paths(path: str) -> None:
    assert check_relpath(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/..",
        "./a",
        "a/./b",
        "a//b",
        "a/",
        "a\\..\\b",
        "C:/x",
        "a\x00b",
        "a\nb",
        "a\udcffb",
        None,
        3,
    ],
    ids=repr,
)
def test_check_relpath_refuses_paths_that_could_leave_the_artifact(path: object) -> None:
    with pytest.raises(UnsafeNameError):
        check_relpath(path)


def test_a_read_error_is_a_resource_error_whoever_runs_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mapping of OSError, checked even as root (where chmod 0 does not deny reads)."""
    path = tmp_path / "data.csv"
    path.write_bytes(b"abc")

    def denied(target: Path) -> str:
        raise PermissionError(13, "Permission denied", str(target))

    def failing(target: Path) -> str:
        raise OSError(5, "Input/output error", str(target))

    monkeypatch.setattr(hashing, "_sha256_file", denied)
    with pytest.raises(ResourceError, match="permission denied") as caught:
        hash_path(tmp_path, "sha256")
    assert str(path) in caught.value.message
    monkeypatch.setattr(hashing, "_sha256_file", failing)
    with pytest.raises(ResourceError, match="cannot read: Input/output error"):
        hash_file(path, "sha256")
