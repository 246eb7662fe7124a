"""The adapter's surface: only runrecord's public API inside, nothing heavy at import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import runrecord
import runrecord_dagster

SOURCES = sorted(Path(runrecord_dagster.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_adapter_modules_use_only_runrecords_public_api(source: Path) -> None:
    tree = ast.parse(source.read_text())
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert not node.module.startswith("runrecord."), f"imports {node.module}"
            if node.module == "runrecord":
                used.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            assert all(not a.name.startswith("runrecord.") for a in node.names)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "runrecord"
        ):
            used.add(node.attr)
    assert used <= set(runrecord.__all__), used - set(runrecord.__all__)


def test_every_public_name_is_documented_and_exported() -> None:
    for name in runrecord_dagster.__all__:
        value = getattr(runrecord_dagster, name)
        if not isinstance(value, str):
            assert value.__doc__, name
    assert set(dir(runrecord_dagster)) >= set(runrecord_dagster.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = runrecord_dagster.nope


def test_importing_the_package_root_does_not_import_dagster() -> None:
    code = "import sys, runrecord_dagster; print('dagster' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
