"""The fault engine: which request meets which fault.

:class:`FaultEngine` is the emulator's :class:`~emulator.faults.effects.FaultHook`: the
app (or the socket server, before reading a body) asks it once per request, and it
answers with the first installed fault that fires, else with a chaos draw, else ``None``.
Every fired fault is recorded as a :class:`~emulator.faults.model.FaultHit`. The faults
themselves (values with a JSON form) live in :mod:`emulator.faults.model`.

Determinism: the engine consumes randomness only from ``random.Random`` instances seeded by
the fault (``Match.seed``) or the chaos configuration, and only in request order under one
lock. The same seed and the same request sequence give the same fault sequence.

Errors: installing a fault whose id is taken raises
:class:`~emulator.faults.model.InvalidFault` (a ``ValueError``) before anything is added;
removing an unknown id raises :class:`~emulator.faults.model.UnknownFault` (a ``KeyError``).
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.faults.effects import FaultDecision
from emulator.faults.model import (
    SERVICES,
    Chaos,
    Effect,
    Fault,
    FaultHit,
    InvalidFault,
    UnknownFault,
)
from emulator.http import OperationInfo

# Fault hits kept for the state dump; older ones are dropped first.
MAX_RECORDED_HITS = 10_000


@dataclass(slots=True)
class _Installed:
    """Mutable bookkeeping for one installed fault (owned by the engine's lock)."""

    fault: Fault
    rng: random.Random
    seen: int = 0
    fired: int = 0


@dataclass(slots=True)
class _ChaosRun:
    chaos: Chaos
    rng: random.Random
    fired: int = 0


class FaultEngine:
    """The installed faults and chaos mode; thread-safe; implements ``FaultHook``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Installed] = []
        self._chaos: _ChaosRun | None = None
        self._hits: deque[FaultHit] = deque(maxlen=MAX_RECORDED_HITS)
        self._ids = itertools.count(1)

    # -- installing ------------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        """Install ``fault`` after the existing ones; returns it with its id."""
        return self.add_all([fault])[0]

    def add_all(self, faults: Iterable[Fault]) -> list[Fault]:
        """Install several faults, all or none: an id that is already installed (or given
        twice) raises :class:`InvalidFault` before anything is added."""
        pending = list(faults)
        with self._lock:
            taken = {item.fault.id for item in self._faults}
            for fault in pending:
                if fault.id and fault.id in taken:
                    raise InvalidFault(f"a fault with id {fault.id!r} is already installed")
                taken.add(fault.id)
            added = []
            for given in pending:
                fault = given if given.id else _with_id(given, self._fresh_id(taken))
                self._faults.append(_Installed(fault=fault, rng=random.Random(fault.match.seed)))
                added.append(fault)
            return added

    def _fresh_id(self, taken: set[str]) -> str:
        while True:
            candidate = f"fault-{next(self._ids)}"
            if candidate not in taken:
                taken.add(candidate)
                return candidate

    def remove(self, fault_id: str) -> None:
        with self._lock:
            for index, item in enumerate(self._faults):
                if item.fault.id == fault_id:
                    del self._faults[index]
                    return
        raise UnknownFault(fault_id)

    def list_faults(self) -> list[dict[str, Any]]:
        """Installed faults with how often each was seen and fired."""
        with self._lock:
            return [
                {**item.fault.to_json(), "seen": item.seen, "fired": item.fired}
                for item in self._faults
            ]

    def clear(self) -> None:
        """Remove every fault and stop chaos (recorded hits stay; see :meth:`reset`)."""
        with self._lock:
            self._faults.clear()
            self._chaos = None

    def reset(self) -> None:
        """Back to a fresh engine: no faults, no chaos, no hits, ids from 1."""
        with self._lock:
            self._faults.clear()
            self._chaos = None
            self._hits.clear()
            self._ids = itertools.count(1)

    # -- chaos -----------------------------------------------------------------------
    def start_chaos(self, chaos: Chaos) -> None:
        with self._lock:
            self._chaos = _ChaosRun(chaos=chaos, rng=random.Random(chaos.seed))

    def stop_chaos(self) -> dict[str, Any] | None:
        """Stop chaos; returns what ran (with how many faults it fired), or ``None``."""
        with self._lock:
            run, self._chaos = self._chaos, None
        return None if run is None else {**run.chaos.to_json(), "fired": run.fired}

    def chaos(self) -> dict[str, Any] | None:
        with self._lock:
            run = self._chaos
            return None if run is None else {**run.chaos.to_json(), "fired": run.fired}

    # -- deciding --------------------------------------------------------------------
    def decide(self, info: OperationInfo, *, now: float) -> FaultDecision | None:
        if info.service not in SERVICES:
            return None  # the control plane never meets a fault
        with self._lock:
            decision = self._decide_installed(info) or self._decide_chaos(info)
            if decision is not None:
                fault_id, effect = decision
                self._hits.append(
                    FaultHit(
                        fault_id=fault_id,
                        effect=effect.type,
                        at=now,
                        service=info.service,
                        operation=info.operation,
                        bucket=info.bucket,
                        key=info.key,
                        part_number=info.part_number,
                    )
                )
                return effect.decision(fault_id)
        return None

    def _decide_installed(self, info: OperationInfo) -> tuple[str, Effect] | None:
        chosen: tuple[str, Effect] | None = None
        for item in self._faults:
            match = item.fault.match
            if not match.matches(info):
                continue
            # Every matching fault counts the request, even when an earlier fault already
            # claimed it, so "the Nth UploadPart" means the Nth one the client sent.
            item.seen += 1
            if chosen is not None or item.seen < match.nth:
                continue
            if item.fault.times is not None and item.fired >= item.fault.times:
                continue
            if match.probability < 1.0 and item.rng.random() >= match.probability:
                continue
            item.fired += 1
            chosen = (item.fault.id, item.fault.effect)
        return chosen

    def _decide_chaos(self, info: OperationInfo) -> tuple[str, Effect] | None:
        run = self._chaos
        if run is None or not run.chaos.match.matches(info):
            return None
        # Two draws per eligible request, always, so the sequence depends only on the
        # seed and the request order.
        roll = run.rng.random()
        effect = run.rng.choice(run.chaos.effects)
        if roll >= run.chaos.rate:
            return None
        run.fired += 1
        return (f"chaos-{run.chaos.seed}-{run.fired}", effect)

    def hits(self) -> list[FaultHit]:
        with self._lock:
            return list(self._hits)


def _with_id(fault: Fault, fault_id: str) -> Fault:
    return Fault(match=fault.match, effect=fault.effect, times=fault.times, id=fault_id)
