"""Metadata storage: one SQLite database per emulator state.

Why SQLite for an emulator: the same code serves ``--in-memory`` (``:memory:``) and
``--data-dir`` (a WAL-mode file with ``synchronous=FULL``, locked for this process), and a
committed transaction survives SIGKILL of the process, which the persistence promise needs.
Object bytes do not live here; they live in a :mod:`emulator.blobs` store and rows refer to
them by blob id.

All access goes through one re-entrant lock: every statement the services run is tiny
(the heavy work, hashing and blob writes, happens outside it), so one lock costs little
and rules out SQLite's "database is locked" errors between request threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        target = ":memory:" if path is None else str(path)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        if path is not None:
            # One process holds a data directory (emulator.persistence.lock_data_dir) and
            # opens its database once: exclusive locking keeps SQLite's file locks for
            # the connection's life instead of taking and dropping them (eight fcntl(2)
            # calls) in every transaction. Set before WAL, so the WAL index lives in
            # this process's memory rather than a shared-memory file.
            self._conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically; nested calls join the outer transaction."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    @contextmanager
    def single_write(self) -> Iterator[sqlite3.Connection]:
        """Reads, then at most one writing statement, under the lock but without
        BEGIN/COMMIT: the write commits alone (atomic and, with a data directory, as
        durable as a transaction), and the lock keeps what was read unchanged until it
        has. Two statements fewer than :meth:`transaction` on a hot path."""
        with self._lock:
            yield self._conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Read under the lock (a consistent view between writers)."""
        with self._lock:
            yield self._conn

    def ensure_schema(self, ddl: str) -> None:
        """Create tables and indexes if absent (``CREATE ... IF NOT EXISTS`` statements)."""
        with self._lock:
            self._conn.executescript(ddl)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
