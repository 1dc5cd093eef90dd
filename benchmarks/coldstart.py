"""Cold start per handler: import + init of ``app`` in a fresh interpreter, against the same
third-party imports without our code.

For each handler, a fresh interpreter imports ``app`` with ``sys.path`` laid out like Lambda's
(function dir, then the layer) and records the time and every module loaded, in order. The baseline,
in another fresh interpreter, imports exactly the modules that import loaded that are not ours
(powertools, boto3, botocore, cryptography, pyjwt, oauthlib and the stdlib they pull in), in the same
order. The ratio is therefore "what our own modules and their module-level init add". Runs are
interleaved and the median taken. Interpreter start-up (the same for both) is excluded.

A third interpreter imports the same third-party modules and then ``app``, timing the second step
alone: our modules and init on top of what they need, without the run-to-run noise of comparing two
processes (on a busy 2-CPU machine that noise is several percent; the garbage collector's passes
also land differently when one deep import chain does everything).

The interpreter is this environment's (Lambda runs 3.13 on arm64, with the layer's bytecode); the
ratio, not the milliseconds, is the figure to compare.
"""

from __future__ import annotations

import compileall
import statistics

from benchmarks.timing import Mode, Report, fmt_time, heading, ratio_row
from tests.support import cold_start


def run(mode: Mode, report: Report) -> None:
    heading("Cold start per handler (fresh interpreter: import + init of app vs the same third-party imports)")
    runs = 1 if mode.quick else 7
    # Our bytecode first, as the layer build ships it: with PYTHONDONTWRITEBYTECODE set (or a source
    # edited since its .pyc was written) every probe would compile our modules again, and "ours" would
    # include the compiler.
    for tree in (cold_start.LAYER, cold_start.ROOT / "functions"):
        compileall.compile_dir(str(tree), quiet=1)
    for name in cold_start.HANDLERS:
        first = cold_start.import_handler(name)
        others = first.others
        ours_times, base_times, increments = [], [], []
        for _ in range(runs):
            ours_times.append(cold_start.import_handler(name).seconds)
            base_times.append(cold_start.import_modules(others, name).seconds)
            increments.append(cold_start.import_modules(others, name, then_handler=True).then or 0.0)
        ours, base = statistics.median(ours_times), statistics.median(base_times)
        increment = statistics.median(increments)
        forbidden = [m for m in cold_start.FORBIDDEN if first.loaded(m)]
        third = ", ".join(f"{top} ({n})" for top, n in sorted(first.third_party().items(), key=lambda kv: -kv[1]))
        print(
            f"  {name}: import app {fmt_time(ours)}, the same third-party imports alone {fmt_time(base)}; "
            f"import app once they are loaded: {fmt_time(increment)} ({increment / base:.0%} of them)"
        )
        print(f"    modules: {len(first.modules)} loaded, {len(first.ours)} ours: {', '.join(sorted(first.ours))}")
        print(f"    third-party: {third}")
        print(f"    forbidden ({', '.join(cold_start.FORBIDDEN)}): {', '.join(forbidden) or 'none loaded'}")
        if forbidden:
            report.failures.append(f"cold start: handler {name} loads {', '.join(forbidden)}")
        ratio_row(report, f"cold start {name} vs its third-party imports", ours, base, 1.15)
