"""One contract, every checkpoint store (STYLE 17, UPL-CKPT-005): the file store (fresh, and
reopened over the same directory) and the in-memory one answer load, save, delete and flush
the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.uploader import sample_checkpoint

from vodref.core import Checkpoint
from vodref.errors import CheckpointStoreError
from vodref.stores import CheckpointStore, FileCheckpointStore
from vodref.testing import MemoryCheckpointStore


@pytest.fixture(params=["file", "file-reopened", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CheckpointStore]:
    if request.param == "memory":
        yield MemoryCheckpointStore()
        return
    directory = tmp_path / "checkpoints"
    if request.param == "file-reopened":
        # Whatever an earlier process left (here: an unrelated record) changes nothing.
        earlier = FileCheckpointStore(directory)
        earlier.save("v1:earlier", {"left": "behind"})
        earlier.close()
    opened = FileCheckpointStore(directory)
    yield opened
    opened.close()


def test_unknown_keys_load_as_none(store: CheckpointStore) -> None:
    """UPL-CKPT-005: an unknown key loads as None; deleting it is harmless."""
    assert store.load("v1:never-saved") is None
    store.delete("v1:never-saved")
    store.flush()
    assert store.load("v1:never-saved") is None


def test_records_load_back_equal_and_the_newest_save_wins(store: CheckpointStore) -> None:
    """UPL-CKPT-005: mappings and core checkpoints load back equal; the newest save of a key
    wins, whether it adds parts (the file store's journal) or starts another upload."""
    store.save("v1:plain", {"fingerprint": "v1:abc", "n": 1})
    for parts in range(1, 6):
        store.save("v1:sample", sample_checkpoint(parts))
    store.flush()
    assert store.load("v1:plain") == {"fingerprint": "v1:abc", "n": 1}
    loaded = store.load("v1:sample")
    assert loaded is not None and Checkpoint.from_dict(loaded) == sample_checkpoint(5)
    store.save("v1:sample", sample_checkpoint(2, upload_id="u2"))
    store.flush()
    replaced = store.load("v1:sample")
    assert replaced is not None
    assert Checkpoint.from_dict(replaced) == sample_checkpoint(2, upload_id="u2")
    assert store.load("v1:plain") == {"fingerprint": "v1:abc", "n": 1}


def test_deleted_keys_are_gone_and_others_stay(store: CheckpointStore) -> None:
    """UPL-CKPT-005: a delete removes one key only."""
    store.save("v1:first", sample_checkpoint(3))
    store.save("v1:second", {"keep": True})
    store.delete("v1:first")
    store.flush()
    assert store.load("v1:first") is None
    assert store.load("v1:second") == {"keep": True}


def test_secrets_are_refused_and_change_nothing(store: CheckpointStore) -> None:
    """UPL-CKPT-004 UPL-CKPT-005: a record with a secret-named field raises and the record
    stored before it is untouched."""
    store.save("v1:key", {"video_id": "v"})
    store.flush()
    for secret in ({"AccessKeySecret": "x"}, {"nested": [{"security_token": "t"}]}):
        with pytest.raises(CheckpointStoreError):
            store.save("v1:key", secret)
    store.flush()
    assert store.load("v1:key") == {"video_id": "v"}
