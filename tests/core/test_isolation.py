"""The core installs and imports no orchestrator."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

ORCHESTRATORS = ("dagster", "prefect", "airflow")


@pytest.mark.parametrize("name", ORCHESTRATORS)
def test_no_orchestrator_is_installed_in_the_core_session(name: str) -> None:
    assert importlib.util.find_spec(name) is None


def test_importing_every_core_module_imports_no_orchestrator() -> None:
    code = """
import importlib, json, pkgutil, sys
import runrecord
for info in pkgutil.walk_packages(runrecord.__path__, "runrecord."):
    if info.name != "runrecord.__main__":
        importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = json.loads(out)
    assert "runrecord.validate" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ORCHESTRATORS]


def test_public_api_is_explicit() -> None:
    import runrecord

    assert sorted(runrecord.__all__) == sorted(set(runrecord.__all__))
    for name in runrecord.__all__:
        assert hasattr(runrecord, name), name
        obj = getattr(runrecord, name)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, f"{name} has no docstring"
