"""The store on object storage: the in-process API, promotion, pointers, recover, refusals.

Every test that takes ``registry`` runs twice: on the loopback S3 server and on
``memory://``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from torture_support import registry_file

import runrecord
from runrecord.objectstore import ObjectPath


def _pipeline(registry: runrecord.Registry, data: Path, *, fail: bool = False) -> runrecord.Run:
    with runrecord.run("store.daily", registry=registry, command="t") as run:
        run.input("orders", data, artifact_family="orders")
        with run.stage("extract") as stage:
            stage.count(records_seen=4, records_processed=3)
            stage.skip(1, "duplicate")
        with run.stage("transform"):
            if fail:
                raise ValueError("bad row 7")
        with run.stage("load") as stage:
            stage.count(records_seen=3, records_processed=3)
    return run


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    data = tmp_path / "orders.csv"
    data.write_bytes(b"id,amount\n1,9.5\n2,12\n2,12\n3,4.25\n")
    manifest = runrecord.build_manifest(data, artifact_family="orders", schema_version="1")
    runrecord.write_manifest(manifest, runrecord.manifest_path_for(data))
    return data


def test_a_run_leaves_one_valid_record_object_and_moves_the_pointer(
    registry: runrecord.Registry, orders: Path, store_url: str
) -> None:
    run = _pipeline(registry, orders)

    assert isinstance(run.record_path, ObjectPath)
    assert str(run.record_path) == f"{store_url}/{run.run_id}.run_record.json"
    assert run.record.status is runrecord.Status.SUCCESS
    assert [s.stage for s in run.record.stages] == ["extract", "transform", "load"]
    assert runrecord.validate_record(str(run.record_path), registry=registry).valid
    store = runrecord.open_store(registry.record_location)
    assert store.record_paths() == [run.record_path]
    pointer = store.read_latest("store.daily")
    assert pointer is not None
    assert pointer.run_id == run.run_id
    assert store.staged_run_ids() == []  # staging is deleted once the record is promoted
    assert runrecord.check_upstream("store.daily", registry=registry).passed


def test_an_error_run_is_recorded_and_stops_the_line(
    registry: runrecord.Registry, orders: Path
) -> None:
    with pytest.raises(ValueError, match="bad row 7"):
        _pipeline(registry, orders, fail=True)

    record = runrecord.latest_record("store.daily", registry=registry)
    assert record is not None
    assert record.status is runrecord.Status.ERROR
    verdict = runrecord.check_upstream("store.daily", registry=registry)
    assert not verdict.passed
    assert verdict.status is runrecord.Status.ERROR
    traces = [p for e in record.errors for p in e.evidence]
    assert traces, "the traceback is kept as evidence"
    assert traces[0].path is not None
    assert b"bad row 7" in ObjectPath.from_url(traces[0].path).read_bytes()


def test_a_second_promotion_is_refused_and_changes_nothing(registry: runrecord.Registry) -> None:
    store = runrecord.open_store(registry.record_location)
    store.promote("store.daily-1", b"first\n")

    with pytest.raises(runrecord.RecordExistsError, match="already exists"):
        store.promote("store.daily-1", b"second\n")

    assert store.record_path("store.daily-1").read_bytes() == b"first\n"


def test_keyed_fragments_are_written_once(registry: runrecord.Registry) -> None:
    run_id = runrecord.open_run("store.daily", registry=registry, command="t")
    for _ in range(3):
        runrecord.write_stage(run_id, "extract", registry=registry, key="attempt-1")
    store = runrecord.open_store(registry.record_location)

    assert len(store.fragment_paths(run_id)) == 1
    result = runrecord.finalize_run(run_id, registry=registry)
    assert [s.stage for s in result.record.stages] == ["extract"]


def test_the_pointer_never_moves_back(registry: runrecord.Registry) -> None:
    store = runrecord.open_store(registry.record_location)
    newer = runrecord.store.LatestPointer("e", "e-2", "2026-11-26T06:00:00Z", "success")
    older = runrecord.store.LatestPointer("e", "e-1", "2026-11-25T06:00:00Z", "error")

    assert store.update_latest(newer)
    assert not store.update_latest(older)
    assert store.read_latest("e") == newer


def test_a_pointer_that_disagrees_with_its_record_is_not_trusted(
    registry: runrecord.Registry, orders: Path
) -> None:
    good = _pipeline(registry, orders)
    with runrecord.run("store.other", registry=registry, command="t") as other:
        pass
    store = runrecord.open_store(registry.record_location)
    lie = runrecord.store.LatestPointer(
        "store.daily", other.run_id, "2099-01-01T00:00:00Z", "success"
    )
    assert store.update_latest(lie)  # a pointer to a record of another entrypoint

    record = runrecord.latest_record("store.daily", registry=registry)

    assert record is not None
    assert record.run_id == good.run_id


def test_recover_finalizes_a_silent_remote_run_by_object_age(
    registry: runrecord.Registry,
) -> None:
    run_id = runrecord.open_run("store.daily", registry=registry, command="t", detached=True)
    runrecord.write_stage(run_id, "extract", registry=registry)

    live = runrecord.recover(registry=registry, older_than=timedelta(hours=1))
    assert [(r.run_id, r.outcome) for r in live] == [(run_id, "live")]

    done = runrecord.recover(registry=registry, older_than=timedelta(0))
    assert [(r.run_id, r.outcome) for r in done] == [(run_id, "recovered")]
    record = runrecord.read_record(done[0].path)  # type: ignore[arg-type]
    assert record.status is runrecord.Status.ERROR
    assert "crashed" in {e.type.value for e in record.errors}
    assert record.completed_at is None
    assert runrecord.recover(registry=registry) == []


class _NoConditionalPut(MemoryFileSystem):  # type: ignore[misc]
    """A backend without a conditional put (fsspec's default check-then-write)."""

    protocol = "plainmem"


def test_a_backend_without_conditional_put_is_refused_for_writing_but_readable(
    tmp_path: Path,
) -> None:
    fsspec.register_implementation("plainmem", _NoConditionalPut, clobber=True)
    registry = runrecord.load_registry(
        registry_file(tmp_path, stages=["extract"], record_dir="plainmem://records")
    )

    with pytest.raises(runrecord.ConfigError, match="no conditional put") as caught:
        runrecord.open_run("store.daily", registry=registry, command="t")
    assert "s3://" in caught.value.remediation_hint
    store = runrecord.open_store(registry.record_location)
    assert store.record_paths() == []
    assert store.staged_run_ids() == []  # nothing was written
    assert not runrecord.check_upstream("store.daily", registry=registry).passed


def test_an_unknown_protocol_is_a_config_error_with_a_hint() -> None:
    with pytest.raises(runrecord.ConfigError, match="cannot open") as caught:
        runrecord.open_store("nosuchprotocol://bucket/records")
    assert "install" in caught.value.remediation_hint


def test_an_unreachable_server_is_a_resource_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = runrecord.open_store("s3://bucket/records")

    with pytest.raises(runrecord.ResourceError, match="s3://bucket/records") as caught:
        store.promote("store.daily-1", b"{}")
    assert "recover" in caught.value.remediation_hint


def test_a_missing_bucket_is_a_resource_error_before_anything_runs(
    s3_endpoint: str, tmp_path: Path
) -> None:
    registry = runrecord.load_registry(
        registry_file(tmp_path, stages=["extract"], record_dir="s3://no-such-bucket/records")
    )

    with pytest.raises(runrecord.ResourceError, match="bucket 'no-such-bucket'") as caught:
        runrecord.open_run("store.daily", registry=registry, command="t")
    assert "create the bucket" in caught.value.remediation_hint


def test_an_output_is_promoted_to_object_storage_with_its_manifest(
    registry: runrecord.Registry, store_url: str
) -> None:
    target = f"{store_url}/out/totals.csv"
    data = b"city,total\nLyon,3\n" * 1000
    with runrecord.run("store.daily", registry=registry, command="t") as run:
        with (
            run.stage("load"),
            run.output("totals", target, artifact_family="totals", schema_version="1") as out,
        ):
            assert isinstance(out.path, Path)  # written locally, uploaded on promotion
            out.path.write_bytes(data)
            out.record_count = 1000
        staged_dir = out.path.parent

    ref = run.record.outputs[0]
    assert (ref.path, ref.promotion_status.value) == (target, "promoted")
    assert ref.manifest_path == f"{target}.manifest.json"
    assert ObjectPath.from_url(target).read_bytes() == data
    manifest = json.loads(ObjectPath.from_url(ref.manifest_path).read_bytes())
    assert manifest["data_hash"] == ref.data_hash == runrecord.hash_bytes(data)
    assert manifest["record_count"] == 1000
    assert manifest["producing_run_id"] == run.run_id
    assert run.record.status is runrecord.Status.SUCCESS
    assert not staged_dir.exists()  # the local staging is gone


def test_a_directory_output_becomes_objects_under_a_prefix(
    registry: runrecord.Registry, store_url: str
) -> None:
    target = f"{store_url}/out/daily"
    with (
        runrecord.run("store.daily", registry=registry, command="t") as run,
        run.output("daily", target, artifact_family="daily", schema_version="1") as out,
    ):
        (out.path / "part").mkdir(parents=True)
        (out.path / "a.csv").write_bytes(b"a\n")
        (out.path / "part" / "b.csv").write_bytes(b"b\n")
        out.record_count = 2

    assert run.record.outputs[0].promotion_status.value == "promoted"
    assert ObjectPath.from_url(f"{target}/a.csv").read_bytes() == b"a\n"
    assert ObjectPath.from_url(f"{target}/part/b.csv").read_bytes() == b"b\n"
    manifest = json.loads(ObjectPath.from_url(f"{target}.manifest.json").read_bytes())
    assert sorted(f["path"] for f in manifest["files"]) == ["a.csv", "part/b.csv"]


def test_an_existing_output_object_is_never_overwritten(
    registry: runrecord.Registry, store_url: str
) -> None:
    target = f"{store_url}/out/totals.csv"
    with (
        runrecord.run("store.daily", registry=registry, command="t") as first,
        first.output("totals", target, artifact_family="totals", schema_version="1") as out,
    ):
        out.path.write_bytes(b"first\n")
        out.record_count = 1

    with (
        pytest.raises(runrecord.PromotionError, match="already exists"),
        runrecord.run("store.daily", registry=registry, command="t") as second,
        second.output("totals", target, artifact_family="totals", schema_version="1") as out,
    ):
        out.path.write_bytes(b"second\n")
        out.record_count = 1

    assert ObjectPath.from_url(target).read_bytes() == b"first\n"
    record = second.record
    assert record.status is runrecord.Status.ERROR
    assert record.outputs[0].promotion_status.value == "staged"
    assert "promotion_failed" in {e.type.value for e in record.errors}
    manifest = json.loads(ObjectPath.from_url(f"{target}.manifest.json").read_bytes())
    assert manifest["producing_run_id"] == first.run_id
