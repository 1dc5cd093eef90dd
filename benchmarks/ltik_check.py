"""ltik check CPU: ``ltik.verify`` (key cached, as in a warm container) against a bare HS256 decode.

* **ours**: ``ltik.verify(token)`` — length and shape, ``kid`` read from the header segment alone,
  ``jwt.decode`` with the required claims, our own expiry check, the claims object.
* **pyjwt**: ``jwt.decode(token, secret, algorithms=["HS256"])`` of the same token.

The key is put in ltik's per-container cache directly (a warm container has it: one KMS-sealed
read at its first request), so no storage is involved.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt

from benchmarks.timing import Mode, Report, heading, line, per_call, ratio_row


def run(mode: Mode, report: Report) -> None:
    from lti_gateway.app_api import ltik

    heading("ltik check CPU (key cached)")
    key = ltik._Key(secrets.token_hex(8), secrets.token_bytes(32))
    ltik.reset()
    ltik._current.append(key)
    ltik._keys[key.kid] = key
    try:
        token = ltik.issue(secrets.token_urlsafe(18), "org_0123456789abcdef")
        assert ltik.verify(token).org_id == "org_0123456789abcdef"

        def bare() -> Any:
            return jwt.decode(token, key.secret, algorithms=["HS256"])

        times = per_call(
            {"ours": lambda: ltik.verify(token), "pyjwt": bare},
            number=mode.iterations(2000, 50),
            rounds=mode.rounds(),
        )
    finally:
        ltik.reset()
    print(f"  ltik: {len(token)} bytes, HS256, 256-bit key")
    line("ours: ltik.verify(token)", times["ours"])
    line("baseline: pyjwt jwt.decode (HS256)", times["pyjwt"])
    ratio_row(report, "ltik check vs bare HS256 decode", times["ours"], times["pyjwt"], 1.2)
