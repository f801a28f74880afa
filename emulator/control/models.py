"""The control plane's operations on an emulator state (no HTTP here).

Each method is one documented control-plane operation (specs/emulator-control.md). They
return JSON-ready values and raise :class:`ControlError` (with an HTTP status and a code)
before changing anything when the input is bad.

Changes to the clock and the settings are written to the state's database at once
(:class:`~emulator.persistence.KnobStore`), so with ``--data-dir`` they survive a
restart like the service data does.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from emulator.clock import ClockOutOfRange, ClockSnapshot
from emulator.config import Settings
from emulator.credentials import Credential
from emulator.faults import (
    Chaos,
    FaultEngine,
    InvalidFault,
    UnknownFault,
    faults_from_json,
)
from emulator.persistence import InvalidSettings, apply_settings
from emulator.redaction import is_token_ref, mask_access_key_id, token_ref
from emulator.vod.exceptions import InvalidVideoNotFound
from emulator.vod.records import FailureStage

if TYPE_CHECKING:
    from emulator.namespaces import Namespaces
    from emulator.state import EmulatorState

SERVICE_NAMES = ("oss", "vod", "sts")


class ControlError(Exception):
    """A control-plane request that cannot be served; nothing was changed."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ControlError(400, "InvalidArgument", f"{name} must be a finite number of seconds")
    return float(value)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ControlPlane:
    """Control operations on one :class:`~emulator.state.EmulatorState`."""

    def __init__(self, state: EmulatorState, *, namespaces: Namespaces | None = None) -> None:
        self.state = state
        self.namespaces = namespaces

    @property
    def engine(self) -> FaultEngine:
        hook = self.state.faults
        if not isinstance(hook, FaultEngine):
            raise ControlError(
                409, "FaultsUnavailable", "this emulator state has no fault engine installed"
            )
        return hook

    # -- reset and state ---------------------------------------------------------------
    def reset(self, service: str | None = None) -> dict[str, Any]:
        """Reset one service's data, or everything (data, tokens, faults, chaos, request
        log, clock and settings) when ``service`` is ``None``."""
        state = self.state
        if service is not None and service not in SERVICE_NAMES:
            raise ControlError(
                400, "InvalidService", f"service must be one of {list(SERVICE_NAMES)}"
            )
        with state.lock:
            if service in (None, "oss"):
                state.oss.reset()
            if service in (None, "vod"):
                state.vod.reset()
            if service in (None, "sts"):
                state.credentials.clear()
            if service is None:
                if isinstance(state.faults, FaultEngine):
                    state.faults.reset()
                state.requests.clear()
                state.clock.restore(ClockSnapshot(offset=0.0, frozen_at=None))
                apply_settings(state.settings, dataclasses.asdict(Settings()))
                state.knobs.forget()
        return {"reset": list(SERVICE_NAMES) if service is None else [service]}

    def dump(self) -> dict[str, Any]:
        """Everything a test may want to assert on, as one JSON object."""
        state = self.state
        engine = state.faults if isinstance(state.faults, FaultEngine) else None
        return {
            "clock": self.clock(),
            "settings": self.settings(),
            "oss": state.oss.dump(),
            "vod": state.vod.dump(),
            "tokens": self.tokens(),
            "requests": [record.to_json() for record in state.requests.records()],
            "callbacks": state.vod.dispatcher.records(),
            "faults": {
                "installed": [] if engine is None else engine.list_faults(),
                "hits": [] if engine is None else [hit.to_json() for hit in engine.hits()],
                "chaos": None if engine is None else engine.chaos(),
            },
        }

    # -- clock -------------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        clock = self.state.clock
        snapshot = clock.snapshot()
        now = clock.now()
        return {
            "now": now,
            "iso": _iso(now),
            "frozen": snapshot.frozen_at is not None,
            "offset": snapshot.offset,
        }

    def freeze(self, at: object = None) -> dict[str, Any]:
        try:
            self.state.clock.freeze(None if at is None else _seconds(at, "at"))
        except ClockOutOfRange as exc:
            raise ControlError(400, "InvalidArgument", str(exc)) from None
        self.state.knobs.save_clock(self.state.clock)
        self._clock_moved()
        return self.clock()

    def advance(self, seconds: object) -> dict[str, Any]:
        seconds = _seconds(seconds, "seconds")
        if seconds < 0:
            raise ControlError(400, "InvalidArgument", "the emulator clock only moves forward")
        try:
            self.state.clock.advance(seconds)
        except ClockOutOfRange as exc:
            raise ControlError(400, "InvalidArgument", str(exc)) from None
        self.state.knobs.save_clock(self.state.clock)
        self._clock_moved()
        return self.clock()

    def unfreeze(self) -> dict[str, Any]:
        self.state.clock.unfreeze()
        self.state.knobs.save_clock(self.state.clock)
        self._clock_moved()
        return self.clock()

    def _clock_moved(self) -> None:
        """Videos may have reached their next status and callbacks their retry time:
        announce now, so the events are out when the control call returns."""
        self.state.vod.tick()
        self.state.vod.dispatcher.wake()

    # -- settings ----------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self.state.settings)

    def update_settings(self, values: object) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise ControlError(400, "InvalidSetting", "settings must be a JSON object")
        try:
            apply_settings(self.state.settings, values)
        except InvalidSettings as exc:
            raise ControlError(400, "InvalidSetting", str(exc)) from None
        self.state.knobs.save_settings(self.state.settings)
        return self.settings()

    # -- tokens ------------------------------------------------------------------------
    def _token_json(self, credential: Credential, now: float) -> dict[str, Any]:
        # Secrets stay out of the dump, and the AccessKeyId too (EMU-SEC-005): it is
        # masked, and a test names the token by its token_id.
        return {
            "access_key_id": mask_access_key_id(credential.access_key_id),
            "token_id": token_ref(credential.access_key_id),
            "kind": credential.kind.value,
            "issued_at": credential.issued_at,
            "expires_at": credential.expires_at,
            "expires_at_iso": None
            if credential.expires_at is None
            else _iso(credential.expires_at),
            "revoked": credential.revoked,
            "expired": credential.expired(now),
            "scope": json.loads(credential.scope.to_json()),
            "note": credential.note,
        }

    def tokens(self) -> list[dict[str, Any]]:
        now = self.state.clock.now()
        return [self._token_json(c, now) for c in self.state.credentials.all()]

    def _credential(self, name: str) -> Credential:
        """The temporary credential ``name`` names: its token_id, or its full AccessKeyId
        (accepted, never echoed: the 404 does not repeat it)."""
        if is_token_ref(name):
            found = [c for c in self.state.credentials.all() if token_ref(c.access_key_id) == name]
            credential = found[0] if found else None
        else:
            credential = self.state.credentials.get(name)
        if credential is None or credential.access_key_id == self.state.config.access_key_id:
            raise ControlError(
                404, "NoSuchToken", "no temporary credential has that token_id or AccessKeyId"
            )
        return credential

    def expire_token(self, name: str) -> dict[str, Any]:
        access_key_id = self._credential(name).access_key_id
        self.state.credentials.expire(access_key_id, now=self.state.clock.now())
        return self._token_json(self._credential(access_key_id), self.state.clock.now())

    def revoke_token(self, name: str) -> dict[str, Any]:
        access_key_id = self._credential(name).access_key_id
        self.state.credentials.revoke(access_key_id)
        return self._token_json(self._credential(access_key_id), self.state.clock.now())

    # -- faults and chaos --------------------------------------------------------------
    def add_faults(self, raw: object) -> list[dict[str, Any]]:
        engine = self.engine
        try:
            faults = faults_from_json(raw)
        except InvalidFault as exc:
            raise ControlError(400, "InvalidFault", str(exc)) from None
        try:
            return [fault.to_json() for fault in engine.add_all(faults)]
        except InvalidFault as exc:
            raise ControlError(409, "FaultExists", str(exc)) from None

    def list_faults(self) -> list[dict[str, Any]]:
        return self.engine.list_faults()

    def remove_fault(self, fault_id: str) -> dict[str, Any]:
        try:
            self.engine.remove(fault_id)
        except UnknownFault:
            raise ControlError(404, "NoSuchFault", f"no fault has id {fault_id!r}") from None
        return {"removed": fault_id}

    def clear_faults(self) -> dict[str, Any]:
        self.engine.clear()
        return {"cleared": True}

    def fault_hits(self) -> list[dict[str, Any]]:
        return [hit.to_json() for hit in self.engine.hits()]

    def start_chaos(self, raw: object) -> dict[str, Any]:
        engine = self.engine
        try:
            chaos = Chaos.from_json(raw)
        except InvalidFault as exc:
            raise ControlError(400, "InvalidChaos", str(exc)) from None
        engine.start_chaos(chaos)
        result = engine.chaos()
        assert result is not None
        return result

    def chaos(self) -> dict[str, Any] | None:
        return self.engine.chaos()

    def stop_chaos(self) -> dict[str, Any] | None:
        return self.engine.stop_chaos()

    # -- VOD lifecycle and callbacks ---------------------------------------------------
    def fail_video(self, video_id: str, stage: object) -> dict[str, Any]:
        """Make a video's upload or transcoding fail (EMU-VOD-021)."""
        try:
            failure = FailureStage(stage)
        except ValueError:
            raise ControlError(
                400, "InvalidStage", 'stage must be "upload" or "transcode"'
            ) from None
        try:
            video = self.state.vod.fail_video(video_id, failure)
        except InvalidVideoNotFound:
            raise ControlError(404, "NoSuchVideo", f"no video has id {video_id!r}") from None
        return {
            "video_id": video.video_id,
            "status": video.status.value,
            "fail_stage": failure.value,
        }

    def callbacks(self) -> list[dict[str, Any]]:
        return self.state.vod.dispatcher.records()

    def clear_callbacks(self) -> dict[str, Any]:
        self.state.vod.dispatcher.clear()
        return {"cleared": True}

    def vod_events(self) -> list[dict[str, Any]]:
        return list(self.state.vod.recent_events)

    # -- namespaces (one process, several emulators) ------------------------------------
    def _namespaces(self) -> Namespaces:
        if self.namespaces is None:
            raise ControlError(
                404, "NamespacesUnavailable", "this emulator does not serve namespaces"
            )
        return self.namespaces

    def create_namespace(self, name: object) -> dict[str, Any]:
        from emulator.namespaces import InvalidNamespace  # noqa: PLC0415 (import cycle)

        try:
            return self._namespaces().create(name)  # type: ignore[arg-type]
        except InvalidNamespace as exc:
            raise ControlError(400, "InvalidNamespace", str(exc)) from None

    def list_namespaces(self) -> list[dict[str, Any]]:
        return self._namespaces().list()

    def delete_namespace(self, name: str) -> dict[str, Any]:
        if not self._namespaces().delete(name):
            raise ControlError(404, "NoSuchNamespace", f"no namespace is named {name!r}")
        return {"deleted": name}

    # -- request log -------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        return [record.to_json() for record in self.state.requests.records()]

    def clear_requests(self) -> dict[str, Any]:
        self.state.requests.clear()
        return {"cleared": True}
