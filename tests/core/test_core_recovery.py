"""Scenario tests of the recovery paths: retries, token expiry, resume, lost uploads, cancel,
integrity. The model is tests/support/core.py's in-memory OSS."""

from __future__ import annotations

import pytest
from support.core import (
    EXPIRED,
    FATAL,
    RETRYABLE,
    TIMEOUT,
    ScriptedDriver,
    crc_of,
    make_data,
    service_error,
)

from vodref.core import (
    AbortMultipart,
    AuthReason,
    CallVod,
    CancelFile,
    Checkpoint,
    CheckpointError,
    CleanList,
    CompleteMultipart,
    DeleteFile,
    Disposition,
    ErrorKind,
    FileState,
    HeadObject,
    InitiateMultipart,
    ListParts,
    MediaKind,
    MultipartCompleted,
    NotifyFailed,
    NotifyTokenExpired,
    ObjectPut,
    PartUploaded,
    PutObject,
    RequestAuth,
    RetryPolicy,
    ServiceError,
    StartUpload,
    UploaderOptions,
    UploaderState,
    UploadPart,
    VerifyPart,
    VodAction,
    classify,
)

KIB100 = 102_400


def options(**kwargs: object) -> UploaderOptions:
    kwargs.setdefault("part_size", KIB100)
    return UploaderOptions(**kwargs)  # type: ignore[arg-type]


def started(size: int = 4 * KIB100, **kwargs: object) -> ScriptedDriver:
    """A driver whose file 'f' is initiated and has its parts in flight."""
    sts = bool(kwargs.pop("sts", False))
    d = ScriptedDriver(options(**kwargs), sts=sts)
    d.add("f", make_data(size))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    if sts:
        d.complete(d.take(CallVod))
    d.complete(d.take(InitiateMultipart))
    return d


@pytest.mark.parametrize(
    ("error", "token", "expected"),
    [
        (
            ServiceError(kind=ErrorKind.NETWORK, code="ConnectionReset"),
            False,
            Disposition.UNAVAILABLE,
        ),
        (TIMEOUT, False, Disposition.UNAVAILABLE),
        (ServiceError(kind=ErrorKind.INTEGRITY, code="Crc64Mismatch"), False, Disposition.RETRY),
        (RETRYABLE, False, Disposition.UNAVAILABLE),
        (service_error("ServiceUnavailable", 503), False, Disposition.UNAVAILABLE),
        (service_error("Whatever", 502), False, Disposition.UNAVAILABLE),
        (service_error("Throttling.User", 400), False, Disposition.UNAVAILABLE),
        (service_error("TooManyRequests", 429), False, Disposition.UNAVAILABLE),
        (service_error("Other", 429), False, Disposition.UNAVAILABLE),
        (service_error("RequestTimeout", 400), False, Disposition.RETRY),
        (service_error("RequestTimeTooSkewed", 403), False, Disposition.RETRY),
        (EXPIRED, False, Disposition.TOKEN_EXPIRED),
        (service_error("InvalidSecurityToken.Expired", 403), False, Disposition.TOKEN_EXPIRED),
        (service_error("InvalidAccessKeyId", 403), True, Disposition.TOKEN_EXPIRED),
        (service_error("InvalidAccessKeyId", 403), False, Disposition.FATAL),
        (FATAL, True, Disposition.FATAL),
        (service_error("InvalidArgument", 400), False, Disposition.FATAL),
        (service_error("NoSuchUpload", 404), False, Disposition.LOST_UPLOAD),
        (ServiceError(kind=ErrorKind.LOCAL, code="FileNotFound"), False, Disposition.FATAL),
    ],
)
def test_classification(error: ServiceError, token: bool, expected: Disposition) -> None:
    """UP-RETRY-001 UP-RETRY-002 UP-TOKEN-001 UP-DEV-005 UP-OUTAGE-001"""
    assert classify(error, has_security_token=token, signature_retry_used=False) is expected


def test_retryable_errors_back_off_and_retry_the_same_part() -> None:
    """UP-RETRY-001 UP-RETRY-003 UP-RETRY-005 UP-DEV-005"""
    d = started(parallel=1)
    part = d.take(UploadPart)
    d.fail(part, RETRYABLE)
    assert not d.pending  # nothing is sent during the backoff
    deadline = d.core.next_deadline()
    assert deadline is not None and 1.0 <= deadline - d.now <= 2.0  # 2 s, jitter 0.5
    d.tick(deadline - d.now - 0.001)
    assert not d.pending
    d.to_deadline()
    again = d.take(UploadPart)
    assert again.part_number == part.part_number and again.command_id != part.command_id
    d.complete(again)
    d.run()
    assert d.state("f") == "Success"


def test_retries_are_bounded_per_operation() -> None:
    """UP-RETRY-004 UP-CB-004 UP-DEV-003"""
    d = started(retry=RetryPolicy(max_retries=2, initial_delay=1, max_delay=1))
    for _ in range(3):
        part = next(c for c in d.pending if isinstance(c, UploadPart) and c.part_number == 1)
        d.fail(part, RETRYABLE)
        if d.state("f") == "Uploading":
            d.to_deadline()
    assert d.state("f") == "Failure"
    failed = [n for n in d.notes if isinstance(n, NotifyFailed)]
    assert len(failed) == 1 and failed[0].error.code == "InternalError"
    assert d.core.file("f").error == RETRYABLE


def test_retries_are_bounded_per_file() -> None:
    """UP-RETRY-004"""
    d = started(retry=RetryPolicy(max_retries=5, budget=1, initial_delay=1, max_delay=1))
    d.fail(d.take(UploadPart), RETRYABLE)
    d.fail(d.take(UploadPart), RETRYABLE)
    assert d.state("f") == "Failure"


def test_client_errors_fail_at_once_and_the_queue_moves_on() -> None:
    """UP-RETRY-002 UP-CB-004 UP-CB-007 UP-DEV-002 UP-DEV-004"""
    d = started()
    d.add("g", make_data(1000, seed=9))
    d.fail(d.take(UploadPart), FATAL)
    assert d.state("f") == "Failure"
    d.run()
    assert d.state("g") == "Success"
    assert d.core.state is UploaderState.ENDED and d.note_names()[-1] == "NotifyEnded"
    failure_only = ScriptedDriver(options())
    failure_only.add("f", make_data(1000))
    failure_only.send(StartUpload())
    failure_only.complete(failure_only.take(RequestAuth))
    failure_only.fail(failure_only.take(PutObject), FATAL)
    assert failure_only.note_names()[-2:] == ["NotifyFailed", "NotifyEnded"]


def test_failed_files_restart_on_start_and_keep_checkpointing() -> None:
    """UP-API-007 UP-DEV-006: no persistence latch after a failure"""
    d = started(checkpoint_interval=0)
    d.complete(d.take(UploadPart))
    d.fail(d.take(UploadPart), FATAL)
    saves = len(d.checkpoints)
    d.send(StartUpload())
    d.run()
    assert d.state("f") == "Success" and len(d.checkpoints) > saves + 1


def test_abandoned_requests_are_issued_again_without_using_the_budget() -> None:
    """UP-RETRY-006"""
    d = started(retry=RetryPolicy(max_retries=0))
    part = d.take(UploadPart)
    d.abandon(part)
    again = next(c for c in d.pending if isinstance(c, UploadPart) and c.part_number == 1)
    assert again.command_id != part.command_id
    d.run()
    assert d.state("f") == "Success"


def test_token_expiry_pauses_and_resumes_the_same_upload() -> None:
    """UP-TOKEN-003 UP-API-011 UP-CB-005 UP-STATE-005"""
    d = started(size=6 * KIB100, parallel=3)
    d.complete(d.take(UploadPart))
    upload_id = d.core.file("f").upload_id
    d.fail(d.take(UploadPart), EXPIRED)
    d.fail(d.take(UploadPart), EXPIRED)  # a second part with the same news: one callback
    assert sum(isinstance(n, NotifyTokenExpired) for n in d.notes) == 1
    assert d.core.state is UploaderState.EXPIRED
    request = d.take(RequestAuth)
    assert request.reason is AuthReason.EXPIRED and request.video_id is not None
    sent_before = sum(isinstance(c, UploadPart) for c in d.log)
    for part in [c for c in d.pending if isinstance(c, UploadPart)]:
        d.complete(part)  # parts already in flight may land; no new part is sent
    assert sum(isinstance(c, UploadPart) for c in d.log) == sent_before
    d.complete(request)
    assert d.core.state is UploaderState.STARTED
    d.run()
    assert d.state("f") == "Success" and d.core.file("f").upload_id == upload_id
    sent = [c.part_number for c in d.log if isinstance(c, UploadPart)]
    assert sent.count(1) == 1  # the acknowledged part was not sent again
    assert len(d.model.videos) == 1


def test_stale_token_errors_are_just_repeated() -> None:
    """UP-TOKEN-004"""
    d = started(parallel=2)
    first, second = d.take(UploadPart), d.take(UploadPart)
    d.fail(first, EXPIRED)
    d.complete(d.take(RequestAuth))
    d.fail(second, EXPIRED)  # signed with the old credentials
    assert sum(isinstance(n, NotifyTokenExpired) for n in d.notes) == 1
    assert not d.has(RequestAuth)
    d.run()
    assert d.state("f") == "Success"


def test_signature_mismatch_counts_as_expiry_only_once() -> None:
    """UP-TOKEN-002 UP-DEV-007"""
    mismatch = service_error("SignatureDoesNotMatch", 403)
    d = started(parallel=1)
    d.fail(d.take(UploadPart), mismatch)
    d.complete(d.take(RequestAuth))
    d.fail(d.take(UploadPart), mismatch)
    assert d.state("f") == "Failure" and d.core.file("f").error == mismatch
    recovered = started(parallel=1)
    recovered.fail(recovered.take(UploadPart), mismatch)
    recovered.complete(recovered.take(RequestAuth))
    recovered.complete(recovered.take(UploadPart))  # success clears the flag
    recovered.fail(recovered.take(UploadPart), mismatch)
    assert recovered.state("f") == "Uploading" and recovered.has(RequestAuth)


def test_sts_refresh_mid_upload_calls_refresh_upload_video() -> None:
    """UP-API-012 UP-TOKEN-005 UP-DEV-009"""
    d = started(sts=True, parallel=1)
    d.complete(d.take(UploadPart))
    d.fail(d.take(UploadPart), EXPIRED)
    d.complete(d.take(RequestAuth))
    call = d.take(CallVod)
    assert call.action is VodAction.REFRESH_UPLOAD_VIDEO
    assert call.video_id == d.core.file("f").video_id
    # the STS token itself expired before the VOD call: ask the application again
    d.fail(call, service_error("InvalidSecurityToken.Expired", 403))
    assert sum(isinstance(n, NotifyTokenExpired) for n in d.notes) == 2
    d.complete(d.take(RequestAuth))
    d.complete(d.take(CallVod))
    d.run()
    assert d.state("f") == "Success" and len(d.model.videos) == 1


def test_proactive_refresh_before_expiry_keeps_uploading() -> None:
    """UP-TOKEN-006 UP-OPT-010 UP-DEV-033"""
    d = ScriptedDriver(options(parallel=1, refresh_margin=300), credentials_ttl=3000)
    d.add("f", make_data(3 * KIB100))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    assert d.core.next_deadline() == pytest.approx(2700)
    d.now = 2700
    d.feed(d.core.handle_timer(d.now))
    refresh = d.take(RequestAuth)
    assert refresh.reason is AuthReason.REFRESH
    assert d.has(UploadPart)  # uploads go on meanwhile
    d.complete(refresh)
    part = d.take(UploadPart)
    d.complete(part)
    assert d.take(UploadPart).credentials.expires_at == pytest.approx(2700 + 3000)
    image = ScriptedDriver(options(refresh_margin=300), credentials_ttl=3000)
    image.add("i", make_data(3 * KIB100), media_kind=MediaKind.IMAGE)
    image.send(StartUpload())
    image.complete(image.take(RequestAuth))
    assert image.core.next_deadline() is None  # UP-DEV-031: images are never refreshed early
    no_provider = ScriptedDriver(options(refresh_margin=300), credentials_ttl=3000)
    no_provider.add("f", make_data(3 * KIB100))
    no_provider.send(StartUpload())
    no_provider.run(refresh=False)
    assert no_provider.state("f") == "Success"


def test_resume_from_a_checkpoint_lists_parts_and_reuses_the_video() -> None:
    """UP-RESUME-001 UP-RESUME-002 UP-RESUME-003 UP-DEV-016 UP-DEV-017 UP-DEV-027 UP-RESUME-009
    UP-RESUME-011"""
    first = started(size=6 * KIB100, parallel=2, checkpoint_interval=0)
    first.complete(first.take(UploadPart))
    first.complete(first.take(UploadPart))
    first.complete(first.take(UploadPart))  # acknowledged, but the crash comes before a save
    saved = first.checkpoints[-2].checkpoint  # a checkpoint with two parts
    assert [p.number for p in saved.parts] == [1, 2]
    # the process dies; a new one resumes from the saved record
    second = ScriptedDriver(options(parallel=2), model=first.model)
    second.add("f", first.sources["f"], checkpoint=Checkpoint.from_json(saved.to_json()))
    second.send(StartUpload())
    auth = second.take(RequestAuth)
    assert auth.video_id == saved.video_id  # -> RefreshUploadVideo, not Create
    second.complete(auth)
    listing = second.take(ListParts)
    assert listing.upload_id == saved.upload_id
    second.complete(listing)
    second.run()
    assert second.state("f") == "Success"
    resent = [c.part_number for c in second.log if isinstance(c, UploadPart)]
    # Part 3 was acknowledged but not saved: ListParts names it and its bytes match, so it
    # is adopted, not sent again (UP-RESUME-009; before issue 14 it was re-sent). Parts 1
    # and 2, which the checkpoint recorded, are checked against the file too (UP-RESUME-011).
    checked = [c.part_number for c in second.log if isinstance(c, VerifyPart)]
    assert resent == [4, 5, 6] and checked == [3, 1, 2]
    assert len(first.model.videos) == 1
    assert first.model.objects[saved.target.key if saved.target else ""] == first.sources["f"]


def test_resume_onto_a_vanished_upload_starts_a_new_one_for_the_same_video() -> None:
    """UP-RESUME-004"""
    first = started(checkpoint_interval=0)
    first.complete(first.take(UploadPart))
    saved = first.checkpoints[-1].checkpoint
    first.model.uploads.clear()  # a lifecycle rule removed it
    second = ScriptedDriver(options(), model=first.model)
    second.add("f", first.sources["f"], checkpoint=saved)
    second.send(StartUpload())
    second.run()
    view = second.core.file("f")
    assert view.state is FileState.SUCCESS and view.video_id == saved.video_id
    assert view.upload_id != saved.upload_id


def test_no_such_upload_mid_upload_restarts_for_the_same_video() -> None:
    """UP-RESUME-005 UP-DEV-028 UP-PROG-002"""
    d = started(parallel=1)
    d.complete(d.take(UploadPart))
    d.model.uploads.clear()
    d.run()
    view = d.core.file("f")
    assert view.state is FileState.SUCCESS and view.attempt == 2
    assert len(d.model.videos) == 1


def test_complete_whose_answer_was_lost_is_checked_with_head() -> None:
    """UP-RESUME-006"""
    d = started(size=2 * KIB100, parallel=2)
    d.complete(d.take(UploadPart))
    d.complete(d.take(UploadPart))
    d.apply_then_fail(d.take(CompleteMultipart))  # it happened; the answer timed out
    d.fail(d.until(CompleteMultipart), service_error("NoSuchUpload", 404))
    head = d.take(HeadObject)
    d.complete(head)
    assert d.state("f") == "Success" and d.model.completes == 1
    # and when the object is not what we sent, a new upload starts
    other = started(size=2 * KIB100, parallel=2)
    other.complete(other.take(UploadPart))
    other.complete(other.take(UploadPart))
    other.model.uploads.clear()
    other.complete(other.take(CompleteMultipart))
    other.complete(other.take(HeadObject))  # NoSuchKey
    assert other.core.file("f").attempt == 2 and other.has(InitiateMultipart)


def test_part_crc_mismatch_is_retried_and_object_mismatch_fails() -> None:
    """UP-CRC-001 UP-CRC-002 UP-DEV-023"""
    d = started(parallel=1)
    part = d.take(UploadPart)
    d.send(PartUploaded(command_id=part.command_id, etag="E", crc64=1, server_crc64=2))
    assert d.core.file("f").parts_done == 0 and d.core.next_deadline() is not None
    d.complete(d.until(UploadPart))
    small = ScriptedDriver(options())
    small.add("s", make_data(1000))
    small.send(StartUpload())
    small.complete(small.take(RequestAuth))
    put = small.take(PutObject)
    small.send(ObjectPut(command_id=put.command_id, crc64=1, server_crc64=2))
    assert small.state("s") == "Uploading" and small.core.next_deadline() is not None
    whole = started(size=KIB100, parallel=1)
    whole.complete(whole.take(UploadPart))
    complete = whole.take(CompleteMultipart)
    whole.send(
        MultipartCompleted(command_id=complete.command_id, server_crc64=complete.expected_crc64 ^ 1)
    )
    view = whole.core.file("f")
    assert view.state is FileState.FAILURE and view.error is not None
    assert view.error.code == "Crc64Mismatch"
    assert complete.expected_crc64 == crc_of(whole.sources["f"])


def test_cancel_aborts_the_multipart_upload() -> None:
    """UP-CANCEL-001 UP-API-003 UP-CB-006 UP-DEV-008"""
    d = started()
    d.complete(d.take(UploadPart))
    upload_id = d.core.file("f").upload_id
    d.send(CancelFile(file_id="f"))
    abort = d.take(AbortMultipart)
    assert abort.upload_id == upload_id
    d.fail(abort, RETRYABLE)  # retried
    d.complete(d.until(AbortMultipart))
    d.run()
    assert upload_id not in d.model.uploads and d.state("f") == "Canceled"
    assert "NotifyCanceled" in d.note_names()
    assert any(type(c).__name__ == "DeleteCheckpoint" for c in d.log)


def test_delete_aborts_and_late_outcomes_change_nothing() -> None:
    """UP-CANCEL-001 UP-CANCEL-003 UP-API-002"""
    d = started()
    parts = [c for c in d.pending if isinstance(c, UploadPart)]
    d.send(DeleteFile(file_id="f"))
    for part in parts:
        d.complete(part)
    d.run()
    assert d.core.files() == () and not d.model.uploads


def test_an_initiate_that_lands_after_cancel_is_aborted() -> None:
    """UP-CANCEL-002"""
    for ending in (CancelFile(file_id="f"), DeleteFile(file_id="f"), CleanList()):
        d = ScriptedDriver(options())
        d.add("f", make_data(3 * KIB100))
        d.send(StartUpload())
        d.complete(d.take(RequestAuth))
        initiate = d.take(InitiateMultipart)
        d.send(ending)
        d.complete(initiate)
        d.run()
        assert not d.model.uploads, ending


def test_clean_list_keeps_the_checkpoint_for_a_later_resume() -> None:
    """UP-API-006 UP-CKPT-004"""
    d = started(checkpoint_interval=0)
    d.complete(d.take(UploadPart))
    d.send(CleanList())
    assert d.core.files() == () and not any(type(c).__name__ == "DeleteCheckpoint" for c in d.log)
    assert d.model.uploads  # not aborted: the checkpoint can resume it


def test_checkpoint_key_is_the_content_fingerprint() -> None:
    """UP-CKPT-002 UP-DEV-015: same name, size and mtime, other content -> other key"""
    a, b = ScriptedDriver(options()), ScriptedDriver(options())
    a.add("f", make_data(3 * KIB100, seed=1))
    b.add("f", make_data(3 * KIB100, seed=2))
    for d in (a, b):
        d.send(StartUpload())
        d.complete(d.take(RequestAuth))
    assert a.checkpoints[-1].key != b.checkpoints[-1].key


def test_a_checkpoint_for_another_file_is_refused() -> None:
    """UP-CKPT-005 UP-API-014"""
    d = started(checkpoint_interval=0)
    d.complete(d.take(UploadPart))
    saved = d.core.checkpoint("f")
    assert saved is not None and saved == d.checkpoints[-1].checkpoint
    fresh = ScriptedDriver(options())
    with pytest.raises(CheckpointError):
        fresh.add("f", make_data(4 * KIB100, seed=99), checkpoint=saved)
    with pytest.raises(CheckpointError):
        fresh.add("f", d.sources["f"], media_kind=MediaKind.IMAGE, checkpoint=saved)
    assert fresh.core.files() == ()
