"""Signature nonces: remembered for as long as a replay of their request could be accepted.

A signed RPC request is accepted when its timestamp lies within the skew window of the
emulator clock *or* of the wall clock (EMU-RPC-008). A replay of it is refused only while
its nonce is remembered, so a nonce must be remembered for as long as its timestamp could
still pass that check (EMU-SEC-003):

- a request *with* a timestamp: until the timestamp is outside both windows. The emulator
  clock can move (advance, freeze at any instant, reset), so "outside" cannot be decided
  for good; instead, when the table grows beyond ``config.max_remembered_nonces`` the
  oldest timestamps (those outside both windows at that moment) are forgotten, and from
  then on every timestamp at or before the newest forgotten one is refused as expired.
  Nothing forgotten can therefore be replayed, whatever the clocks do later;
- a request *without* a timestamp (the JS upload SDK's STS mode):
  its request can be replayed at any time, so its nonce is remembered for the life of the
  data (a reset of the emulator's services does not forget it).

Nonces live in the state's SQLite database, so with ``--data-dir`` they survive a
restart like the rest of the state.
"""

from __future__ import annotations

import math
import sqlite3

from emulator.db import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rpc_signature_nonces (
    id INTEGER PRIMARY KEY,
    nonce TEXT NOT NULL UNIQUE,
    signed_at REAL
);
CREATE INDEX IF NOT EXISTS rpc_signature_nonces_signed_at
    ON rpc_signature_nonces (signed_at);
CREATE TABLE IF NOT EXISTS rpc_nonce_horizon (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    forgotten_up_to REAL NOT NULL
);
"""


class NonceUsed(Exception):
    """The nonce was seen before (the request is a replay)."""


class TimestampForgotten(Exception):
    """The timestamp is at or before one whose nonces were forgotten: it may be a replay."""


class NonceMemory:
    """The nonces of one emulator database (see the module docstring)."""

    def __init__(self, db: Database, *, capacity: int, window_seconds: float) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._db = db
        self._capacity = capacity
        self._window = window_seconds
        # How often (in inserted rows) the size is checked: COUNT(*) is a table scan.
        self._check_every = max(1, min(1024, capacity // 4))

    def remember(self, nonce: str, signed_at: float | None, *, clocks: tuple[float, ...]) -> None:
        """Record ``nonce`` or raise :class:`NonceUsed` / :class:`TimestampForgotten`
        (nothing recorded then). ``clocks`` are the instants the timestamp was checked
        against (the emulator clock and the wall clock)."""
        try:
            self._remember(nonce, signed_at, clocks)
        except sqlite3.OperationalError:
            # First signed request of this database: create the tables, then retry.
            self._db.ensure_schema(_SCHEMA)
            self._remember(nonce, signed_at, clocks)

    def _remember(self, nonce: str, signed_at: float | None, clocks: tuple[float, ...]) -> None:
        with self._db.transaction() as conn:
            if signed_at is not None:
                row = conn.execute(
                    "SELECT forgotten_up_to FROM rpc_nonce_horizon WHERE id = 0"
                ).fetchone()
                if row is not None and signed_at <= row[0]:
                    raise TimestampForgotten()
            try:
                cursor = conn.execute(
                    "INSERT INTO rpc_signature_nonces (nonce, signed_at) VALUES (?, ?)",
                    (nonce, signed_at),
                )
            except sqlite3.IntegrityError:
                raise NonceUsed() from None
            row_id = cursor.lastrowid or 0
            if row_id % self._check_every == 0:
                self._forget_old(conn, clocks)

    def _forget_old(self, conn: sqlite3.Connection, clocks: tuple[float, ...]) -> None:
        (count,) = conn.execute("SELECT COUNT(*) FROM rpc_signature_nonces").fetchone()
        if count <= self._capacity:
            return
        # Outside every window now: no clock reading accepts these timestamps today.
        cut = min(clocks) - self._window
        if not math.isfinite(cut):
            return
        (newest,) = conn.execute(
            "SELECT MAX(signed_at) FROM rpc_signature_nonces WHERE signed_at < ?", (cut,)
        ).fetchone()
        if newest is None:
            return  # everything remembered may still be replayed: keep it all
        conn.execute("DELETE FROM rpc_signature_nonces WHERE signed_at <= ?", (newest,))
        conn.execute(
            "INSERT INTO rpc_nonce_horizon (id, forgotten_up_to) VALUES (0, ?) "
            "ON CONFLICT (id) DO UPDATE SET forgotten_up_to = "
            "MAX(forgotten_up_to, excluded.forgotten_up_to)",
            (newest,),
        )

    def count(self) -> int:
        """How many nonces are remembered (for tests and the benchmark)."""
        try:
            with self._db.read() as conn:
                (count,) = conn.execute("SELECT COUNT(*) FROM rpc_signature_nonces").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(count)
