"""A small typed client for the control plane, on ``requests``.

``requests`` rather than urllib on purpose: in-process mode (:func:`emulator.mock_vod`)
intercepts ``requests``, so the very same client drives a socket emulator and an
in-process one.

Errors: a control-plane refusal raises :class:`ControlClientError` with the status, code
and message the emulator sent; transport problems raise ``requests`` exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from emulator.faults import DEFAULT_CHAOS_EFFECTS, Chaos, Effect, Fault, Match
from emulator.redaction import is_token_ref, token_ref


class ControlClientError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockReading:
    now: float
    iso: str
    frozen: bool
    offset: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenInfo:
    """A temporary credential as the control plane lists it (EMU-CTL-006): no secret, no
    token, the AccessKeyId masked (``STS.***1a2b``); ``token_id`` names it in
    :meth:`Client.expire_token` and :meth:`Client.revoke_token`."""

    access_key_id: str  # masked
    token_id: str
    kind: str
    issued_at: float
    expires_at: float | None
    revoked: bool
    expired: bool
    scope: dict[str, Any]
    note: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TokenInfo:
        return cls(
            access_key_id=raw["access_key_id"],
            token_id=raw["token_id"],
            kind=raw["kind"],
            issued_at=raw["issued_at"],
            expires_at=raw["expires_at"],
            revoked=raw["revoked"],
            expired=raw["expired"],
            scope=raw["scope"],
            note=raw["note"],
        )

    def is_for(self, access_key_id: str) -> bool:
        """Whether this is the credential whose (full) AccessKeyId is ``access_key_id``."""
        return self.token_id == token_ref(access_key_id)


def _token_path(token: TokenInfo | str) -> str:
    """A listed token, its token_id, or a full AccessKeyId, as the id the path carries:
    always a token_id, so the AccessKeyId never travels in a path (nor a log line)."""
    if isinstance(token, TokenInfo):
        return token.token_id
    return token if is_token_ref(token) else token_ref(token)


FaultLike = Fault | Mapping[str, Any]


def _fault_json(fault: FaultLike) -> dict[str, Any]:
    return fault.to_json() if isinstance(fault, Fault) else dict(fault)


class Client:
    """``Client("http://127.0.0.1:PORT")``: every control-plane operation as a method.

    ``token``: the control-plane token, when the emulator was started with one
    (``--control-token``, EMU-SEC-009); sent as ``Authorization: Bearer``."""

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._session = session or requests.Session()
        # The control plane is always local: never send it through HTTP_PROXY.
        self._session.trust_env = False
        if token is not None:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(
            method,
            f"{self.url}/_emulator{path}",
            json=body,
            timeout=self.timeout,
        )
        try:
            value = response.json()
        except ValueError:
            raise ControlClientError(response.status_code, "NotJSON", response.text[:200]) from None
        if response.status_code != 200:
            error = value.get("error", {}) if isinstance(value, dict) else {}
            raise ControlClientError(
                response.status_code, error.get("code", "Unknown"), error.get("message", "")
            )
        return value

    # -- reset and state ---------------------------------------------------------------
    def health(self) -> bool:
        return bool(self._call("GET", "/health").get("status") == "ok")

    def reset(self, service: str | None = None) -> list[str]:
        """Reset everything, or only ``"oss"``, ``"vod"`` or ``"sts"``."""
        return list(self._call("POST", "/reset", {"service": service})["reset"])

    def state(self) -> dict[str, Any]:
        """The JSON dump: clock, settings, oss, vod, tokens, requests, faults."""
        return dict(self._call("GET", "/state"))

    # -- clock -------------------------------------------------------------------------
    def clock(self) -> ClockReading:
        return ClockReading(**self._call("GET", "/clock"))

    def freeze(self, at: float | None = None) -> ClockReading:
        return ClockReading(**self._call("POST", "/clock/freeze", {"at": at}))

    def advance(self, seconds: float) -> ClockReading:
        return ClockReading(**self._call("POST", "/clock/advance", {"seconds": seconds}))

    def unfreeze(self) -> ClockReading:
        return ClockReading(**self._call("POST", "/clock/unfreeze"))

    # -- settings and tokens -----------------------------------------------------------
    def settings(self) -> dict[str, float]:
        return dict(self._call("GET", "/settings"))

    def update_settings(self, **values: float) -> dict[str, float]:
        """E.g. ``update_settings(upload_auth_ttl_seconds=2, sts_default_ttl_seconds=60)``."""
        return dict(self._call("PUT", "/settings", values))

    def tokens(self) -> list[TokenInfo]:
        return [TokenInfo.from_json(raw) for raw in self._call("GET", "/tokens")]

    def expire_token(self, token: TokenInfo | str) -> TokenInfo:
        """Expire ``token`` now: a listed :class:`TokenInfo`, its ``token_id``, or the full
        AccessKeyId a test holds (sent as its token_id)."""
        return TokenInfo.from_json(self._call("POST", f"/tokens/{_token_path(token)}/expire"))

    def revoke_token(self, token: TokenInfo | str) -> TokenInfo:
        """Revoke ``token`` (named as for :meth:`expire_token`)."""
        return TokenInfo.from_json(self._call("POST", f"/tokens/{_token_path(token)}/revoke"))

    # -- faults ------------------------------------------------------------------------
    def add_fault(
        self,
        fault: FaultLike | None = None,
        *,
        effect: Effect | None = None,
        match: Match | None = None,
        times: int | None = None,
    ) -> str:
        """Install one fault (a :class:`Fault`, its JSON dict, or ``effect=``/``match=``/
        ``times=``); returns its id."""
        if fault is None:
            if effect is None:
                raise ValueError("pass a fault, or at least effect=")
            fault = Fault(match=match or Match(), effect=effect, times=times)
        return str(self._call("POST", "/faults", _fault_json(fault))[0]["id"])

    def add_faults(self, faults: Iterable[FaultLike]) -> list[str]:
        added = self._call("POST", "/faults", [_fault_json(fault) for fault in faults])
        return [str(item["id"]) for item in added]

    def faults(self) -> list[dict[str, Any]]:
        """Installed faults, each with ``seen`` and ``fired`` counters."""
        return list(self._call("GET", "/faults"))

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def fault_hits(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults/hits"))

    # -- chaos -------------------------------------------------------------------------
    def start_chaos(
        self,
        *,
        seed: int,
        rate: float,
        effects: Iterable[Effect] | None = None,
        match: Match | None = None,
    ) -> dict[str, Any]:
        """Start seeded chaos (``effects`` default: 500, 503 and a reset before the body)."""
        chosen = DEFAULT_CHAOS_EFFECTS if effects is None else tuple(effects)
        chaos = Chaos(seed=seed, rate=rate, effects=chosen, match=match or Match())
        return dict(self._call("POST", "/chaos", chaos.to_json()))

    def chaos(self) -> dict[str, Any] | None:
        value = self._call("GET", "/chaos")
        return None if value is None else dict(value)

    def stop_chaos(self) -> dict[str, Any] | None:
        value = self._call("DELETE", "/chaos")
        return None if value is None else dict(value)

    # -- VOD lifecycle and callbacks ---------------------------------------------------
    def fail_video(self, video_id: str, stage: str = "transcode") -> dict[str, Any]:
        """Make a video's ``"upload"`` or ``"transcode"`` stage fail."""
        return dict(self._call("POST", f"/vod/videos/{video_id}/fail", {"stage": stage}))

    def vod_events(self) -> list[dict[str, Any]]:
        """The VOD events emitted (FileUploadComplete, TranscodeComplete, ...)."""
        return list(self._call("GET", "/vod/events"))

    def callbacks(self) -> list[dict[str, Any]]:
        """Callback deliveries: pending, delivered, failed, refused or skipped."""
        return list(self._call("GET", "/callbacks"))

    def clear_callbacks(self) -> None:
        self._call("DELETE", "/callbacks")

    # -- namespaces --------------------------------------------------------------------
    def create_namespace(self, name: str) -> str:
        """The URL of this emulator's namespace ``name`` (created on first use): an
        emulator of its own, for one pytest-xdist worker say."""
        return str(self._call("POST", "/namespaces", {"name": name})["url"])

    def namespaces(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/namespaces"))

    def delete_namespace(self, name: str) -> None:
        self._call("DELETE", f"/namespaces/{name}")

    # -- request log -------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/requests"))

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")
