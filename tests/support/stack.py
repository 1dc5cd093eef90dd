"""A moto-backed stack: the template's tables and KMS key, and the environment the handlers read."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]


def _template() -> dict[str, Any]:
    from lti_gateway.local.template import load_template

    return load_template(ROOT / "template.yaml")


def create_stack(prefix: str = "test") -> dict[str, str]:
    """Create every DynamoDB table of template.yaml and a KMS key in the current (moto) backend."""
    from lti_gateway.local.template import create_buckets, create_tables

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    ddb = boto3.client("dynamodb", region_name=region)
    tables = create_tables(ddb, _template(), prefix=prefix)
    buckets = create_buckets(boto3.client("s3", region_name=region), _template(), prefix=prefix)
    key_id = boto3.client("kms", region_name=region).create_key(Description="test secrets")["KeyMetadata"]["KeyId"]
    return {
        "KEYS_TABLE": tables["KeysTable"],
        "LAUNCH_TABLE": tables["LaunchTable"],
        "CLASSES_TABLE": tables["ClassesTable"],
        "KMS_KEY_ID": key_id,
        "EXPORTS_BUCKET": buckets["ExportsBucket"],
    }


def load_function(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` under a unique module name (every handler is ``app.py``)."""
    module_name = f"fn_{name}_app"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
