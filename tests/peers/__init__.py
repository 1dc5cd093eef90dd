"""Independent peers for tests: an LMS-side OAuth 1.0a signer and an LTI 1.1 outcome service.

Both are built on Authlib, never on oauthlib (which the gateway uses), so a shared bug cannot make
both sides agree.
"""
