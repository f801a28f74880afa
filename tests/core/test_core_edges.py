"""Edge paths of the core that the scenarios and the state machine reach only rarely:
images that get new credentials, aborts that keep failing, outcomes that land after a stop or
cancel, malformed answers."""

from __future__ import annotations

import pytest
from support.core import (
    EXPIRED,
    FATAL,
    RETRYABLE,
    ScriptedDriver,
    make_data,
    service_error,
)

from vodref.core import (
    AbortMultipart,
    AuthReason,
    CallVod,
    CancelFile,
    CleanList,
    CompleteMultipart,
    DeleteFile,
    FileState,
    HeadObject,
    InitiateMultipart,
    ListedPart,
    ListParts,
    MediaKind,
    MultipartCompleted,
    ObjectHeaded,
    ObjectPut,
    OutcomeMismatchError,
    PartsListed,
    PauseFile,
    PutObject,
    RequestAuth,
    ResumeFile,
    RetryPolicy,
    StartUpload,
    StopUpload,
    UploaderOptions,
    UploadPart,
    VodAction,
)

KIB100 = 102_400


def options(**kwargs: object) -> UploaderOptions:
    kwargs.setdefault("part_size", KIB100)
    return UploaderOptions(**kwargs)  # type: ignore[arg-type]


def initiated(size: int = 3 * KIB100, **kwargs: object) -> ScriptedDriver:
    d = ScriptedDriver(options(**kwargs))
    d.add("f", make_data(size))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    return d


def test_an_image_with_new_credentials_moves_to_the_new_key() -> None:
    """UP-DEV-031: CreateUploadImage again gives a new image and key; the old upload is aborted"""
    d = ScriptedDriver(options(parallel=1), sts=True)
    d.add("img", make_data(3 * KIB100), media_kind=MediaKind.IMAGE)
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(CallVod))
    d.complete(d.take(InitiateMultipart))
    first = d.core.file("img")
    d.complete(d.take(UploadPart))
    d.fail(d.take(UploadPart), EXPIRED)
    d.complete(d.take(RequestAuth))
    call = d.take(CallVod)
    assert call.action is VodAction.CREATE_UPLOAD_IMAGE and call.reason is AuthReason.EXPIRED
    d.complete(call)
    assert d.take(AbortMultipart).upload_id == first.upload_id
    d.run()
    view = d.core.file("img")
    assert view.state is FileState.SUCCESS and view.attempt == 2
    assert view.target != first.target and view.video_id != first.video_id


def test_an_abort_that_keeps_failing_is_given_up_and_an_abandoned_one_is_repeated() -> None:
    """UP-CANCEL-001"""
    d = initiated(retry=RetryPolicy(max_retries=1, initial_delay=1, max_delay=1))
    d.send(CancelFile(file_id="f"))
    abort = d.take(AbortMultipart)
    d.abandon(abort)
    again = d.take(AbortMultipart)
    assert again.upload_id == abort.upload_id and again.command_id != abort.command_id
    timeout = service_error("RequestTimeout", 400)  # RETRY: counted (UP-CANCEL-007)
    d.fail(again, timeout)
    d.fail(d.until(AbortMultipart), timeout)
    assert d.core.next_deadline() is None and not d.has(AbortMultipart)
    d.send(ResumeFile(file_id="f"))  # the file itself is free to start over
    assert d.state("f") == "Ready"


def test_auth_failures_are_classified_too() -> None:
    """UP-RETRY-001 UP-RETRY-002 UP-TOKEN-005"""
    d = ScriptedDriver(
        options(retry=RetryPolicy(max_retries=1, budget=1, initial_delay=1, max_delay=1)), sts=True
    )
    d.add("f", make_data(1000))
    d.send(StartUpload())
    d.fail(d.take(RequestAuth), RETRYABLE)  # the application's server hiccuped
    d.complete(d.until(RequestAuth))
    expired = service_error("InvalidSecurityToken.Expired", 403)
    d.fail(d.take(CallVod), expired)  # budget exhausted by the retry above
    assert d.state("f") == "Failure"
    fatal = ScriptedDriver(options())
    fatal.add("f", make_data(1000))
    fatal.send(StartUpload())
    fatal.fail(fatal.take(RequestAuth), FATAL)
    assert fatal.state("f") == "Failure"


def test_failures_of_a_stopped_file_only_queue_the_part_again() -> None:
    """UP-API-008 UP-DEV-025"""
    d = initiated(parallel=2)
    first, second = d.take(UploadPart), d.take(UploadPart)
    d.send(PauseFile(file_id="f"))
    d.fail(first, RETRYABLE)
    d.abandon(second)
    assert d.core.next_deadline() is None  # no retry timers for a paused file
    assert d.core.state.value == "End"  # pausing the only file drained the queue
    d.send(ResumeFile(file_id="f"))
    d.send(StartUpload())
    d.run()
    assert d.state("f") == "Success"


def test_a_listing_with_a_part_twice_is_refused() -> None:
    """UP-CORE-003 UP-RESUME-001"""
    first = initiated()
    first.complete(first.take(UploadPart))
    saved = first.core.checkpoint("f")
    second = ScriptedDriver(options(), model=first.model)
    second.add("f", first.sources["f"], checkpoint=saved)
    second.send(StartUpload())
    second.complete(second.take(RequestAuth))
    listing = second.take(ListParts)
    part = ListedPart(number=1, etag="E", size=KIB100)
    with pytest.raises(OutcomeMismatchError):
        second.send(PartsListed(command_id=listing.command_id, parts=(part, part)))
    second.send(CancelFile(file_id="f"))  # the listing lands after the cancel: ignored
    second.complete(listing)
    assert second.state("f") == "Canceled"


def test_late_answers_for_a_stopped_file_are_kept_for_the_next_start() -> None:
    """UP-DEV-025 UP-CRC-002"""
    d = initiated(size=KIB100)
    d.complete(d.take(UploadPart))
    complete = d.take(CompleteMultipart)
    d.send(StopUpload())
    d.send(
        MultipartCompleted(command_id=complete.command_id, server_crc64=complete.expected_crc64 ^ 1)
    )
    assert d.state("f") == "Stopped"  # a bad CRC is not believed; the next start checks again
    d.send(StartUpload())
    d.run()
    assert d.state("f") == "Success"
    small = ScriptedDriver(options())
    small.add("s", make_data(1000))
    small.send(StartUpload())
    small.complete(small.take(RequestAuth))
    put = small.take(PutObject)
    small.send(StopUpload())
    small.send(ObjectPut(command_id=put.command_id, crc64=1, server_crc64=2))
    small.send(StartUpload())
    small.run()
    assert small.state("s") == "Success"


def test_a_head_that_finds_other_bytes_starts_over() -> None:
    """UP-RESUME-006"""
    d = initiated(size=KIB100)
    d.complete(d.take(UploadPart))
    complete = d.take(CompleteMultipart)
    d.model.uploads.clear()
    d.fail(complete, service_error("NoSuchUpload", 404))
    head = d.take(HeadObject)
    d.send(ObjectHeaded(command_id=head.command_id, size=KIB100, server_crc64=1))
    assert d.core.file("f").attempt == 2
    d.run()
    assert d.state("f") == "Success"


def test_delete_of_a_failed_file_aborts_its_upload() -> None:
    """UP-API-002 UP-CANCEL-001"""
    d = initiated()
    d.fail(d.take(UploadPart), FATAL)
    d.send(DeleteFile(file_id="f"))
    assert d.has(AbortMultipart)
    d.run()
    assert not d.model.uploads


def test_late_failures_of_cleaned_files_change_nothing() -> None:
    """UP-CANCEL-003 UP-API-006: found by the state machine (a cleaned file was still treated as
    Uploading by the failure handlers)"""
    for error in (EXPIRED, FATAL, RETRYABLE):
        d = initiated(parallel=2)
        first, second = d.take(UploadPart), d.take(UploadPart)
        d.send(CleanList())
        d.fail(first, error)
        d.abandon(second)
        assert d.core.files() == () and not d.pending
        assert d.core.state.value == "Stop" and d.core.next_deadline() is None


@pytest.mark.parametrize("event", [CancelFile, DeleteFile])
def test_a_restored_file_canceled_before_it_started_still_aborts(event: type) -> None:
    """UP-CANCEL-008 UP-CANCEL-001: a file restored from a checkpoint (its upload id known,
    no credentials in this process) and canceled or deleted before it was started asks for
    the abort with no credentials, for the driver to obtain them (before: no abort, the
    checkpoint deleted, the upload left open for good)."""
    first = initiated()
    first.complete(first.take(UploadPart))
    saved = first.core.checkpoint("f")
    assert saved is not None and saved.upload_id is not None
    second = ScriptedDriver(options(), model=first.model)
    second.add("f", first.sources["f"], checkpoint=saved)
    second.send(event(file_id="f"))
    abort = second.take(AbortMultipart)
    assert abort.upload_id == saved.upload_id and abort.credentials is None
    assert abort.target == saved.target
    second.complete(abort)
    assert saved.upload_id not in second.model.uploads
