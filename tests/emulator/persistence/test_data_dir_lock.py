"""EMU-PER-004: one holder per data directory, across processes and within one."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from emulator.config import EmulatorConfig
from emulator.inprocess import mock_vod
from emulator.persistence import DataDirError, DataDirInUse, DataDirLock, lock_data_dir
from emulator.state import EmulatorState

HOLD_LOCK = """
import sys
from emulator.persistence import lock_data_dir
lock = lock_data_dir(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


@contextmanager
def holder_process(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the lock on ``data_dir`` until killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "locked\n"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def test_a_second_process_is_refused_with_the_holders_pid_and_nothing_is_touched(
    tmp_path: Path,
) -> None:
    """EMU-PER-004: DataDirInUse names the holding process; the refused state runs no
    start-up cleanup, so the holder's temporary and unreferenced blobs survive."""
    data_dir = tmp_path / "data"
    with EmulatorState(EmulatorConfig(data_dir=data_dir, fsync=False)) as first:
        first.blobs.put(b"written, its row not committed yet")
        (data_dir / "blobs" / "tmp" / "half-written").write_bytes(b"a body still arriving")
    files_before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    with holder_process(data_dir) as holder:
        with pytest.raises(DataDirInUse) as refused:
            EmulatorState(EmulatorConfig(data_dir=data_dir, fsync=False))
        assert refused.value.holder_pid == holder.pid
        assert str(refused.value) == (
            f"cannot use data directory {data_dir}: it is in use by process {holder.pid}"
        )
        files_after = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    lock_file = data_dir / "lock"
    assert files_after.pop(lock_file) == f"{holder.pid}\n".encode()
    files_before.pop(lock_file)
    assert files_after == files_before
    assert len(files_before) >= 3  # the database, the unreferenced blob, the temporary file


def test_the_lock_goes_with_a_killed_holder(tmp_path: Path) -> None:
    """EMU-PER-004: SIGKILL releases the lock (the kernel's), so a crash leaves none stale."""
    with holder_process(tmp_path) as holder:
        with pytest.raises(DataDirInUse):
            lock_data_dir(tmp_path)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    with lock_data_dir(tmp_path) as lock:
        assert lock.held
        assert (tmp_path / "lock").read_text() == f"{os.getpid()}\n"
    assert not lock.held


def test_wait_tells_who_it_waits_for_then_gets_the_lock(tmp_path: Path) -> None:
    """EMU-PER-004: with wait=True, on_wait is called once with the holder's pid and the
    call returns holding the lock as soon as the holder is gone."""
    told: list[DataDirInUse] = []
    waiting = threading.Event()
    got: list[DataDirLock] = []

    def on_wait(busy: DataDirInUse) -> None:
        told.append(busy)
        waiting.set()

    with holder_process(tmp_path) as holder:
        waiter = threading.Thread(
            target=lambda: got.append(lock_data_dir(tmp_path, wait=True, on_wait=on_wait))
        )
        waiter.start()
        assert waiting.wait(timeout=30)
        assert not got  # still blocked: the holder is alive
        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits at the end of its input
        holder.wait(timeout=10)
        waiter.join(timeout=30)
    assert [busy.holder_pid for busy in told] == [holder.pid]
    (lock,) = got
    assert lock.held
    lock.release()


def test_two_open_states_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    """EMU-PER-004: a second state on the directory is refused until the first closes."""
    config = EmulatorConfig(data_dir=tmp_path, fsync=False)
    first = EmulatorState(config)
    with pytest.raises(DataDirInUse) as refused:
        EmulatorState(config)
    assert refused.value.holder_pid == os.getpid()
    with pytest.raises(DataDirInUse):  # waiting for itself would never end
        lock_data_dir(tmp_path, wait=True, on_wait=lambda busy: pytest.fail("waited"))
    first.close()
    first.close()  # idempotent
    with EmulatorState(config) as second:
        assert second.oss is not None


def test_a_caller_held_lock_is_used_and_left_to_the_caller(tmp_path: Path) -> None:
    """EMU-PER-004: data_dir_lock lends a held lock; the state never releases it, and a
    lock for another directory, or a released one, is refused."""
    config = EmulatorConfig(data_dir=tmp_path / "a", fsync=False)
    with lock_data_dir(tmp_path / "a") as lock:
        state = EmulatorState(config, data_dir_lock=lock)
        state.close()
        assert lock.held
        with pytest.raises(DataDirInUse):
            EmulatorState(config)
    with pytest.raises(ValueError, match="does not hold"):
        EmulatorState(config, data_dir_lock=lock)
    with lock_data_dir(tmp_path / "b") as other, pytest.raises(ValueError, match="does not hold"):
        EmulatorState(config, data_dir_lock=other)
    with lock_data_dir(tmp_path / "c") as other, pytest.raises(ValueError, match="data_dir"):
        EmulatorState(EmulatorConfig(), data_dir_lock=other)


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("a-file", "it is a file, not a directory"),
        ("a-file/below", "a part of the path is a file, not a directory"),
    ],
)
def test_a_path_that_is_not_a_directory_is_a_typed_one_line_error(
    tmp_path: Path, relative: str, reason: str
) -> None:
    """EMU-PER-004: DataDirError names the directory and why, and changes nothing."""
    (tmp_path / "a-file").write_bytes(b"precious")
    target = tmp_path / relative
    with pytest.raises(DataDirError) as refused:
        EmulatorState(EmulatorConfig(data_dir=target, fsync=False))
    assert not isinstance(refused.value, DataDirInUse)
    assert str(refused.value) == f"cannot use data directory {target}: {reason}"
    assert "\n" not in str(refused.value)
    assert (tmp_path / "a-file").read_bytes() == b"precious"


def test_mock_vod_closes_the_state_it_made(tmp_path: Path) -> None:
    """EMU-PER-004: in-process mode on a data directory releases it at exit, so the next
    mock on the same directory opens it and finds what the first one stored."""
    config = EmulatorConfig(data_dir=tmp_path, fsync=False)
    with mock_vod(config=config) as first:
        first.state.oss.ensure_bucket("kept-bucket")
    with mock_vod(config=config) as second:
        assert "kept-bucket" in {bucket["name"] for bucket in second.state.oss.dump()["buckets"]}


def test_the_holder_keeps_its_database_to_itself(tmp_path: Path) -> None:
    """EMU-PER-004: while a state holds the data directory, its database is locked to it
    (SQLite's exclusive locking: no per-transaction file locks); once closed, another
    reader sees every committed row."""
    data_dir = tmp_path / "data"
    state = EmulatorState(EmulatorConfig(data_dir=data_dir))
    try:
        state.oss.create_bucket("held-bucket")
        other = sqlite3.connect(data_dir / "meta.sqlite3", timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("SELECT name FROM oss_buckets").fetchall()
        finally:
            other.close()
    finally:
        state.close()
    reader = sqlite3.connect(data_dir / "meta.sqlite3")
    try:
        assert ("held-bucket",) in reader.execute("SELECT name FROM oss_buckets").fetchall()
    finally:
        reader.close()
