"""Serve the example flow and the killable flow from one runner: ``python serve_flows.py DIR``.

``DIR`` holds copies of ``examples/prefect/pipeline.py`` and ``tests/prefect/slow_flow.py``
and is the working directory: older Prefect releases want a deployment's flow file
under it, and read the working directory's ``pyproject.toml`` with a TOML parser that the
repository's own ``pyproject.toml`` is too new for.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from prefect import serve


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Prefect finds a deployed flow's file through its module
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    flows = Path(sys.argv[1]).resolve()
    example = _load(flows / "pipeline.py", "pipeline")
    slow = _load(flows / "slow_flow.py", "slow_flow")
    serve(
        example.shop_daily.to_deployment(name="runrecord-example"),
        slow.slow_flow.to_deployment(name="runrecord-slow"),
    )
