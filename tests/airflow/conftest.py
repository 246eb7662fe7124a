"""Airflow test fixtures: a temp AIRFLOW_HOME with a SQLite metadata DB for ``dag.test()``,
and (for the deployment-mode tests) one real api-server + scheduler + dag-processor.

Airflow reads its settings when it is first imported, so the environment is set here, when
pytest imports this file, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_support import AirflowProject, Deployment, make_project

ROOT = Path(tempfile.mkdtemp(prefix="rr-airflow-tests-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(ROOT / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "RUNRECORD_REGISTRY": str(ROOT / "runrecord.toml"),
        "RUNRECORD_AIRFLOW_LISTENER": "off",  # tests of the listener switch it on
        "SALES_DATA_DIR": str(ROOT / "data"),
        "RR_TEST_CONTROL_DIR": str(ROOT / "control"),
    }
)


@pytest.fixture(scope="session")
def airflow_project() -> Iterator[AirflowProject]:
    """The example and test DAGs in a fresh AIRFLOW_HOME with an initialized SQLite DB."""
    registry = make_project(ROOT)
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    yield AirflowProject(ROOT, registry, bag)
    shutil.rmtree(ROOT, ignore_errors=True)


@pytest.fixture
def listener_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the entry-point listener on for one test."""
    monkeypatch.setenv("RUNRECORD_AIRFLOW_LISTENER", "on")


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    """One real Airflow deployment for the whole session, stopped whatever happens."""
    root = Path(tempfile.mkdtemp(prefix="rr-airflow-deploy-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "RR_TEST"))}
    env["RUNRECORD_AIRFLOW_LISTENER"] = "off"  # deployment tests exercise the callbacks
    deployed = Deployment(root, env)
    try:
        deployed.start()
        yield deployed
    finally:
        deployed.stop()
        if not os.environ.get("RR_TEST_KEEP"):  # keep logs and records to debug a failure
            shutil.rmtree(root, ignore_errors=True)


# Warnings Airflow's own stack raises that no adapter code can avoid (the root config turns
# every warning into an error).
AIRFLOW_WARNINGS = ("ignore::starlette.exceptions.StarletteDeprecationWarning",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply :data:`AIRFLOW_WARNINGS` to every test of this folder."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            for spec in AIRFLOW_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))
