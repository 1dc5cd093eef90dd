"""Lambda SnapStart (the launch function's ``LaunchSnapStart`` parameter): what a restored container redoes.

With SnapStart, Lambda initialises a published version once (imports, module-level objects), snapshots
the memory, and resumes every new container of that version from the snapshot. Whatever init created is
then shared by all of them and may be hours old. The gateway creates nothing stateful at import (no
client, no settings read, no key, no random value: tests/performance/test_cold_start.py), so a restore
needs little; still, whatever per-container state exists at the snapshot (clients and their credentials,
settings, TTL caches, key caches: every ``core.runtime`` registration) is forgotten right after a
restore, so it is rebuilt with the restored container's credentials, clock and connections.

Unique values are never drawn from a seeded generator (``secrets``/``uuid4``/``os.urandom`` read the
kernel's generator on every call, which Lambda re-seeds on restore).

``snapshot_restore_py`` exists only in Lambda's Python runtimes; :func:`register` is a no-op unless the
container was started for a snapshot (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``), so local runs and
tests import nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from lti_gateway.core import runtime

SNAP_START = "snap-start"


def after_restore() -> None:
    """Run by Lambda right after a restore: forget every per-container object made before the snapshot."""
    runtime.reset()


def register(
    environ: Mapping[str, str] | None = None, hooks: Callable[[Callable[..., Any]], Any] | None = None
) -> bool:
    """Register :func:`after_restore` with the runtime's restore hooks when this container is being
    initialised for a SnapStart snapshot; True if registered. ``hooks`` stands in for
    ``snapshot_restore_py.register_after_restore`` (tests)."""
    env = os.environ if environ is None else environ
    if env.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAP_START:
        return False
    if hooks is None:
        try:
            from snapshot_restore_py import register_after_restore  # only in Lambda's Python runtimes
        except ImportError:
            return False
        hooks = register_after_restore
    hooks(after_restore)
    return True
