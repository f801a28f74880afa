"""Who may call the emulator: the root account's key, and temporary credentials.

Temporary credentials are what STS AssumeRole and VOD's UploadAuth hand out: an
AccessKeyId (``STS.`` prefix, as the real service), a secret, a SecurityToken, an expiry
and a :class:`Scope`. OSS verifies every request against this registry: an unknown key is
``InvalidAccessKeyId``, an expired or revoked token ``SecurityTokenExpired``, a request
outside the scope ``AccessDenied``. Rows live in the state's SQLite database, so issued
tokens survive a restart with ``--data-dir``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from enum import Enum

from emulator.db import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    access_key_id TEXT PRIMARY KEY,
    access_key_secret TEXT NOT NULL,
    security_token TEXT,
    kind TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL,
    revoked INTEGER NOT NULL DEFAULT 0,
    scope TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
"""


class CredentialKind(str, Enum):
    ROOT = "root"
    STS = "sts"  # from STS AssumeRole
    UPLOAD_AUTH = "upload-auth"  # from VOD CreateUpload*/RefreshUploadVideo
    PLAY_AUTH = "play-auth"  # signs VOD GetPlayInfo's play URLs: read one object


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """What a credential may touch. ``None`` in a field means "any".

    ``key`` limits to one exact object key (VOD UploadAuth: one credential per media
    file); ``key_prefix`` to keys under a prefix (VOD's HLS uploads: a playlist and its
    segments under ``ObjectPrefix``); ``actions`` is a set of OSS operation names such as
    ``"PutObject"``, ``"UploadPart"``, ``"InitiateMultipartUpload"``.
    """

    bucket: str | None = None
    key: str | None = None
    actions: frozenset[str] | None = None
    key_prefix: str | None = None

    def allows(self, *, action: str, bucket: str | None, key: str | None) -> bool:
        if self.actions is not None and action not in self.actions:
            return False
        if self.bucket is not None and bucket != self.bucket:
            return False
        if self.key_prefix is not None and (key is None or not key.startswith(self.key_prefix)):
            return False
        return self.key is None or key == self.key

    def to_json(self) -> str:
        return json.dumps(
            {
                "bucket": self.bucket,
                "key": self.key,
                "actions": None if self.actions is None else sorted(self.actions),
                "key_prefix": self.key_prefix,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Scope:
        raw = json.loads(text)
        actions = raw.get("actions")
        return cls(
            bucket=raw.get("bucket"),
            key=raw.get("key"),
            actions=None if actions is None else frozenset(actions),
            key_prefix=raw.get("key_prefix"),
        )


UNRESTRICTED = Scope()


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    access_key_id: str
    access_key_secret: str
    security_token: str | None
    kind: CredentialKind
    issued_at: float
    expires_at: float | None
    revoked: bool
    scope: Scope
    note: str = ""

    def expired(self, now: float) -> bool:
        return self.revoked or (self.expires_at is not None and now >= self.expires_at)


class CredentialStore:
    def __init__(
        self, db: Database, *, root_access_key_id: str, root_access_key_secret: str
    ) -> None:
        self._db = db
        self._db.ensure_schema(_SCHEMA)
        self.root = Credential(
            access_key_id=root_access_key_id,
            access_key_secret=root_access_key_secret,
            security_token=None,
            kind=CredentialKind.ROOT,
            issued_at=0.0,
            expires_at=None,
            revoked=False,
            scope=UNRESTRICTED,
        )

    def issue(
        self,
        *,
        now: float,
        ttl_seconds: float,
        kind: CredentialKind,
        scope: Scope = UNRESTRICTED,
        note: str = "",
    ) -> Credential:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        credential = Credential(
            access_key_id="STS." + secrets.token_hex(12),
            access_key_secret=secrets.token_urlsafe(30),
            security_token="CAIS" + secrets.token_urlsafe(96),
            kind=kind,
            issued_at=now,
            expires_at=now + ttl_seconds,
            revoked=False,
            scope=scope,
            note=note,
        )
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO credentials VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (
                    credential.access_key_id,
                    credential.access_key_secret,
                    credential.security_token,
                    kind.value,
                    now,
                    credential.expires_at,
                    scope.to_json(),
                    note,
                ),
            )
        return credential

    def get(self, access_key_id: str) -> Credential | None:
        if access_key_id == self.root.access_key_id:
            return self.root
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM credentials WHERE access_key_id = ?", (access_key_id,)
            ).fetchone()
        return None if row is None else _from_row(row)

    def expire(self, access_key_id: str, *, now: float) -> bool:
        """Make a temporary credential expire at ``now``; False if there is none."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE credentials SET expires_at = ? WHERE access_key_id = ?",
                (now, access_key_id),
            )
        return cursor.rowcount > 0

    def revoke(self, access_key_id: str) -> bool:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE credentials SET revoked = 1 WHERE access_key_id = ?", (access_key_id,)
            )
        return cursor.rowcount > 0

    def all(self) -> list[Credential]:
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM credentials ORDER BY issued_at").fetchall()
        return [_from_row(row) for row in rows]

    def clear(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM credentials")


def _from_row(row: sqlite3.Row) -> Credential:
    get = row.__getitem__
    return Credential(
        access_key_id=get("access_key_id"),
        access_key_secret=get("access_key_secret"),
        security_token=get("security_token"),
        kind=CredentialKind(get("kind")),
        issued_at=get("issued_at"),
        expires_at=get("expires_at"),
        revoked=bool(get("revoked")),
        scope=Scope.from_json(get("scope")),
        note=get("note"),
    )
