"""The emulator's fault vocabulary: faults as data, the engine that applies them, and
what each effect does on the wire.

- :mod:`emulator.faults.model`: :class:`Fault` = :class:`Match` (which requests) +
  :class:`Effect` (what happens) + ``times``; :class:`Chaos`, :class:`FaultHit`, and
  their JSON forms;
- :mod:`emulator.faults.engine`: :class:`FaultEngine`, which decides per request which
  fault fires;
- :mod:`emulator.faults.effects`: the effect kinds and the decision the engine hands to
  the app, the socket server and the in-process adapter, and the socket-level enactment.

Everything a test or the control plane needs is importable from here:
``from emulator.faults import Effect, Fault, Match``.
"""

from emulator.faults.effects import (
    EffectType,
    ErrorEffect,
    FaultDecision,
    FaultHook,
    NoFaults,
    TransportEffect,
)
from emulator.faults.engine import MAX_RECORDED_HITS, FaultEngine
from emulator.faults.model import (
    DEFAULT_CHAOS_EFFECTS,
    INTERNAL_ERROR,
    NO_SUCH_UPLOAD,
    SECURITY_TOKEN_EXPIRED,
    SERVICE_UNAVAILABLE,
    SERVICES,
    Chaos,
    Effect,
    Fault,
    FaultHit,
    InvalidFault,
    Match,
    UnknownFault,
    coerce_faults,
    faults_from_json,
)

__all__ = [
    "DEFAULT_CHAOS_EFFECTS",
    "INTERNAL_ERROR",
    "MAX_RECORDED_HITS",
    "NO_SUCH_UPLOAD",
    "SECURITY_TOKEN_EXPIRED",
    "SERVICES",
    "SERVICE_UNAVAILABLE",
    "Chaos",
    "Effect",
    "EffectType",
    "ErrorEffect",
    "Fault",
    "FaultDecision",
    "FaultEngine",
    "FaultHit",
    "FaultHook",
    "InvalidFault",
    "Match",
    "NoFaults",
    "TransportEffect",
    "UnknownFault",
    "coerce_faults",
    "faults_from_json",
]
