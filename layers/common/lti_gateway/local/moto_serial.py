"""Make moto answer one request at a time, as a linearizable DynamoDB would.

moto's backends are not thread-safe (``TransactWriteItems`` deep-copies a table while another thread
writes it: ``RuntimeError: dictionary changed size during iteration``). Real DynamoDB serialises
writes per item, so the local gateway and the race tests serialise moto's dispatch: requests still
race each other in our code (read, decide, conditional write); only moto's own bookkeeping is locked.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.core.responses import BaseResponse

    original = BaseResponse._dispatch

    @functools.wraps(original)
    def serialised(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(self, *args, **kwargs)

    BaseResponse._dispatch = serialised  # type: ignore[method-assign]
    _installed = True
