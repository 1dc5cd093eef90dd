"""How an organisation presents the tool to LMSs: ``tool_name``, ``tool_description`` and
``tool_icon_url`` of its item (keys table, ``ORG#{org_id}`` / ``META``), read alone.

One GetItem with a ``ProjectionExpression`` of exactly these attributes: the export function may read
nothing else of an organisation (its IAM policy limits the read to ``ORG#`` items and these
``dynamodb:Attributes``), and no function needs more to label what it hands out.
"""

from __future__ import annotations

from typing import Any

from lti_gateway.core import runtime
from lti_gateway.core.config import settings
from lti_gateway.repositories import aws
from lti_gateway.repositories.schema import META, org_pk

TOOL_ATTRIBUTES = ("tool_name", "tool_description", "tool_icon_url")  # the IAM policy allows exactly these


class OrgToolRepository:
    def __init__(self, keys_table: Any):
        self._table = keys_table

    def tool_settings(self, org_id: str) -> dict[str, Any]:
        """The organisation's tool attributes that are set (``{}``: none, or no such organisation)."""
        names = {f"#a{i}": name for i, name in enumerate(TOOL_ATTRIBUTES)}
        answer = self._table.get_item(
            Key={"pk": org_pk(org_id), "sk": META},
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        )
        item = answer.get("Item") or {}
        return {name: item[name] for name in TOOL_ATTRIBUTES if item.get(name) is not None}


@runtime.cached
def org_tool_repo() -> OrgToolRepository:
    """One per warm container (like the factories of :mod:`lti_gateway.repositories.deps`)."""
    return OrgToolRepository(aws.dynamodb().Table(settings().keys_table))
