"""End-to-end tests through the local gateway (a package, so the gateway fixture is package-scoped)."""
