"""The local gateway behind ``make run`` (a development tool: not shipped in the Lambda layer).

``python -m lti_gateway.local`` serves template.yaml's HTTP API on 127.0.0.1 with moto behind it;
tests start the same thing in-process with ``LocalGateway(port=0).start()``.
"""

from lti_gateway.local.server import LocalGateway, Organisation

__all__ = ["LocalGateway", "Organisation"]
