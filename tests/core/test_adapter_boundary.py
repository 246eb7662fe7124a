"""Adapters import only the core's public API (``runrecord.__all__``); the core none of them.

Checked on the source text, so this runs in the core session, where no orchestrator (and no
adapter) is installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import runrecord

REPO = Path(__file__).resolve().parents[2]
ADAPTER_FILES = sorted((REPO / "adapters").glob("*/src/*/*.py"))
PUBLIC = set(runrecord.__all__)


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("runrecord."):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.module == "runrecord":
                found += [
                    f"line {node.lineno}: runrecord.{a.name} is not public"
                    for a in node.names
                    if a.name not in PUBLIC
                ]
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.startswith("runrecord.")
            ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "runrecord"
            and node.attr not in PUBLIC
        ):
            found.append(f"line {node.lineno}: runrecord.{node.attr} is not public")
    return found


def test_there_are_adapters_to_check() -> None:
    assert {p.parts[-4] for p in ADAPTER_FILES} >= {"dagster", "airflow"}


@pytest.mark.parametrize("path", ADAPTER_FILES, ids=lambda p: f"{p.parts[-4]}/{p.name}")
def test_adapter_modules_use_only_the_public_api(path: Path) -> None:
    assert _violations(path) == []


def test_the_core_imports_no_adapter() -> None:
    for path in (REPO / "core" / "src" / "runrecord").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [
            name
            for node in ast.walk(tree)
            for name in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
        ]
        assert not [m for m in modules if m.startswith("runrecord_")], path.name
