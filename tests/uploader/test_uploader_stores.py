"""The file checkpoint store's own promises: private, atomic, secret-free, and a journal
that keeps the cost per part constant. (What every store promises is in
tests/contract/test_store_contract.py.)"""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.uploader import sample_checkpoint

from vodref.core import Checkpoint
from vodref.errors import CheckpointStoreError
from vodref.stores import FileCheckpointStore, assert_no_secrets

KEY = "v1:sample"


def test_file_store_is_private_atomic_and_secret_free(tmp_path: Path) -> None:
    """UPL-CKPT-003 UPL-CKPT-004: 0700 directory, 0600 files, no temp file left, secrets
    refused, a torn record is reported as a typed error."""
    store = FileCheckpointStore(tmp_path / "cp")
    for number in range(50):
        store.save("v1:abc", {"n": number})
    store.flush()
    assert store.load("v1:abc") == {"n": 49}
    assert store.writes <= 50
    directory = tmp_path / "cp"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    [record] = list(directory.iterdir())
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert json.loads(record.read_text()) == {"n": 49}
    with pytest.raises(CheckpointStoreError):
        store.save("v1:abc", {"credentials": {"AccessKeySecret": "x"}})
    with pytest.raises(CheckpointStoreError):
        assert_no_secrets([{"security_token": "x"}])
    record.write_text('{"n": 1')  # torn
    with pytest.raises(CheckpointStoreError):
        store.load("v1:abc")
    store.delete("v1:abc")
    store.flush()
    assert list(directory.iterdir()) == []
    store.close()
    with pytest.raises(CheckpointStoreError):
        store.save("v1:abc", {})


def test_file_store_journals_new_parts(tmp_path: Path) -> None:
    """UPL-CKPT-003: saves that only add parts are appended to a journal (constant cost per
    part); the record loads back whole; a torn journal line is ignored; another upload id
    makes a new snapshot whose stale journal is never applied."""
    store = FileCheckpointStore(tmp_path / "cp")
    for count in range(1, 121):
        store.save(KEY, sample_checkpoint(count))
        store.flush()
    assert store.appends > 60 and store.writes < 20
    loaded = store.load(KEY)
    assert loaded is not None
    assert Checkpoint.from_dict(loaded) == sample_checkpoint(120)
    [journal] = list((tmp_path / "cp").glob("*.log"))
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    with journal.open("a") as handle:
        handle.write('[[121,"E121","00000000000003')  # torn by a crash
    fresh = FileCheckpointStore(tmp_path / "cp")
    reloaded = fresh.load(KEY)
    assert reloaded is not None and Checkpoint.from_dict(reloaded) == sample_checkpoint(120)
    fresh.save(KEY, sample_checkpoint(3, upload_id="u2"))
    fresh.flush()
    other = fresh.load(KEY)
    assert other is not None and Checkpoint.from_dict(other) == sample_checkpoint(3, upload_id="u2")
    assert list((tmp_path / "cp").glob("*.log")) == []
    fresh.delete(KEY)
    fresh.flush()
    assert list((tmp_path / "cp").iterdir()) == []
    store.close()
    fresh.close()


def test_a_failed_group_fsync_fails_every_writer_and_leaves_the_old_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UPL-CKPT-003 UPL-CKPT-007: the fsync of one batch fails (EIO) for its three writes (a
    new snapshot, a journal append, a plain record): every flush waiting for that batch
    raises CheckpointStoreError naming the keys, and keeps raising until they are saved
    again; no temp file and no journal line of the failed batch is left, so the store (and
    a reopened one, as a resume would open it) loads the records written before; later
    saves work."""
    directory = tmp_path / "cp"
    store = FileCheckpointStore(directory, min_write_interval=30.0)
    snap, append, plain = "v1:snap", "v1:append", "v1:plain"
    store.save(snap, sample_checkpoint(1, fingerprint=snap))
    store.save(append, sample_checkpoint(1, fingerprint=append))
    store.save(plain, {"n": 1})
    store.flush()
    real_fsync = os.fsync
    failing = threading.Event()

    def fsync(fd: int) -> None:
        if failing.is_set() and not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    failing.set()
    # Within the 30 s window: the writer waits, then takes all three in one batch when the
    # flushes wake it.
    store.save(snap, sample_checkpoint(2, upload_id="u2", fingerprint=snap))
    store.save(append, sample_checkpoint(3, fingerprint=append))
    store.save(plain, {"n": 2})
    outcomes: list[BaseException | None] = []

    def flush() -> None:
        try:
            store.flush()
        except BaseException as error:  # collected for the assertion below
            outcomes.append(error)
        else:
            outcomes.append(None)

    writers = [threading.Thread(target=flush) for _ in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(30)
    failing.clear()
    assert len(outcomes) == 3
    for outcome in outcomes:
        assert isinstance(outcome, CheckpointStoreError)
        assert all(key in str(outcome) for key in (snap, append, plain))
    with pytest.raises(CheckpointStoreError):  # the newest saves are still not on disk
        store.flush()
    assert list(directory.glob("*.tmp")) == []
    reopened = FileCheckpointStore(directory)
    for each in (store, reopened):
        loaded = each.load(snap)
        assert loaded is not None
        assert Checkpoint.from_dict(loaded) == sample_checkpoint(1, fingerprint=snap)
        loaded = each.load(append)
        assert loaded is not None
        assert Checkpoint.from_dict(loaded) == sample_checkpoint(1, fingerprint=append)
        assert each.load(plain) == {"n": 1}
    reopened.close()
    store.save(snap, sample_checkpoint(2, upload_id="u2", fingerprint=snap))
    store.save(append, sample_checkpoint(4, fingerprint=append))
    store.save(plain, {"n": 3})
    store.flush()
    store.close()
    fresh = FileCheckpointStore(directory)
    loaded = fresh.load(snap)
    assert loaded is not None
    assert Checkpoint.from_dict(loaded) == sample_checkpoint(2, upload_id="u2", fingerprint=snap)
    loaded = fresh.load(append)
    assert loaded is not None
    assert Checkpoint.from_dict(loaded) == sample_checkpoint(4, fingerprint=append)
    assert fresh.load(plain) == {"n": 3}
    fresh.close()


def _journal_count(directory: Path) -> int:
    return len(list(directory.glob("*.log")))


def test_file_store_lists_its_directory_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UPL-CKPT-006: the directory is listed once per store, not once per new key, and the
    journals earlier processes left are still removed: those found by that listing, and one
    made after it that a loaded snapshot names."""
    directory = tmp_path / "cp"
    earlier = FileCheckpointStore(directory)
    for count in (70, 80):  # a snapshot, then a journal of ten parts
        earlier.save(KEY, sample_checkpoint(count))
        earlier.flush()
    earlier.close()
    assert _journal_count(directory) == 1
    listings: list[str] = []
    real_listdir = os.listdir

    def counting_listdir(path: Any) -> list[str]:
        listings.append(str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    store = FileCheckpointStore(directory)
    try:
        for number in range(20):
            store.save(f"v1:other-{number}", sample_checkpoint(3))
        store.flush()
        late = FileCheckpointStore(directory)  # another holder: a journal after the listing
        late.save("v1:late", sample_checkpoint(70))
        late.flush()
        late.save("v1:late", sample_checkpoint(75))
        late.close()
        assert _journal_count(directory) == 2
        for key, count in ((KEY, 80), ("v1:late", 75)):
            loaded = store.load(key)
            assert loaded is not None and Checkpoint.from_dict(loaded) == sample_checkpoint(count)
            store.save(key, sample_checkpoint(5, upload_id="u2"))  # a new snapshot
        store.flush()
        assert _journal_count(directory) == 0
        assert listings.count(str(directory)) == 2  # once per store: this one, `late`
    finally:
        store.close()


def test_barrier_flush_leaves_parts_only_saves_their_window(tmp_path: Path) -> None:
    """UPL-CKPT-008: ``flush_barriers`` makes durable every earlier delete and every save
    that changes more than the parts on disk (a new key, a new upload id), and leaves a
    save that only adds parts to its coalescing window: a delete within it means those
    parts are never written. ``flush`` still writes everything, and so does the writer
    once the window ends."""
    directory = tmp_path / "cp"
    store = FileCheckpointStore(directory, min_write_interval=60.0)  # outlasts the test
    try:
        store.save(KEY, sample_checkpoint(3))
        store.flush()
        store.save(KEY, sample_checkpoint(4))  # parts only: deferred
        store.save("v1:new", sample_checkpoint(2, upload_id="u9"))  # a new key: written
        store.flush_barriers()
        assert store.appends == 0
        loaded = store.load(KEY)  # the store answers with its newest save
        assert loaded is not None and Checkpoint.from_dict(loaded) == sample_checkpoint(4)
        on_disk = FileCheckpointStore(directory)
        try:
            new, old = on_disk.load("v1:new"), on_disk.load(KEY)
        finally:
            on_disk.close()
        assert new is not None
        assert Checkpoint.from_dict(new) == sample_checkpoint(2, upload_id="u9")
        assert old is not None and Checkpoint.from_dict(old) == sample_checkpoint(3)
        store.save(KEY, sample_checkpoint(5, upload_id="u2"))  # a new upload id: written
        store.flush_barriers()
        store.save(KEY, sample_checkpoint(6, upload_id="u2"))  # parts only again
        store.flush_barriers()
        store.delete(KEY)
        store.flush_barriers()
        assert store.appends == 0 and store.load(KEY) is None
        assert _journal_count(directory) == 0
        store.save("v1:new", sample_checkpoint(3, upload_id="u9"))  # parts only
        store.flush()  # a full flush writes it
        assert store.appends == 1
    finally:
        store.close()
    quick = FileCheckpointStore(directory, min_write_interval=0.05)
    try:
        quick.save("v1:new", sample_checkpoint(4, upload_id="u9"))
        quick.flush()  # the first write of the key in this store: a snapshot
        quick.save("v1:new", sample_checkpoint(5, upload_id="u9"))
        quick.flush_barriers()
        for _ in range(400):  # the window ends: the writer writes it without a flush
            if quick.appends:
                break
            time.sleep(0.05)
        assert quick.appends == 1
    finally:
        quick.close()
