"""End to end on S3: the Airflow example DAGs, and every CLI command against the URL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from torture_support import registry_file

import runrecord
from runrecord.objectstore import ObjectStore

ROOT = Path(__file__).parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runrecord", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_airflow_example_records_every_dag_run_on_s3(s3_url: str, tmp_path: Path) -> None:
    example = str(ROOT / "examples/airflow/run_example.py")
    ran = subprocess.run(
        [sys.executable, example, str(tmp_path), "--records", s3_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")},
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "checked 4 records: 4 valid, 0 invalid" in ran.stderr
    store = ObjectStore(s3_url)
    records = [runrecord.read_record(p) for p in store.record_paths()]
    statuses = {r.entrypoint.entrypoint_id: r.status.value for r in records}
    assert statuses == {
        "sales_daily": "success",
        "sales_daily_broken": "error",
        "sales_report": "success",
        "sales_report_blocked": "error",
    }
    assert not (tmp_path / "run_records").exists()  # nothing went to the local disk


@pytest.fixture
def filled(s3_url: str, tmp_path: Path) -> runrecord.Registry:
    """A store on S3 with a success of ``good.job``, an error of ``bad.job`` and an
    abandoned (detached, silent) run of ``lost.job``."""
    registry = runrecord.load_registry(
        registry_file(tmp_path, stages=["extract"], record_dir=s3_url)
    )
    with runrecord.run("good.job", registry=registry, command="t") as run, run.stage("extract"):
        pass
    with (
        pytest.raises(RuntimeError),
        runrecord.run("bad.job", registry=registry, command="t") as run,
        run.stage("extract"),
    ):
        raise RuntimeError("boom")
    runrecord.open_run("lost.job", registry=registry, command="t", detached=True)
    return registry


def test_every_cli_command_works_against_the_url(filled: runrecord.Registry, s3_url: str) -> None:
    good = runrecord.latest_record("good.job", registry=filled)
    assert good is not None

    listed = _cli("ls", "--dir", s3_url)
    assert listed.returncode == 0, listed.stderr
    assert good.run_id in listed.stdout
    assert "bad.job" in listed.stdout

    shown = _cli("show", "latest", "--entrypoint", "bad.job", "--dir", s3_url)
    assert shown.returncode == 0, shown.stderr
    assert "error" in shown.stdout
    by_url = _cli("show", f"{s3_url}/{good.run_id}.run_record.json", "--json")
    assert by_url.returncode == 0, by_url.stderr
    assert runrecord.read_record(by_url.stdout.encode()).run_id == good.run_id

    assert _cli("gate", "good.job", "--dir", s3_url).returncode == 0
    blocked = _cli("gate", "bad.job", "--dir", s3_url)
    assert blocked.returncode != 0
    assert "error" in blocked.stdout + blocked.stderr

    validated = _cli("validate", s3_url)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "checked 2 records: 2 valid, 0 invalid" in validated.stderr

    recovered = _cli("recover", "--dir", s3_url, "--older-than", "0s")
    assert recovered.returncode == 0, recovered.stderr
    assert "recovered" in recovered.stdout
    assert "lost.job" in recovered.stdout
    after = _cli("validate", s3_url)
    assert "checked 3 records: 3 valid, 0 invalid" in after.stderr
    lost = runrecord.latest_record("lost.job", registry=filled)
    assert lost is not None
    assert lost.status is runrecord.Status.ERROR


def test_recover_leaves_a_recent_remote_run_alone(filled: runrecord.Registry) -> None:
    outcomes = runrecord.recover(registry=filled, older_than=timedelta(hours=1))
    assert [(o.outcome, o.run_id.split("-")[0]) for o in outcomes] == [("live", "lost.job")]


def test_a_missing_bucket_is_a_clear_error_without_a_traceback(s3_endpoint: str) -> None:
    result = _cli("ls", "--dir", "s3://no-such-bucket-here/records")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "s3://no-such-bucket-here/records" in result.stderr
