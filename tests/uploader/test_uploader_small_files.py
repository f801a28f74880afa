"""Many small files (issue 12): files at once really overlap, the durability of their
barrier saves included, and the ``multipart_threshold`` option, against the emulator on a
real socket (the ``make_vod`` fixture) and through the CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.cli import run_cli
from support.uploader import isolated_env, operations, sample_checkpoint, write_file

from vodref import Vod
from vodref.clock import SystemClock
from vodref.core import (
    CommandAbandoned,
    Credentials,
    FileState,
    InitiateMultipart,
    InvalidOptionError,
    ObjectTarget,
    SaveCheckpoint,
    StartUpload,
    StopUpload,
)
from vodref.driver import Driver
from vodref.testing import MemoryCheckpointStore

KIB = 1024


class _GatedStore(MemoryCheckpointStore):
    """Holds the first flush a worker thread asks for until ``gate`` is set: a slow disk
    under one file's barrier save."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.held = threading.Event()
        self._first = True
        self._guard = threading.Lock()

    def flush(self) -> None:
        with self._guard:
            hold = self._first and threading.current_thread().name.startswith("vodref-worker")
            self._first = self._first and not hold
        if hold:
            self.held.set()
            assert self.gate.wait(30), "the test never opened the gate"
        super().flush()


def test_a_slow_barrier_save_holds_its_own_file_only(
    make_vod: Callable[..., Vod], tmp_path: Path, emu: Any
) -> None:
    """UPL-DUR-009 UPL-DUR-001 UP-CONC-001: while one file's barrier save is being made
    durable, its dependent request waits (no Initiate for it reaches the service), and the
    other file goes on to the end instead of waiting behind it."""
    store = _GatedStore()
    succeeded: list[str] = []
    first_success = threading.Event()

    def on_succeed(view: Any) -> None:
        succeeded.append(view.name)
        first_success.set()

    vod = make_vod(checkpoint_store=store, max_concurrent_files=2, on_upload_succeed=on_succeed)
    names = ["a.mp4", "b.mp4"]
    for seed, name in enumerate(names):
        vod.add_file(write_file(tmp_path, name, 200 * KIB, seed=seed + 1))
    vod.start_upload()
    try:
        assert store.held.wait(20), "no barrier flush happened"
        assert first_success.wait(20), "the other file waited behind the slow save"
        [done] = succeeded
        [waiting] = [v for v in vod.list_files() if v.name != done]
        assert waiting.state is FileState.UPLOADING
        # The held file's VideoId is saved, but its Initiate has not been sent.
        assert waiting.video_id is not None
        assert operations(emu).count("InitiateMultipartUpload") == 1
    finally:
        store.gate.set()
    views = vod.wait(timeout=30)
    assert [v.state for v in views] == [FileState.SUCCESS, FileState.SUCCESS]
    assert operations(emu).count("InitiateMultipartUpload") == 2


def test_a_raised_threshold_uploads_small_files_with_one_put(
    make_vod: Callable[..., Vod], tmp_path: Path, emu: Any
) -> None:
    """UP-OPT-013 UP-PART-007 UP-DEV-043: ``Vod(multipart_threshold=...)``: a 200 KiB file below it
    is CreateUploadVideo + PutObject; the default keeps the JS rule (multipart)."""
    vod = make_vod(multipart_threshold=256 * KIB)
    [view] = vod.upload(write_file(tmp_path, "small.mp4", 200 * KIB), timeout=30)
    assert view.state is FileState.SUCCESS and view.video_id
    assert operations(emu) == ["CreateUploadVideo", "PutObject"]
    emu.control.clear_requests()
    default = make_vod()
    [view] = default.upload(write_file(tmp_path, "js.mp4", 200 * KIB, seed=2), timeout=30)
    assert view.state is FileState.SUCCESS
    assert "InitiateMultipartUpload" in operations(emu) and "PutObject" not in operations(emu)


@pytest.mark.parametrize("bad", [0, 6 * 1024**3, True])
def test_a_bad_threshold_raises_before_anything_starts(bad: object) -> None:
    """UP-OPT-013: the option is validated with the others."""
    with pytest.raises(InvalidOptionError, match="multipart_threshold"):
        Vod(multipart_threshold=bad)  # type: ignore[arg-type]


def test_cli_multipart_threshold(emu: Any, tmp_path: Path) -> None:
    """UP-OPT-013 UPL-CLI-001: ``--multipart-threshold 1MiB`` puts a 200 KiB file in one
    request; the VideoId is printed as usual."""
    path = write_file(tmp_path, "cli.mp4", 200 * KIB)
    env = isolated_env(tmp_path)
    env.update(
        {
            "VODREF_VOD_ENDPOINT": emu.url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": emu.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emu.access_key_secret,
        }
    )
    result = run_cli(["upload", str(path), "--multipart-threshold", "1MiB"], env)
    assert result.returncode == 0, result.stderr
    assert "VideoId: " in result.stdout
    assert operations(emu) == ["CreateUploadVideo", "PutObject"]


class _ScriptedCore:
    """A core that answers each event with the next batch of a script."""

    def __init__(self, batches: list[list[Any]]) -> None:
        self.batches = batches

    def handle(self, event: object, *, now: float) -> list[Any]:
        return self.batches.pop(0) if self.batches else []

    def handle_timer(self, now: float) -> list[Any]:
        return []

    def next_deadline(self) -> float | None:
        return None


class _OrderedStore(MemoryCheckpointStore):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def save(self, key: str, record: Any) -> None:
        super().save(key, record)
        self.log.append("save")

    def flush(self) -> None:
        super().flush()
        self.log.append("flush")


class _OrderedPerformer:
    has_auth_provider = True

    def __init__(self, log: list[str], done: threading.Event) -> None:
        self.log = log
        self.done = done

    def perform(self, command: Any) -> Any:
        self.log.append(f"perform {command.file_id}")
        self.done.set()
        return CommandAbandoned(command_id=command.command_id)


def test_a_request_in_a_later_batch_still_waits_for_its_barrier() -> None:
    """UPL-DUR-001 UPL-DUR-009: the barrier save and the request that depends on it come in
    different batches (an Initiate held back by an outage, released later): the request is
    performed only after a flush that covers the save."""
    log: list[str] = []
    done = threading.Event()
    target = ObjectTarget(endpoint="http://e", bucket="b", key="k")
    credentials = Credentials(access_key_id="id", access_key_secret="s", security_token="t")
    save = SaveCheckpoint(
        command_id=1, file_id="f", key="v1:f", checkpoint=sample_checkpoint(0), barrier=True
    )
    initiate = InitiateMultipart(command_id=2, file_id="f", target=target, credentials=credentials)
    driver = Driver(
        core=_ScriptedCore([[save], [initiate]]),
        performer=_OrderedPerformer(log, done),  # type: ignore[arg-type]
        store=_OrderedStore(log),
        clock=SystemClock(),
        notify=lambda notification: None,
        workers=2,
    )
    try:
        driver.submit(StartUpload())
        with driver.lock:
            assert driver.undurable_files() == {"f"}
        driver.submit(StopUpload())
        assert done.wait(10)
        assert log.index("save") < log.index("flush") < log.index("perform f")
        with driver.lock:
            assert driver.undurable_files() == set()
    finally:
        driver.close()


class _BarrierFlushStore(_OrderedStore):
    def flush_barriers(self) -> None:
        super().flush()
        self.log.append("flush_barriers")


def test_a_barrier_uses_the_stores_barrier_flush() -> None:
    """UPL-CKPT-008 UPL-DUR-001: a store with ``flush_barriers`` has it called for a
    barrier, before the request that depends on the save."""
    log: list[str] = []
    done = threading.Event()
    target = ObjectTarget(endpoint="http://e", bucket="b", key="k")
    credentials = Credentials(access_key_id="id", access_key_secret="s", security_token="t")
    save = SaveCheckpoint(
        command_id=1, file_id="f", key="v1:f", checkpoint=sample_checkpoint(0), barrier=True
    )
    initiate = InitiateMultipart(command_id=2, file_id="f", target=target, credentials=credentials)
    driver = Driver(
        core=_ScriptedCore([[save, initiate]]),
        performer=_OrderedPerformer(log, done),  # type: ignore[arg-type]
        store=_BarrierFlushStore(log),
        clock=SystemClock(),
        notify=lambda notification: None,
        workers=2,
    )
    try:
        driver.submit(StartUpload())
        assert done.wait(10)
        assert log[: log.index("perform f") + 1] == ["save", "flush", "flush_barriers", "perform f"]
    finally:
        driver.close()
