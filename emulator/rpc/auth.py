"""Who signed an RPC request, and whether the signature holds (RPC v1 and ACS3).

Checks, in order, each with the POP gateway's error code:

1. the signature material is complete (``IncompleteSignature``, ``InvalidSignatureMethod``);
2. the AccessKeyId is known (``InvalidAccessKeyId.NotFound``); UploadAuth credentials are
   OSS-only and may not call the APIs (``Forbidden.RAM``);
3. a temporary key comes with its own SecurityToken (``MissingSecurityToken``,
   ``InvalidSecurityToken.MismatchWithAccessKey``) that has not expired
   (``InvalidSecurityToken.Expired``);
4. the timestamp is well formed and within ``config.max_clock_skew_seconds`` of the
   emulator clock *or* of the wall clock (``InvalidTimeStamp.Format`` / ``.Expired``).
   SDKs sign with the real time, so a test that moves the emulator clock (to expire a
   token, then refresh it) must not turn every later call into a skew error; a client
   whose clock is off from both is still refused;
5. the signature matches (``SignatureDoesNotMatch``, compared in constant time);
6. the nonce was not used before within the skew window (``SignatureNonceUsed``). Nonces
   are recorded only after the signature holds, so a forged request cannot burn a nonce.

Missing timestamp: accepted. The JS upload SDK 1.5.x signs its STS-mode VOD calls without
a ``Timestamp`` parameter and the emulator must serve that flow;
such a request is still signed and still bound by its nonce, so it cannot be replayed
while the emulator remembers the nonce (twice the skew window, 30 minutes by default).
Every other client sends a timestamp and has it checked.
"""

from __future__ import annotations

import calendar
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.credentials import Credential, CredentialKind, CredentialStore
from emulator.db import Database
from emulator.http import Request
from emulator.rpc import errors
from emulator.rpc.params import SignatureScheme
from emulator.rpc.signing import (
    ACS3_ALGORITHM,
    RPC_SIGNATURE_METHODS,
    acs3_signature,
    acs3_string_to_sign,
    rpc_signature,
    rpc_string_to_sign,
    signatures_equal,
)

# Headers an ACS3 request must have signed: without them the action, the credentials or
# the body could be swapped under a valid signature.
_ACS3_REQUIRED_SIGNED = ("host", "x-acs-action", "x-acs-version", "x-acs-content-sha256")

# The deferred signature check: called with the signer's secret once the key is known.
_Check = Callable[[str], None]

_NONCE_SCHEMA = """
CREATE TABLE IF NOT EXISTS rpc_nonces (
    nonce TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rpc_nonces_seen_at ON rpc_nonces (seen_at);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """The verified signer of a request."""

    credential: Credential
    scheme: SignatureScheme


@dataclass(frozen=True, slots=True, kw_only=True)
class _SignedParts:
    access_key_id: str
    security_token: str | None
    timestamp: str | None
    nonce: str | None


def format_utc(epoch_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def parse_utc(text: str) -> float:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` (fractional seconds tolerated) as UTC epoch seconds."""
    base = text.strip()
    if not base.endswith("Z"):
        raise ValueError(text)
    base = base[:-1]
    fraction = 0.0
    if "." in base:
        base, _, digits = base.partition(".")
        if not digits.isdigit():
            raise ValueError(text)
        fraction = float("0." + digits)
    parsed = time.strptime(base, "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(parsed) + fraction


class Verifier:
    """Verifies RPC requests against the credential registry and the emulator clock."""

    def __init__(
        self,
        *,
        credentials: CredentialStore,
        clock: Clock,
        config: EmulatorConfig,
        db: Database,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._clock = clock
        self._config = config
        self._db = db
        self._wall = wall

    def verify(self, request: Request, params: dict[str, str], scheme: SignatureScheme) -> Caller:
        if scheme is SignatureScheme.ACS3:
            parts, check_signature = self._acs3(request, params)
        elif scheme is SignatureScheme.RPC_V1:
            parts, check_signature = self._rpc_v1(request, params)
        else:
            raise errors.MissingParameter("Signature")
        credential = self._credential(parts)
        now = self._clock.now()
        self._check_timestamp(parts.timestamp, now)
        check_signature(credential.access_key_secret)
        if parts.nonce:
            self._remember_nonce(parts.nonce, now)
        return Caller(credential=credential, scheme=scheme)

    # -- scheme-specific material ------------------------------------------------------

    def _rpc_v1(self, request: Request, params: dict[str, str]) -> tuple[_SignedParts, _Check]:
        access_key_id = params.get("AccessKeyId")
        if not access_key_id:
            raise errors.MissingParameter("AccessKeyId")
        method = params.get("SignatureMethod") or "HMAC-SHA1"
        if method not in RPC_SIGNATURE_METHODS:
            raise errors.InvalidSignatureMethod()
        received = params.get("Signature", "")
        string_to_sign = rpc_string_to_sign(request.method, params)

        def check(secret: str) -> None:
            expected = rpc_signature(string_to_sign, secret, method)
            if not signatures_equal(expected, received):
                raise errors.SignatureDoesNotMatch(string_to_sign)

        parts = _SignedParts(
            access_key_id=access_key_id,
            security_token=params.get("SecurityToken") or None,
            timestamp=params.get("Timestamp"),
            nonce=params.get("SignatureNonce"),
        )
        return parts, check

    def _acs3(self, request: Request, params: dict[str, str]) -> tuple[_SignedParts, _Check]:
        authorization = request.headers.get("Authorization") or ""
        algorithm, _, rest = authorization.partition(" ")
        if algorithm != ACS3_ALGORITHM:
            raise errors.InvalidSignatureMethod()
        fields: dict[str, str] = {}
        for item in rest.split(","):
            name, sep, value = item.strip().partition("=")
            if sep:
                fields[name] = value
        access_key_id = fields.get("Credential", "")
        signed_headers = [h for h in fields.get("SignedHeaders", "").split(";") if h]
        received = fields.get("Signature", "")
        if not access_key_id or not received or not signed_headers:
            raise errors.IncompleteSignature()
        signed = set(signed_headers)
        must_sign = list(_ACS3_REQUIRED_SIGNED)
        if request.headers.get("x-acs-security-token") is not None:
            must_sign.append("x-acs-security-token")
        missing = [name for name in must_sign if name not in signed]
        if missing or signed_headers != sorted(signed_headers):
            raise errors.IncompleteSignature(
                "The request signature does not conform to Aliyun standards: "
                f"SignedHeaders must be sorted and include {', '.join(must_sign)}."
            )
        string_to_sign = acs3_string_to_sign(
            method=request.method,
            path=request.raw_path,
            query=request.query,
            headers=request.headers,
            signed_headers=signed_headers,
            body=request.body_bytes(),
        )

        def check(secret: str) -> None:
            if not signatures_equal(acs3_signature(string_to_sign, secret), received.lower()):
                raise errors.SignatureDoesNotMatch(string_to_sign)

        parts = _SignedParts(
            access_key_id=access_key_id,
            security_token=request.headers.get("x-acs-security-token")
            or params.get("SecurityToken")
            or None,
            timestamp=request.headers.get("x-acs-date"),
            nonce=request.headers.get("x-acs-signature-nonce"),
        )
        return parts, check

    # -- shared checks -----------------------------------------------------------------

    def _credential(self, parts: _SignedParts) -> Credential:
        credential = self._credentials.get(parts.access_key_id)
        if credential is None:
            raise errors.InvalidAccessKeyIdNotFound()
        if credential.kind in (CredentialKind.UPLOAD_AUTH, CredentialKind.PLAY_AUTH):
            # An UploadAuth may write one OSS object, a play credential read one; neither
            # is an API credential.
            raise errors.ForbiddenRam()
        if credential.kind is CredentialKind.ROOT:
            if parts.security_token is not None:
                raise errors.InvalidSecurityTokenMismatch()
            return credential
        if parts.security_token is None:
            raise errors.MissingSecurityToken()
        expected_token = credential.security_token or ""
        if not signatures_equal(expected_token, parts.security_token):
            raise errors.InvalidSecurityTokenMismatch()
        if credential.expired(self._clock.now()):
            raise errors.InvalidSecurityTokenExpired()
        return credential

    def _check_timestamp(self, timestamp: str | None, now: float) -> None:
        if timestamp is None:
            return  # see the module docstring: the JS SDK's STS mode sends none
        try:
            signed_at = parse_utc(timestamp)
        except ValueError:
            raise errors.InvalidTimeStampFormat() from None
        window = self._config.max_clock_skew_seconds
        if abs(signed_at - now) > window and abs(signed_at - self._wall()) > window:
            raise errors.InvalidTimeStampExpired(format_utc(now))

    def _remember_nonce(self, nonce: str, now: float) -> None:
        horizon = now - 2 * self._config.max_clock_skew_seconds
        try:
            self._insert_nonce(nonce, now, horizon)
        except sqlite3.OperationalError:
            # First signed request of this database: create the table, then retry.
            self._db.ensure_schema(_NONCE_SCHEMA)
            self._insert_nonce(nonce, now, horizon)

    def _insert_nonce(self, nonce: str, now: float, horizon: float) -> None:
        with self._db.transaction() as conn:
            # Nonces older than twice the skew window can never be replayed successfully
            # (their timestamp would be rejected), so forgetting them keeps the table small.
            conn.execute("DELETE FROM rpc_nonces WHERE seen_at < ?", (horizon,))
            try:
                conn.execute("INSERT INTO rpc_nonces VALUES (?, ?)", (nonce, now))
            except sqlite3.IntegrityError:
                raise errors.SignatureNonceUsed() from None
