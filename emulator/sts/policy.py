"""AssumeRole's ``Policy``: parsed and checked, and enforced on OSS where it is simple.

The grammar is RAM's (``{"Version": "1", "Statement": [{"Effect", "Action", "Resource"}]}``)
and a malformed policy is refused as the real service does. Enforcement is a subset,
chosen because it is what upload code actually writes: when every ``Allow`` statement
names OSS resources in one bucket under one key prefix (``acs:oss:*:*:bucket/prefix*``),
the issued credential's :class:`Scope` is limited to that bucket, prefix and the OSS
operations its actions cover. Anything richer (several buckets, wildcards inside keys,
``Deny``, conditions) is accepted but not enforced, so the emulator never refuses what the
real service would allow.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.credentials import UNRESTRICTED, Scope
from emulator.sts.exceptions import InvalidPolicyGrammar, PolicySizeExceeded

POLICY_MAX_BYTES = 2048

# RAM's oss:PutObject also authorises the multipart calls that write the same object.
_OSS_ACTION_OPERATIONS = {
    "PutObject": {
        "PutObject",
        "InitiateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "AppendObject",
    },
    "GetObject": {"GetObject", "HeadObject", "GetObjectMeta"},
    "DeleteObject": {"DeleteObject", "DeleteMultipleObjects"},
    "ListObjects": {"ListObjects", "ListObjectsV2"},
}


def _as_list(value: Any, field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise InvalidPolicyGrammar(f"{field} must be a string or a non-empty list of strings.")
    return items


def _parse(policy: str) -> list[dict[str, Any]]:
    if len(policy.encode("utf-8")) > POLICY_MAX_BYTES:
        raise PolicySizeExceeded(POLICY_MAX_BYTES)
    try:
        document = json.loads(policy)
    except json.JSONDecodeError as exc:
        raise InvalidPolicyGrammar(f"not JSON ({exc.msg}).") from None
    if not isinstance(document, dict) or document.get("Version") != "1":
        raise InvalidPolicyGrammar('it must be an object with "Version": "1".')
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise InvalidPolicyGrammar("Statement must be a non-empty list.")
    for statement in statements:
        if not isinstance(statement, dict):
            raise InvalidPolicyGrammar("each Statement must be an object.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise InvalidPolicyGrammar('Effect must be "Allow" or "Deny".')
        _as_list(statement.get("Action"), "Action")
        _as_list(statement.get("Resource"), "Resource")
    return statements


def _oss_operations(actions: list[str]) -> frozenset[str] | None:
    operations: set[str] = set()
    for action in actions:
        if action in ("*", "oss:*"):
            return None
        service, _, name = action.partition(":")
        if service == "oss":
            operations |= _OSS_ACTION_OPERATIONS.get(name, {name})
    return frozenset(operations)


def scope_for_policy(policy: str | None) -> Scope:
    """The OSS scope a session policy grants (UNRESTRICTED when not representable)."""
    if not policy:
        return UNRESTRICTED
    statements = _parse(policy)
    if any(s["Effect"] == "Deny" or "Condition" in s for s in statements):
        return UNRESTRICTED
    buckets: set[str] = set()
    prefixes: set[str] = set()
    operations: set[str] = set()
    for statement in statements:
        statement_operations = _oss_operations(_as_list(statement["Action"], "Action"))
        if statement_operations is None:
            return UNRESTRICTED  # oss:* on these resources: no action limit to express
        operations |= statement_operations
        for resource in _as_list(statement["Resource"], "Resource"):
            parts = resource.split(":", 4)
            if len(parts) != 5 or parts[:2] != ["acs", "oss"]:
                return UNRESTRICTED
            bucket, _, key_pattern = parts[4].partition("/")
            if not bucket or "*" in bucket or "*" in key_pattern.rstrip("*"):
                return UNRESTRICTED
            buckets.add(bucket)
            prefixes.add(key_pattern.rstrip("*"))
    if len(buckets) != 1 or len(prefixes) != 1:
        return UNRESTRICTED
    prefix = prefixes.pop()
    return Scope(
        bucket=buckets.pop(),
        key_prefix=prefix or None,
        actions=frozenset(operations),
    )
