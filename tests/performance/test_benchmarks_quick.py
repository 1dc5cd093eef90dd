"""`make bench` in its quick mode, as CI runs it: every figure printed with its baseline and target.

A smoke run (few iterations, on whatever else the machine is doing) that keeps the benchmarks from
rotting and checks what they check for correctness along the way — zero errors under load on the
local gateway, no forbidden module in a handler's cold start, both LTI 1.1 and LTI 1.3 launched end to
end over HTTP (benchmarks/launch_e2e.py) — and that every report (first line, summary, ``--json``) names
the interpreter. It never fails on a timing: a ratio over its target is printed as MISSED and passes.
The package section is left out (it builds the layer with python3.13 and pip; ``make bench`` runs it,
``test_package.py`` checks a built layer).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("keys", "classes", "launch", "platforms", "export", "token")
SECTIONS = ("lti13", "lti11", "ltik", "storage", "exports", "coldstart", "load", "e2e", "local")
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
    "LTI 1.1 launch over HTTP vs its DynamoDB/KMS calls bare",
    "LTI 1.3 login + launch over HTTP vs its DynamoDB/KMS calls bare",
    "local gateway: time per unit vs 10,000 units in 60 s",
    "local gateway: peak memory vs 600 MB",
    "local gateway: Ctrl-C exit vs 2 s",
)
# The end-to-end launch rows: launches, launches/s, p50, p99, bare p50, bare p99, in handler.
E2E_ROW = re.compile(r"^\s+(?P<name>LTI 1\.[13] (login \+ )?launch)\s+(?P<launches>\d+)\s+\d+\s+(\S+ [mµ]?s\s*){5}$")
SUMMARY_ROW = re.compile(r"^\s+(?P<ratio>[0-9.]+)x\s+≤ (?P<target>[0-9.]+)\s+(?P<verdict>met|MISSED)\s+(?P<name>.+)$")
LOAD_ROW = re.compile(r"^\s+(?P<route>(POST|GET) \S+.*?)\s+(?P<requests>\d+)\s+\d+\s+\S+ms\s+\S+ms\s+(?P<errors>\d+)$")


def test_the_quick_benchmark_run_prints_every_figure_and_passes_its_correctness_checks(tmp_path):
    report = tmp_path / "bench.json"
    run = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "benchmarks", "--quick", "--only", *SECTIONS, "--json", str(report)],
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
    # cold start: many fresh interpreters per side, their medians and spread (CPU time, then wall time)
    assert output.count("import app, CPU time: median ") == len(HANDLERS)
    assert output.count("the same third-party imports alone, CPU time: median ") == len(HANDLERS)
    assert output.count("wall time: import app median ") == len(HANDLERS)
    # end-to-end launches over HTTP: both protocols launched, each with its bare calls timed alongside
    e2e = {m["name"]: m for line in output.splitlines() if (m := E2E_ROW.match(line))}
    assert sorted(e2e) == ["LTI 1.1 launch", "LTI 1.3 login + launch"], output[output.index("End-to-end") :]
    assert all(int(m["launches"]) > 0 for m in e2e.values())
    # every report says which interpreter it ran on: the first line, the summary, the JSON
    version = platform.python_version()
    assert output.startswith(f"LTI Gateway benchmarks (quick): Python {version} ")
    assert f"run on {platform.python_implementation()} {version} " in summary
    document = json.loads(report.read_text())
    assert document["interpreter"]["python"] == version and document["quick"] is True
    assert {f["name"] for f in document["figures"]} == set(FIGURES)
    assert document["failures"] == []
