"""Records on S3: a registry whose ``run_record_dir`` is an ``s3://`` URL, against a real S3
API server (moto's, ``tests/support/s3server.py``) on loopback.

The runs are real Dagster, in process and on the multiprocess executor, whose step
processes find the server the standard way (the ``AWS_*`` environment variables they
inherit). Outputs stay where the IO manager puts them, on the local disk; the stage
fragments and the record go to the bucket, and nothing of the record to the local disk.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import dagster_pipelines
import pytest
from dagster_pipelines import RunAssets
from s3server import BUCKET, s3_environment

import runrecord

LOCAL_RECORDS = 'run_record_dir = "records"'


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """One loopback S3 server for this module, with the environment pointing at it."""
    with s3_environment(BUCKET) as endpoint:
        yield endpoint


@pytest.fixture
def home(tmp_path: Path, s3_endpoint: str) -> Path:
    """The test home (as in ``conftest.py``), its registry's records under a fresh prefix."""
    url = f"s3://{BUCKET}/dagster-{secrets.token_hex(4)}"
    assert LOCAL_RECORDS in dagster_pipelines.REGISTRY
    text = dagster_pipelines.REGISTRY.replace(LOCAL_RECORDS, f'run_record_dir = "{url}"')
    dagster_pipelines.write_registry(tmp_path / "home", text)
    return tmp_path / "home"


def _only_record(registry: runrecord.Registry, run_id: str) -> runrecord.RunRecord:
    """The one record in the registry's bucket prefix, checked to be ``run_id``'s."""
    store = runrecord.open_store(registry.record_location)
    assert str(registry.record_location).startswith(f"s3://{BUCKET}/")
    [path] = store.record_paths()
    assert store.has_record(run_id)
    assert not store.is_open(run_id)  # finalized: its staging is retired
    return runrecord.read_record(path)


def test_an_in_process_run_is_recorded_in_the_bucket(
    run_assets: RunAssets, registry: runrecord.Registry, home: Path
) -> None:
    result, record = run_assets()

    assert result.success
    stored = _only_record(registry, record.run_id)
    assert stored == record
    assert runrecord.validate_record(stored, registry=registry).valid
    assert stored.status == "success"
    assert [s.stage for s in stored.stages] == ["extract", "transform", "load"]
    assert stored.counters.records_skipped == 2
    assert [o.promotion_status for o in stored.outputs] == ["promoted"] * 3
    assert all(Path(o.path).is_relative_to(home / "data") for o in stored.outputs)
    assert not (home / "records").exists()


def test_step_processes_write_their_stages_to_the_bucket(
    mp_instance: dg.DagsterInstance, home: Path, registry: runrecord.Registry
) -> None:
    result = dagster_pipelines.execute_etl(mp_instance)
    assert result.success

    # Before finalization: each step process wrote its stage fragment to the bucket.
    run_id = runrecord.run_id_for(dagster_pipelines.ENTRYPOINT, result.run_id)
    assert runrecord.open_store(registry.record_location).is_open(run_id)
    staged = runrecord.staged_stages(run_id, registry=registry)
    assert sorted((s.stage, s.status) for s in staged) == [
        ("extract", "success"),
        ("load", "success"),
        ("transform", "success"),
    ]

    record = dagster_pipelines.finalize_etl(result, mp_instance, home)

    assert _only_record(registry, run_id) == record
    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "success"
    assert [s.stage for s in record.stages] == ["extract", "transform", "load"]
    assert [o.promotion_status for o in record.outputs] == ["promoted"] * 3
    assert not (home / "records").exists()


def test_a_failed_step_in_a_process_of_its_own_makes_an_error_record_in_the_bucket(
    mp_instance: dg.DagsterInstance, home: Path, registry: runrecord.Registry
) -> None:
    result = dagster_pipelines.execute_etl(mp_instance, fail=True)
    assert not result.success

    record = dagster_pipelines.finalize_etl(result, mp_instance, home)

    assert _only_record(registry, record.run_id) == record
    assert runrecord.validate_record(record, registry=registry).valid
    assert record.status == "error"
    assert [(s.stage, s.status) for s in record.stages] == [
        ("extract", "success"),
        ("transform", "error"),
        ("load", "skipped"),
    ]
    [error] = record.errors
    assert error.stage == "transform"
    assert "row 3 has a negative amount" in error.message
    assert not (home / "records").exists()
