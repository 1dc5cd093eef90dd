"""Bodies of ``POST /api/platforms`` for registrations that are never contacted (no peer serves them)."""

from __future__ import annotations

# A Moodle site's LTI 1.3 registration, as its "Tool configuration details" page shows it.
MOODLE = {
    "url": "https://moodle.example.edu",
    "clientId": "x7Tq2kLrP9aBcDe",
    "name": "Example University Moodle",
    "authenticationEndpoint": "https://moodle.example.edu/mod/lti/auth.php",
    "accesstokenEndpoint": "https://moodle.example.edu/mod/lti/token.php",
    "authConfig": {"method": "JWK_SET", "key": "https://moodle.example.edu/mod/lti/certs.php"},
    "deploymentIds": ["1"],
}
