"""The LTI 1.3 launch world (a registered platform, its JWKS on loopback) for the security tests."""

from tests.functional.launch.test_lti13_launch import jwks, world  # noqa: F401
