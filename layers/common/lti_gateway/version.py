"""The release of LTI Gateway: what `pyproject.toml` (setuptools reads it from here), `lti-gateway
--version` and `GET /api/openapi.json` (``info.version``) report. CHANGELOG.md has one section per release."""

VERSION = "0.17.0"
