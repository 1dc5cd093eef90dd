"""Import a handler the way Lambda does, in a fresh interpreter, and report time and modules loaded.

Used by the cold-start gate (tests/performance/test_cold_start.py) and ``make bench``
(benchmarks/coldstart.py). Lambda puts the function's code first on ``sys.path`` (``/var/task``), then
the layer (``/opt/python``), then the runtime's packages; here the runtime's packages are this
interpreter's site-packages. The environment is the template's global one with placeholder values,
no credentials: importing a handler must not need any (clients are created lazily).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
HANDLERS = ("keys", "classes", "launch", "platforms", "export", "token")
# What no handler loads at import (issue #7): the X-Ray SDK (tracing is opt-in), test and peer
# libraries, requests (the gateway's outbound client is urllib3's), pydantic (the resolver's
# validation is off; powertools imports pydantic only with enable_validation=True).
FORBIDDEN = ("aws_xray_sdk", "moto", "pylti1p3", "requests", "pydantic")
OURS = ("lti_gateway", "app")

_PROBE = r"""
import json, sys, time
function_dir, layer_dir, mode = sys.argv[1:4]
sys.path[:0] = [function_dir, layer_dir]
before = set(sys.modules)
if mode == "handler":
    start = time.perf_counter()
    import app
    elapsed = time.perf_counter() - start
else:  # "modules" or "modules+handler": import these names (one per line on stdin), in order
    import importlib
    names = sys.stdin.read().split()
    start = time.perf_counter()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # aliases and lazily-registered names (e.g. six.moves.*) cannot be imported by name
    elapsed = time.perf_counter() - start
then = None
if mode == "modules+handler":  # then the handler on top: what our modules and their init add
    start = time.perf_counter()
    import app
    then = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "then": then, "modules": [m for m in sys.modules if m not in before]}))
"""


def lambda_environment() -> dict[str, str]:
    """template.yaml's Globals environment with placeholders; nothing from the caller's shell but PATH."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "lti-gateway-cold-start",
        "STAGE": "prod",
        "KEYS_TABLE": "lti-gateway-keys",
        "LAUNCH_TABLE": "lti-gateway-launch",
        "CLASSES_TABLE": "lti-gateway-classes",
        "KMS_KEY_ID": "00000000-0000-0000-0000-000000000000",
        "ALLOWED_APP_ORIGINS": "https://app.example.com",
        "POWERTOOLS_SERVICE_NAME": "lti-gateway",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_METRICS_NAMESPACE": "LtiGateway",
        "EXPORTS_BUCKET": "lti-gateway-exports",
    }


@dataclass(frozen=True)
class Probe:
    seconds: float
    modules: tuple[str, ...]  # in import order
    then: float | None = None  # modules+handler: the handler's import after the modules

    @property
    def ours(self) -> tuple[str, ...]:
        return tuple(m for m in self.modules if is_ours(m))

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(m for m in self.modules if not is_ours(m))

    def loaded(self, top_level: str) -> bool:
        return any(m == top_level or m.startswith(top_level + ".") for m in self.modules)

    def third_party(self) -> dict[str, int]:
        """Top-level third-party packages loaded, with their module counts."""
        counts: dict[str, int] = {}
        for name in self.others:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and not top.startswith("_"):
                counts[top] = counts.get(top, 0) + 1
        return counts


def is_ours(module: str) -> bool:
    return any(module == o or module.startswith(o + ".") for o in OURS)


def _run(args: list[str], stdin: str = "", env: dict[str, str] | None = None) -> Probe:
    answer = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or lambda_environment(),
        cwd=str(ROOT),
        timeout=120,
        check=False,
    )
    if answer.returncode != 0:
        raise RuntimeError(f"cold-start probe failed ({args}):\n{answer.stderr[-4000:]}")
    data = json.loads(answer.stdout.strip().splitlines()[-1])
    return Probe(data["seconds"], tuple(data["modules"]), data.get("then"))


def import_handler(name: str, env: dict[str, str] | None = None) -> Probe:
    """Import ``functions/<name>/app.py`` as ``app`` in a fresh interpreter."""
    return _run([str(ROOT / "functions" / name), str(LAYER), "handler"], env=env)


def import_modules(modules: tuple[str, ...], function: str, *, then_handler: bool = False) -> Probe:
    """Import ``modules`` (in order) in a fresh interpreter with the same ``sys.path`` as ``function``;
    with ``then_handler``, import its ``app`` afterwards and time that too (``Probe.then``)."""
    mode = "modules+handler" if then_handler else "modules"
    return _run([str(ROOT / "functions" / function), str(LAYER), mode], stdin="\n".join(modules))
