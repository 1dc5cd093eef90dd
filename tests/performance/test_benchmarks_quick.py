"""`make bench` in its quick mode, as CI runs it: every figure printed with its baseline and target.

A smoke run (few iterations, on whatever else the machine is doing) that keeps the benchmarks from
rotting and checks what they check for correctness along the way — zero errors under load on the
local gateway, no forbidden module in a handler's cold start. It never fails on a timing: a ratio
over its target is printed as MISSED and passes. The package section is left out (it builds the
layer with python3.13 and pip; ``make bench`` runs it, ``test_package.py`` checks a built layer).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("keys", "classes", "launch", "platforms", "export", "token")
SECTIONS = ("lti13", "lti11", "ltik", "storage", "exports", "coldstart", "load")
FIGURES = (
    "LTI 1.3 validation vs bare pyjwt decode",
    "LTI 1.3 validation vs pylti1p3 validate()",
    "LTI 1.1 verification vs oauthlib SignatureOnlyEndpoint",
    "ltik check vs bare HS256 decode",
    "export csv: peak memory 10k / 1k units",
    "export json: peak memory 10k / 1k units",
    "export cc: peak memory 10k / 1k units",
    *(
        f"cold start {h} vs its third-party imports"
        for h in ("keys", "classes", "launch", "platforms", "export", "token")
    ),
)
SUMMARY_ROW = re.compile(r"^\s+(?P<ratio>[0-9.]+)x\s+≤ (?P<target>[0-9.]+)\s+(?P<verdict>met|MISSED)\s+(?P<name>.+)$")
LOAD_ROW = re.compile(r"^\s+(?P<route>(POST|GET) \S+.*?)\s+(?P<requests>\d+)\s+\d+\s+\S+ms\s+\S+ms\s+(?P<errors>\d+)$")


def test_the_quick_benchmark_run_prints_every_figure_and_passes_its_correctness_checks():
    run = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "benchmarks", "--quick", "--only", *SECTIONS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr

    assert run.returncode == 0, output[-3000:]
    summary = output[output.index("Summary (ratios") :]
    rows = {m["name"].strip(): m for line in summary.splitlines() if (m := SUMMARY_ROW.match(line))}
    assert sorted(rows) == sorted(FIGURES), summary
    for name, row in rows.items():  # the verdict follows the ratio and the target (timings never fail)
        ratio, target = float(row["ratio"]), float(row["target"])
        if abs(ratio - target) >= 0.005:  # printed with two decimals: a tie cannot be told
            assert (row["verdict"] == "met") == (ratio < target), name
    assert "FAILED" not in summary
    # each figure's baseline is printed next to ours, in the same run
    assert output.count("baseline:") >= 3 and "the same third-party imports alone" in output
    # load: three routes, each served, none with an error
    load = [m for line in output.splitlines() if (m := LOAD_ROW.match(line))]
    assert len(load) == 3, output[output.index("Load on loopback") :]
    assert all(int(m["requests"]) > 0 and m["errors"] == "0" for m in load)
    assert "forbidden (aws_xray_sdk, moto, pylti1p3, requests, pydantic): none loaded" in output
