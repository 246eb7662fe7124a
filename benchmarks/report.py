"""Turn benchmark samples into the figures table and ``bench-results.json``.

Each benchmark script writes ``{"<figure>": [sample, ...], "_details": {...}}``. This script
merges those files, takes the median, min and max of every figure, compares the median with
the figure's target, prints the table and writes the JSON (one key per figure, plus
``_meta``: when, on what machine, with which command).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """What a figure must reach: ``op`` is ``<=`` or ``>=``; ``unit`` says how to print it."""

    op: str
    value: float
    unit: str
    label: str

    def met(self, median: float) -> bool:
        """Whether ``median`` reaches the target."""
        return median <= self.value if self.op == "<=" else median >= self.value

    def show(self, value: float) -> str:
        """Format a value of this figure."""
        if self.unit == "s":
            return f"{value:.3f} s"
        if self.unit == "ms":
            return f"{value * 1000:.2f} ms"
        return f"{value:.2f}×"


TARGETS: dict[str, Target] = {
    "P1_dagster": Target("<=", 1.05, "x", "Dagster: 50 assets with adapter / without"),
    "P1_prefect": Target("<=", 1.05, "x", "Prefect: 50 tasks with adapter / without"),
    "P1_airflow": Target("<=", 1.05, "x", "Airflow: 50 tasks with adapter / without"),
    "P1_airflow_openlineage": Target(
        "<=", float("inf"), "x", "Airflow: 50 tasks with OpenLineage provider / without"
    ),
    "P2_write_1k_seconds": Target("<=", 0.5, "s", "open + 1,000 stages + finalize"),
    "P2_write_10k_over_1k": Target("<=", 12.0, "x", "10,000 stages / 1,000 stages"),
    "P3_sha256_vs_openssl": Target(">=", 0.9, "x", "1 GiB sha256: speed vs openssl dgst"),
    "P3_blake3_vs_sha256": Target(">=", 4.0, "x", "1 GiB blake3: speed vs sha256"),
    "P4_gate_lookup_seconds": Target("<=", 0.005, "ms", "gate lookup, 100,000 records"),
    "P4_gate_100k_over_1k": Target("<=", 1.5, "x", "gate lookup 100,000 / 1,000 records"),
    "P5_validate_vs_jsonschema": Target(">=", 3.0, "x", "validate 10,000 records vs jsonschema"),
}
"""Every figure, in table order, with its target."""


@dataclass(frozen=True)
class Figure:
    """One figure's summary, as written to ``bench-results.json``."""

    median: float
    min: float
    max: float
    runs: int
    target: str
    met: bool


def summarize(samples: dict[str, list[float]]) -> dict[str, Figure]:
    """Median, min, max, target and ``met`` of every figure that has samples.

    ``P1_airflow`` must also stay below the OpenLineage provider's figure, when measured.
    """
    results: dict[str, Figure] = {}
    for key, target in TARGETS.items():
        values = samples.get(key)
        if not values:
            continue
        median = statistics.median(values)
        met = target.met(median)
        shown = f"{target.op} {target.show(target.value)}"
        if key == "P1_airflow" and samples.get("P1_airflow_openlineage"):
            peer = statistics.median(samples["P1_airflow_openlineage"])
            met = met and median < peer
            shown += ", below OpenLineage"
        if key == "P1_airflow_openlineage":
            shown = "(the peer)"
        results[key] = Figure(median, min(values), max(values), len(values), shown, met)
    return results


def table(results: dict[str, Figure]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| figure | what | median | min–max | runs | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, row in results.items():
        show = TARGETS[key].show
        lines.append(
            f"| {key} | {TARGETS[key].label} | {show(row.median)} | "
            f"{show(row.min)}–{show(row.max)} | {row.runs} | {row.target} | "
            f"{'yes' if row.met else '**no**'} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
    }


def main() -> int:
    """Merge the sample files given, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("samples", nargs="+", type=Path, help="sample files of the scripts")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--command", default="nox -s bench", help="what produced the figures")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {}
    details: dict[str, object] = {}
    for path in args.samples:
        data = json.loads(path.read_text())
        details[path.stem] = data.pop("_details", None)
        for key, values in data.items():
            samples.setdefault(key, []).extend(float(v) for v in values)
    unknown = sorted(set(samples) - set(TARGETS))
    if unknown:
        parser.error(f"figures without a target: {', '.join(unknown)}")
    results = summarize(samples)
    meta = {**machine(), "command": args.command, "details": details}
    figures = {key: dataclasses.asdict(row) for key, row in results.items()}
    args.out.write_text(json.dumps({**figures, "_meta": meta}, indent=2) + "\n")
    print(table(results))
    print(
        f"\n{meta['date']} · {meta['cpu']} · {meta['cores']} cores · Python {meta['python']}"
        f" · `{args.command}` · written to {args.out}"
    )
    missed = [key for key, row in results.items() if not row.met]
    if missed:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
