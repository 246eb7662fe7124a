"""Every check of the project. `nox` runs them all but `bench` (the README's test command);
`nox -s demo` runs the demo (the README's first command); `nox -s bench` the benchmarks.

One venv per session, built with uv. The core session installs no orchestrator: a stray
import of one in the core fails there. Each orchestrator has its own sessions and venvs
(they cannot share one): its adapter's tests, against the latest and the oldest supported
release, and its example in the demo.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _group(name: str) -> list[str]:
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session
def core(session: nox.Session) -> None:
    """Core tests and the core's docstring examples, against the built package."""
    session.install("./core", *_group("test"))
    session.run("pytest", "tests/core", *session.posargs)
    session.run("pytest", "--doctest-modules", "--pyargs", "runrecord", "-q")


def _demo_dir(session: nox.Session, name: str) -> Path:
    if session.posargs:
        return Path(session.posargs[0]).absolute() / name
    return Path(session.create_tmp()).absolute() / time.strftime(f"{name}-%Y%m%dT%H%M%S")


@nox.session
def demo(session: nox.Session) -> None:
    """The demo: a small real pipeline run four ways, then each orchestrator's example
    (`nox -s demo -- DIR` keeps everything in DIR)."""
    session.install("./core")
    directory = _demo_dir(session, "core")
    session.run("runrecord", "demo", str(directory))
    session.run("runrecord", "validate", str(directory / "artifacts" / "run_records"))
    session.log(f"the runrecord command of this session: {session.bin}/runrecord")
    for framework in ORCHESTRATORS:
        session.notify(f"demo_{framework}", session.posargs)


ORCHESTRATORS = ["dagster", "airflow", "prefect"]


@nox.session(default=False)
def demo_dagster(session: nox.Session) -> None:
    """The Dagster example: three assets, a failing variant, the gate (part of the demo)."""
    session.install("./core", "./adapters/dagster")
    home = _demo_dir(session, "dagster")
    shutil.rmtree(home, ignore_errors=True)
    session.run("python", "examples/dagster/shop.py", str(home))
    session.run("runrecord", "validate", str(home / "artifacts" / "run_records"))


@nox.session(default=False)
def demo_airflow(session: nox.Session) -> None:
    """The Airflow example: a 3-task DAG over real files, a failing variant and two report
    DAGs gated by the sensor, with dag.test() (part of the demo)."""
    session.install("./core", "./adapters/airflow", "apache-airflow")
    tmp = Path(session.create_tmp()).absolute()
    directory = _demo_dir(session, "airflow")
    session.run(
        "python",
        "examples/airflow/run_example.py",
        str(directory),
        env={"PYTHONPYCACHEPREFIX": str(tmp / "pycache")},
    )


AIRFLOW_OLDEST = "3.3.0"  # keep in step with adapters/airflow/pyproject.toml (apache-airflow>=3.3)


@nox.session
@nox.parametrize("version", ["latest", AIRFLOW_OLDEST])
def airflow(session: nox.Session, version: str) -> None:
    """Airflow adapter against real Airflow 3: dag.test() and a real api-server, scheduler and
    dag-processor; at the latest release also docstring examples, mypy and the example."""
    pin = "apache-airflow" if version == "latest" else f"apache-airflow=={version}"
    session.install("./core", "./adapters/airflow", pin, *_group("typecheck"))
    tmp = Path(session.create_tmp()).absolute()  # Airflow fails on a relative AIRFLOW_HOME
    env = {
        # Spawned Airflow processes recompile everything without it (PYTHONDONTWRITEBYTECODE).
        "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
        # Importing airflow outside the tests (the doctests) must not create ~/airflow.
        "AIRFLOW_HOME": str(tmp / "airflow-home"),
    }
    session.run("pytest", "tests/airflow", *session.posargs, env=env)
    if version != "latest":
        return
    session.run("pytest", "--doctest-modules", "--pyargs", "runrecord_airflow", "-q", env=env)
    session.run(
        "mypy",
        "--strict",
        "adapters/airflow/src",
        "tests/airflow",
        "examples/airflow",
        env={"MYPYPATH": "adapters/airflow/src:examples/airflow/dags"},
    )
    example = tmp / time.strftime("example-%Y%m%dT%H%M%S")
    session.run("python", "examples/airflow/run_example.py", str(example), env=env)


@nox.session(default=False)
def demo_prefect(session: nox.Session) -> None:
    """The Prefect example: a 3-task flow over real files, a failing variant and a gated
    downstream flow, on a temporary local Prefect server (part of the demo)."""
    session.install("./core", "./adapters/prefect")
    tmp = Path(session.create_tmp()).absolute()
    directory = _demo_dir(session, "prefect")
    env = {
        "PREFECT_HOME": str(tmp / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
    }
    session.run("python", "examples/prefect/pipeline.py", str(directory), env=env)
    session.run("runrecord", "validate", str(directory / "artifacts" / "run_records"))


PREFECT_OLDEST = "3.4.0"  # keep in step with adapters/prefect/pyproject.toml (prefect>=3.4)
# Prefect 3.4.0 as its users got it: today's pydantic-settings makes it warn at import
# (an error under filterwarnings=error), so resolve everything as of its release day.
PREFECT_OLDEST_RELEASED = "2025-05-03T00:00:00Z"


@nox.session
@nox.parametrize("version", ["latest", PREFECT_OLDEST])
def prefect(session: nox.Session, version: str) -> None:
    """Prefect adapter against a real Prefect server (in-process flow runs; `serve()` runs
    killed and cancelled), its docstring examples; at the latest release also mypy and the
    example."""
    root = Path.cwd()
    tmp = Path(session.create_tmp()).absolute()
    if version != "latest":
        session.env["UV_EXCLUDE_NEWER"] = PREFECT_OLDEST_RELEASED
    pin = "prefect" if version == "latest" else f"prefect=={version}"
    session.install("./core", "./adapters/prefect", pin, *_group("test"))
    env = {
        # Spawned server and runner processes recompile everything without it.
        "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
        "PREFECT_HOME": str(tmp / "prefect-home"),  # the doctests and the example
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    # Prefect < 3.5 parses the working directory's pyproject.toml with a TOML parser that
    # the repository's is too new for: run from a temporary directory (pytest still finds
    # the repository's configuration from the test path).
    (tmp / "work").mkdir(exist_ok=True)
    with session.chdir(tmp / "work"):
        session.run("pytest", str(root / "tests" / "prefect"), *session.posargs, env=env)
        session.run("pytest", "--doctest-modules", "--pyargs", "runrecord_prefect", "-q", env=env)
    if version != "latest":
        return
    session.install(*_group("typecheck"))
    session.run(
        "mypy",
        "adapters/prefect/src",
        "tests/prefect",
        "examples/prefect",
        env={"MYPYPATH": "adapters/prefect/src:tests/support"},
    )
    example = tmp / time.strftime("example-%Y%m%dT%H%M%S")
    session.run("python", "examples/prefect/pipeline.py", str(example), env=env)
    session.run("runrecord", "validate", str(example / "artifacts" / "run_records"))


DAGSTER_OLDEST = "1.11.0"  # keep in step with adapters/dagster/pyproject.toml (dagster>=1.11)


@nox.session
@nox.parametrize("version", ["latest", DAGSTER_OLDEST])
def dagster(session: nox.Session, version: str) -> None:
    """Dagster adapter against real Dagster (in process, multiprocess executor, `dagster dev`,
    records on a loopback S3 server), its docstring examples, mypy and the example; the latest
    and the oldest supported Dagster."""
    # Step processes and servers are fresh interpreters: installed bytecode saves seconds each.
    session.env["UV_COMPILE_BYTECODE"] = "1"
    pins = [] if version == "latest" else [f"dagster=={version}", f"dagster-webserver=={version}"]
    session.install(
        "./core[s3]",
        "./adapters/dagster",
        "dagster-webserver",
        "moto[server]",
        *pins,
        *_group("test"),
    )
    session.run("pytest", "tests/dagster", *session.posargs)
    session.run("pytest", "--doctest-modules", "--pyargs", "runrecord_dagster", "-q")
    if version != "latest":
        return
    session.install(*_group("typecheck"))
    # dagster_pipelines.py is checked where it is imported (through MYPYPATH), not twice.
    tests = sorted(
        str(p) for p in Path("tests/dagster").glob("*.py") if p.name != "dagster_pipelines.py"
    )
    session.run(
        "mypy",
        "adapters/dagster/src",
        *tests,
        "examples/dagster",
        "tests/torture_dagster",
        env={"MYPYPATH": "adapters/dagster/src:tests/dagster"},
    )
    home = Path(session.create_tmp()) / time.strftime("dagster-example-%Y%m%dT%H%M%S")
    session.run("python", "examples/dagster/shop.py", str(home))
    session.run("runrecord", "validate", str(home / "artifacts" / "run_records"))


@nox.session
@nox.parametrize("target", ["core", "dagster"])
def torture(session: nox.Session, target: str) -> None:
    """The reliability suite: the core, and one orchestrator (a Dagster step process killed
    at random points); `nox -s torture -- --long` runs it at full size."""
    if target == "core":
        session.install("./core", *_group("test"))
        session.run("pytest", "tests/torture", *session.posargs)
    else:
        session.install("./core", "./adapters/dagster", *_group("test"))
        session.run("pytest", "tests/torture_dagster", *session.posargs)


@nox.session
def objectstore(session: nox.Session) -> None:
    """Run records on S3: a real S3 API server (moto's) on 127.0.0.1 for the session, the
    store suite, the race, many-writers and kill trials, every CLI command against the
    URL, and the Airflow example DAGs writing to s3://."""
    session.install(
        "./core[s3]", "./adapters/airflow", "apache-airflow", "moto[server]", *_group("test")
    )
    tmp = Path(session.create_tmp()).absolute()
    env = {"PYTHONPYCACHEPREFIX": str(tmp / "pycache"), "AIRFLOW_HOME": str(tmp / "airflow")}
    session.run("pytest", "tests/objectstore", "--durations=5", *session.posargs, env=env)


# What each orchestrator's overhead benchmark installs beside the core and its adapter.
BENCH_PACKAGES = {
    "dagster": ["dagster"],
    "prefect": ["prefect"],
    "airflow": ["apache-airflow", "apache-airflow-providers-openlineage"],
}


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """The benchmarks: prints the figures table and writes bench-results.json (not a test).

    `nox -s bench -- core dagster` measures only those parts; `-- --quick` is a smoke run.
    The core figures run in this session's venv; each orchestrator gets a venv of its own.
    """
    quick = ["--quick"] if "--quick" in session.posargs else []
    parts = [a for a in session.posargs if not a.startswith("-")] or ["core", *ORCHESTRATORS]
    unknown = set(parts) - {"core", *ORCHESTRATORS}
    if unknown:
        session.error(
            f"unknown benchmark parts {sorted(unknown)}; choose from core, {ORCHESTRATORS}"
        )
    session.install("./core", "jsonschema")
    tmp = Path(session.create_tmp()).absolute()
    samples = []
    for part in parts:
        out = tmp / f"{part}.json"
        samples.append(str(out))
        if part == "core":
            session.run("python", "benchmarks/core_bench.py", "--out", str(out), *quick)
            continue
        venv = tmp / f"venv-{part}"
        python = str(venv / "bin" / "python")
        session.run(
            "uv",
            "venv",
            "--quiet",
            "--clear",
            "--python",
            f"{session.bin}/python",
            str(venv),
            external=True,
        )
        session.run(
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            "./core",
            f"./adapters/{part}",
            *BENCH_PACKAGES[part],
            external=True,
        )
        session.run(
            python,
            f"benchmarks/p1_{part}.py",
            "--out",
            str(out),
            *quick,
            external=True,
            env={"PYTHONPYCACHEPREFIX": str(tmp / "pycache")},
        )
    command = " ".join(["nox -s bench", *(["--", *session.posargs] if session.posargs else [])])
    session.run("python", "benchmarks/report.py", *samples, "--command", command)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the core and its tests."""
    session.install("-e", "./core", *_group("typecheck"))
    session.run("mypy")
