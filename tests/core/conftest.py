"""Fixtures shared by the core tests: the example records and their registry.

The example run ids and loaders live in ``tests/support/example_records.py`` (on the test
path), so that test modules can use them at collection time, for parametrization.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import example_records
import pytest

# Re-exported for tests that already use the constants through the fixtures' module.
from example_records import (  # noqa: F401
    CRASHED,
    EMPTY_SUCCESS,
    ERROR,
    NO_INPUT_MODE,
    PARTIAL_SUCCESS,
    SUCCESS,
    UPSTREAM_ERROR,
)

from runrecord import Registry, load_registry


@pytest.fixture
def examples_dir() -> Path:
    """The directory of example records."""
    return example_records.EXAMPLES


@pytest.fixture
def example_registry() -> Registry:
    """The registry the example records were written under."""
    return load_registry(example_records.EXAMPLES / "runrecord.toml")


@pytest.fixture
def load_example() -> Callable[[str], dict[str, Any]]:
    """Return a function giving a fresh parsed copy of an example record by run id."""
    return example_records.load
