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
6. the nonce was not used before (``SignatureNonceUsed``). Nonces are recorded only after
   the signature holds, so a forged request cannot burn a nonce.

Replay protection (EMU-SEC-003). Every request must carry a nonce (RPC v1:
``SignatureNonce``, 400 ``MissingParameter``; ACS3: a signed ``x-acs-signature-nonce`` and
a signed ``x-acs-date``, 400 ``IncompleteSignature``), as the real gateway requires, so no
signed call can be replayed as it is. A nonce is remembered for as long as its timestamp
is acceptable by either clock (:mod:`emulator.rpc.nonces`), not for a fixed time on the
emulator clock, so moving that clock does not make an old nonce usable again.

Missing timestamp: accepted for RPC v1 only. The JS upload SDK 1.5.x signs its STS-mode
VOD calls without a ``Timestamp`` parameter and the emulator must
serve that flow; such a request is still signed and still bound by its nonce, which is
then remembered for good. Every other client sends a timestamp and has it checked.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.credentials import Credential, CredentialKind, CredentialStore
from emulator.db import Database
from emulator.http import Request
from emulator.numbers import is_ascii_digits
from emulator.rpc import errors
from emulator.rpc.nonces import NonceMemory, NonceUsed, TimestampForgotten
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
# The date and nonce are signed too, or a captured request could be replayed under a
# fresh nonce.
_ACS3_REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)

# The deferred signature check: called with the signer's secret once the key is known.
_Check = Callable[[str], None]


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
    nonce: str


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
        if not is_ascii_digits(digits):
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
        now, wall = self._clock.now(), self._wall()
        signed_at = self._check_timestamp(parts.timestamp, now, wall)
        check_signature(credential.access_key_secret)
        self._remember_nonce(parts.nonce, signed_at, now, wall)
        return Caller(credential=credential, scheme=scheme)

    # -- scheme-specific material ------------------------------------------------------

    def _rpc_v1(self, request: Request, params: dict[str, str]) -> tuple[_SignedParts, _Check]:
        access_key_id = params.get("AccessKeyId")
        if not access_key_id:
            raise errors.MissingParameter("AccessKeyId")
        method = params.get("SignatureMethod") or "HMAC-SHA1"
        if method not in RPC_SIGNATURE_METHODS:
            raise errors.InvalidSignatureMethod()
        nonce = params.get("SignatureNonce")
        if not nonce:
            raise errors.MissingParameter("SignatureNonce")
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
            nonce=nonce,
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
        missing = [
            name for name in must_sign if name not in signed or not request.headers.get(name)
        ]
        if missing or signed_headers != sorted(signed_headers):
            raise errors.IncompleteSignature(
                "The request signature does not conform to Aliyun standards: "
                f"SignedHeaders must be sorted and include {', '.join(must_sign)}, "
                "each present with a value."
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
            nonce=request.headers.get("x-acs-signature-nonce") or "",
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

    def _check_timestamp(self, timestamp: str | None, now: float, wall: float) -> float | None:
        """The signing instant, or None for a request without a timestamp."""
        if timestamp is None:
            return None  # see the module docstring: the JS SDK's STS mode sends none
        try:
            signed_at = parse_utc(timestamp)
        except (ValueError, OverflowError):
            raise errors.InvalidTimeStampFormat() from None
        window = self._config.max_clock_skew_seconds
        if abs(signed_at - now) > window and abs(signed_at - wall) > window:
            raise errors.InvalidTimeStampExpired(format_utc(now))
        return signed_at

    def _remember_nonce(self, nonce: str, signed_at: float | None, now: float, wall: float) -> None:
        memory = NonceMemory(
            self._db,
            capacity=self._config.max_remembered_nonces,
            window_seconds=self._config.max_clock_skew_seconds,
        )
        try:
            memory.remember(nonce, signed_at, clocks=(now, wall))
        except NonceUsed:
            raise errors.SignatureNonceUsed() from None
        except TimestampForgotten:
            raise errors.InvalidTimeStampExpired(format_utc(now)) from None
