"""Faults as data: what a fault matches, what it does, and its JSON form.

A :class:`Fault` is a :class:`Match` (which requests), an :class:`Effect` (what happens to
them) and ``times`` (how often it may fire); :class:`Chaos` describes seeded random faults
and :class:`FaultHit` records one request that met a fault. All are frozen, slotted,
keyword-only values validated in their constructors, each with ``to_json``/``from_json``,
so a test, the control plane and a Hypothesis strategy can all build them.
:mod:`emulator.faults.engine` holds the engine that applies them; :class:`EffectType`
(what an effect does) lives in :mod:`emulator.faults.effects`.

Errors: a malformed value or fault JSON raises :class:`InvalidFault` (a ``ValueError``)
before anything is built; :class:`UnknownFault` (a ``KeyError``) is what the engine raises
for an id it does not hold.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.faults.effects import EffectType, ErrorEffect, FaultDecision, TransportEffect
from emulator.http import OperationInfo

SERVICES = frozenset({"oss", "vod", "sts"})


class InvalidFault(ValueError):
    """A fault, effect, match or chaos description is malformed (nothing was changed)."""


class UnknownFault(KeyError):
    """No installed fault has this id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """Which requests a fault applies to. ``None`` in a field means "any".

    ``bucket`` and ``key`` are shell-style globs (``fnmatch``: ``*``, ``?``, ``[...]``);
    ``nth`` makes the fault skip the first ``nth - 1`` matching requests; ``probability``
    fires it on a fraction of the eligible ones, drawn from ``random.Random(seed)``.
    """

    service: str | None = None
    operation: str | None = None
    bucket: str | None = None
    key: str | None = None
    part_number: int | None = None
    nth: int = 1
    probability: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.service is not None and self.service not in SERVICES:
            raise InvalidFault(f"service must be one of {sorted(SERVICES)}, not {self.service!r}")
        if self.part_number is not None and not 1 <= self.part_number <= 10_000:
            raise InvalidFault("part_number must be between 1 and 10000")
        if self.nth < 1:
            raise InvalidFault("nth counts from 1")
        if not 0.0 <= self.probability <= 1.0:
            raise InvalidFault("probability must be between 0 and 1")

    def matches(self, info: OperationInfo) -> bool:
        if self.service is not None and info.service != self.service:
            return False
        if self.operation is not None and info.operation != self.operation:
            return False
        if self.part_number is not None and info.part_number != self.part_number:
            return False
        return _glob(self.bucket, info.bucket) and _glob(self.key, info.key)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "bucket": self.bucket,
            "key": self.key,
            "part_number": self.part_number,
            "nth": self.nth,
            "probability": self.probability,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, raw: object) -> Match:
        fields = _object(raw, "match", allowed=set(cls.__dataclass_fields__))
        return cls(
            service=_opt_str(fields, "service"),
            operation=_opt_str(fields, "operation"),
            bucket=_opt_str(fields, "bucket"),
            key=_opt_str(fields, "key"),
            part_number=_opt_int(fields, "part_number"),
            nth=_int(fields, "nth", 1),
            probability=_number(fields, "probability", 1.0),
            seed=_int(fields, "seed", 0),
        )


def _glob(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    # fnmatchcase, not fnmatch: object keys are case-sensitive on every platform.
    return value is not None and fnmatch.fnmatchcase(value, pattern)


# Which parameters each effect type takes (and requires); the rest must stay at defaults.
# The longest delay or stall a fault may ask for (EMU-SEC-002).
MAX_EFFECT_SECONDS = 3600.0

_EFFECT_PARAMETERS: dict[EffectType, frozenset[str]] = {
    EffectType.ERROR: frozenset({"status", "code", "message"}),
    EffectType.DELAY: frozenset({"seconds"}),
    EffectType.RESET_BEFORE_BODY: frozenset(),
    EffectType.RESET_AFTER_BODY: frozenset(),
    EffectType.STALL: frozenset({"seconds"}),
    EffectType.THROTTLE: frozenset({"bytes_per_second"}),
    EffectType.TRUNCATE: frozenset({"truncate_at"}),
    EffectType.DROP_AFTER_COMMIT: frozenset(),
}


_PARAMETER_DEFAULTS: dict[str, object] = {
    "status": 0,
    "code": "",
    "message": "",
    "seconds": 0.0,
    "bytes_per_second": 0,
    "truncate_at": 0,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Effect:
    """What happens to a matched request.

    - ``error``: answer ``status``/``code``/``message`` in the service's wire format
      without running the operation;
    - ``delay``: wait ``seconds``, then answer normally;
    - ``reset_before_body`` / ``reset_after_body``: close the connection before / after
      reading the request body, without running the operation;
    - ``stall``: read the request, send nothing for ``seconds``, then close;
    - ``throttle``: send the response body at ``bytes_per_second``;
    - ``truncate``: send the headers and only the first ``truncate_at`` body bytes;
    - ``drop_after_commit``: run the operation, then close without answering (the
      ambiguous CompleteMultipartUpload).
    """

    type: EffectType
    status: int = 0
    code: str = ""
    message: str = ""
    seconds: float = 0.0
    bytes_per_second: int = 0
    truncate_at: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.type, EffectType):
            raise InvalidFault(f"unknown effect type {self.type!r}")
        wanted = _EFFECT_PARAMETERS[self.type]
        for name, default in _PARAMETER_DEFAULTS.items():
            if name not in wanted and getattr(self, name) != default:
                raise InvalidFault(f"a {self.type.value} effect takes no {name!r}")
        if self.type is EffectType.ERROR:
            if not 400 <= self.status <= 599:
                raise InvalidFault("an error effect needs a status between 400 and 599")
            if not self.code:
                raise InvalidFault("an error effect needs a code")
        if self.type in (EffectType.DELAY, EffectType.STALL) and not (
            0 < self.seconds <= MAX_EFFECT_SECONDS
        ):
            # An unbounded wait is no test and overflows the server's timed waits
            # (EMU-SEC-002): at most an hour.
            raise InvalidFault(
                f"a {self.type.value} effect needs seconds > 0 and <= {MAX_EFFECT_SECONDS:.0f}"
            )
        if self.type is EffectType.THROTTLE and self.bytes_per_second < 1:
            raise InvalidFault("a throttle effect needs bytes_per_second >= 1")
        if self.type is EffectType.TRUNCATE and self.truncate_at < 0:
            raise InvalidFault("truncate_at must be >= 0")

    # Convenience constructors, so tests read as the effect they want.
    @classmethod
    def error(cls, status: int, code: str, message: str = "") -> Effect:
        return cls(type=EffectType.ERROR, status=status, code=code, message=message)

    @classmethod
    def delay(cls, seconds: float) -> Effect:
        return cls(type=EffectType.DELAY, seconds=seconds)

    @classmethod
    def reset_before_body(cls) -> Effect:
        return cls(type=EffectType.RESET_BEFORE_BODY)

    @classmethod
    def reset_after_body(cls) -> Effect:
        return cls(type=EffectType.RESET_AFTER_BODY)

    @classmethod
    def stall(cls, seconds: float) -> Effect:
        return cls(type=EffectType.STALL, seconds=seconds)

    @classmethod
    def throttle(cls, bytes_per_second: int) -> Effect:
        return cls(type=EffectType.THROTTLE, bytes_per_second=bytes_per_second)

    @classmethod
    def truncate(cls, truncate_at: int) -> Effect:
        return cls(type=EffectType.TRUNCATE, truncate_at=truncate_at)

    @classmethod
    def drop_after_commit(cls) -> Effect:
        return cls(type=EffectType.DROP_AFTER_COMMIT)

    def decision(self, fault_id: str) -> FaultDecision:
        if self.type is EffectType.ERROR:
            error = ErrorEffect(status=self.status, code=self.code, message=self.message)
            return FaultDecision(fault_id=fault_id, error=error)
        transport = TransportEffect(
            action=self.type,
            seconds=self.seconds,
            bytes_per_second=self.bytes_per_second,
            truncate_at=self.truncate_at,
        )
        return FaultDecision(fault_id=fault_id, transport=transport)

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"type": self.type.value}
        for name in sorted(_EFFECT_PARAMETERS[self.type]):
            result[name] = getattr(self, name)
        return result

    @classmethod
    def from_json(cls, raw: object) -> Effect:
        fields = _object(raw, "effect", allowed=set(cls.__dataclass_fields__))
        type_name = fields.get("type")
        try:
            effect_type = EffectType(type_name)
        except ValueError:
            names = [t.value for t in EffectType]
            raise InvalidFault(f"effect type must be one of {names}, not {type_name!r}") from None
        return cls(
            type=effect_type,
            status=_opt_int(fields, "status") or 0,
            code=_opt_str(fields, "code") or "",
            message=_opt_str(fields, "message") or "",
            seconds=_number(fields, "seconds", 0.0),
            bytes_per_second=_opt_int(fields, "bytes_per_second") or 0,
            truncate_at=_opt_int(fields, "truncate_at") or 0,
        )


# Ready-made error effects for the codes tests reach for most.
INTERNAL_ERROR = Effect.error(500, "InternalError", "We encountered an internal error.")
SERVICE_UNAVAILABLE = Effect.error(503, "ServiceUnavailable", "Service is unavailable.")
SECURITY_TOKEN_EXPIRED = Effect.error(
    403, "SecurityTokenExpired", "The security token you provided has expired."
)
NO_SUCH_UPLOAD = Effect.error(404, "NoSuchUpload", "The specified upload does not exist.")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """A match, an effect, and how many times it may fire (``None``: unlimited).

    ``id`` is assigned by the engine when left empty.
    """

    match: Match = field(default_factory=Match)
    effect: Effect
    times: int | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise InvalidFault("times must be >= 1 (or null for unlimited)")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": self.match.to_json(),
            "effect": self.effect.to_json(),
            "times": self.times,
        }

    @classmethod
    def from_json(cls, raw: object) -> Fault:
        fields = _object(raw, "fault", allowed={"id", "match", "effect", "times"})
        if "effect" not in fields:
            raise InvalidFault("a fault needs an effect")
        return cls(
            id=_opt_str(fields, "id") or "",
            match=Match.from_json(fields.get("match", {})),
            effect=Effect.from_json(fields["effect"]),
            times=_opt_int(fields, "times"),
        )


DEFAULT_CHAOS_EFFECTS: tuple[Effect, ...] = (
    INTERNAL_ERROR,
    SERVICE_UNAVAILABLE,
    Effect.reset_before_body(),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Chaos:
    """Seeded random faults: each request that ``match`` selects (and no installed fault
    claimed) meets one of ``effects`` with probability ``rate``."""

    seed: int
    rate: float
    effects: tuple[Effect, ...] = DEFAULT_CHAOS_EFFECTS
    match: Match = field(default_factory=Match)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise InvalidFault("rate must be between 0 and 1")
        if not self.effects:
            raise InvalidFault("chaos needs at least one effect")

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rate": self.rate,
            "effects": [effect.to_json() for effect in self.effects],
            "match": self.match.to_json(),
        }

    @classmethod
    def from_json(cls, raw: object) -> Chaos:
        fields = _object(raw, "chaos", allowed={"seed", "rate", "effects", "match"})
        seed = _opt_int(fields, "seed")
        if seed is None:
            raise InvalidFault("chaos needs a seed, so that a run can be reproduced")
        effects_raw = fields.get("effects")
        if effects_raw is None:
            effects = DEFAULT_CHAOS_EFFECTS
        elif isinstance(effects_raw, list):
            effects = tuple(Effect.from_json(item) for item in effects_raw)
        else:
            raise InvalidFault("effects must be a list")
        return cls(
            seed=seed,
            rate=_number(fields, "rate", 0.1),
            effects=effects,
            match=Match.from_json(fields.get("match", {})),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultHit:
    """One request that met a fault: which fault, which request, when (emulator time)."""

    fault_id: str
    effect: EffectType
    at: float
    service: str
    operation: str
    bucket: str | None
    key: str | None
    part_number: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "fault_id": self.fault_id,
            "effect": self.effect.value,
            "at": self.at,
            "service": self.service,
            "operation": self.operation,
            "bucket": self.bucket,
            "key": self.key,
            "part_number": self.part_number,
        }


def faults_from_json(raw: object) -> list[Fault]:
    """One fault object or a list of them."""
    if isinstance(raw, list):
        return [Fault.from_json(item) for item in raw]
    return [Fault.from_json(raw)]


def coerce_faults(items: Sequence[Fault | Mapping[str, Any]]) -> list[Fault]:
    """Faults given as values or as their JSON dicts (the pytest marker accepts both)."""
    return [item if isinstance(item, Fault) else Fault.from_json(dict(item)) for item in items]


# -- JSON field helpers: every malformed input becomes InvalidFault ---------------------
def _object(raw: object, what: str, *, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidFault(f"{what} must be a JSON object")
    unknown = set(raw) - allowed
    if unknown:
        raise InvalidFault(f"unknown {what} field(s): {sorted(unknown)}")
    return raw


def _opt_str(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidFault(f"{name} must be a string")


def _opt_int(fields: Mapping[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidFault(f"{name} must be an integer")
    return value


def _int(fields: Mapping[str, Any], name: str, default: int) -> int:
    value = _opt_int(fields, name)
    return default if value is None else value


def _number(fields: Mapping[str, Any], name: str, default: float) -> float:
    value = fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidFault(f"{name} must be a finite number")
    return float(value)
