"""STS's wire layer: AssumeRole's parameters in, the documented document out.

Key names are exactly those the tea model of ``alibabacloud-sts20150401`` maps
(specs/emulator-vod-sts.md); ``Expiration`` is ISO 8601 UTC without milliseconds.
"""

from __future__ import annotations

import time
from typing import Any

from emulator.rpc.call import RpcCall
from emulator.sts.models import AssumeRoleSpec, StsBackend


def _iso(epoch_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def assume_role(sts: StsBackend, call: RpcCall) -> dict[str, Any]:
    spec = AssumeRoleSpec(
        role_arn=call.required("RoleArn"),
        role_session_name=call.required("RoleSessionName"),
        # Out-of-range values are the model's InvalidParameter.DurationSeconds; only
        # non-integers are refused here.
        duration_seconds=call.optional_int("DurationSeconds"),
        policy=call.optional("Policy") or None,
        external_id=call.optional("ExternalId") or None,
    )
    assumed = sts.assume_role(spec)
    credential = assumed.credential
    expires_at = credential.expires_at if credential.expires_at is not None else 0.0
    return {
        "AssumedRoleUser": {"Arn": assumed.arn, "AssumedRoleId": assumed.assumed_role_id},
        "Credentials": {
            "SecurityToken": credential.security_token,
            "AccessKeyId": credential.access_key_id,
            "AccessKeySecret": credential.access_key_secret,
            "Expiration": _iso(expires_at),
        },
    }
