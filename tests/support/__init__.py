"""Test helpers shared by the suites: events, handler invocation, moto-backed stacks."""
