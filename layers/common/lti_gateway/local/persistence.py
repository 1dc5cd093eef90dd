"""The local gateway's state kept across restarts: ``<state dir>/state.json``.

What is kept: every item of the template's DynamoDB tables (organisations, API keys, consumer keys,
platforms, classes, units, tool keys ...), the KMS key's id and material (so what was sealed with it —
consumer secrets, tool private keys — still opens), and what the seeding made of the demo
organisation (so it is not made again). What is not: the exports bucket (S3: exports are made on
demand), launch-table items whose TTL (``expires_at``) has passed by the next start.

moto runs in this process, so the state is read from and written to its backends directly, under the
lock every moto request holds (``moto_serial.lock()``): a snapshot is consistent. It is written after
changes (at most every few seconds, by a background thread) and once more when the gateway stops,
atomically (a temporary file in the same directory, fsync, rename): a crash leaves the previous file.

The file is JSON (DynamoDB's attribute-value format for items), independent of moto's classes, so a
moto upgrade does not make it unreadable. A file that cannot be read is never silently replaced:
the gateway refuses to start and says so, unless started with ``--fresh``.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lti_gateway.local import moto_serial

STATE_FILE = "state.json"
FORMAT = "lti-gateway-local-state"
VERSION = 1
ACCOUNT_ID = "123456789012"  # moto's default account (the fake credentials map to it)
TTL_ATTRIBUTE = "expires_at"
MIN_INTERVAL = 2.0  # seconds between two saves while writes keep coming
# moto actions that change nothing: they never make the state dirty
READS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "DescribeTable",
        "DescribeTimeToLive",
        "ListTables",
        "TransactGetItems",
        "Decrypt",
        "DescribeKey",
        "ListKeys",
        "ListAliases",
        "GenerateRandom",
    }
)


class StateError(Exception):
    """The state file exists but cannot be used (corrupt, another format, another template)."""


def write_private_json(path: Path, content: Any) -> Path:
    """``content`` as indented JSON in a new file at ``path`` readable by its owner alone (it holds local
    secrets: API keys, consumer secrets); a file already there is replaced, never written through."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(content, fh, indent=2)
        fh.write("\n")
    return path


def state_path(state_dir: Path) -> Path:
    return Path(state_dir) / STATE_FILE


def read(state_dir: Path) -> dict[str, Any] | None:
    """The saved state, None if there is none; StateError (naming the file) if it cannot be used."""
    path = state_path(state_dir)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateError(f"{path} cannot be read ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise StateError(f"{path} is not a state file of the local gateway")
    if state.get("version") != VERSION:
        raise StateError(f"{path} has state format version {state.get('version')!r}; this gateway reads {VERSION}")
    if not isinstance(state.get("tables"), dict) or not isinstance(state.get("kms"), dict):
        raise StateError(f"{path} is incomplete (no tables or no KMS keys)")
    return state


def _backends(region: str) -> tuple[Any, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.kms.models import kms_backends

    return dynamodb_backends[ACCOUNT_ID][region], kms_backends[ACCOUNT_ID][region]


def _items(table: Any) -> list[Any]:
    """Every item of a moto table, in no order (``Table.all_items()`` sorts them: 3x the cost)."""
    if table.range_key_attr:
        return [item for by_range in table.items.values() for item in by_range.values()]
    return list(table.items.values())


def snapshot(tables: dict[str, str], kms_keys: dict[str, dict[str, str]], region: str) -> dict[str, Any]:
    """Every item of ``tables`` ({logical id: name}) and the material of ``kms_keys``, read under moto's lock."""
    ddb, kms = _backends(region)
    with moto_serial.lock():
        items = {
            logical_id: [item.to_json()["Attributes"] for item in _items(ddb.tables[name])]
            for logical_id, name in tables.items()
        }
        keys = {}
        for logical_id, ids in kms_keys.items():
            key = kms.keys[ids["KeyId"]]
            keys[logical_id] = {
                "KeyId": key.id,
                "Arn": key.arn,
                "KeySpec": key.key_spec,
                "material": base64.b64encode(key.key_material).decode(),
            }
    return {"tables": items, "kms": keys}


def write(state_dir: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically (temporary file, fsync, rename), readable by the owner alone."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_path(state_dir)
    fd, temporary = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=state_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            # dumps, not dump: json.dump streams through the pure-Python encoder (~5x slower at 10,000
            # units, CPU taken from the requests being served); dumps uses the C one in one go.
            fh.write(json.dumps({"format": FORMAT, "version": VERSION, **state}, separators=(",", ":")))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def restore_kms(kms_keys: dict[str, dict[str, str]], saved: dict[str, Any], region: str) -> dict[str, dict[str, str]]:
    """Give each key just created (``kms_keys``) the id and material it had (``saved``): what was
    encrypted before the restart decrypts. Returns the keys' ids and ARNs as they are now."""
    _, kms = _backends(region)
    restored = {}
    with moto_serial.lock():
        for logical_id, ids in kms_keys.items():
            old = saved.get(logical_id)
            if not old:
                restored[logical_id] = ids
                continue
            key = kms.keys.pop(ids["KeyId"])
            if key.key_spec != old.get("KeySpec", key.key_spec):
                raise StateError(f"the KMS key {logical_id} is now {key.key_spec}, the state has {old.get('KeySpec')}")
            key.id, key.arn = old["KeyId"], old["Arn"]
            key.key_material = base64.b64decode(old["material"])
            kms.keys[key.id] = key
            restored[logical_id] = {"KeyId": key.id, "Arn": key.arn}
    return restored


def restore_tables(tables: dict[str, str], saved: dict[str, list[dict[str, Any]]], region: str) -> int:
    """Put the saved items back into the (new, empty) tables; items whose TTL passed are dropped.
    Returns how many items were restored. A table of the state the template no longer has is ignored."""
    ddb, _ = _backends(region)
    now = time.time()
    count = 0
    with moto_serial.lock():
        for logical_id, items in saved.items():
            name = tables.get(logical_id)
            if name is None:
                continue
            table = ddb.tables[name]
            for attrs in items:
                ttl = attrs.get(TTL_ATTRIBUTE, {}).get("N")
                if ttl is not None and float(ttl) < now:
                    continue
                table.put_item(attrs)
                count += 1
    return count


class Saver:
    """Writes the state after changes (a background thread: at most every ``MIN_INTERVAL`` seconds, or
    ten times as long as the last save took) and once more on :meth:`stop`."""

    def __init__(self, state_dir: Path, make_state: Callable[[], dict[str, Any]], *, log: Callable[[str], None]):
        self.state_dir = Path(state_dir)
        self.make_state = make_state
        self.log = log
        self._changes = 0
        self._saved = -1
        self._lock = threading.Lock()  # one save at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_duration = 0.0

    def changed(self, module: str = "", action: str = "") -> None:
        """A moto request was answered: a write to DynamoDB or KMS makes the state dirty."""
        if module.startswith(("moto.dynamodb", "moto.kms")) and action not in READS:
            self._changes += 1  # a plain int: a lost increment only delays a save by one change

    def start(self) -> None:
        moto_serial.observe(self.changed)
        self._thread = threading.Thread(target=self._run, name="lti-gateway state", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(max(MIN_INTERVAL, 10 * self.last_duration)):  # saving: <10% of the time
            try:
                self.save()
            except Exception as exc:  # keep serving; the next change retries
                self.log(f"could not save the local state: {exc}")

    def save(self, *, force: bool = False) -> bool:
        with self._lock:
            changes = self._changes
            if changes == self._saved and not force:
                return False
            started = time.monotonic()
            write(self.state_dir, self.make_state())
            self._saved = changes
            self.last_duration = time.monotonic() - started
            return True

    def stop(self) -> None:
        """Stop the thread and write what changed since the last save."""
        moto_serial.observe(None)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.save()
