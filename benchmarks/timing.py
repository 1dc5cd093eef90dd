"""Timing and reporting helpers shared by the benchmarks: side-by-side medians, ratio rows, a summary.

Each figure is ours / a baseline timed in the same process, in interleaved rounds (ours, baseline,
ours, baseline …) so that a slow patch of the machine hits both sides alike. Targets are reported,
never enforced on timings: CI runs ``--quick`` and fails only on the hard gates (pytest) and on
correctness checks made here (load errors, forbidden modules, package size).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Mode:
    quick: bool = False

    def iterations(self, full: int, quick: int = 20) -> int:
        return quick if self.quick else full

    def rounds(self, full: int = 9, quick: int = 3) -> int:
        return quick if self.quick else full


@dataclass
class Figure:
    """One reported ratio: ``ours / baseline`` against ``target`` (lower is better)."""

    name: str
    ratio: float
    target: float
    note: str = ""

    @property
    def met(self) -> bool:
        return self.ratio <= self.target


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # absolute targets: (name, figure, met)
    failures: list[str] = field(default_factory=list)  # correctness checks (not timings): exit status 1
    skipped: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure


def per_call(fns: dict[str, Callable[[], object]], *, number: int, rounds: int) -> dict[str, float]:
    """Median seconds per call of each function, over ``rounds`` interleaved batches of ``number``."""
    for fn in fns.values():  # warm-up: caches, branch predictors, lazily imported modules
        for _ in range(max(1, number // 4)):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(values) for name, values in samples.items()}


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def heading(title: str) -> None:
    print()
    print(title)
    print("-" * len(title))


def line(label: str, seconds: float) -> None:
    print(f"  {label:<62}{fmt_time(seconds):>11}")


def ratio_row(report: Report, name: str, ours: float, baseline: float, target: float, note: str = "") -> Figure:
    figure = report.add(Figure(name, ours / baseline, target, note))
    verdict = "met" if figure.met else "MISSED"
    print(f"  => {name}: {figure.ratio:.2f}x (target ≤ {target:g}x) {verdict}{'  ' + note if note else ''}")
    return figure


def interpreter() -> dict[str, Any]:
    """What the figures ran on: every report says it (the first line, the summary, the JSON)."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
    }


def describe_interpreter() -> str:
    run_on = interpreter()
    return (
        f"{run_on['implementation']} {run_on['python']} on {run_on['machine']}, {run_on['cpus']} CPUs, "
        f"{run_on['platform']}"
    )


def write_json(report: Report, path: str | Path, *, quick: bool = False) -> None:
    """The summary as JSON: the interpreter, every figure with its target and verdict, checks, failures."""
    document = {
        "interpreter": interpreter(),
        "quick": quick,
        "figures": [{**asdict(f), "met": f.met} for f in report.figures],
        "checks": [{"name": name, "figure": figure, "met": met} for name, figure, met in report.checks],
        "skipped": report.skipped,
        "failures": report.failures,
    }
    Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def summary(report: Report, *, quick: bool = False) -> None:
    heading("Summary (ratios: ours / baseline in the same run; lower is better)")
    print(f"  run on {describe_interpreter()}")
    if quick:
        print("  quick mode: few iterations on whatever else the machine is doing; ratios are indicative only")
    for figure in report.figures:
        verdict = "met" if figure.met else "MISSED"
        print(f"  {figure.ratio:7.2f}x  ≤ {figure.target:<5g} {verdict:<7} {figure.name}")
    for name, figure, met in report.checks:
        print(f"  {figure:>24}  {'met' if met else 'MISSED':<7} {name}")
    for skipped in report.skipped:
        print(f"  skipped: {skipped}")
    for failure in report.failures:
        print(f"  FAILED: {failure}")
