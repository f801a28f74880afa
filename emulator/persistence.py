"""What makes a ``--data-dir`` emulator come back as it was: knobs and garbage collection.

The services keep their own rows (buckets, objects, parts, videos, credentials) in the
state's SQLite database, committed before a request is answered. Two things are not
service rows and live here, in one small key/value table of the same database:

- the clock (offset from wall time and frozen instant): a test that froze or advanced
  time finds it where it left it after a restart;
- the :class:`~emulator.config.Settings` the control plane changed (token TTLs, ...).

Both are written whenever the control plane changes them, in one transaction each, so a
SIGKILL leaves either the old or the new value, never a mix.

Garbage collection: a blob is written (temp file, fsync, rename) *before* the row that
refers to it is committed, so a crash between the two leaves an orphan blob, never a row
pointing at nothing. :func:`collect_orphan_blobs` deletes such orphans; it must run at
start-up, before requests are served, because a request in flight legitimately owns a
blob that no row refers to yet.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from emulator.blobs import BlobStore
from emulator.clock import ClockSnapshot, EmulatorClock
from emulator.config import Settings
from emulator.db import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS emulator_knobs (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_CLOCK = "clock"
_SETTINGS = "settings"


class KnobStore:
    """The clock and settings rows of one emulator database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(_SCHEMA)

    def _put(self, name: str, value: dict[str, Any]) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO emulator_knobs (name, value) VALUES (?, ?)",
                (name, json.dumps(value, sort_keys=True)),
            )

    def _get(self, name: str) -> dict[str, Any] | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT value FROM emulator_knobs WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def _delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM emulator_knobs WHERE name = ?", (name,))

    def save_clock(self, clock: EmulatorClock) -> None:
        snapshot = clock.snapshot()
        self._put(_CLOCK, {"offset": snapshot.offset, "frozen_at": snapshot.frozen_at})

    def save_settings(self, settings: Settings) -> None:
        self._put(_SETTINGS, dataclasses.asdict(settings))

    def forget(self) -> None:
        """Drop both rows (a full reset goes back to the wall clock and default settings)."""
        self._delete(_CLOCK)
        self._delete(_SETTINGS)

    def restore(self, clock: EmulatorClock, settings: Settings) -> None:
        """Load what was saved into ``clock`` and ``settings`` (in place: the services hold
        references to these very objects). Unknown or malformed values are ignored, so an
        older or newer data directory still starts."""
        saved_clock = self._get(_CLOCK)
        if saved_clock is not None:
            offset = saved_clock.get("offset")
            frozen_at = saved_clock.get("frozen_at")
            if isinstance(offset, int | float) and (
                frozen_at is None or isinstance(frozen_at, int | float)
            ):
                clock.restore(
                    ClockSnapshot(
                        offset=float(offset),
                        frozen_at=None if frozen_at is None else float(frozen_at),
                    )
                )
        saved_settings = self._get(_SETTINGS)
        if saved_settings is not None:
            apply_settings(settings, saved_settings, strict=False)


class InvalidSettings(ValueError):
    """A settings update names an unknown setting or gives a bad value (nothing changed)."""


def apply_settings(settings: Settings, values: dict[str, Any], *, strict: bool = True) -> None:
    """Set the named fields of ``settings`` in place, all or nothing.

    Every setting is a positive number of seconds. With ``strict`` an unknown name or a
    bad value raises :class:`InvalidSettings` before anything changes; without it they
    are skipped (used when loading a data directory written by another version).
    """
    known = {f.name for f in dataclasses.fields(settings)}
    accepted: dict[str, float] = {}
    for name, value in values.items():
        if name not in known:
            if strict:
                raise InvalidSettings(f"unknown setting {name!r}; known: {sorted(known)}")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            if strict:
                raise InvalidSettings(f"{name} must be a number of seconds >= 0")
            continue
        accepted[name] = float(value)
    for name, value in accepted.items():
        setattr(settings, name, value)


def collect_orphan_blobs(blobs: BlobStore, referenced: Iterable[str]) -> int:
    """Delete every blob no metadata row refers to; returns how many went.

    Call only at start-up (see the module docstring).
    """
    orphans = blobs.ids() - set(referenced)
    for blob_id in orphans:
        blobs.delete(blob_id)
    return len(orphans)
