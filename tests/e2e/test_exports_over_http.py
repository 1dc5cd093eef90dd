"""Exports through the local gateway over real HTTP (what `make run` prints), the S3 hand-over through
the local moto server, and `lti-gateway export --local`."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from lti_gateway.core import config
from lti_gateway.repositories import deps

pytestmark = pytest.mark.e2e


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _export(gateway, fmt: str) -> requests.Response:
    return requests.get(
        f"{gateway.base_url}/api/classes/{gateway.stack['class_id']}/lti-settings",
        params={"format": fmt},
        headers=_bearer(gateway.api_key),
        timeout=30,
    )


def _rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_demo_class_exports_as_csv_with_its_units_and_consumer_key(gateway):
    response = _export(gateway, "csv")

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Demo-Class-lti-settings.csv"')
    rows = _rows(response.content)
    assert rows[0]["consumer_keys"] == gateway.consumer_key
    assert [(r["unit_name"], r["lti11_launch_url"]) for r in rows[1:]] == [
        (u["name"], u["launch_url"]) for u in gateway.stack["units"]
    ]
    assert gateway.consumer_secret not in response.text


def test_the_demo_class_exports_as_a_cartridge(gateway):
    response = _export(gateway, "cc")

    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {"imsmanifest.xml"} | {f"{u['unit_id']}.xml" for u in gateway.stack["units"]}


def test_a_large_export_is_fetched_from_the_presigned_url(gateway, monkeypatch):
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "64")
    config.settings.cache_clear()
    deps.export_files.cache_clear()
    try:
        response = _export(gateway, "csv")
    finally:
        monkeypatch.delenv("EXPORT_INLINE_MAX_BYTES")
        config.settings.cache_clear()
        deps.export_files.cache_clear()

    assert response.status_code == 200, response.text
    handed_over = response.json()
    assert handed_over["expires_in"] == 900 and handed_over["format"] == "csv"
    download = requests.get(handed_over["url"], timeout=30)  # no Authorization: the URL is the credential
    assert download.status_code == 200, download.text
    assert download.headers["Content-Disposition"].startswith('attachment; filename="Demo-Class-lti-settings.csv"')
    assert _rows(download.content) == _rows(_export(gateway, "csv").content)


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "lti_gateway.cli", *args], capture_output=True, timeout=60, check=False
    )


def test_the_cli_exports_the_demo_class(gateway, state_dir, tmp_path: Path):
    class_id = gateway.stack["class_id"]

    to_stdout = _cli("export", class_id, "--format", "csv", "--local", "--state-dir", str(state_dir))
    to_file = _cli(
        "export", class_id, "--format", "cc", "--local", "--state-dir", str(state_dir), "-o", str(tmp_path / "x.imscc")
    )
    wrong_org = _cli("export", class_id, "--org", "org_0000000000000000", "--local", "--state-dir", str(state_dir))

    assert to_stdout.returncode == 0, to_stdout.stderr
    assert _rows(to_stdout.stdout) == _rows(_export(gateway, "csv").content)
    assert to_file.returncode == 0, to_file.stderr
    assert b"Exported 2 unit(s) as cc" in to_file.stderr
    assert "imsmanifest.xml" in zipfile.ZipFile(tmp_path / "x.imscc").namelist()
    assert wrong_org.returncode == 3 and b"not_found" in wrong_org.stderr
    assert not (tmp_path / "x.imscc.part").exists()


def test_a_units_xml_configuration_over_http(gateway):
    unit = gateway.stack["units"][0]
    response = requests.get(
        f"{gateway.base_url}/api/classes/{gateway.stack['class_id']}/units/{unit['unit_id']}/lti-config.xml",
        headers=_bearer(gateway.api_key),
        timeout=30,
    )

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/xml"
    assert f"<blti:launch_url>{unit['launch_url']}</blti:launch_url>" in response.text
