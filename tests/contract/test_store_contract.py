"""One contract, every checkpoint store (STYLE 17, UPL-CKPT-005): the file store (fresh, and
reopened over the same directory) and the in-memory one answer load, save, delete and flush
the same way."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.uploader import MIN_PART, sample_checkpoint

from vodref.core import Checkpoint, CheckpointPart
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


def test_many_files_saving_at_once_each_load_back_their_newest(
    store: CheckpointStore,
) -> None:
    """UPL-CKPT-003 UPL-CKPT-005: eight files saving and flushing at once, as the uploader's
    workers do with ``max_concurrent_files=8`` (the file store commits their writes in
    groups: snapshots, journal appends, plain records and deletes of many keys in one
    batch), each load back their own newest record, also from a reopened store, and the
    directory holds no temp file."""

    def one_file(number: int) -> None:
        key = f"v1:many-{number}"
        store.save(f"v1:index-{number}", {"fingerprint": key})
        store.save(key, sample_checkpoint(0, fingerprint=key))
        store.flush()  # a barrier: the upload id
        for parts in range(1, 4):
            store.save(key, sample_checkpoint(parts, fingerprint=key))
        if number % 2:  # half of them finish: checkpoint and index deleted
            store.delete(key)
            store.delete(f"v1:index-{number}")
        store.flush()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one_file, range(16)))
    stores = [store]
    if isinstance(store, FileCheckpointStore):
        assert not list(store.directory.glob("*.tmp"))
        stores.append(FileCheckpointStore(store.directory))
    try:
        for each in stores:
            for number in range(16):
                key = f"v1:many-{number}"
                loaded = each.load(key)
                if number % 2:
                    assert loaded is None
                    assert each.load(f"v1:index-{number}") is None
                else:
                    assert loaded is not None
                    assert Checkpoint.from_dict(loaded) == sample_checkpoint(3, fingerprint=key)
                    assert each.load(f"v1:index-{number}") == {"fingerprint": key}
    finally:
        for each in stores[1:]:
            each.close()


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


def _checkpoint_of(parts: dict[int, int], upload_id: str) -> Checkpoint:
    """A checkpoint whose done parts are ``parts`` (number -> a CRC-64 standing for the
    part's content)."""
    base = sample_checkpoint(0, upload_id=upload_id)
    return replace(
        base,
        parts=tuple(
            CheckpointPart(number=n, etag=f"E{n}-{crc}", crc64=crc, size=MIN_PART)
            for n, crc in sorted(parts.items())
        ),
    )


# One step of an upload's life as the core saves it: parts acknowledged in any order (a
# batch of up to 8), a part acknowledged again with other content, parts forgotten (a
# ListParts that did not list them), or a new upload id; each save maybe flushed at once.
_steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "change", "forget", "new-upload"]),
        st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=8),
        st.integers(min_value=0, max_value=2**64 - 1),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_steps)
def test_any_sequence_of_saves_loads_back_the_newest(
    store: CheckpointStore, steps: list[tuple[str, list[int], int, bool]]
) -> None:
    """UPL-CKPT-005 UPL-CKPT-006: whatever a sequence of saves adds, changes or drops (the
    file store appends parts to its journal when it can and writes a snapshot otherwise),
    the key loads back equal to the newest save, before and after a flush, and a store
    reopened over the same files (a new process) loads it too."""
    key = f"v1:seq-{uuid.uuid4().hex}"
    parts: dict[int, int] = {}
    upload = 1
    newest = None
    for action, numbers, crc, flush in steps:
        if action == "add":
            parts.update({n: crc for n in numbers if n not in parts})
        elif action == "change":
            parts.update(dict.fromkeys(numbers, crc))
        elif action == "forget":
            for number in numbers:
                parts.pop(number, None)
        else:
            upload += 1
            parts = dict.fromkeys(numbers, crc)
        newest = _checkpoint_of(parts, f"u{upload}")
        store.save(key, replace(newest, fingerprint=key))
        if flush:
            store.flush()
        loaded = store.load(key)
        assert loaded is not None
        assert Checkpoint.from_dict(loaded) == replace(newest, fingerprint=key)
    store.flush()
    if isinstance(store, FileCheckpointStore):
        reopened = FileCheckpointStore(store.directory)
        try:
            loaded = reopened.load(key)
        finally:
            reopened.close()
        assert loaded is not None and newest is not None
        assert Checkpoint.from_dict(loaded) == replace(newest, fingerprint=key)


def test_checkpoints_written_by_vodref_0_1_0_load(tmp_path: Path) -> None:
    """UPL-CKPT-006: a checkpoint directory written by vodref 0.1.0 (tests/contract/data:
    a snapshot naming its journal, and a journal of four appended parts) loads as the
    checkpoint it recorded, and saving on from it continues that record (the old journal is
    replaced, never applied to another snapshot)."""
    directory = tmp_path / "checkpoints"
    shutil.copytree(Path(__file__).with_name("data") / "store-0.1", directory)
    store = FileCheckpointStore(directory)
    try:
        loaded = store.load("v1:sample")
        assert loaded is not None
        assert Checkpoint.from_dict(loaded) == sample_checkpoint(70)
        for count in range(71, 81):
            store.save("v1:sample", sample_checkpoint(count))
        store.flush()
        reloaded = store.load("v1:sample")
        assert reloaded is not None
        assert Checkpoint.from_dict(reloaded) == sample_checkpoint(80)
        store.save("v1:sample", sample_checkpoint(5, upload_id="u2"))
        store.flush()
        assert len(list(directory.glob("*.log"))) <= 1
        other = store.load("v1:sample")
        assert other is not None
        assert Checkpoint.from_dict(other) == sample_checkpoint(5, upload_id="u2")
    finally:
        store.close()
