"""LTI Gateway: the domain package shared by every Lambda handler (shipped as the common layer)."""

__version__ = "0.1.0"
