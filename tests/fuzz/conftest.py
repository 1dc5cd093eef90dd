"""The fuzz suite's settings: a fixed number of examples per target and a fixed seed.

``FUZZ_EXAMPLES`` (default 1000) is the number of Hypothesis examples each pure-parser target runs;
targets that go through moto run a quarter of it, and the schemathesis run over HTTP
``FUZZ_API_EXAMPLES`` (default 100) per operation (see docs/security.md for why and what it costs).
Every target is derandomized: the same examples on every run and machine (Hypothesis derives them
from the test's name), with no example database.

``world`` (one per module) is the local gateway the HTTP fuzzers call, with an organisation, a consumer
key, a class and unit, a platform and a stored LTI 1.3 launch; ``fresh`` puts it back to that state
after each operation. Each HTTP module keeps ``COUNTS``/``STATUSES`` and writes its ``REPORT``.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
AWS_EXAMPLES = max(1, EXAMPLES // 4)
API_EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "100"))
CLIENT_ID = "fuzz-client"
_ENDPOINTS = ("DYNAMODB_ENDPOINT_URL", "KMS_ENDPOINT_URL", "AWS_ENDPOINT_URL")

_COMMON = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
}


def fuzz(examples: int = EXAMPLES) -> settings:
    return settings(max_examples=examples, **_COMMON)


@dataclass
class World:
    base_url: str
    api_key: str
    ltik: str
    lms: Any
    fixed_secrets: dict[str, str]
    ids: dict[str, str]  # real path parameters (class, unit, key, platform, line item) and login parameters
    org_id: str = ""
    partitions: dict[str, tuple[str, str]] = field(default_factory=dict)  # listing -> (index key, value)
    baseline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # every stored item, by table
    session: requests.Session = field(default_factory=requests.Session)
    _tables: dict[str, Any] = field(default_factory=dict)

    def secrets(self) -> dict[str, str]:
        from lti_gateway.lti13 import tool_keys
        from lti_gateway.repositories import deps

        found = dict(self.fixed_secrets)
        found |= {f"platform access token {i}": t for i, t in enumerate(list(self.lms._tokens))}
        box = deps.secret_box()._current
        if box:
            found["KMS data key"] = base64.b64encode(box[1]).decode()
        kid, key = tool_keys.signing_key(self.org_id)
        d = key.private_numbers().d.to_bytes(256, "big")
        found[f"tool private key {kid} (JWK d)"] = base64.urlsafe_b64encode(d).rstrip(b"=").decode()
        return found

    def tables(self) -> dict[str, Any]:
        if not self._tables:
            import boto3

            from lti_gateway.core.config import settings

            config = settings()
            dynamodb = boto3.resource("dynamodb", endpoint_url=config.dynamodb_endpoint_url)
            names = (config.keys_table, config.launch_table, config.classes_table)
            self._tables = {name: dynamodb.Table(name) for name in names}
        return self._tables

    def stored(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for name, table in self.tables().items():
            items, kwargs = [], {}
            while True:
                page = table.scan(**kwargs)
                items += page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            found[name] = items
        return found

    def restore(self) -> int:
        """Back to the baseline: what was created since is deleted, what was changed is put back.
        Returns how many items were touched. Warm containers forget their caches when anything but
        rate counters, one-time values and a credential's ``last_used_at`` changed."""
        touched, forget = 0, False
        stored = self.stored()
        for name, table in self.tables().items():
            base = {(i["pk"], i["sk"]): i for i in self.baseline.get(name, [])}
            now = {(i["pk"], i["sk"]): i for i in stored[name]}
            with table.batch_writer() as batch:
                for key, item in now.items():
                    if key not in base:
                        batch.delete_item(Key={"pk": key[0], "sk": key[1]})
                        forget = forget or not key[0].startswith(_EPHEMERAL)
                    elif item != base[key]:
                        batch.put_item(Item=base[key])
                        forget = forget or _lasting(item) != _lasting(base[key])
                    else:
                        continue
                    touched += 1
                for key, item in base.items():
                    if key not in now:
                        batch.put_item(Item=item)
                        touched, forget = touched + 1, True
        if forget:
            from lti_gateway.local.server import reset_caches

            reset_caches()
        return touched


_EPHEMERAL = ("RATE#", "ONCE#", "IDEMPOTENCY#")


def _lasting(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "last_used_at"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    """The local gateway, an organisation, a consumer key and an LTI 1.3 launch of a local platform."""
    from lti_gateway.admin import classes
    from lti_gateway.admin.orgs import Principal
    from lti_gateway.app_api import line_item_ids
    from lti_gateway.core.observability import logger
    from lti_gateway.local.server import LocalGateway, reset_caches
    from lti_gateway.lti13 import platforms, tool_keys
    from tests.peers.advantage_platform import AdvantagePlatform
    from tests.support.app_api import SCOPES, lti13_claims, store_lti13_launch

    saved = dict(os.environ)
    for name in _ENDPOINTS:
        os.environ.pop(name, None)
    level = logger.log_level
    logger.setLevel("WARNING")  # thousands of "request rejected" lines would only slow the run down
    gateway = LocalGateway(port=0, quiet=True, seed=False)  # no demo organisation: only what is made here
    try:
        gateway.start()
        org = gateway.create_organisation("Fuzz University")
        key = gateway.create_consumer_key(org.org_id, label="Fuzz LMS")
        owner = Principal(org.org_id, org.credential_id, "owner")
        with AdvantagePlatform(client_id=CLIENT_ID, jwks=lambda: tool_keys.public_jwks(org.org_id)) as lms:
            platform = platforms.create_platform(
                owner,
                lms.registration("Fuzz LMS"),
            )
            ags = {"scope": list(SCOPES), "lineitems": lms.line_items_url, "lineitem": lms.item_url()}
            nrps = {"context_memberships_url": lms.memberships_url, "service_versions": ["2.0"]}
            claims = lti13_claims(issuer=lms.base, client_id=CLIENT_ID, ags=ags, nrps=nrps)
            _, ltik = store_lti13_launch(org.org_id, claims, platform_id=platform["id"], client_id=CLIENT_ID)
            base = gateway.base_url
            cls = classes.create_class(owner, {"name": "Fuzz class"}, base=base)
            unit = classes.create_unit(owner, cls["class_id"], {"name": "Fuzz unit"}, base=base)
            ids = {
                "class_id": cls["class_id"],
                "unit_id": unit["unit_id"],
                "key": key["key"],
                "platform_id": platform["id"],
                "org_id": org.org_id,
                "id": line_item_ids.encode(lms.item_url()),
                "iss": lms.base,
                "client_id": CLIENT_ID,
                "target_link_uri": f"{base}/lti/launch/{cls['class_id']}",
            }
            secrets = {
                "API key": org.api_key,
                "API key secret": org.api_key.split(".")[1],
                "consumer secret": key["secret"],
                "ltik": ltik,
            }
            partitions = {
                "keys": ("gsi1pk", f"ORG#{org.org_id}#CKEYS"),
                "credentials": ("gsi1pk", f"ORG#{org.org_id}#APIKEYS"),
                "classes": ("gsi1pk", f"ORG#{org.org_id}#CLASSES"),
                "units": ("gsi1pk", f"CLASS#{cls['class_id']}#UNITS"),
                "platforms": ("gsi1pk", f"ORG#{org.org_id}#PLATFORMS"),
                "lti11-bindings": ("pk", f"LTI1P1BIND#{platform['id']}"),
            }
            made = World(gateway.base_url, org.api_key, ltik, lms, secrets, ids, org.org_id, partitions)
            made.baseline = made.stored()
            yield made
    finally:
        gateway.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()
        logger.setLevel(level)
        write_report(request.module, tmp_path_factory.getbasetemp())


def write_report(module: Any, directory: Any) -> None:
    """The module's per-operation counts and statuses, printed (``-s``) and written as JSON."""
    counts, statuses = module.COUNTS, module.STATUSES
    report = {"examples_per_operation": module.EXAMPLES_PER_OPERATION, "operations": dict(sorted(counts.items()))}
    report["statuses"] = {op: dict(sorted(c.items())) for op, c in sorted(statuses.items())}
    report["responses_5xx"] = sum(n for c in statuses.values() for status, n in c.items() if status >= 500)
    path = directory / module.REPORT
    path.write_text(json.dumps(report, indent=1))
    print(f"\n{module.REPORT}: {sum(counts.values())} requests over {len(counts)} operations -> {path}")
    print(f"  answers >= 500: {report['responses_5xx']}")
    for op, count in sorted(counts.items()):
        print(f"  {count:5d}  {op}  {dict(sorted(statuses[op].items()))}")


@pytest.fixture
def fresh(world, request):
    """Each operation (one parametrized test) starts from the world's baseline and leaves it so; its
    counts are appended to ``fuzz-progress.jsonl`` (a long run killed half-way still has its figures)."""
    counts, statuses = request.module.COUNTS, request.module.STATUSES
    before = {op: Counter(c) for op, c in statuses.items()}
    yield world
    world.restore()
    for op, now in statuses.items():
        new = now - before.get(op, Counter())
        if new:
            line = {"module": request.module.REPORT, "operation": op, "requests": counts[op]}
            line["statuses"] = {str(k): v for k, v in sorted(new.items())}
            line["responses_5xx"] = sum(v for k, v in new.items() if k >= 500)
            path = request.config._tmp_path_factory.getbasetemp() / "fuzz-progress.jsonl"
            with path.open("a") as progress:
                progress.write(json.dumps(line) + "\n")


# ``--hypothesis-profile=fuzz-report-first``: report a failure as found, without shrinking it (over HTTP
# a shrink can take longer than the whole run).
settings.register_profile("fuzz-report-first", phases=[Phase.explicit, Phase.reuse, Phase.generate])
