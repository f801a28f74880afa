"""The JS-parity API's contract at the edges: bad input raises a typed error and changes
nothing (specs/uploader-driver.md UPL-API-*), and the small pure helpers behave."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from support.uploader import MIN_PART, b64_json, file_crc, stored_object, write_file

from vodref import Vod
from vodref.checksums import crc64
from vodref.core import (
    FileState,
    InvalidOptionError,
    InvalidStateError,
    UnknownFileError,
    UploaderOptions,
    UsageError,
)
from vodref.errors import (
    MalformedAuthError,
    SourceError,
    UnknownOptionError,
    UploaderClosedError,
    UploadWaitTimeout,
)
from vodref.testing import MemoryCheckpointStore


@pytest.fixture
def offline_vod() -> Any:
    """An uploader that never reaches a service (in-memory store; an on_upload_started that
    never answers, so files wait for credentials until the default deadline)."""
    vod = Vod(checkpoint_store=MemoryCheckpointStore(), on_upload_started=lambda view: None)
    yield vod
    vod.close()


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"part_size": MIN_PART - 1}, InvalidOptionError, "part_size"),
        ({"parallel": 0}, InvalidOptionError, "parallel"),
        ({"retry_count": -1}, InvalidOptionError, "max_retries"),
        ({"timeout": 0}, InvalidOptionError, "timeout"),
        ({"retry_duration": "2"}, InvalidOptionError, "retry_duration"),
        ({"partSize": MIN_PART}, UnknownOptionError, "part_size"),
        ({"onUploadstarted": print}, UnknownOptionError, "on_upload_started"),
        ({"paralel": 3}, UnknownOptionError, "parallel"),
    ],
)
def test_bad_options_raise_typed_errors(options: dict[str, Any], error: type, text: str) -> None:
    """UP-OPT-001 UP-OPT-002 UP-OPT-003 UP-OPT-004 UP-OPT-012 UP-DEV-001 UPL-API-001: no
    silent default; an unknown or JS-spelled keyword names the right one."""
    with pytest.raises(error, match=text):
        Vod(checkpoint_store=MemoryCheckpointStore(), **options)


def test_a_validated_option_set_is_taken_whole() -> None:
    """UPL-API-016: ``options=`` is used as given; an option keyword beside it, or a value
    that is not an option set, raises before anything is created."""
    options = UploaderOptions(part_size=2 * MIN_PART, parallel=2, checkpoint_interval=0.0)
    with Vod(options=options, checkpoint_store=MemoryCheckpointStore()) as vod:
        assert vod.options is options
    with pytest.raises(InvalidOptionError, match="parallel"):
        Vod(options=options, parallel=3, checkpoint_store=MemoryCheckpointStore())
    with pytest.raises(InvalidOptionError, match="options must be UploaderOptions"):
        Vod(options={"part_size": MIN_PART}, checkpoint_store=MemoryCheckpointStore())  # type: ignore[arg-type]


def test_defaults_match_the_js_sdk(offline_vod: Vod) -> None:
    """UP-OPT-005 UP-OPT-006 UP-OPT-007 UP-OPT-008 UP-OPT-009 UP-OPT-010 UP-OPT-011
    UPL-API-001: JS defaults (1 MiB parts, 5 in parallel, cn-shanghai), one file at a time."""
    options = offline_vod.options
    assert (options.part_size, options.parallel, options.region) == (1_048_576, 5, "cn-shanghai")
    assert options.max_concurrent_files == 1
    assert options.retry.max_retries == 3 and options.retry.initial_delay == 2.0
    assert options.timeout == 60.0 and options.user_id is None
    assert options.cname is False and options.local_checkpoint is False
    # Saved after every part (JS parity); the file store coalesces the writes.
    assert options.refresh_margin == 300.0 and options.checkpoint_interval == 0.0


def test_add_file_refuses_missing_directories_and_text(offline_vod: Vod, tmp_path: Path) -> None:
    """UPL-API-002 UPL-SRC-001: missing file, directory, text-mode object, bad param_data:
    typed errors, and the list stays empty."""
    with pytest.raises(SourceError, match="no such file"):
        offline_vod.add_file(tmp_path / "missing.mp4")
    with pytest.raises(SourceError, match="directory"):
        offline_vod.add_file(tmp_path)
    with pytest.raises(SourceError, match="binary"):
        offline_vod.add_file(io.StringIO("text"))  # type: ignore[arg-type]
    path = write_file(tmp_path, "ok.mp4", 10)
    with pytest.raises(InvalidOptionError):
        offline_vod.add_file(path, param_data="{not json")
    with pytest.raises(InvalidOptionError):
        offline_vod.add_file(path, param_data='{"Vod": []}')
    assert offline_vod.list_files() == []


def test_file_references_and_states(offline_vod: Vod, tmp_path: Path) -> None:
    """UP-API-002 UP-API-004 UP-API-005 UP-API-007 UP-STATE-001 UPL-API-003: JS index, file
    id or snapshot; unknown ones raise; snapshots are frozen."""
    path = write_file(tmp_path, "a.mp4", 10)
    view = offline_vod.add_file(path, param_data={"Vod": {"Title": "t"}})
    assert view.state is FileState.READY
    assert offline_vod.list_files()[0].file_id == view.file_id
    with pytest.raises(UnknownFileError):
        offline_vod.cancel_file(5)
    with pytest.raises(UnknownFileError):
        offline_vod.delete_file("file-999")
    with pytest.raises(InvalidStateError):
        offline_vod.resume_file(view)  # Ready cannot be resumed
    with pytest.raises(AttributeError):
        view.state = FileState.SUCCESS  # type: ignore[misc]
    offline_vod.delete_file(0)
    assert offline_vod.list_files() == []


def test_malformed_upload_auth_changes_nothing(offline_vod: Vod, tmp_path: Path) -> None:
    """UP-API-009 UPL-API-004: malformed UploadAuth/UploadAddress raise MalformedAuthError;
    the file keeps waiting for credentials; an answer nobody waits for is a UsageError."""
    started: list[Any] = []
    vod = Vod(checkpoint_store=MemoryCheckpointStore(), on_upload_started=started.append)
    try:
        path = write_file(tmp_path, "a.mp4", 10)
        view = vod.add_file(path)
        with pytest.raises(UsageError):
            vod.set_upload_auth_and_address(view, "x", "y")  # not started: nobody waits
        vod.start_upload()
        good_address = b64_json({"Endpoint": "http://127.0.0.1:9", "Bucket": "b", "FileName": "k"})
        for auth in ("not base64!", b64_json([1]), b64_json({"AccessKeyId": "a"}), ""):
            with pytest.raises(MalformedAuthError):
                vod.set_upload_auth_and_address(view, auth, good_address)
        good_auth = b64_json(
            {"AccessKeyId": "a", "AccessKeySecret": "s", "SecurityToken": "t", "Expiration": "60"}
        )
        with pytest.raises(MalformedAuthError):
            vod.set_upload_auth_and_address(view, good_auth, b64_json({"Endpoint": "e"}))
        assert vod.list_files()[0].state is FileState.UPLOADING
        assert vod.list_files()[0].target is None
        with pytest.raises(UploadWaitTimeout):
            vod.wait(timeout=0.2)
        vod.stop_upload()
        with pytest.raises(InvalidOptionError):
            vod.resume_upload_with_sts_token("", "s", "t")
    finally:
        vod.close()


def test_closed_uploader_refuses_calls(tmp_path: Path) -> None:
    """UPL-API-002: after close() every mutating call raises UploaderClosedError."""
    vod = Vod(checkpoint_store=MemoryCheckpointStore())
    vod.close()
    vod.close()  # idempotent
    for call in (
        lambda: vod.add_file(tmp_path),
        vod.start_upload,
        vod.stop_upload,
        vod.clean_list,
        lambda: vod.cancel_file(0),
    ):
        with pytest.raises(UploaderClosedError):
            call()
    assert vod.list_files() == []


def test_start_twice_and_clean_list(offline_vod: Vod, tmp_path: Path) -> None:
    """UP-API-006 UP-API-007 UP-STATE-006 UPL-API-008: start while running raises;
    clean_list empties the list in any state."""
    offline_vod.add_file(write_file(tmp_path, "a.mp4", 10))
    offline_vod.start_upload()
    with pytest.raises(InvalidStateError):
        offline_vod.start_upload()
    offline_vod.clean_list()
    assert offline_vod.list_files() == []


def test_binary_file_object_uploads(
    emu: Any, make_vod: Any, root_transport: Any, tmp_path: Path
) -> None:
    """UPL-API-002 UPL-SRC-001: a BytesIO (no descriptor) and an open file both upload."""
    data = bytes(range(256)) * 1000
    path = write_file(tmp_path, "opened.mp4", 3 * MIN_PART)
    vod = make_vod()
    with path.open("rb") as handle:
        vod.add_file(io.BytesIO(data), name="memory.mp4")
        vod.add_file(handle)
        vod.start_upload()
        views = vod.wait(timeout=30)
    assert [v.state for v in views] == [FileState.SUCCESS, FileState.SUCCESS]
    assert stored_object(emu, root_transport, views[0]) == (len(data), crc64(data))
    assert stored_object(emu, root_transport, views[1]) == (path.stat().st_size, file_crc(path))


def test_wait_from_a_callback_is_refused(tmp_path: Path) -> None:
    """UPL-DRV-005: callbacks run on one thread; wait() there would deadlock, so it raises."""
    errors: list[BaseException] = []
    holder: dict[str, Vod] = {}

    def started(info: Any) -> None:
        try:
            holder["vod"].wait(timeout=1)
        except UsageError as error:
            errors.append(error)
        holder["vod"].stop_upload()

    vod = Vod(checkpoint_store=MemoryCheckpointStore(), on_upload_started=started)
    holder["vod"] = vod
    try:
        vod.add_file(write_file(tmp_path, "a.mp4", 10))
        vod.start_upload()
        vod.wait(timeout=5)
        assert errors and "callback" in str(errors[0])
    finally:
        vod.close()
