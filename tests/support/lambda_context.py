from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class FakeContext:
    function_name: str = "lti-gateway-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:lti-gateway-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 15_000
