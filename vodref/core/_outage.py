"""Outages (UP-OUTAGE-001): the connection failing as a whole, as moves on a
:class:`~vodref.core._machine.Machine`.

UNAVAILABLE failures in a row across every file open an outage once there are
:func:`~vodref.core.states.outage_threshold` of them. While it lasts, no OSS request starts
(:func:`may_send` says no) except one probe per backoff (a ``ProbeTimer``); the first OSS
success ends it (:func:`connection_ok`) and every file fills its slots again
(:func:`release_held`). The state lives on the machine (``failing``, ``outage_since``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._records import FileRecord
from ._timers import ProbeTimer
from .states import PartKey, RetryKey, outage_threshold
from .values import ServiceError

if TYPE_CHECKING:
    from ._machine import Machine

__all__ = ["back_off", "connection_ok", "ensure_probe", "may_send", "release_held"]


def may_send(m: Machine) -> bool:
    """Whether an OSS request may start now: always, except during an outage, when only
    the one probe a ProbeTimer allowed may (the next ``request`` becomes the probe)."""
    if m.outage_since is None:
        return True
    if m.probe_allowed and m.probe_id is None:
        m.probe_allowed = False
        m.claiming_probe = True
        return True
    return False


def back_off(m: Machine, rec: FileRecord, key: RetryKey, error: ServiceError) -> None:
    """Reaction BACK_OFF: the connection failed. Alone, it is a retry; the
    outage_threshold-th in a row opens an outage, whose failures only wait for the probe
    (and fail the file once the outage lasted ``outage_limit``)."""
    m.failing += 1
    if m.outage_since is None and m.failing >= outage_threshold(m.options.parallel):
        m.outage_since = m.now
        m.outage_number += 1
        m.outage_round = 0
        m.probe_allowed = False
    if m.outage_since is None:
        m.retry(rec, key, error)
        return
    if isinstance(key, PartKey):
        rec.requeue.appendleft(key.number)
    limit = m.options.outage_limit
    if limit is not None and m.now - m.outage_since >= limit:
        m.fail(rec, error)
        return
    if not isinstance(key, PartKey):
        rec.op_waiting = True
        m.held[rec.file_id] = rec


def connection_ok(m: Machine) -> bool:
    """An OSS request succeeded: the failures in a row end, and so does an outage (True
    when one ended: the caller lets every file go on)."""
    m.failing = 0
    if m.outage_since is None:
        return False
    m.outage_since = None
    m.outage_round = 0
    m.probe_allowed = False
    m.probe_armed = False
    return True


def release_held(m: Machine) -> None:
    """Let held ops start again and every Uploading file fill its slots (each start still
    goes through may_send)."""
    held, m.held = m.held, {}
    for rec in held.values():
        if rec.uploading and rec.op_in_flight is None:
            rec.op_waiting = False
    for rec in list(m.active.values()):
        m.advance(rec)


def ensure_probe(m: Machine) -> None:
    """During an outage a probe is always in flight, allowed or armed; with nothing left
    Uploading, the outage is forgotten (a later start tries at once)."""
    if m.outage_since is None:
        return
    if not m.active:
        connection_ok(m)
        m.held.clear()
        return
    if m.probe_id is not None or m.probe_allowed or m.probe_armed:
        return
    m.outage_round += 1
    m.probe_armed = True
    delay = m.policy.delay(m.outage_round, m.unit_random())
    m.arm(m.now + delay, ProbeTimer(m.outage_number))
