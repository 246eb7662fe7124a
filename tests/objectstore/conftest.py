"""The object storage suite: stores on ``s3://`` against a real S3 API server on loopback.

One server (moto's, see ``tests/support/s3server.py``) serves the whole session; every test
gets its own prefix of one bucket. The server's endpoint and credentials reach the code
under test, and the processes it starts, the standard way: ``AWS_*`` environment variables.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3server import BUCKET, s3_environment
from torture_support import registry_file

import runrecord

STAGES = ["extract", "transform", "load"]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The loopback S3 server's endpoint, with the environment pointing at it."""
    with s3_environment(BUCKET) as endpoint:
        yield endpoint


@pytest.fixture
def s3_url(s3_endpoint: str, request: pytest.FixtureRequest) -> str:
    """A fresh store URL of this test: ``s3://<bucket>/<test>-<random>``."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    return f"s3://{BUCKET}/{name}-{secrets.token_hex(3)}"


@pytest.fixture(params=["s3", "memory"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh store URL on the S3 server, and one on ``memory://``."""
    if request.param == "memory":
        return f"memory://runrecord-test/{secrets.token_hex(4)}"
    return str(request.getfixturevalue("s3_url"))


@pytest.fixture
def registry(store_url: str, tmp_path: Path) -> runrecord.Registry:
    """A registry file in ``tmp_path`` whose ``run_record_dir`` is ``store_url``."""
    return runrecord.load_registry(registry_file(tmp_path, stages=STAGES, record_dir=store_url))
