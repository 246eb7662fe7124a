"""Fixtures of the Dagster adapter tests: a test home with its registry, a Dagster instance,
and a helper that runs assets in process and finalizes their record.

Every test runs real Dagster: ``materialize``/``execute_in_process``, the multiprocess
executor on a temporary instance, and ``dagster dev`` (``test_deployment.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import runrecord
from runrecord_dagster import finalize_dagster_run

HERE = Path(__file__).parent
# dagster_pipelines is imported by module name: by the tests and by the step subprocesses.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import dagster_pipelines  # noqa: E402
from dagster_pipelines import RunAssets  # noqa: E402

# Dagster's nested resources call a deprecated Dagster API inside Dagster itself
# (InitResourceContext.replace_config reads .dagster_run): not ours to fix.
DAGSTER_OWN_DEPRECATION = "ignore:InitResourceContext.dagster_run is deprecated:DeprecationWarning"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.filterwarnings(DAGSTER_OWN_DEPRECATION))


@pytest.fixture(scope="session", autouse=True)
def child_bytecode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Let the Python processes Dagster spawns cache their bytecode (in a temporary folder).

    These machines set PYTHONDONTWRITEBYTECODE: every step process and server would compile
    Dagster from source again, several seconds each.
    """
    cache = tmp_path_factory.mktemp("pycache")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        patch.setenv("PYTHONPYCACHEPREFIX", str(cache))
        yield cache


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh project home: ``runrecord.toml`` (records in ``records/``), data in ``data/``."""
    dagster_pipelines.write_registry(tmp_path / "home")
    return tmp_path / "home"


@pytest.fixture
def registry(home: Path) -> runrecord.Registry:
    return runrecord.load_registry(home / "runrecord.toml")


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def mp_instance(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dg.DagsterInstance]:
    """A persistent temporary instance, for runs on the multiprocess executor
    (:func:`dagster_pipelines.execute_etl`), and the test home for its step processes."""
    monkeypatch.setenv("RR_TEST_HOME", str(home))
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        yield instance


@pytest.fixture
def run_assets(home: Path, instance: dg.DagsterInstance) -> RunAssets:
    """Materialize assets in process (hooks attached), then finalize the run's record."""

    def run(
        assets: list[Any] | None = None,
        *,
        selection: list[Any] | None = None,
        run_config: dict[str, Any] | None = None,
        resource: dict[str, Any] | None = None,
        entrypoint: str = dagster_pipelines.ENTRYPOINT,
    ) -> tuple[dg.ExecuteInProcessResult, runrecord.RunRecord]:
        from runrecord_dagster import ENTRYPOINT_TAG, with_runrecord_hooks

        res = dagster_pipelines.resources(home, **(resource or {}))
        result = dg.materialize(
            with_runrecord_hooks(assets or dagster_pipelines.ETL),
            selection=selection,
            resources=res,
            instance=instance,
            run_config=run_config,
            tags={ENTRYPOINT_TAG: entrypoint},
            raise_on_error=False,
        )
        final = finalize_dagster_run(result, instance=instance, resource=res["runrecord"])
        return result, final.record

    return run
