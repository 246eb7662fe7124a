"""The data path of a run: inputs resolved against their manifests, outputs staged, hashed,
given a manifest and promoted — with real files in ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

import runrecord
from runrecord import (
    ErrorType,
    InputMissingError,
    IntegrityError,
    ManifestError,
    PromotionError,
    PromotionStatus,
    Registry,
    Resolution,
    Run,
    RunRecord,
    SchemaMismatchError,
    Status,
    WarningType,
)
from runrecord.manifest import write_manifest

PRODUCER = "orders.extract-20261126T050000Z-1a2b3c"
CSV = b"id,amount\n1,9.5\n2,3.0\n"


@pytest.fixture
def reg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.chdir(tmp_path)
    return Registry(
        project_id="acme-sales",
        project_name="ACME sales pipelines",
        stages=("extract", "transform", "load"),
        run_record_dir=str(tmp_path / "records"),
        optional_outputs=("summary_pdf",),
    )


def with_manifest(
    path: Path, *, schema_version: str = "2", family: str = "orders", algorithm: str = "blake3"
) -> runrecord.Manifest:
    manifest = runrecord.build_manifest(
        path,
        artifact_family=family,
        schema_version=schema_version,
        record_count=2,
        producing_run_id=PRODUCER,
        algorithm=algorithm,
    )
    write_manifest(manifest, runrecord.manifest_path_for(path))
    return manifest


def data_file(tmp_path: Path, name: str = "orders.csv", content: bytes = CSV) -> Path:
    path = tmp_path / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def data_dir(tmp_path: Path, name: str = "orders") -> Path:
    path = tmp_path / "data" / name
    (path / "part").mkdir(parents=True)
    (path / "part-0.csv").write_bytes(CSV)
    (path / "part" / "part-1.csv").write_bytes(b"id,amount\n3,1.0\n")
    return path


def checked(run: Run, reg: Registry) -> RunRecord:
    """The promoted record of ``run``, after checking it is the valid one on disk."""
    assert runrecord.validate_record(run.record_path, registry=reg).valid
    record = runrecord.read_record(run.record_path, registry=reg)
    assert record == run.record
    assert record.status is runrecord.assess(record).derived
    return record


def error_types(record: RunRecord) -> list[str]:
    return [e.type.value for e in record.errors]


def warning_types(record: RunRecord) -> list[str]:
    return [w.type.value for w in record.warnings]


# --- inputs ----------------------------------------------------------------------------


def test_present_file_input_takes_its_facts_from_the_manifest(
    tmp_path: Path, reg: Registry
) -> None:
    src = data_file(tmp_path)
    manifest = with_manifest(src)
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        ref = run.input("orders", src, artifact_family="orders", stage="extract")

    record = checked(run, reg)
    assert record.inputs == [ref]
    assert ref.resolution is Resolution.PRESENT
    assert ref.required
    assert ref.path == str(src)
    assert ref.manifest_path == str(runrecord.manifest_path_for(src))
    assert ref.data_hash == manifest.data_hash == runrecord.hash_path(src)
    assert ref.schema_version == "2"
    assert ref.producing_run_id == PRODUCER
    assert ref.reason is None
    assert record.schema_versions.read == {"orders": "2"}
    assert record.status is Status.SUCCESS
    assert record.errors == []
    assert record.warnings == []


def test_directory_input(tmp_path: Path, reg: Registry) -> None:
    src = data_dir(tmp_path)
    manifest = with_manifest(src, schema_version="3")
    assert runrecord.manifest_path_for(src) == src.with_name("orders.manifest.json")
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        ref = run.input("orders", src, artifact_family="orders")

    record = checked(run, reg)
    assert ref.resolution is Resolution.PRESENT
    assert ref.path == str(src)
    assert ref.manifest_path == str(src.with_name("orders.manifest.json"))
    assert ref.data_hash == manifest.data_hash == runrecord.hash_path(src)
    assert sorted(f.path for f in manifest.files) == ["part-0.csv", "part/part-1.csv"]
    assert record.schema_versions.read == {"orders": "3"}
    assert record.status is Status.SUCCESS


def test_inputs_of_several_versions_are_all_listed_as_read(tmp_path: Path, reg: Registry) -> None:
    old, new = data_file(tmp_path, "old.csv"), data_file(tmp_path, "new.csv", b"id\n1\n")
    with_manifest(old, schema_version="1")
    with_manifest(new, schema_version="2")
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        run.input("orders old", old, artifact_family="orders")
        run.input("orders new", new, artifact_family="orders")

    record = checked(run, reg)
    assert record.schema_versions.read == {"orders": ["1", "2"]}


def test_accepted_schema_version_passes(tmp_path: Path, reg: Registry) -> None:
    src = data_file(tmp_path)
    with_manifest(src, schema_version="2")
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        ref = run.input("orders", src, artifact_family="orders", accept_schema_versions={"2"})
    assert ref.schema_version == "2"
    assert checked(run, reg).status is Status.SUCCESS


def test_tampered_file_input_is_an_integrity_error(tmp_path: Path, reg: Registry) -> None:
    src = data_file(tmp_path)
    manifest = with_manifest(src)
    src.write_bytes(CSV.replace(b"9.5", b"9.6"))  # one byte changed
    assert src.stat().st_size == len(CSV)

    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(IntegrityError) as raised, handle as run:
        run.input("orders", src, artifact_family="orders", stage="extract")

    record = checked(handle, reg)
    assert record.status is Status.ERROR
    error = record.errors[0]
    assert error_types(record) == ["integrity_error"]
    assert error.type is raised.value.error_type is ErrorType.INTEGRITY_ERROR
    assert error.message == raised.value.message
    assert error.stage == "extract"
    assert error.details == {"input": "orders", "path": str(src)}
    assert raised.value.remediation_hint == error.remediation_hint
    # The record says what was declared, not what was found.
    inp = record.inputs[0]
    assert inp.resolution is Resolution.PRESENT
    assert inp.data_hash == manifest.data_hash
    assert inp.data_hash != runrecord.hash_path(src)
    assert manifest.data_hash in error.message
    assert runrecord.hash_path(src) in error.message


def test_tampered_directory_input_names_the_file(tmp_path: Path, reg: Registry) -> None:
    src = data_dir(tmp_path)
    manifest = with_manifest(src)
    part = src / "part" / "part-1.csv"
    part.write_bytes(part.read_bytes().replace(b"3", b"4"))

    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(IntegrityError, match=r"part/part-1\.csv"), handle as run:
        run.input("orders", src, artifact_family="orders")

    record = checked(handle, reg)
    assert error_types(record) == ["integrity_error"]
    assert record.inputs[0].data_hash == manifest.data_hash


def test_present_input_without_manifest_is_a_manifest_error(tmp_path: Path, reg: Registry) -> None:
    src = data_file(tmp_path)
    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(ManifestError, match="does not exist") as raised, handle as run:
        run.input("orders", src, artifact_family="orders")

    assert raised.value.error_type is ErrorType.MANIFEST_MISMATCH
    record = checked(handle, reg)
    assert record.status is Status.ERROR
    # A failed run still says what it tried to read, and why it refused.
    assert error_types(record) == ["manifest_mismatch"]
    assert [i.name for i in record.inputs] == ["orders"]
    inp = record.inputs[0]
    assert inp.path == str(src)
    assert inp.resolution is Resolution.PRESENT
    assert inp.manifest_path == str(runrecord.manifest_path_for(src))
    assert inp.data_hash == runrecord.hash_path(src)  # no manifest: the data's own hash
    assert inp.schema_version is None
    assert record.schema_versions.read == {}
    assert record.errors[0].details == {"input": "orders", "path": str(src)}


def test_schema_version_not_accepted(tmp_path: Path, reg: Registry) -> None:
    src = data_file(tmp_path)
    with_manifest(src, schema_version="2")
    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(SchemaMismatchError), handle as run:
        run.input("orders", src, artifact_family="orders", accept_schema_versions=["3"])

    record = checked(handle, reg)
    assert error_types(record) == ["schema_mismatch"]
    assert record.inputs[0].schema_version == "2"


def test_required_input_missing_is_raised_and_recorded(tmp_path: Path, reg: Registry) -> None:
    missing = tmp_path / "data" / "orders.csv"
    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(InputMissingError) as raised, handle as run:
        run.input("orders", missing, artifact_family="orders", stage="extract")
        pytest.fail("a missing required input must stop the run")

    record = checked(handle, reg)
    assert record.status is Status.ERROR
    # "A failed run still says what it tried to read."
    inp = record.inputs[0]
    assert len(record.inputs) == 1
    assert inp.name == "orders"
    assert inp.resolution is Resolution.MISSING
    assert inp.required
    assert inp.path == str(missing)
    assert (inp.manifest_path, inp.data_hash, inp.schema_version) == (None, None, None)
    assert inp.reason is None
    error = record.errors[0]
    assert error_types(record) == ["input_missing"]
    assert error.message == raised.value.message
    assert error.stage == "extract"
    assert error.details == {"input": "orders", "path": str(missing)}
    assert record.schema_versions.read == {}


def test_optional_input_missing_is_a_warning(tmp_path: Path, reg: Registry) -> None:
    missing = tmp_path / "data" / "returns.csv"
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        ref = run.input("returns", missing, artifact_family="returns", required=False)

    record = checked(run, reg)
    assert ref.resolution is Resolution.MISSING
    assert not ref.required
    assert record.status is Status.SUCCESS
    assert warning_types(record) == ["optional_input_missing"]
    assert record.warnings[0].details == {"input": "returns", "path": str(missing)}


def test_fallback_substitutes_a_missing_input(tmp_path: Path, reg: Registry) -> None:
    declared = tmp_path / "data" / "orders-today.csv"
    absent = tmp_path / "data" / "orders-cache.csv"
    fallback = data_file(tmp_path, "orders-yesterday.csv")
    later = data_file(tmp_path, "orders-older.csv", b"id\n0\n")
    manifest = with_manifest(fallback)
    with_manifest(later)
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        ref = run.input(
            "orders", declared, artifact_family="orders", fallbacks=[absent, fallback, later]
        )

    record = checked(run, reg)
    assert ref.resolution is Resolution.SUBSTITUTED
    assert ref.path == str(fallback)
    assert ref.manifest_path == str(runrecord.manifest_path_for(fallback))
    assert ref.data_hash == manifest.data_hash
    assert record.status is Status.SUCCESS
    assert warning_types(record) == ["input_substituted"]
    assert record.warnings[0].details == {
        "input": "orders",
        "declared": str(declared),
        "used": str(fallback),
    }


def test_fallbacks_are_ignored_when_the_input_is_present(tmp_path: Path, reg: Registry) -> None:
    src = data_file(tmp_path)
    fallback = data_file(tmp_path, "orders-yesterday.csv", b"id\n0\n")
    with_manifest(src)
    with_manifest(fallback)
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        ref = run.input("orders", src, artifact_family="orders", fallbacks=[fallback])
    assert ref.resolution is Resolution.PRESENT
    assert ref.path == str(src)
    assert checked(run, reg).warnings == []


def test_every_fallback_missing_is_input_missing(tmp_path: Path, reg: Registry) -> None:
    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(InputMissingError), handle as run:
        run.input(
            "orders", tmp_path / "a.csv", artifact_family="orders", fallbacks=[tmp_path / "b.csv"]
        )
    record = checked(handle, reg)
    assert record.inputs[0].resolution is Resolution.MISSING
    assert record.inputs[0].path == str(tmp_path / "a.csv")


def test_paths_in_records_are_absolute(tmp_path: Path, reg: Registry) -> None:
    # The working directory is tmp_path (see the fixture); every path is given relative.
    src = data_file(tmp_path)
    with_manifest(src)
    fallback = data_file(tmp_path, "returns-yesterday.csv")
    with_manifest(fallback)
    relative = Path(os.path.relpath(src, tmp_path))
    assert not relative.is_absolute()
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        run.input("orders", relative, artifact_family="orders")
        run.input(
            "returns",
            Path("data/returns.csv"),
            artifact_family="returns",
            fallbacks=[Path("data/returns-yesterday.csv")],
        )
        run.input("refunds", "data/refunds.csv", artifact_family="refunds", required=False)
        with run.output(
            "sales", Path("out/sales.csv"), artifact_family="sales", schema_version="1"
        ) as out:
            out.path.write_bytes(CSV)
            out.record_count = 2
        with (
            contextlib.suppress(RuntimeError),
            run.output(
                "summary_pdf", "out/summary.pdf", artifact_family="report", schema_version="1"
            ),
        ):
            raise RuntimeError("renderer crashed")

    record = checked(run, reg)
    paths = [p for i in record.inputs for p in (i.path, i.manifest_path) if p is not None]
    paths += [p for o in record.outputs for p in (o.path, o.manifest_path) if p is not None]
    assert len(paths) == 8
    assert all(Path(p).is_absolute() for p in paths), paths
    assert record.outputs[0].path == str(tmp_path / "out" / "sales.csv")
    assert (tmp_path / "out" / "sales.csv").read_bytes() == CSV


# --- outputs ---------------------------------------------------------------------------


def assert_read_only(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, oct(path.stat().st_mode)


def test_promoted_file_output(tmp_path: Path, reg: Registry) -> None:
    final = tmp_path / "out" / "sales.csv"
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        with run.output("sales", final, artifact_family="sales", schema_version="1") as out:
            staged = out.path
            assert staged != final
            assert staged.parent == final.parent
            staged.write_bytes(CSV)
            out.record_count = 2
        assert out.ref is not None
        ref = out.ref

    assert final.read_bytes() == CSV
    assert not staged.exists()
    mpath = final.with_name("sales.csv.manifest.json")
    assert mpath == runrecord.manifest_path_for(final)
    assert_read_only(mpath)
    manifest = runrecord.read_manifest(mpath)
    assert manifest.data_hash == runrecord.hash_path(final)
    assert runrecord.verify(final, manifest) == manifest.data_hash
    assert manifest.producing_run_id == run.run_id
    assert manifest.record_count == 2
    assert manifest.artifact_family == "sales"
    assert manifest.schema_version == "1"

    record = checked(run, reg)
    assert record.outputs == [ref]
    assert ref.promotion_status is PromotionStatus.PROMOTED
    assert ref.path == str(final)
    assert ref.manifest_path == str(mpath)
    assert ref.data_hash == manifest.data_hash
    assert ref.record_count == 2
    assert ref.required
    assert record.counters.artifacts_written == 1
    assert record.schema_versions.written == {"sales": "1"}
    assert record.status is Status.SUCCESS
    assert sorted(p.name for p in final.parent.iterdir()) == [
        "sales.csv",
        "sales.csv.manifest.json",
    ]


def test_promoted_directory_output(tmp_path: Path, reg: Registry) -> None:
    final = tmp_path / "out" / "daily"
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        with run.output("daily", final, artifact_family="sales", schema_version="1") as out:
            staged = out.path
            (staged / "part").mkdir(parents=True)
            (staged / "part-0.csv").write_bytes(CSV)
            (staged / "part" / "part-1.csv").write_bytes(b"id,amount\n3,1.0\n")
            out.record_count = 3
        ref = out.ref

    assert not staged.exists()
    assert (final / "part-0.csv").read_bytes() == CSV
    assert (final / "part" / "part-1.csv").is_file()
    mpath = tmp_path / "out" / "daily.manifest.json"
    assert_read_only(mpath)
    manifest = runrecord.read_manifest(mpath)
    assert manifest.data_hash == runrecord.hash_path(final)
    assert sorted(f.path for f in manifest.files) == ["part-0.csv", "part/part-1.csv"]
    assert manifest.producing_run_id == run.run_id
    assert manifest.record_count == 3

    record = checked(run, reg)
    assert ref is not None
    assert record.outputs == [ref]
    assert ref.promotion_status is PromotionStatus.PROMOTED
    assert ref.manifest_path == str(mpath)
    assert ref.data_hash == manifest.data_hash
    assert ref.record_count == 3
    assert record.counters.artifacts_written == 1


def test_promoted_output_is_a_verified_input_downstream(tmp_path: Path, reg: Registry) -> None:
    final = tmp_path / "out" / "sales.csv"
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as up:
        with up.output("sales", final, artifact_family="sales", schema_version="4") as out:
            out.path.write_bytes(CSV)
            out.record_count = 2
    with runrecord.run("sales.weekly", registry=reg, command="sales weekly") as down:
        ref = down.input("daily sales", final, artifact_family="sales")

    assert ref.producing_run_id == up.run_id
    assert ref.data_hash == up.record.outputs[0].data_hash
    assert ref.schema_version == "4"
    assert checked(down, reg).schema_versions.read == {"sales": "4"}


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_exception_inside_output_block_promotes_nothing(
    tmp_path: Path, reg: Registry, kind: str
) -> None:
    final = tmp_path / "out" / ("sales.csv" if kind == "file" else "daily")
    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(RuntimeError, match="half written"), handle as run:
        with run.output("sales", final, artifact_family="sales", schema_version="1") as out:
            staged = out.path
            if kind == "file":
                staged.write_bytes(CSV[:5])
            else:
                staged.mkdir()
                (staged / "part-0.csv").write_bytes(CSV[:5])
            raise RuntimeError("half written")

    assert not final.exists()
    assert not staged.exists()
    assert not runrecord.manifest_path_for(final).exists()
    assert list(final.parent.iterdir()) == []
    assert out.ref is not None
    assert out.ref.promotion_status is PromotionStatus.NOT_WRITTEN

    record = checked(handle, reg)
    out_ref = record.outputs[0]
    assert out_ref.promotion_status is PromotionStatus.NOT_WRITTEN
    assert (out_ref.manifest_path, out_ref.data_hash) == (None, None)
    assert out_ref.path == str(final)
    assert record.status is Status.ERROR
    assert "output_missing" in error_types(record)
    assert "runtime_error" in error_types(record)
    assert record.counters.artifacts_written == 0


@pytest.mark.parametrize("occupied", ["data", "manifest"])
def test_existing_final_path_is_never_overwritten(
    tmp_path: Path, reg: Registry, occupied: str
) -> None:
    final = tmp_path / "out" / "sales.csv"
    final.parent.mkdir()
    blocker = final if occupied == "data" else runrecord.manifest_path_for(final)
    blocker.write_bytes(b"an earlier run's bytes\n")

    handle = runrecord.run("sales.daily", registry=reg, command="sales daily")
    with pytest.raises(PromotionError) as raised, handle as run:
        with run.output("sales", final, artifact_family="sales", schema_version="1") as out:
            staged = out.path
            staged.write_bytes(CSV)
            out.record_count = 2

    assert raised.value.error_type is ErrorType.PROMOTION_FAILED
    # The existing bytes are unchanged; our data is kept at its staged path.
    assert blocker.read_bytes() == b"an earlier run's bytes\n"
    assert staged.read_bytes() == CSV
    if occupied == "manifest":
        assert not final.exists()
    else:
        assert not runrecord.manifest_path_for(final).exists()

    record = checked(handle, reg)
    assert record.status is Status.ERROR
    assert error_types(record) == ["promotion_failed"]
    error = record.errors[0]
    assert error.details == {"output": "sales", "staged_path": str(staged)}
    out_ref = record.outputs[0]
    assert out_ref.promotion_status is PromotionStatus.STAGED
    assert out_ref.data_hash == runrecord.hash_path(staged)
    assert out_ref.record_count == 2
    assert record.counters.artifacts_written == 0
    assert record.schema_versions.written == {}


def _scenario_promoted(run: Run, out_dir: Path) -> None:
    with run.output(
        "sales", out_dir / "sales.csv", artifact_family="sales", schema_version="1"
    ) as out:
        out.path.write_bytes(CSV)
        out.record_count = 2
    with run.output("daily", out_dir / "daily", artifact_family="sales", schema_version="1") as out:
        out.path.mkdir()
        (out.path / "part-0.csv").write_bytes(CSV)
        out.record_count = 2


def _scenario_raised(run: Run, out_dir: Path) -> None:
    with (
        contextlib.suppress(RuntimeError),
        run.output(
            "sales", out_dir / "sales.csv", artifact_family="sales", schema_version="1"
        ) as out,
    ):
        out.path.write_bytes(CSV)
        raise RuntimeError("stop")


def _scenario_occupied(run: Run, out_dir: Path) -> None:
    (out_dir / "sales.csv").write_bytes(b"old\n")
    with (
        contextlib.suppress(PromotionError),
        run.output(
            "sales", out_dir / "sales.csv", artifact_family="sales", schema_version="1"
        ) as out,
    ):
        out.path.write_bytes(CSV)


@pytest.mark.parametrize(
    "scenario",
    [_scenario_promoted, _scenario_raised, _scenario_occupied],
    ids=["promoted", "raised", "occupied"],
)
def test_a_manifest_never_exists_without_its_data(
    tmp_path: Path, reg: Registry, scenario: Callable[[Run, Path], None]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        scenario(run, out_dir)

    checked(run, reg)
    manifests = sorted(out_dir.glob("*.manifest.json"))
    for mpath in manifests:
        data = mpath.with_name(mpath.name.removesuffix(".manifest.json"))
        assert data.exists(), f"{mpath.name} exists without its data"
        manifest = runrecord.read_manifest(mpath)
        assert runrecord.verify(data, manifest) == manifest.data_hash
        assert manifest.producing_run_id == run.run_id
    for out in run.record.outputs:
        if out.promotion_status is PromotionStatus.PROMOTED:
            assert out.manifest_path is not None
            assert Path(out.manifest_path) in manifests
            assert Path(out.path).exists()


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_sha256_algorithm(tmp_path: Path, reg: Registry, kind: str) -> None:
    final = tmp_path / "out" / ("sales.csv" if kind == "file" else "daily")
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        with run.output(
            "sales", final, artifact_family="sales", schema_version="1", algorithm="sha256"
        ) as out:
            if kind == "file":
                out.path.write_bytes(CSV)
            else:
                out.path.mkdir()
                (out.path / "part-0.csv").write_bytes(CSV)
            out.record_count = 2
        ref = out.ref

    assert ref is not None
    assert ref.data_hash is not None
    assert ref.data_hash.startswith("sha256:")
    manifest = runrecord.read_manifest(runrecord.manifest_path_for(final))
    assert manifest.algorithm == "sha256"
    assert all(f.hash.startswith("sha256:") for f in manifest.files)
    assert ref.data_hash == manifest.data_hash == runrecord.hash_path(final, "sha256")
    record = checked(run, reg)
    assert record.outputs[0].data_hash == ref.data_hash
    # A sha256 manifest verifies when the output is read back.
    with runrecord.run("sales.weekly", registry=reg, command="sales weekly") as down:
        inp = down.input("daily", final, artifact_family="sales")
    assert inp.data_hash == ref.data_hash


def test_default_algorithm_is_blake3(tmp_path: Path, reg: Registry) -> None:
    final = tmp_path / "out" / "sales.csv"
    with runrecord.run("sales.daily", registry=reg, command="sales daily") as run:
        with run.output("sales", final, artifact_family="sales", schema_version="1") as out:
            out.path.write_bytes(CSV)
    assert out.ref is not None
    assert out.ref.data_hash is not None
    assert out.ref.data_hash.startswith("blake3:")
    assert out.ref.record_count is None
    checked(run, reg)


def _fail_optional(run: Run, tmp_path: Path) -> None:
    try:
        with run.output(
            "summary_pdf",
            tmp_path / "out" / "summary.pdf",
            artifact_family="report",
            schema_version="1",
        ) as out:
            out.path.write_bytes(b"%PDF-")
            raise OSError("renderer crashed")
    except OSError:
        pass


def test_optional_output_failing_leaves_the_run_partial_success(
    tmp_path: Path, reg: Registry
) -> None:
    with runrecord.run("sales.weekly", registry=reg, command="sales weekly") as run:
        with run.output(
            "sales", tmp_path / "out" / "sales.csv", artifact_family="sales", schema_version="1"
        ) as out:
            out.path.write_bytes(CSV)
            out.record_count = 2
        _fail_optional(run, tmp_path)

    record = checked(run, reg)
    assert record.status is Status.PARTIAL_SUCCESS
    assert record.errors == []
    assert [w.type for w in record.warnings] == [WarningType.OPTIONAL_OUTPUT_MISSING]
    summary = next(o for o in record.outputs if o.name == "summary_pdf")
    assert summary.promotion_status is PromotionStatus.NOT_WRITTEN
    assert not summary.required
    assert summary.reason == "optional_failed"
    assert not (tmp_path / "out" / "summary.pdf").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "sales.csv",
        "sales.csv.manifest.json",
    ]
    assert record.counters.artifacts_written == 1


def test_optional_output_forced_required_fails_the_run(tmp_path: Path, reg: Registry) -> None:
    with runrecord.run("sales.weekly", registry=reg, command="sales weekly") as run:
        with (
            contextlib.suppress(OSError),
            run.output(
                "summary_pdf",
                tmp_path / "out" / "summary.pdf",
                artifact_family="report",
                schema_version="1",
                required=True,
            ),
        ):
            raise OSError("renderer crashed")

    record = checked(run, reg)
    assert record.status is Status.ERROR
    assert error_types(record) == ["output_missing"]


def test_low_level_promote_output(tmp_path: Path, reg: Registry) -> None:
    run_id = runrecord.open_run("sales.daily", registry=reg, command="sales daily")
    staged = tmp_path / "work" / "sales.csv.tmp"
    staged.parent.mkdir()
    staged.write_bytes(CSV)
    final = tmp_path / "out" / "sales.csv"
    final.parent.mkdir()
    ref = runrecord.promote_output(
        run_id,
        "sales",
        staged,
        final,
        artifact_family="sales",
        schema_version="1",
        registry=reg,
        record_count=2,
        algorithm="sha256",
    )
    not_written = runrecord.output_not_written(
        run_id,
        "summary_pdf",
        tmp_path / "out" / "summary.pdf",
        artifact_family="report",
        schema_version="1",
        registry=reg,
        why="renderer disabled",
        reason="not_selected",
    )
    result = runrecord.finalize_run(run_id, registry=reg)

    assert not staged.exists()
    assert final.read_bytes() == CSV
    assert ref.promotion_status is PromotionStatus.PROMOTED
    assert ref.data_hash == runrecord.hash_path(final, "sha256")
    assert not_written.reason == "not_selected"
    record = result.record
    assert runrecord.validate_record(result.path, registry=reg).valid
    assert record.outputs == [ref, not_written]
    assert record.status is Status.PARTIAL_SUCCESS
    assert [w.type for w in record.warnings] == [WarningType.OPTIONAL_OUTPUT_MISSING]
