"""The emulated STS service (API 2015-04-01): AssumeRole.

STS keeps no state of its own: every credential it issues goes into the shared
:class:`CredentialStore` (kind ``STS``), which OSS and the RPC verifier consult. So a token
from AssumeRole signs OSS requests and VOD calls alike (the JS SDK's "STS mode"), and
expires on the emulator clock. Roles are not modelled: any role name in the emulator's
account may be assumed; a role in another account is ``NoPermission``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from emulator.clock import Clock
from emulator.config import EmulatorConfig, Settings
from emulator.credentials import Credential, CredentialKind, CredentialStore
from emulator.sts.exceptions import (
    InvalidDurationSeconds,
    InvalidRoleArn,
    InvalidRoleSessionName,
    NoPermission,
)
from emulator.sts.policy import scope_for_policy

MIN_DURATION_SECONDS = 900
_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>\d+):role/(?P<role>[A-Za-z0-9._-]{1,64})$")
_SESSION_NAME = re.compile(r"^[A-Za-z0-9.@_-]{2,64}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class AssumeRoleSpec:
    role_arn: str
    role_session_name: str
    duration_seconds: int | None = None
    policy: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssumedRole:
    credential: Credential
    arn: str
    assumed_role_id: str


class StsBackend:
    def __init__(
        self,
        *,
        credentials: CredentialStore,
        clock: Clock,
        config: EmulatorConfig,
        settings: Settings,
    ) -> None:
        self.credentials = credentials
        self.clock = clock
        self.config = config
        self.settings = settings

    def assume_role(self, spec: AssumeRoleSpec) -> AssumedRole:
        match = _ROLE_ARN.match(spec.role_arn)
        if match is None:
            raise InvalidRoleArn()
        if match["account"] != self.config.account_id:
            raise NoPermission()
        if not _SESSION_NAME.match(spec.role_session_name):
            raise InvalidRoleSessionName()
        # Settings are read per call: the control plane may change them while running.
        maximum = int(self.settings.sts_max_ttl_seconds)
        duration = (
            int(self.settings.sts_default_ttl_seconds)
            if spec.duration_seconds is None
            else spec.duration_seconds
        )
        if not MIN_DURATION_SECONDS <= duration <= maximum:
            raise InvalidDurationSeconds(MIN_DURATION_SECONDS, maximum)
        scope = scope_for_policy(spec.policy)
        role = match["role"]
        credential = self.credentials.issue(
            now=self.clock.now(),
            ttl_seconds=duration,
            kind=CredentialKind.STS,
            scope=scope,
            note=f"sts:{spec.role_arn}/{spec.role_session_name}",
        )
        return AssumedRole(
            credential=credential,
            arn=f"{spec.role_arn}/{spec.role_session_name}",
            assumed_role_id=f"{self._role_id(role)}:{spec.role_session_name}",
        )

    def _role_id(self, role: str) -> str:
        """A stable 18-digit role id, as RAM shows them (derived: roles are not stored)."""
        digest = hashlib.sha256(f"{self.config.account_id}:{role}".encode()).hexdigest()
        return str(int(digest, 16))[:18]

    def reset(self) -> None:
        """Nothing to forget: issued credentials live in (and are reset with) the store."""

    def dump(self) -> dict[str, Any]:
        """The STS credentials issued so far (ids and expiry; never secrets)."""
        return {
            "credentials": [
                {
                    "access_key_id": credential.access_key_id,
                    "expires_at": credential.expires_at,
                    "expired": credential.expired(self.clock.now()),
                    "note": credential.note,
                }
                for credential in self.credentials.all()
                if credential.kind is CredentialKind.STS
            ]
        }
