"""Cold start per handler: import + init of ``app`` in a fresh interpreter, against the same
third-party imports without our code, over many interpreters so that the ratio holds on a busy machine.

For each handler, a fresh interpreter imports ``app`` with ``sys.path`` laid out like Lambda's
(function dir, then the layer) and records the time and every module loaded, in order. The baseline,
in another fresh interpreter, imports exactly the modules that import loaded that are not ours
(powertools, boto3, botocore, cryptography, pyjwt, oauthlib and the stdlib they pull in), in the same
order. The ratio is therefore "what our own modules and their module-level init add". Interpreter
start-up (the same for both) is excluded.

One fresh interpreter per sample: ``SAMPLES`` (15) of each side per handler in full mode, taken in
pairs whose order is drawn at random (ours first or the baseline first), so a slow patch of the
machine lands on both sides alike. Each interpreter reports two clocks around the import: the
process's CPU time (user + system) and the wall time. The figure is the ratio of the medians of the
CPU times (target ≤ 1.15x): the work the import does, which is what a Lambda init spends on its own
CPU share, and what a busy machine leaves alone (an interpreter waiting for a CPU loses wall time,
not CPU time). On this 2-CPU machine with other work running (load average 2 to 5), the wall-time ratio
of medians of 15 still moved between 0.94x and 1.23x from one run to the next while the CPU-time
ratio stayed within a few hundredths; both are printed, each side with its median, interquartile
range and min-max, and the interquartile range of the per-pair wall ratios (what one pair alone, as
the benchmark used to take, would have said).

A third interpreter imports the same third-party modules and then ``app``, timing the second step
alone: our modules and init on top of what they need (informational: the steadiest decomposition).

The interpreter is this environment's (Lambda runs 3.13 on arm64, with the layer's bytecode); the
ratio, not the milliseconds, is the figure to compare.
"""

from __future__ import annotations

import compileall
import json
import random
import statistics
import subprocess
import sys
from dataclasses import dataclass

from benchmarks.timing import Mode, Report, fmt_time, heading, ratio_row
from tests.support import cold_start

SAMPLES = 15  # fresh interpreters per side and handler (full mode)
QUICK_SAMPLES = 3
INCREMENTS = 7  # "import app once its third-party modules are loaded" interpreters (informational)
TARGET = 1.15


# tests/support/cold_start.py's probe, also reading the process's CPU time (user + system) around the
# import: a fresh interpreter descheduled by the rest of the machine loses wall time, not CPU time.
_PROBE = r"""
import json, sys, time
function_dir, layer_dir, mode = sys.argv[1:4]
sys.path[:0] = [function_dir, layer_dir]
names = sys.stdin.read().split() if mode == "modules" else []
if names:
    import importlib
wall, cpu = time.perf_counter(), time.process_time()
if mode == "handler":
    import app
else:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # aliases and lazily-registered names (e.g. six.moves.*) cannot be imported by name
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def probe(function: str, modules: tuple[str, ...] | None = None) -> Timing:
    """``import app`` of ``function`` (or ``modules``, in order) in a fresh interpreter laid out like Lambda."""
    mode = "handler" if modules is None else "modules"
    answer = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE, str(cold_start.ROOT / "functions" / function), str(cold_start.LAYER), mode],
        input="\n".join(modules or ()),
        capture_output=True,
        text=True,
        env=cold_start.lambda_environment(),
        cwd=str(cold_start.ROOT),
        timeout=120,
        check=False,
    )
    if answer.returncode != 0:
        raise RuntimeError(f"cold-start probe of {function} failed:\n{answer.stderr[-4000:]}")
    data = json.loads(answer.stdout.strip().splitlines()[-1])
    return Timing(data["wall"], data["cpu"])


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(q1, median, q3), inclusive method (the median of 5 or 15 values is one of them)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def spread(values: list[float]) -> str:
    q1, median, q3 = quartiles(values)
    return (
        f"median {fmt_time(median)} (IQR {fmt_time(q1)}-{fmt_time(q3)}, "
        f"min-max {fmt_time(min(values))}-{fmt_time(max(values))})"
    )


def sample(name: str, others: tuple[str, ...], pairs: int, rng: random.Random) -> tuple[list[Timing], list[Timing]]:
    """``pairs`` pairs of fresh interpreters (ours, baseline), each pair's order drawn at random."""
    ours, base = [], []
    for _ in range(pairs):
        if rng.random() < 0.5:
            ours.append(probe(name))
            base.append(probe(name, others))
        else:
            base.append(probe(name, others))
            ours.append(probe(name))
    return ours, base


def run(mode: Mode, report: Report) -> None:
    pairs = QUICK_SAMPLES if mode.quick else SAMPLES
    increments = 1 if mode.quick else INCREMENTS
    heading(
        f"Cold start per handler ({pairs} fresh interpreters importing app and {pairs} importing the same "
        "third-party modules, in pairs of random order; CPU time and wall time)"
    )
    # Our bytecode first, as the layer build ships it: with PYTHONDONTWRITEBYTECODE set (or a source
    # edited since its .pyc was written) every probe would compile our modules again, and "ours" would
    # include the compiler.
    for tree in (cold_start.LAYER, cold_start.ROOT / "functions"):
        compileall.compile_dir(str(tree), quiet=1)
    rng = random.Random(16)  # the same sequence of orders every run
    for name in cold_start.HANDLERS:
        first = cold_start.import_handler(name)  # the module list (and a warm page cache for the rest)
        others = first.others
        ours_runs, base_runs = sample(name, others, pairs, rng)
        ours_times, base_times = [t.wall for t in ours_runs], [t.wall for t in base_runs]
        ours_cpu, base_cpu = [t.cpu for t in ours_runs], [t.cpu for t in base_runs]
        added = [cold_start.import_modules(others, name, then_handler=True).then or 0.0 for _ in range(increments)]
        ours, base = statistics.median(ours_times), statistics.median(base_times)
        pair_q1, pair_median, pair_q3 = quartiles([o / b for o, b in zip(ours_times, base_times, strict=True)])
        increment = statistics.median(added)
        forbidden = [m for m in cold_start.FORBIDDEN if first.loaded(m)]
        third = ", ".join(f"{top} ({n})" for top, n in sorted(first.third_party().items(), key=lambda kv: -kv[1]))
        pad = " " * len(name)
        print(f"  {name}: import app, CPU time: {spread(ours_cpu)}")
        print(f"    {pad}the same third-party imports alone, CPU time: {spread(base_cpu)}")
        print(
            f"    {pad}wall time: import app {spread(ours_times)}; the same third-party imports alone "
            f"{spread(base_times)}: ratio of medians {ours / base:.2f}x, per-pair ratios median {pair_median:.2f}x "
            f"(IQR {pair_q1:.2f}-{pair_q3:.2f}x)"
        )
        print(
            f"    {pad}import app once they are loaded (wall): {fmt_time(increment)} "
            f"({increment / base:.0%} of them; median of {increments})"
        )
        print(f"    modules: {len(first.modules)} loaded, {len(first.ours)} ours: {', '.join(sorted(first.ours))}")
        print(f"    third-party: {third}")
        print(f"    forbidden ({', '.join(cold_start.FORBIDDEN)}): {', '.join(forbidden) or 'none loaded'}")
        if forbidden:
            report.failures.append(f"cold start: handler {name} loads {', '.join(forbidden)}")
        ratio_row(
            report,
            f"cold start {name} vs its third-party imports",
            statistics.median(ours_cpu),
            statistics.median(base_cpu),
            TARGET,
            note=f"(CPU time, ratio of the medians of {pairs} interpreters each; wall time {ours / base:.2f}x)",
        )
