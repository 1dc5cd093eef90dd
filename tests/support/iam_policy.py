"""IAM, evaluated the way AWS evaluates the functions' identity policies — for what template.yaml uses.

``function_statements(template, arns)`` resolves every ``AWS::Serverless::Function``'s ``Policies``
(inline ``Statement`` lists; ``!GetAtt X.Arn`` and ``!Sub "${X.Arn}/..."`` become the fake ARNs the
test names its moto resources by). ``evaluate(statements, check)`` answers whether one IAM request
context (:class:`Check`: action, resource ARN, condition keys) is allowed: an explicit Deny wins, else
an Allow whose Action, Resource and every Condition match.

Only what the template uses is implemented, and anything else fails loudly (:class:`UnsupportedPolicy`)
so a new operator or condition key can never pass silently:

- operators ``StringEquals``, ``StringLike``, ``StringEqualsIfExists``, ``StringLikeIfExists``,
  ``ForAllValues:StringEquals``, ``ForAllValues:StringLike``, ``ForAnyValue:StringEquals``,
  ``ForAnyValue:StringLike``;
- keys ``dynamodb:LeadingKeys``, ``dynamodb:Attributes`` (multi-valued), ``dynamodb:Select``,
  ``dynamodb:ReturnValues`` (single-valued), ``kms:EncryptionContext:<name>`` (single-valued).

IAM's semantics, as documented: a single-valued operator on an absent key is false (``...IfExists``:
true); ``ForAllValues`` over an absent or empty key is true; ``ForAnyValue`` over one is false; within
one statement every operator and every key must hold (AND), the values listed for one key are
alternatives (OR); ``StringLike`` knows ``*`` and ``?``; string comparisons are case-sensitive, action
names are not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import product
from typing import Any


class UnsupportedPolicy(ValueError):
    """The template uses an IAM feature this evaluator does not implement: extend it, never skip it."""


MULTI_VALUED = frozenset({"dynamodb:LeadingKeys", "dynamodb:Attributes"})
SINGLE_VALUED = frozenset({"dynamodb:Select", "dynamodb:ReturnValues"})
SINGLE_VALUED_PREFIXES = ("kms:EncryptionContext:",)
OPERATORS = frozenset(
    {
        "StringEquals",
        "StringLike",
        "StringEqualsIfExists",
        "StringLikeIfExists",
        "ForAllValues:StringEquals",
        "ForAllValues:StringLike",
        "ForAnyValue:StringEquals",
        "ForAnyValue:StringLike",
    }
)


@dataclass(frozen=True)
class Statement:
    function: str
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def grants(self) -> list[tuple[str, str, str]]:
        """``(sid, action, resource)`` for every action x resource this statement names."""
        return [(self.sid, a, r) for a in self.actions for r in self.resources]


@dataclass(frozen=True)
class Check:
    """One authorization AWS makes: ``action`` on ``resource`` with the request's condition keys.

    ``context`` maps a key to its values (a tuple; one value for a single-valued key); an absent key
    is not in it. ``origin`` says which recorded call it came from (for messages).
    """

    function: str
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]]
    origin: str = ""

    def describe(self) -> str:
        keys = ", ".join(f"{k}={list(v)}" for k, v in sorted(self.context.items()))
        return f"{self.function}: {self.action} on {self.resource} [{keys}] ({self.origin})"


# ------------------------------------------------------------------------------------ the template


def _resolve(value: Any, arns: Mapping[str, str]) -> str:
    """A Resource entry: a string, ``!GetAtt X.Arn`` or ``!Sub "${X.Arn}..."``, nothing else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((kind, arg),) = value.items()
        if kind == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
            if len(parts) == 2 and parts[1] == "Arn" and parts[0] in arns:
                return arns[parts[0]]
        if kind == "Fn::Sub" and isinstance(arg, str):

            def sub(match: re.Match[str]) -> str:
                name = match[1]
                if name.endswith(".Arn") and name[:-4] in arns:
                    return arns[name[:-4]]
                raise UnsupportedPolicy(f"cannot resolve ${{{name}}} in {arg!r}")

            return re.sub(r"\$\{([^}]+)\}", sub, arg)
    raise UnsupportedPolicy(f"cannot resolve the Resource {value!r}")


def _strings(value: Any, what: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise UnsupportedPolicy(f"{what}: only strings are supported, got {value!r}")
    return tuple(values)


def _conditions(raw: Any, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UnsupportedPolicy(f"{where}: Condition must be a mapping")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, keys in raw.items():
        if operator not in OPERATORS:
            raise UnsupportedPolicy(f"{where}: condition operator {operator} is not implemented")
        out[operator] = {}
        for key, values in keys.items():
            _key_kind(key, where)
            if key in MULTI_VALUED and not operator.startswith("For"):
                raise UnsupportedPolicy(f"{where}: {operator} on the multi-valued {key} needs ForAllValues/ForAnyValue")
            if key not in MULTI_VALUED and operator.startswith("For"):
                raise UnsupportedPolicy(f"{where}: {operator} on the single-valued {key}")
            out[operator][key] = _strings(values, f"{where} {operator} {key}")
    return out


def _key_kind(key: str, where: str) -> str:
    if key in MULTI_VALUED:
        return "multi"
    if key in SINGLE_VALUED or key.startswith(SINGLE_VALUED_PREFIXES):
        return "single"
    raise UnsupportedPolicy(f"{where}: condition key {key} is not implemented")


def function_statements(template: Mapping[str, Any], arns: Mapping[str, str]) -> dict[str, list[Statement]]:
    """``{function logical id: [Statement, ...]}`` for every ``AWS::Serverless::Function``."""
    result: dict[str, list[Statement]] = {}
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        policies = (resource.get("Properties") or {}).get("Policies") or []
        if not isinstance(policies, list):
            policies = [policies]
        statements = result[logical_id] = []
        for policy in policies:
            if not isinstance(policy, dict) or set(policy) - {"Statement", "Version"}:
                raise UnsupportedPolicy(f"{logical_id}: only inline Statement policies are supported, got {policy!r}")
            for index, raw in enumerate(policy["Statement"]):
                sid = raw.get("Sid") or f"#{index}"
                where = f"{logical_id}.{sid}"
                unknown = set(raw) - {"Sid", "Effect", "Action", "Resource", "Condition"}
                if unknown:  # NotAction, NotResource, Principal...: not evaluated here
                    raise UnsupportedPolicy(f"{where}: {sorted(unknown)} not supported")
                if raw.get("Effect") not in ("Allow", "Deny"):
                    raise UnsupportedPolicy(f"{where}: Effect {raw.get('Effect')!r}")
                resources = raw["Resource"] if isinstance(raw["Resource"], list) else [raw["Resource"]]
                statements.append(
                    Statement(
                        function=logical_id,
                        sid=sid,
                        effect=raw["Effect"],
                        actions=_strings(raw["Action"], f"{where} Action"),
                        resources=tuple(_resolve(r, arns) for r in resources),
                        conditions=_conditions(raw.get("Condition"), where),
                    )
                )
    return result


# ---------------------------------------------------------------------------------------- evaluation


@cache
def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(value: str, pattern: str) -> bool:
    return _glob(pattern).fullmatch(value) is not None


def _equals(value: str, pattern: str) -> bool:
    return value == pattern


def _condition_holds(operator: str, key: str, allowed: tuple[str, ...], context: Mapping[str, tuple[str, ...]]) -> bool:
    base = operator.split(":")[-1]
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    match = _like if base == "StringLike" else _equals
    values = context.get(key)
    if operator.startswith("ForAllValues:"):
        return all(any(match(v, p) for p in allowed) for v in values or ())
    if operator.startswith("ForAnyValue:"):
        return any(any(match(v, p) for p in allowed) for v in values or ())
    if values is None:
        return if_exists
    if len(values) != 1:
        raise UnsupportedPolicy(f"{operator} {key}: the request carries {len(values)} values for a single-valued key")
    return any(match(values[0], p) for p in allowed)


def failed_conditions(statement: Statement, check: Check) -> list[str]:
    """The ``operator key`` pairs of ``statement`` that ``check`` does not satisfy (empty: all hold)."""
    return [
        f"{operator} {key}"
        for operator, keys in statement.conditions.items()
        for key, allowed in keys.items()
        if not _condition_holds(operator, key, allowed, check.context)
    ]


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, ignore_case=True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    return _glob(pattern).fullmatch(resource) is not None


@dataclass
class Decision:
    allowed: bool
    used: list[tuple[str, str, str]]  # the (sid, action, resource) grants that allowed it
    closest: str = ""  # for a denial: the statement that came closest and what failed


def evaluate(statements: list[Statement], check: Check) -> Decision:
    used: list[tuple[str, str, str]] = []
    denied_by: str | None = None
    near: list[tuple[tuple[int, int], str]] = []
    for st in statements:
        actions = [a for a in st.actions if action_matches(a, check.action)]
        resources = [r for r in st.resources if resource_matches(r, check.resource)]
        failed = failed_conditions(st, check) if actions and resources else []
        if actions and resources and not failed:
            if st.effect == "Deny":
                denied_by = st.sid
            else:
                used += [(st.sid, a, r) for a in actions for r in resources]
            continue
        misses = []
        if not actions:
            misses.append(f"action not in {list(st.actions)}")
        if not resources:
            misses.append(f"resource not in {list(st.resources)}")
        misses += [f"condition {c} fails (allows {_allowed(st, c)})" for c in failed]
        # Closest first: action and resource both matching (only conditions failed), then one of them.
        rank = (0 if actions and resources else 1 if actions or resources else 2, len(misses))
        near.append((rank, f"{st.sid}: " + "; ".join(misses)))
    if denied_by is not None:
        return Decision(False, [], f"explicitly denied by {denied_by}")
    if used:
        return Decision(True, used)
    near.sort(key=lambda x: x[0])
    return Decision(False, [], near[0][1] if near else "the function has no statement")


def _allowed(statement: Statement, failed: str) -> list[str]:
    operator, key = failed.split(" ", 1)
    return list(statement.conditions[operator][key])


# A combination one statement grants: ``(action, resource, values)`` where ``values`` holds one listed
# ``(operator, key, value)`` of each of its multi-valued (``ForAllValues``/``ForAnyValue``) conditions.
Combination = tuple[str, str, tuple[tuple[str, str, str], ...]]


def _value_axes(statement: Statement) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (operator, key, values)
        for operator, keys in sorted(statement.conditions.items())
        if operator.startswith("For")
        for key, values in sorted(keys.items())
    ]


def granted_combinations(statement: Statement) -> set[Combination]:
    """Every (action, resource, one listed value per multi-valued condition key) ``statement`` grants.

    A statement is one grant of its actions x resources x listed values: ``DeleteItem`` and
    ``TOOLKEY#rsa*`` in one statement grant ``DeleteItem`` on ``TOOLKEY#rsa*`` items, whether or not the
    code ever makes that call. So each combination must be used by some call, not each action and each
    value separately (with one value per key, this is the same as checking them separately).
    """
    axes = [[(operator, key, value) for value in values] for operator, key, values in _value_axes(statement)]
    return {(a, r, combo) for a in statement.actions for r in statement.resources for combo in product(*axes)}


def used_combinations(statement: Statement, check: Check) -> set[Combination]:
    """The combinations of ``statement`` an allowed ``check`` used: its matching actions and resources,
    and for each multi-valued key every listed value one of the request's values matched."""
    actions = [a for a in statement.actions if action_matches(a, check.action)]
    resources = [r for r in statement.resources if resource_matches(r, check.resource)]
    axes = []
    for operator, key, values in _value_axes(statement):
        match = _like if operator.endswith("StringLike") else _equals
        requested = check.context.get(key, ())
        axes.append([(operator, key, p) for p in values if any(match(v, p) for v in requested)])
    return {(a, r, combo) for a in actions for r in resources for combo in product(*axes)}
