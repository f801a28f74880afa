"""What a checkpoint record is on disk: compact JSON of a mapping, never holding a field named
like a secret (UPL-CKPT-004), and what a torn or foreign record raises when read
(UPL-DUR-005). Split out of stores.py, which re-exports these names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import CheckpointStoreError, UnreadableCheckpointError

__all__ = ["assert_no_secrets", "decode_record", "encode_record"]

# Field names that must never reach a checkpoint, compared case- and separator-insensitively.
_SECRET_FIELD_NAMES = frozenset(
    {"accesskeysecret", "securitytoken", "uploadauth", "secret", "password", "token"}
)


def assert_no_secrets(record: object, path: str = "record") -> None:
    """Raise :class:`CheckpointStoreError` if a field is named like a secret."""
    if isinstance(record, Mapping):
        for name, value in record.items():
            normalised = str(name).replace("_", "").replace("-", "").lower()
            if normalised in _SECRET_FIELD_NAMES:
                raise CheckpointStoreError(
                    f"refusing to store {path}.{name}: secrets never go into checkpoints"
                )
            assert_no_secrets(value, f"{path}.{name}")
    elif isinstance(record, list | tuple):
        for index, value in enumerate(record):
            assert_no_secrets(value, f"{path}[{index}]")


def encode_record(record: object) -> str:
    """A record (a mapping or a ``Checkpoint``) as compact JSON, refused if it holds a
    secret."""
    value = record if isinstance(record, Mapping) else record.to_dict()  # type: ignore[attr-defined]
    assert_no_secrets(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def decode_record(raw: str | bytes, key: str) -> dict[str, Any]:
    """The JSON object stored under ``key``. Anything else (not UTF-8, torn, not JSON, not
    an object) raises :class:`UnreadableCheckpointError` carrying the bytes (UPL-DUR-005)."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise UnreadableCheckpointError(f"checkpoint {key} is not UTF-8 JSON", raw=data) from None
    if not isinstance(value, dict):
        raise UnreadableCheckpointError(f"checkpoint {key} is not a JSON object", raw=data)
    return value
