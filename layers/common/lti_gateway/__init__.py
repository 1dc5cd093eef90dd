"""LTI Gateway: the domain package shared by every Lambda handler (shipped as the common layer)."""

# boto3 (every handler needs it, through repositories.aws) is imported here, near the top of the call
# stack: imported deep in a handler's import chain (app -> launch.dispatch -> launch.handover ->
# admin.classes -> repositories.deps -> repositories.aws), botocore's import keeps crossing one of
# CPython's frame-stack chunk boundaries, each crossing allocating and freeing a 16 KiB chunk:
# `strace -c` counts ~1,600 munmap calls importing the launch handler, ~10-15 ms of its cold start
# (CPython 3.11-3.13). From here, about 120. Measured by `make bench` (coldstart).
import boto3  # noqa: F401

__version__ = "0.1.0"
