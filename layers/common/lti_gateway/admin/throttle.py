"""Fixed-window request throttling per caller, counted in the launch table."""

from __future__ import annotations

from lti_gateway.core import clock
from lti_gateway.core.errors import Throttled
from lti_gateway.repositories import deps

WINDOW_SECONDS = 60


def check(bucket: str, *, per_minute: int) -> None:
    now = int(clock.now())
    start = now - now % WINDOW_SECONDS
    if not deps.launch_repo().count_hit(bucket, start, limit=per_minute, window_seconds=WINDOW_SECONDS):
        raise Throttled(
            f"rate limit of {per_minute} requests per minute reached; retry later",
            retry_after=start + WINDOW_SECONDS - now or 1,
        )
