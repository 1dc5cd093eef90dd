"""The real ``python -m lti_gateway.local`` (what ``make run`` starts) in a subprocess.

    gateway = LocalProcess(tmp_path / "state").started()   # its own --state-dir, ephemeral ports
    requests.get(f"{gateway.base}/api/org", headers=gateway.headers)
    seconds = gateway.interrupt()                           # SIGINT, as Ctrl-C sends
    gateway.kill()                                          # in a finally: never leaves it running

Used by the persistence tests and ``make bench``'s catalogue-scale section. The child gets no AWS
endpoint variables from this process (it starts its own moto) and never the developer's ``.local/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120
READY_LINE = "Ctrl-C stops the gateway"


class LocalProcess:
    """One ``python -m lti_gateway.local --port 0 --quiet --state-dir DIR [extra…]`` process."""

    def __init__(self, state_dir: Path, *extra: str):
        env = {k: v for k, v in os.environ.items() if "ENDPOINT_URL" not in k}
        self.state_dir = state_dir
        command = [sys.executable, "-m", "lti_gateway.local", "--port", "0", "--quiet", "--state-dir", str(state_dir)]
        self.process = subprocess.Popen(  # noqa: S603 -- our own interpreter and module, fixed arguments
            [*command, *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self._launched = time.monotonic()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if READY_LINE in line:
                self._ready.set()
        self._ready.set()

    def started(self, timeout: float = START_TIMEOUT) -> LocalProcess:
        """Wait until it serves; then ``stack`` (its dev-stack.json), ``base`` and ``headers`` (the demo
        owner's API key) are set. Raises RuntimeError, with its last output, if it did not start."""
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError("the local gateway did not start:\n" + "".join(self.output[-30:]))
        self.start_seconds = time.monotonic() - self._launched
        self.stack = json.loads((self.state_dir / "dev-stack.json").read_text())
        self.base = self.stack["base_url"]
        self.headers = {"Authorization": f"Bearer {self.stack['api_key']}"}
        return self

    def exited(self, timeout: float = START_TIMEOUT) -> int:
        code = self.process.wait(timeout)
        self._ready.wait(5)
        return code

    def interrupt(self, timeout: float = 120) -> float:
        """SIGINT (Ctrl-C); seconds until the process has exited (killed after ``timeout``)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def text(self) -> str:
        return "".join(self.output)
