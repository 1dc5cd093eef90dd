"""The AWS side of the local gateway: moto server, the template's tables and KMS keys.

moto serves DynamoDB and KMS in-process on 127.0.0.1 and an ephemeral port. A DynamoDB-compatible
endpoint the user already set (``DYNAMODB_ENDPOINT_URL``, e.g. DynamoDB Local) is used instead of
moto for DynamoDB; likewise ``KMS_ENDPOINT_URL`` for KMS.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from lti_gateway.local.template import LOCAL_PREFIX, LocalResources, create_buckets, create_tables, resources

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}
_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


@dataclass
class LocalStack:
    region: str
    dynamodb_endpoint_url: str
    kms_endpoint_url: str
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    kms_keys: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> KeyId, Arn
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> bucket name (moto only)
    moto: Any = None
    in_process: Any = None  # moto_serial.InProcess: this process's calls answered without HTTP
    restored_items: int | None = None  # items put back from a saved state (None: nothing restored)

    @property
    def persistent(self) -> bool:
        """Whether the state can be kept: moto in this process (an external DynamoDB keeps its own)."""
        return self.moto is not None and self.dynamodb_endpoint_url == self.kms_endpoint_url

    def stop(self) -> None:
        if self.in_process is not None:
            from lti_gateway.local import moto_serial

            moto_serial.unroute(self.in_process)
            self.in_process = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None

    def resources(self, template: dict[str, Any], parameters: dict[str, str]) -> LocalResources:
        local = LocalResources(template, parameters=parameters, region=self.region, prefix=LOCAL_PREFIX)
        for logical_id, name in self.tables.items():
            local.refs[logical_id] = name
            local.attributes[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{self.region}:{local.account_id}:table/{name}"
        for logical_id, key in self.kms_keys.items():
            local.refs[logical_id] = key["KeyId"]
            local.attributes[f"{logical_id}.Arn"] = key["Arn"]
            local.attributes[f"{logical_id}.KeyId"] = key["KeyId"]
        for logical_id, name in self.buckets.items():
            local.refs[logical_id] = name
            local.attributes[f"{logical_id}.Arn"] = f"arn:aws:s3:::{name}"
        return local


def start_stack(
    template: dict[str, Any], *, region: str = REGION, saved: dict[str, Any] | None = None, in_process: bool = True
) -> LocalStack:
    """Start what is missing (moto), point the process at it, create the template's tables and keys.

    ``saved`` (``persistence.read``: the state of an earlier run; moto only) puts the tables' items and
    the KMS keys' ids and material back. ``in_process``: answer this process's calls to the embedded
    moto without HTTP (``moto_serial.route_in_process``); False: over loopback HTTP, signed.

    Sets fake credentials and ``AWS_ENDPOINT_URL*`` in ``os.environ``, so nothing in this process can
    reach a real AWS account by accident.
    """
    dynamodb_url = os.environ.get("DYNAMODB_ENDPOINT_URL") or None
    kms_url = os.environ.get("KMS_ENDPOINT_URL") or None
    moto = None
    routed = None
    if dynamodb_url is None or kms_url is None:
        from moto.server import ThreadedMotoServer

        from lti_gateway.local import moto_serial

        moto_serial.install()  # parallel requests must not corrupt moto's (non thread-safe) backends
        moto_serial.tune_server()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        moto_url = f"http://{host}:{port}"
        dynamodb_url, kms_url = dynamodb_url or moto_url, kms_url or moto_url
        served = tuple(name for name, url in (("dynamodb", dynamodb_url), ("kms", kms_url)) if url == moto_url)
        if in_process and served:
            routed = moto_serial.route_in_process(moto_url, region, served)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "DYNAMODB_ENDPOINT_URL": dynamodb_url,
            "KMS_ENDPOINT_URL": kms_url,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_KMS": kms_url,
        }
    )
    if moto is not None:
        os.environ["AWS_ENDPOINT_URL"] = moto_url  # any other client goes to moto, never to AWS
    stack = LocalStack(region, dynamodb_url, kms_url, moto=moto, in_process=routed)
    try:
        ddb = boto3.client("dynamodb", region_name=region, endpoint_url=dynamodb_url, config=_CONFIG)
        stack.tables = create_tables(ddb, template)
        kms = boto3.client("kms", region_name=region, endpoint_url=kms_url, config=_CONFIG)
        for logical_id, props in resources(template, "AWS::KMS::Key").items():
            spec = {k: props[k] for k in ("KeySpec", "KeyUsage", "Description") if k in props}
            meta = kms.create_key(**spec)["KeyMetadata"]
            stack.kms_keys[logical_id] = {"KeyId": meta["KeyId"], "Arn": meta["Arn"]}
        if saved is not None and moto is not None:
            from lti_gateway.local import persistence

            stack.kms_keys = persistence.restore_kms(stack.kms_keys, saved["kms"], region)
            stack.restored_items = persistence.restore_tables(stack.tables, saved["tables"], region)
        if moto is not None:  # S3 (the exports bucket) only where moto serves it
            s3 = boto3.client("s3", region_name=region, endpoint_url=moto_url, config=_CONFIG)
            stack.buckets = create_buckets(s3, template)
    except BaseException:
        stack.stop()
        raise
    return stack
