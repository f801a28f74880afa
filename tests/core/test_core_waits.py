"""Issue 14, pure core: no wait without a deadline, outages back off as a whole, resume adopts
the parts the server already holds.

Each test here failed before the rules it cites existed (the file stayed Uploading, the
budget ran out in a burst of parts, acknowledged parts were sent again).
"""

from __future__ import annotations

import random

import pytest
from support.core import (
    RETRYABLE,
    TIMEOUT,
    ScriptedDriver,
    make_data,
    service_error,
)

from vodref.core import (
    AuthMismatchError,
    AuthReason,
    CancelFile,
    CancelRequests,
    Checkpoint,
    CommandFailed,
    ErrorKind,
    FileState,
    InitiateMultipart,
    ListedPart,
    ListParts,
    NotifyFailed,
    NotifySucceeded,
    PartsListed,
    PartVerified,
    PutObject,
    RequestAuth,
    RetryPolicy,
    StartUpload,
    StopUpload,
    UploadAuthProvided,
    UploaderOptions,
    UploadPart,
    VerifyPart,
)

PART = 102_400


def options(**kwargs: object) -> UploaderOptions:
    values: dict[str, object] = {"part_size": PART, "parallel": 3, "checkpoint_interval": 0}
    values.update(kwargs)
    return UploaderOptions(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- UP-HANG


def test_a_file_nobody_gives_credentials_fails_at_the_deadline_and_the_queue_moves_on() -> None:
    """UP-HANG-001: a file waiting for credentials fails with CredentialsTimeout at
    credentials_timeout; the next file starts."""
    d = ScriptedDriver(options(credentials_timeout=30.0))
    d.add("a", make_data(2 * PART))
    d.add("b", make_data(2 * PART, seed=1))
    d.send(StartUpload())
    first = d.take(RequestAuth)
    assert first.file_id == "a"
    assert d.core.next_deadline() == 30.0
    out = d.to_deadline()
    view = d.core.file("a")
    assert view.state is FileState.FAILURE
    assert view.error is not None and view.error.code == "CredentialsTimeout"
    assert view.error.kind is ErrorKind.LOCAL
    assert any(isinstance(c, NotifyFailed) and c.file.file_id == "a" for c in out)
    # the driver is told to drop the unanswered request, and file b asks for its own
    assert any(isinstance(c, CancelRequests) and first.command_id in c.command_ids for c in out)
    assert d.has(RequestAuth, "b")


def test_an_expiry_nobody_answers_fails_at_the_deadline() -> None:
    """UP-HANG-001: the wait for new credentials after an expiry has the same deadline."""
    d = ScriptedDriver(options(credentials_timeout=60.0, parallel=1))
    d.add("f", make_data(3 * PART))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    d.now = 100.0
    d.fail(d.take(UploadPart), service_error("SecurityTokenExpired", 403))
    asked = d.take(RequestAuth)
    assert asked.reason is AuthReason.EXPIRED
    assert d.core.next_deadline() == 160.0
    d.to_deadline()
    view = d.core.file("f")
    assert view.state is FileState.FAILURE and view.error is not None
    assert view.error.code == "CredentialsTimeout"


def test_credentials_in_time_disarm_the_deadline() -> None:
    """UP-HANG-001: credentials that arrive in time leave no deadline behind."""
    d = ScriptedDriver(options(credentials_timeout=30.0))
    d.add("f", make_data(2 * PART))
    d.send(StartUpload())
    d.now = 29.0
    d.complete(d.take(RequestAuth))
    d.run()
    assert d.core.file("f").state is FileState.SUCCESS


def test_no_credentials_timeout_waits_as_js_does() -> None:
    """UP-HANG-001: credentials_timeout=None is the documented wait without a deadline."""
    d = ScriptedDriver(options(credentials_timeout=None))
    d.add("f", make_data(2 * PART))
    d.send(StartUpload())
    assert d.core.next_deadline() is None
    assert d.core.file("f").state is FileState.UPLOADING


def test_a_stopped_file_waiting_for_credentials_gets_a_new_deadline_when_restarted() -> None:
    """UP-HANG-001: stop and start again while the first credentials request is still out."""
    d = ScriptedDriver(options(credentials_timeout=10.0))
    d.add("f", make_data(2 * PART))
    d.send(StartUpload())
    d.send(StopUpload())
    d.now = 50.0
    d.send(StartUpload())
    assert d.core.next_deadline() == 60.0
    d.to_deadline()
    assert d.core.file("f").state is FileState.FAILURE


# ---------------------------------------------------------------------- UP-OUTAGE


def started(d: ScriptedDriver, size: int) -> None:
    d.add("f", make_data(size))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))


def test_an_outage_stops_new_parts_and_one_probe_tries_at_a_time() -> None:
    """UP-OUTAGE-001: after `parallel` connection failures in a row no new part starts; one
    probe goes per backoff; the first success ends the outage and every slot fills again.
    Before issue 14 every failure freed a slot for a new part and the budget went in a burst.
    """
    d = ScriptedDriver(options(parallel=3))
    started(d, 40 * PART)
    sent_before = sum(isinstance(c, UploadPart) for c in d.log)
    for _ in range(3):
        d.fail(d.take(UploadPart), TIMEOUT)
    assert not d.has(UploadPart)  # nothing new started: the outage holds every part
    # 30 s of outage: every probe fails; the file neither fails nor sends more than probes
    probes = 0
    while d.now < 30.0:
        d.to_deadline()
        while d.has(UploadPart):
            probes += 1
            assert sum(isinstance(c, UploadPart) for c in d.pending) == 1
            d.fail(d.take(UploadPart), RETRYABLE)
    assert d.core.file("f").state is FileState.UPLOADING
    sent_during = sum(isinstance(c, UploadPart) for c in d.log) - sent_before
    assert sent_during == probes <= 6  # backoff 2, 4, 8, 16 ... s: a handful of probes
    # the connection is back: the next probe succeeds and the slots fill again
    d.to_deadline()
    probe = d.take(UploadPart)
    out = d.complete(probe)
    assert sum(isinstance(c, UploadPart) for c in out) == 3
    d.run()
    assert d.core.file("f").state is FileState.SUCCESS


def test_an_outage_longer_than_the_limit_fails_the_file() -> None:
    """UP-OUTAGE-002: failures during an outage count against outage_limit (time)."""
    d = ScriptedDriver(options(parallel=2, outage_limit=20.0))
    started(d, 10 * PART)
    while d.core.file("f").state is FileState.UPLOADING:
        if d.has(UploadPart):
            d.fail(d.take(UploadPart), TIMEOUT)
        else:
            d.to_deadline()
    view = d.core.file("f")
    assert view.state is FileState.FAILURE and view.error == TIMEOUT
    assert d.now >= 20.0
    assert d.core.next_deadline() is None


def test_progress_restores_the_budget() -> None:
    """UP-OUTAGE-003: scattered failures between acknowledged parts never exhaust the
    budget: an acknowledged part resets the file's retry counts (JS resets retryCount on
    progress). With a budget of 2, a failure after every second part still finishes."""
    d = ScriptedDriver(
        options(parallel=1, retry=RetryPolicy(max_retries=1, budget=2, initial_delay=0.1))
    )
    started(d, 30 * PART)
    for index in range(200):
        if not d.pending:
            if d.core.next_deadline() is None:
                break
            d.to_deadline()
            continue
        request = d.pending[0]
        if isinstance(request, UploadPart) and index % 3 == 0:
            d.fail(request, service_error("RequestTimeout", 400))
        else:
            d.complete(request)
    assert d.core.file("f").state is FileState.SUCCESS


def test_retry_amplification_at_half_failures_stays_near_two() -> None:
    """UP-OUTAGE-001 UP-OUTAGE-003: 50 % of part requests fail with 5xx, at random: the file
    finishes and sends about two requests per part (the outage never multiplies requests)."""
    chance = random.Random(7)
    d = ScriptedDriver(options(parallel=5, retry=RetryPolicy(initial_delay=0.01, max_delay=0.1)))
    parts = 300
    started(d, parts * PART)
    while d.pending or d.core.next_deadline() is not None:
        if not d.pending:
            d.to_deadline()
            continue
        request = d.pending[chance.randrange(len(d.pending))]
        if isinstance(request, UploadPart) and chance.random() < 0.5:
            d.fail(request, RETRYABLE)
        else:
            d.complete(request)
    assert d.core.file("f").state is FileState.SUCCESS
    sent = sum(isinstance(c, UploadPart) for c in d.log)
    assert sent / parts <= 2.1 * 1.1  # expectation 2.0; a margin for this seed's luck


# ---------------------------------------------------------------------- UP-RESUME adopt


def crashed_after_unsaved_parts(unsaved: int) -> tuple[ScriptedDriver, Checkpoint]:
    """A run that saved a checkpoint with 2 parts, then got `unsaved` more acknowledged."""
    d = ScriptedDriver(options(parallel=1))
    started(d, 8 * PART)
    d.complete(d.take(UploadPart))
    d.complete(d.take(UploadPart))
    checkpoint = d.core.checkpoint("f")
    assert checkpoint is not None and len(checkpoint.parts) == 2
    for _ in range(unsaved):
        d.complete(d.take(UploadPart))
    return d, checkpoint


def resumed(first: ScriptedDriver, checkpoint: Checkpoint, data: bytes) -> ScriptedDriver:
    second = ScriptedDriver(options(parallel=2), model=first.model)
    second.add("f", data, checkpoint=checkpoint)
    second.send(StartUpload())
    second.complete(second.take(RequestAuth))
    return second


def test_listed_parts_are_checked_beside_the_uploads_and_adopted() -> None:
    """UP-RESUME-009 UP-RESUME-010: parts the server lists but the checkpoint missed are
    hashed (VerifyPart, two at a time) while new parts already go out; matching ones are
    adopted with their CRC-64, so nothing acknowledged is sent again."""
    first, checkpoint = crashed_after_unsaved_parts(3)
    second = resumed(first, checkpoint, first.sources["f"])
    out = second.complete(second.take(ListParts))
    verifies = [c for c in out if isinstance(c, VerifyPart)]
    uploads = [c for c in out if isinstance(c, UploadPart)]
    assert [c.part_number for c in verifies] == [3, 4]  # bounded, in order
    assert [c.part_number for c in uploads] == [6, 7]  # new parts start at once, beside them
    second.run()
    assert second.core.file("f").state is FileState.SUCCESS
    sent = [c.part_number for c in second.log if isinstance(c, UploadPart)]
    assert sorted(sent) == [6, 7, 8]
    assert list(first.model.objects.values()) == [first.sources["f"]]


def test_a_listed_part_whose_bytes_differ_is_sent_again() -> None:
    """UP-RESUME-009: an ETag that is not the MD5 of the file's bytes is not adopted."""
    first, checkpoint = crashed_after_unsaved_parts(1)
    second = resumed(first, checkpoint, first.sources["f"])
    second.complete(second.take(ListParts))
    check = second.take(VerifyPart)
    assert check.part_number == 3
    second.send(PartVerified(command_id=check.command_id, md5="0" * 32, crc64=1))
    second.run()
    sent = sorted(c.part_number for c in second.log if isinstance(c, UploadPart))
    assert sent == [3, 4, 5, 6, 7, 8]
    assert second.core.file("f").state is FileState.SUCCESS


def test_a_check_that_cannot_read_the_file_sends_the_part_instead() -> None:
    """UP-RESUME-009: VerifyPart failing (local I/O) re-sends the part (Reaction RESEND)."""
    first, checkpoint = crashed_after_unsaved_parts(1)
    second = resumed(first, checkpoint, first.sources["f"])
    second.complete(second.take(ListParts))
    check = second.take(VerifyPart)
    error = service_error("SourceError", None)
    second.send(CommandFailed(command_id=check.command_id, error=error))
    second.run()
    assert 3 in [c.part_number for c in second.log if isinstance(c, UploadPart)]
    assert second.core.file("f").state is FileState.SUCCESS


# ---------------------------------------------------------------------- UP-CANCEL late Put


def test_a_put_that_lands_after_cancel_ends_the_file_in_success() -> None:
    """UP-CANCEL-006: cancel while the single PutObject is on the wire; the Put completes:
    the object and its video exist, so the file ends Success, not Canceled over a video.
    Before issue 14 the file stayed Canceled and the finished video went unreported."""
    d = ScriptedDriver(options())
    d.add("f", make_data(5000))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    put = d.take(PutObject)
    d.send(CancelFile(file_id="f"))
    assert d.core.file("f").state is FileState.CANCELED
    out = d.complete(put)  # the request was already sent: it lands
    view = d.core.file("f")
    assert view.state is FileState.SUCCESS and view.crc64 is not None
    assert any(isinstance(c, NotifySucceeded) for c in out)
    assert len(d.model.objects) == 1


def test_a_put_abandoned_after_cancel_leaves_the_file_canceled() -> None:
    """UP-CANCEL-006: a Put that never happened leaves nothing: the file stays Canceled."""
    d = ScriptedDriver(options())
    d.add("f", make_data(5000))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    put = d.take(PutObject)
    d.send(CancelFile(file_id="f"))
    d.abandon(put)
    assert d.core.file("f").state is FileState.CANCELED
    assert d.model.objects == {}


def test_credentials_refused_with_auth_mismatch_end_at_the_deadline() -> None:
    """UP-HANG-001 UP-RESUME-003: credentials for another VideoId are refused (the request
    stays open for a correct answer); if none comes, the file fails at the deadline.
    Before: Uploading forever."""
    first = ScriptedDriver(options(credentials_timeout=20.0))
    started(first, 3 * PART)
    first.complete(first.take(UploadPart))
    checkpoint = first.core.checkpoint("f")
    assert checkpoint is not None and checkpoint.video_id
    second = ScriptedDriver(options(credentials_timeout=20.0), model=first.model)
    second.add("f", first.sources["f"], checkpoint=checkpoint)
    second.send(StartUpload())
    asked = second.take(RequestAuth)
    other, address = second.model.create_video("f.mp4")
    wrong = UploadAuthProvided(
        command_id=asked.command_id,
        credentials=second.credentials(),
        address=address,
        video_id=other,
    )
    with pytest.raises(AuthMismatchError):
        second.send(wrong)
    assert second.core.file("f").state is FileState.UPLOADING
    second.to_deadline()
    view = second.core.file("f")
    assert view.state is FileState.FAILURE and view.error is not None
    assert view.error.code == "CredentialsTimeout"


def test_a_listed_part_whose_crc_differs_is_sent_again() -> None:
    """UP-RESUME-009: when ListParts gives the part's CRC-64, it must equal the CRC-64 of
    the file's bytes too (an MD5 match alone is not enough)."""
    first, checkpoint = crashed_after_unsaved_parts(1)
    second = resumed(first, checkpoint, first.sources["f"])
    listing = second.take(ListParts)
    honest = second.success_of(listing)
    assert isinstance(honest, PartsListed)
    parts = tuple(
        ListedPart(number=p.number, etag=p.etag, size=p.size, crc64=1 if p.number == 3 else None)
        for p in honest.parts
    )
    second.send(PartsListed(command_id=listing.command_id, parts=parts))
    check = second.take(VerifyPart)
    assert check.part_number == 3 and check.listed_crc64 == 1
    second.complete(check)  # the MD5 matches; the listed CRC-64 does not
    second.run()
    assert 3 in [c.part_number for c in second.log if isinstance(c, UploadPart)]
    assert second.core.file("f").state is FileState.SUCCESS
