"""JS 1.5.x mapping gaps of issue 14 (item 10), over the emulator on loopback:
resumeUploadWithToken, image resume after expiry with a new address, the same file added
twice, get_checkpoint of a relative path that looks like a file id, cancel during a small
PutObject, and a numeric userId. Each test failed before (see the docstrings)."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.uploader import (
    MIN_PART,
    Tracer,
    expire_upload_tokens,
    file_crc,
    open_uploads,
    operations,
    stored_object,
    write_file,
)

from emulator.faults import Effect, Match
from vodref import Vod
from vodref.core import FileState, FileView
from vodref.errors import FileAlreadyAddedError
from vodref.testing import MemoryCheckpointStore

PARTS = 8


def _expire_once_after(emu: Any, tracer: Tracer, threshold: int) -> threading.Event:
    emu.control.add_fault(effect=Effect.delay(0.05), match=Match(operation="UploadPart"))
    fired = threading.Event()

    def on_bytes(name: str, done: int, total: int) -> None:
        if done >= threshold and not fired.is_set():
            fired.set()
            assert expire_upload_tokens(emu)

    tracer.hooks["bytes"] = on_bytes
    return fired


def _auth_fields(upload_auth: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(upload_auth)))


def test_resume_upload_with_token_continues_the_same_upload(
    emu: Any, vod_api: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-API-011: JS resumeUploadWithToken(ak, sk, token, expiration): the UploadAuth's
    fields one by one; no VOD call from the uploader, the same multipart upload continues.
    Before: no such method (the mapping pointed at resume_upload_with_sts_token, which calls
    RefreshUploadVideo with them and fails with Forbidden.RAM)."""
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        grant = vod_api.create_upload_video(
            title="t", file_name=info.name, file_size=info.size, extra={}
        )
        holder["vod"].set_upload_auth_and_address(
            info, grant.upload_auth, grant.upload_address, grant.video_id
        )

    def expired(info: FileView) -> None:
        assert info.video_id
        fields = _auth_fields(vod_api.refresh_upload_video(info.video_id).upload_auth)
        holder["vod"].resume_upload_with_token(
            fields["AccessKeyId"],
            fields["AccessKeySecret"],
            fields["SecurityToken"],
            time.time() + 3000,
        )

    fired = _expire_once_after(emu, tracer, 3 * MIN_PART)
    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = started
    callbacks["on_upload_token_expired"] = expired
    path = write_file(sizes_dir, "token.mp4", PARTS * MIN_PART)
    vod = make_vod(auth_provider=None, parallel=2, **callbacks)
    holder["vod"] = vod
    [view] = vod.upload(path, timeout=60)
    assert fired.is_set()
    assert view.state is FileState.SUCCESS, view.error
    ops = operations(emu)
    assert ops.count("InitiateMultipartUpload") == 1
    assert ops.count("RefreshUploadVideo") == 1  # the app's, not the uploader's
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))


def test_an_image_resumes_after_expiry_with_its_new_address(
    emu: Any, vod_api: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-API-017: images have no RefreshUploadImage; a new CreateUploadImage names a new key,
    so resume_upload_with_auth takes its address: the image starts over there. The old upload
    is aborted if any credentials still can (the expired ones cannot, and the new ones only
    write the new key: the old key's upload is left to the bucket's lifecycle rule, as the
    old image record is; UP-DEV-031). Before: no address could be given, the new credentials
    could not write the old key."""
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        grant = vod_api.create_upload_image(image_ext="jpg", title="i", extra={})
        holder["vod"].set_upload_auth_and_address(
            info, grant.upload_auth, grant.upload_address, grant.image_id
        )

    def expired(info: FileView) -> None:
        grant = vod_api.create_upload_image(image_ext="jpg", title="i", extra={})
        holder["vod"].resume_upload_with_auth(grant.upload_auth, grant.upload_address)

    fired = _expire_once_after(emu, tracer, 2 * MIN_PART)
    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = started
    callbacks["on_upload_token_expired"] = expired
    path = write_file(sizes_dir, "picture.jpg", PARTS * MIN_PART)
    vod = make_vod(auth_provider=None, parallel=2, **callbacks)
    holder["vod"] = vod
    [view] = vod.upload(path, timeout=60)
    assert fired.is_set()
    assert view.state is FileState.SUCCESS, view.error
    assert operations(emu).count("CreateUploadImage") == 2
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert "AbortMultipartUpload" in operations(emu)  # attempted
    assert view.target is not None
    assert all(u["key"] != view.target.key for u in open_uploads(emu))


def test_the_same_file_added_twice_is_refused(make_vod: Any, sizes_dir: Path) -> None:
    """UP-API-018 UP-DEV-042:
    JS addFile refuses a file it holds; two entries would share a checkpoint
    and make two videos. After the first is finished (or deleted) it may be added again.
    Before: accepted."""
    vod = make_vod()
    path = write_file(sizes_dir, "twice.mp4", 3 * MIN_PART)
    first = vod.add_file(path)
    with pytest.raises(FileAlreadyAddedError):
        vod.add_file(str(path))
    assert [v.file_id for v in vod.list_files()] == [first.file_id]
    vod.delete_file(first.file_id)
    assert vod.add_file(path).file_id != first.file_id


def test_get_checkpoint_of_a_relative_path_that_looks_like_a_file_id(
    emu: Any, make_vod: Any, sizes_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UP-API-014: get_checkpoint("file-clip.mp4") reads the path's record when no file of
    the list has that id. Before: taken for a file id, UnknownFileError."""
    store = MemoryCheckpointStore()
    path = write_file(sizes_dir, "file-clip.mp4", PARTS * MIN_PART)
    emu.control.add_fault(effect=Effect.delay(0.05), match=Match(operation="UploadPart"))
    reached = threading.Event()
    tracer = Tracer()
    tracer.hooks["bytes"] = lambda n, done, t: reached.set() if done >= 2 * MIN_PART else None
    first = make_vod(checkpoint_store=store, checkpoint_interval=0.0, **tracer.callbacks())
    first.add_file(path)
    first.start_upload()
    assert reached.wait(20)
    first.close()
    monkeypatch.chdir(sizes_dir)
    vod = make_vod(checkpoint_store=store)
    record = vod.get_checkpoint("file-clip.mp4")
    assert record is not None and record["video_id"]


def test_cancel_during_a_small_put_that_completes_ends_in_success(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-CANCEL-006 UP-DEV-041: cancel while a PutObject (< 100 KiB) is on the wire; the Put lands:
    the file says Success with its VideoId (the video exists), not Canceled. Before: Canceled
    over a finished video."""
    entered = threading.Event()
    emu.control.add_fault(effect=Effect.delay(0.5), match=Match(operation="PutObject"))
    vod = make_vod(**tracer.callbacks())
    path = write_file(sizes_dir, "small.mp4", 50_000)
    view = vod.add_file(path)
    vod.start_upload()
    deadline = time.monotonic() + 10
    while not any(r["operation"] == "PutObject" for r in emu.control.requests()):
        assert time.monotonic() < deadline
        entered.wait(0.01)
    vod.cancel_file(view.file_id)
    [final] = vod.wait(timeout=30)
    assert final.state is FileState.SUCCESS and final.video_id
    assert stored_object(emu, root_transport, final) == (path.stat().st_size, file_crc(path))
    assert ("succeeded", "small.mp4") in tracer.names()


def test_a_numeric_user_id_is_accepted() -> None:
    """UP-API-019: JS accepts userId as a number; it becomes its decimal text (a bool is
    still refused). Before: InvalidOptionError."""
    vod = Vod(user_id=1234567890, checkpoint_store=MemoryCheckpointStore())
    try:
        assert vod.options.user_id == "1234567890"
    finally:
        vod.close()
