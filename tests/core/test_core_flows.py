"""Scenario tests of the core against the in-memory OSS model: the happy paths, the callback
order, the API calls and their misuse. Recovery paths are in test_core_recovery.py."""

from __future__ import annotations

import pytest
from support.core import ScriptedDriver, crc_of, make_data

from vodref.core import (
    MAX_FILE_SIZE,
    AddFile,
    AuthMismatchError,
    AuthReason,
    CallVod,
    CancelFile,
    CompleteMultipart,
    Credentials,
    DeleteFile,
    DuplicateFileError,
    EmptyFileError,
    FileState,
    InitiateMultipart,
    InvalidEventError,
    MediaKind,
    NotifyEnded,
    NotifyProgress,
    NotifyStarted,
    NotifySucceeded,
    ObjectTarget,
    PauseFile,
    PutObject,
    RequestAuth,
    ResumeFile,
    StartUpload,
    StopUpload,
    StsTokenProvided,
    TargetOverride,
    UploadAuthProvided,
    UploaderOptions,
    UploaderState,
    UploadPart,
    VodAction,
)

KIB100 = 102_400


def options(**kwargs: object) -> UploaderOptions:
    kwargs.setdefault("part_size", KIB100)
    return UploaderOptions(**kwargs)  # type: ignore[arg-type]


def test_small_file_is_one_put_and_the_callbacks_run_in_order() -> None:
    """UP-PART-001 UP-CB-001 UP-CB-002 UP-CB-003 UP-CB-007 UP-CB-008 UP-STATE-006"""
    d = ScriptedDriver(options())
    data = make_data(KIB100 - 1)
    d.add("f", data)
    d.send(StartUpload())
    assert d.note_names() == ["NotifyStarted"]
    started = d.notes[0]
    assert isinstance(started, NotifyStarted) and started.file.state is FileState.UPLOADING
    assert isinstance(d.pending[0], RequestAuth) and d.pending[0].reason is AuthReason.START
    d.run()
    assert not [c for c in d.log if isinstance(c, (InitiateMultipart, UploadPart))]
    assert next(c for c in d.log if isinstance(c, PutObject)).size == len(data)
    assert d.note_names() == ["NotifyStarted", "NotifyProgress", "NotifySucceeded", "NotifyEnded"]
    (progress,) = d.progress("f")
    assert progress.bytes_done == len(data) and progress.ratio == 1.0
    succeeded = d.notes[2]
    assert isinstance(succeeded, NotifySucceeded) and succeeded.verified
    assert succeeded.file.crc64 == crc_of(data)
    key = succeeded.file.target.key if succeeded.file.target else ""
    assert d.model.objects[key] == data
    assert d.core.state is UploaderState.ENDED


def test_multipart_file_end_to_end() -> None:
    """UP-PART-002 UP-PART-006 UP-CB-002 UP-CB-008 UP-PROG-001 UP-CRC-002 UP-DEV-020"""
    d = ScriptedDriver(options(parallel=3))
    data = make_data(7 * KIB100 + 123)
    d.add("f", data)
    d.send(StartUpload())
    d.run()
    view = d.core.file("f")
    assert view.state is FileState.SUCCESS and view.part_count == 8
    assert d.model.objects[view.target.key if view.target else ""] == data
    complete = next(c for c in d.log if isinstance(c, CompleteMultipart))
    assert [n for n, _ in complete.parts] == list(range(1, 9))
    assert complete.expected_crc64 == crc_of(data) == view.crc64
    progress = d.progress("f")
    assert progress[0].bytes_done == 0 and progress[0].ratio == 0.0
    assert [p.bytes_done for p in progress] == sorted(p.bytes_done for p in progress)
    assert progress[-1].bytes_done == len(data) and progress[-1].ratio == 1.0
    names = d.note_names()
    assert names[0] == "NotifyStarted" and names[-2:] == ["NotifySucceeded", "NotifyEnded"]


def test_parallel_bounds_parts_in_flight() -> None:
    """UP-PART-005 UP-OPT-002"""
    d = ScriptedDriver(options(parallel=3))
    d.add("f", make_data(10 * KIB100))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    assert sum(isinstance(c, UploadPart) for c in d.pending) == 3
    d.complete(d.take(UploadPart))
    assert sum(isinstance(c, UploadPart) for c in d.pending) == 3
    d.send(StopUpload())
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    # the three parts from before the stop still count until their fate is known
    assert sum(isinstance(c, UploadPart) for c in d.pending) == 3


def test_files_upload_one_at_a_time_in_list_order_by_default() -> None:
    """UP-CONC-001 UP-STATE-006 UP-DEV-022"""
    d = ScriptedDriver(options())
    for name in ("a", "b", "c"):
        d.add(name, make_data(1000, seed=ord(name)))
    d.send(StartUpload())
    assert [v.state for v in d.core.files()] == [
        FileState.UPLOADING,
        FileState.READY,
        FileState.READY,
    ]
    d.run()
    started = [n.file.file_id for n in d.notes if isinstance(n, NotifyStarted)]
    assert started == ["a", "b", "c"]
    assert sum(isinstance(n, NotifyEnded) for n in d.notes) == 1


def test_concurrency_across_files_is_optional() -> None:
    """UP-CONC-001 UP-OPT-009 UP-DEV-022"""
    d = ScriptedDriver(options(max_concurrent_files=2))
    for name in ("a", "b", "c"):
        d.add(name, make_data(1000, seed=ord(name)))
    d.send(StartUpload())
    assert [v.state for v in d.core.files()] == [
        FileState.UPLOADING,
        FileState.UPLOADING,
        FileState.READY,
    ]
    d.run()
    assert all(v.state is FileState.SUCCESS for v in d.core.files())


def test_a_file_added_while_running_is_picked_and_end_needs_a_new_start() -> None:
    """UP-STATE-006 UP-CB-007"""
    d = ScriptedDriver(options())
    d.add("a", make_data(1000))
    d.send(StartUpload())
    d.add("b", make_data(1000, seed=2))
    d.run()
    assert d.state("b") == "Success"
    d.add("c", make_data(1000, seed=3))
    d.run()
    assert d.state("c") == "Ready" and d.core.state is UploaderState.ENDED
    d.send(StartUpload())
    d.run()
    assert d.state("c") == "Success"


def test_start_with_nothing_ready_ends_and_notifies() -> None:
    """UP-API-007 UP-DEV-029"""
    d = ScriptedDriver(options())
    d.send(StartUpload())
    assert d.core.state is UploaderState.ENDED
    assert d.note_names() == ["NotifyEnded"]


def test_add_file_misuse_raises_and_adds_nothing() -> None:
    """UP-API-001 UP-DEV-012"""
    d = ScriptedDriver(options())
    d.add("f", make_data(1000))
    with pytest.raises(DuplicateFileError):
        d.add("f", make_data(10))
    with pytest.raises(EmptyFileError):
        d.add("g", b"")
    assert EmptyFileError.code == "EmptyFile"
    with pytest.raises(InvalidEventError):
        AddFile(file_id="h", name="h.mp4", size=-1, fingerprint="fp")
    with pytest.raises(InvalidEventError):  # over 10,000 x 5 GiB
        d.send(AddFile(file_id="h", name="h.mp4", size=MAX_FILE_SIZE + 1, fingerprint="fp"))
    assert [v.file_id for v in d.core.files()] == ["f"]


def test_overrides_win_over_the_upload_address() -> None:
    """UP-API-001"""
    d = ScriptedDriver(options())
    d.add("f", make_data(1000), target_override=TargetOverride(bucket="mine", key="my/key"))
    d.send(StartUpload())
    d.run()
    target = d.core.file("f").target
    assert target is not None and target.bucket == "mine" and target.key == "my/key"


def test_list_files_gives_snapshots() -> None:
    """UP-API-005 UP-DEV-011"""
    d = ScriptedDriver(options())
    d.add("f", make_data(1000))
    (view,) = d.core.files()
    with pytest.raises(AttributeError):
        view.state = FileState.SUCCESS  # type: ignore[misc]
    d.send(StartUpload())
    assert view.state is FileState.READY and d.core.file("f").state is FileState.UPLOADING


def test_upload_auth_needs_an_address_or_complete_overrides() -> None:
    """UP-API-009 UP-API-016"""
    d = ScriptedDriver(options())
    d.add("f", make_data(1000))
    d.send(StartUpload())
    request = d.take(RequestAuth)
    credentials = d.credentials()
    with pytest.raises(InvalidEventError):
        d.send(UploadAuthProvided(command_id=request.command_id, credentials=credentials))
    assert d.core.auth_request("f") == request  # UP-API-016: still waiting, unchanged
    d.send(
        UploadAuthProvided(
            command_id=request.command_id,
            credentials=credentials,
            address=d.model.address("v"),
            video_id="v",
        )
    )
    assert d.core.auth_request("f") is None
    d.run()
    assert d.state("f") == "Success"


def test_sts_mode_calls_vod_itself() -> None:
    """UP-API-010"""
    d = ScriptedDriver(options(), sts=True)
    d.add("f", make_data(3 * KIB100))
    d.add("img", make_data(1000, seed=1), media_kind=MediaKind.IMAGE)
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    call = d.take(CallVod)
    assert call.action is VodAction.CREATE_UPLOAD_VIDEO and call.video_id is None
    d.complete(call)
    d.run()
    actions = [c.action for c in d.log if isinstance(c, CallVod)]
    assert actions == [VodAction.CREATE_UPLOAD_VIDEO, VodAction.CREATE_UPLOAD_IMAGE]
    assert {v.state for v in d.core.files()} == {FileState.SUCCESS}


def test_sts_token_directly_upload_uses_the_overrides() -> None:
    """UP-API-013"""
    d = ScriptedDriver(options(max_concurrent_files=2))
    override = TargetOverride(endpoint="https://e", bucket="b", key="direct/key")
    d.add("f", make_data(1000), target_override=override)
    d.add("g", make_data(1000, seed=1), target_override=TargetOverride(bucket="b"))
    d.send(StartUpload())
    request = d.take(RequestAuth, "g")
    with pytest.raises(InvalidEventError):  # overrides do not name endpoint and key
        d.send(StsTokenProvided(command_id=request.command_id, token=d.sts_token(), direct=True))
    d.abandon(request)
    d.send(
        StsTokenProvided(
            command_id=d.take(RequestAuth, "f").command_id, token=d.sts_token(), direct=True
        )
    )
    d.run()
    assert d.state("f") == "Success" and "direct/key" in d.model.objects
    assert not [c for c in d.log if isinstance(c, CallVod)]


def test_media_kind_is_explicit_not_guessed_from_the_name() -> None:
    """UP-DEV-010: JS's regex would call this an image"""
    d = ScriptedDriver(options())
    d.sources["f"] = make_data(1000)
    d.send(AddFile(file_id="f", name="my_png_clip.mp4", size=1000, fingerprint="fp"))
    d.send(StartUpload())
    assert d.take(RequestAuth).media_kind is MediaKind.VIDEO


def test_stop_then_start_continues_the_same_upload_and_asks_for_credentials_again() -> None:
    """UP-API-008 UP-CB-006 UP-DEV-025 UP-DEV-032"""
    d = ScriptedDriver(options(parallel=2))
    data = make_data(6 * KIB100)
    d.add("f", data)
    d.send(StartUpload())
    d.send(StopUpload())  # while waiting for credentials: fine (UP-DEV-032)
    assert d.state("f") == "Stopped"
    d.abandon(d.take(RequestAuth))  # the driver dropped it, as CancelRequests asked
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    upload_id = d.core.file("f").upload_id
    in_flight = [c for c in d.pending if isinstance(c, UploadPart)]
    d.send(StopUpload())
    canceled = [n for n in d.notes if type(n).__name__ == "NotifyCanceled"]
    assert canceled and canceled[-1].reason == "stop"  # type: ignore[attr-defined]
    d.complete(in_flight[0])  # UP-DEV-025: a part acknowledged after the stop still counts
    assert d.core.file("f").parts_done == 1
    d.send(StartUpload())
    auth = d.take(RequestAuth)
    assert auth.video_id == d.core.file("f").video_id  # UP-CB-001: resume -> Refresh
    d.complete(auth)
    d.run()
    assert d.core.file("f").upload_id == upload_id and d.state("f") == "Success"
    parts_sent = [c.part_number for c in d.log if isinstance(c, UploadPart)]
    assert parts_sent.count(1) == 1


def test_pause_one_file_while_others_continue() -> None:
    """UP-API-015 UP-DEV-021"""
    d = ScriptedDriver(options(max_concurrent_files=2))
    d.add("a", make_data(3 * KIB100))
    d.add("b", make_data(1000, seed=1))
    d.send(StartUpload())
    d.send(PauseFile(file_id="a"))
    d.run()
    assert d.state("a") == "Stopped" and d.state("b") == "Success"
    d.send(ResumeFile(file_id="a"))
    d.send(StartUpload())
    d.run()
    assert d.state("a") == "Success"


def test_resume_of_a_canceled_file_restarts_from_zero_for_the_same_video() -> None:
    """UP-CANCEL-004 UP-PROG-002 UP-API-004"""
    d = ScriptedDriver(options())
    d.add("f", make_data(3 * KIB100))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    d.complete(d.take(UploadPart))
    video_id = d.core.file("f").video_id
    d.send(CancelFile(file_id="f"))
    assert d.core.file("f").attempt == 2 and d.core.file("f").bytes_done == 0
    assert d.core.state is UploaderState.ENDED  # the only file ended: the run is over
    d.send(ResumeFile(file_id="f"))
    d.send(StartUpload())
    d.run()
    view = d.core.file("f")
    assert view.state is FileState.SUCCESS and view.video_id == video_id
    assert len(d.model.videos) == 1
    attempts = {p.attempt for p in d.progress("f")}
    assert attempts == {1, 2}
    for attempt in attempts:
        done = [p.bytes_done for p in d.progress("f") if p.attempt == attempt]
        assert done == sorted(done)


def test_credentials_for_another_video_are_refused() -> None:
    """UP-RESUME-003 UP-API-009 UP-DEV-017"""
    d = ScriptedDriver(options())
    d.add("f", make_data(3 * KIB100))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.send(StopUpload())
    d.send(StartUpload())
    request = d.take(RequestAuth)
    before = d.core.file("f")
    with pytest.raises(AuthMismatchError):
        d.send(
            UploadAuthProvided(
                command_id=request.command_id,
                credentials=d.credentials(),
                address=ObjectTarget(endpoint="e", bucket="b", key="k"),
                video_id="another",
            )
        )
    assert d.core.file("f") == before
    d.send(UploadAuthProvided(command_id=request.command_id, credentials=d.credentials()))
    d.run()
    assert d.state("f") == "Success" and len(d.model.videos) == 1


def test_progress_notifications_are_absolute_bytes() -> None:
    """UP-PROG-001"""
    d = ScriptedDriver(options(parallel=1))
    d.add("f", make_data(2 * KIB100 + 5))
    d.send(StartUpload())
    d.run()
    progress = [(p.bytes_done, p.parts_done, p.part_count) for p in d.progress("f")]
    assert progress == [(0, 0, 3), (KIB100, 1, 3), (2 * KIB100, 2, 3), (2 * KIB100 + 5, 3, 3)]
    assert isinstance(d.progress("f")[1], NotifyProgress)
    assert d.progress("f")[1].ratio == pytest.approx(1 / 3)
    assert d.core.file("f").ratio == 1.0


def test_secrets_are_not_in_reprs() -> None:
    """UP-CORE-002"""
    credentials = Credentials(access_key_id="id", access_key_secret="SECRET", security_token="TOK")
    assert "SECRET" not in repr(credentials) and "TOK" not in repr(credentials)
    d = ScriptedDriver(options())
    d.add("f", make_data(1000))
    d.send(StartUpload())
    d.run()
    assert not any("secret" in repr(command) for command in d.log)


def test_files_keep_their_ids_when_others_are_deleted() -> None:
    """UP-DEV-014: JS indices drift after deleteFile; ids do not"""
    d = ScriptedDriver(options())
    for name in ("a", "b", "c"):
        d.add(name, make_data(1000, seed=ord(name)))
    d.send(DeleteFile(file_id="a"))
    d.send(CancelFile(file_id="c"))
    assert [(v.file_id, v.state) for v in d.core.files()] == [
        ("b", FileState.READY),
        ("c", FileState.CANCELED),
    ]


def test_a_picked_file_is_uploading_at_once_and_is_never_started_twice() -> None:
    """UP-DEV-019 UP-CB-001"""
    d = ScriptedDriver(options())
    d.add("a", make_data(1000))
    d.add("b", make_data(1000, seed=2))
    d.send(StartUpload())
    assert d.state("a") == "Uploading"
    d.complete(d.take(RequestAuth, "a"))
    d.run()
    started = [n.file.file_id for n in d.notes if isinstance(n, NotifyStarted)]
    assert started == ["a", "b"]
    assert sum(isinstance(c, RequestAuth) for c in d.log) == 2


def test_a_restart_reuses_an_auth_request_still_out() -> None:
    """UP-RESUME-003: two requests without a VideoId could each create a video"""
    d = ScriptedDriver(options())
    d.add("f", make_data(3 * KIB100))
    d.send(StartUpload())
    d.send(StopUpload())
    d.send(StartUpload())
    assert sum(isinstance(c, RequestAuth) for c in d.log) == 1
    assert d.note_names().count("NotifyStarted") == 2
    d.run()
    assert d.state("f") == "Success" and len(d.model.videos) == 1
