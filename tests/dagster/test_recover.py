"""A run whose whole process tree dies before Dagster notices: ``runrecord recover``."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import dagster_pipelines

import runrecord

SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import dagster as dg
import dagster_pipelines
from runrecord_dagster import ENTRYPOINT_TAG, with_runrecord_hooks

home = Path(sys.argv[1])
with dg.DagsterInstance.ephemeral() as instance:  # in process: the kill takes everything
    dg.materialize(
        with_runrecord_hooks(dagster_pipelines.ETL),
        resources=dagster_pipelines.resources(home),
        instance=instance,
        run_config={"ops": {"transform": {"config": {"crash": True}}}},
        tags={ENTRYPOINT_TAG: "test.etl"},
    )
print("not reached")
"""


def test_recover_turns_a_killed_in_process_run_into_a_crashed_record(
    home: Path, registry: runrecord.Registry
) -> None:
    here = str(Path(dagster_pipelines.__file__).parent)
    killed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(home), here],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert "not reached" not in killed.stdout
    assert list(registry.record_dir.glob("*.run_record.json")) == []
    [staged] = (registry.record_dir / ".staging").iterdir()

    recovered = subprocess.run(
        [
            str(Path(sys.executable).with_name("runrecord")),
            "recover",
            "--older-than",
            "0s",
            "--registry",
            str(home / "runrecord.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert recovered.returncode == 0, recovered.stderr
    [line] = recovered.stdout.splitlines()
    assert line.split()[:2] == ["recovered", staged.name]
    record = runrecord.read_record(registry.record_dir / f"{staged.name}.run_record.json")
    assert runrecord.validate_record(record, registry=registry).valid
    assert (record.status, record.completed_at) == ("error", None)
    [error] = record.errors
    assert error.type == "crashed"
    assert [(s.stage, s.status) for s in record.stages] == [("extract", "success")]
    assert [o.name for o in record.outputs] == ["extract"]
    assert [i.name for i in record.inputs] == ["extract"]  # transform had read it
    assert record.orchestrator is not None
    assert record.orchestrator.name == "dagster"
