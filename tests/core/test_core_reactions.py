"""Exhaustive property over every (step, disposition) pair of the failure table.

For each upload step a recipe drives a fresh core until a request of that step is in flight;
the request then fails with an error of each disposition. Whatever ``ON_FAILURE`` names for
the pair must be what the core visibly does: the same request again after a backoff, a wait
for new credentials, a new multipart upload, a look at the object, a failed file, or nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from support.core import (
    EXPIRED,
    FATAL,
    RETRYABLE,
    TIMEOUT,
    ScriptedDriver,
    make_data,
    service_error,
)

from vodref.core import (
    AbortMultipart,
    AuthReason,
    CallVod,
    CancelFile,
    Command,
    CompleteMultipart,
    Disposition,
    ErrorKind,
    FileState,
    HeadObject,
    InitiateMultipart,
    ListParts,
    NotifyCanceled,
    NotifyFailed,
    NotifyTokenExpired,
    PutObject,
    Request,
    RequestAuth,
    ServiceError,
    StartUpload,
    UploaderOptions,
    UploaderState,
    UploadPart,
    VerifyPart,
    classify,
)
from vodref.core.states import ON_FAILURE, CancelReason, Reaction, Step

PART = 102_400
BIG = 3 * PART + 7


def new_driver() -> ScriptedDriver:
    return ScriptedDriver(UploaderOptions(part_size=PART, parallel=2))


def started(size: int) -> ScriptedDriver:
    d = new_driver()
    d.add("f", make_data(size))
    d.send(StartUpload())
    return d


def authorize() -> tuple[ScriptedDriver, Request]:
    d = started(BIG)
    return d, d.take(RequestAuth)


def put() -> tuple[ScriptedDriver, Request]:
    d = started(1000)
    d.complete(d.take(RequestAuth))
    return d, d.take(PutObject)


def initiate() -> tuple[ScriptedDriver, Request]:
    d = started(BIG)
    d.complete(d.take(RequestAuth))
    return d, d.take(InitiateMultipart)


def send_parts() -> tuple[ScriptedDriver, Request]:
    d, request = initiate()
    d.complete(request)
    return d, d.take(UploadPart)


def complete() -> tuple[ScriptedDriver, Request]:
    d, request = initiate()
    d.complete(request)
    while not d.has(CompleteMultipart):
        d.complete(d.take(UploadPart))
    return d, d.take(CompleteMultipart)


def verify() -> tuple[ScriptedDriver, Request]:
    d, request = complete()
    d.fail(request, service_error("NoSuchUpload", 404))
    return d, d.take(HeadObject)


def list_parts() -> tuple[ScriptedDriver, Request]:
    d, request = send_parts()
    d.complete(request)
    checkpoint = d.core.checkpoint("f")
    assert checkpoint is not None and checkpoint.parts
    resumed = ScriptedDriver(UploaderOptions(part_size=PART, parallel=2), model=d.model)
    resumed.add("f", d.sources["f"], checkpoint=checkpoint)
    resumed.send(StartUpload())
    resumed.complete(resumed.take(RequestAuth))
    return resumed, resumed.take(ListParts)


def adopt() -> tuple[ScriptedDriver, Request]:
    """A resume whose checkpoint missed an acknowledged part: ListParts names it, and the
    core checks it against the file (VerifyPart)."""
    d, request = send_parts()
    d.complete(request)
    checkpoint = d.core.checkpoint("f")
    assert checkpoint is not None and checkpoint.parts
    d.complete(d.take(UploadPart))  # acknowledged on the server, not in the checkpoint
    resumed = ScriptedDriver(UploaderOptions(part_size=PART, parallel=2), model=d.model)
    resumed.add("f", d.sources["f"], checkpoint=checkpoint)
    resumed.send(StartUpload())
    resumed.complete(resumed.take(RequestAuth))
    resumed.complete(resumed.take(ListParts))
    return resumed, resumed.take(VerifyPart)


def abort() -> tuple[ScriptedDriver, Request]:
    d, request = initiate()
    d.complete(request)
    d.send(CancelFile(file_id="f"))
    return d, d.take(AbortMultipart)


RECIPES: dict[Step, Callable[[], tuple[ScriptedDriver, Request]]] = {
    Step.AUTHORIZE: authorize,
    Step.PUT: put,
    Step.INITIATE: initiate,
    Step.LIST: list_parts,
    Step.VERIFY: verify,
    Step.SEND_PARTS: send_parts,
    Step.COMPLETE: complete,
    Step.ABORT: abort,
    Step.ADOPT: adopt,
}

ERRORS: dict[Disposition, list[ServiceError]] = {
    Disposition.RETRY: [
        service_error("RequestTimeout", 400),
        service_error("RequestTimeTooSkewed", 403),
        ServiceError(kind=ErrorKind.INTEGRITY, code="Crc64Mismatch"),
    ],
    Disposition.UNAVAILABLE: [RETRYABLE, TIMEOUT, service_error("Throttling", 429)],
    Disposition.TOKEN_EXPIRED: [EXPIRED, service_error("InvalidAccessKeyId", 403)],
    Disposition.LOST_UPLOAD: [service_error("NoSuchUpload", 404)],
    Disposition.FATAL: [FATAL, service_error("InvalidArgument", 400)],
}


def same_request(first: Request, second: Request) -> bool:
    """``second`` sends what ``first`` sent again (a new command id, the same work)."""
    if type(first) is not type(second):
        return False
    if isinstance(first, UploadPart) and isinstance(second, UploadPart):
        return first.part_number == second.part_number
    if isinstance(first, AbortMultipart) and isinstance(second, AbortMultipart):
        return first.upload_id == second.upload_id
    return True


def retried(d: ScriptedDriver, request: Request) -> Request:
    """Fire deadlines until ``request`` is sent again; return the new one."""
    while not any(same_request(request, c) for c in d.pending):
        d.to_deadline()
    return next(c for c in reversed(d.pending) if same_request(request, c))


def test_recipes_cover_every_step() -> None:
    """UP-STATE-007: every step has a recipe that puts one of its requests in flight."""
    assert set(RECIPES) == set(Step)
    kinds = {
        Step.AUTHORIZE: (RequestAuth, CallVod),
        Step.PUT: (PutObject,),
        Step.INITIATE: (InitiateMultipart,),
        Step.LIST: (ListParts,),
        Step.VERIFY: (HeadObject,),
        Step.SEND_PARTS: (UploadPart,),
        Step.COMPLETE: (CompleteMultipart,),
        Step.ABORT: (AbortMultipart,),
        Step.ADOPT: (VerifyPart,),
    }
    for step, recipe in RECIPES.items():
        d, request = recipe()
        assert isinstance(request, kinds[step]), step
        assert request in d.core.in_flight()


@pytest.mark.parametrize("step", list(Step), ids=lambda s: s.value)
@pytest.mark.parametrize("disposition", list(Disposition), ids=lambda d: d.value)
@given(data=st.data())
def test_every_step_and_disposition(
    step: Step, disposition: Disposition, data: st.DataObject
) -> None:
    """UP-STATE-007 UP-RETRY-001: the core does what ON_FAILURE names for each pair."""
    error = data.draw(st.sampled_from(ERRORS[disposition]))
    d, request = RECIPES[step]()
    credentials = getattr(request, "credentials", None)
    has_token = credentials is not None and credentials.security_token is not None
    if step in (Step.ABORT, Step.ADOPT):
        assume(classify(error, has_security_token=False, signature_retry_used=True) is disposition)
    else:
        assume(
            classify(error, has_security_token=has_token, signature_retry_used=False) is disposition
        )
    reaction = ON_FAILURE[(step, disposition)]
    attempt = d.core.file("f").attempt
    saved = d.core.checkpoint("f")
    names_every_part = saved is not None and len(saved.parts) * PART >= saved.file_size
    notes_before = len(d.notes)
    out = d.fail(request, error)
    view = d.core.file("f")
    notes = d.notes[notes_before:]

    if reaction is Reaction.RETRY or reaction is Reaction.BACK_OFF:
        # BACK_OFF alone (below the outage threshold) is a retry (UP-OUTAGE-001).
        assert not any(isinstance(c, type(request)) for c in out)
        again: list[Command] = []
        while d.core.next_deadline() is not None and not any(
            isinstance(c, Request) and same_request(request, c) for c in again
        ):
            again = d.to_deadline()  # an earlier deadline may be a held-back checkpoint
        assert any(isinstance(c, Request) and same_request(request, c) for c in again)
    elif reaction is Reaction.AWAIT_CREDENTIALS:
        assert any(isinstance(n, NotifyTokenExpired) for n in notes)
        assert d.core.state is UploaderState.EXPIRED
        asked = [c for c in out if isinstance(c, RequestAuth)]
        assert asked and asked[0].reason is AuthReason.EXPIRED
    elif reaction is Reaction.RESTART_UPLOAD:
        assert view.state is FileState.UPLOADING
        assert view.attempt == attempt + 1 and view.upload_id is None
        assert any(isinstance(c, InitiateMultipart) for c in out)
    elif reaction is Reaction.VERIFY_OBJECT:
        assert view.state is FileState.UPLOADING
        if step is Step.LIST and not names_every_part:
            # UP-RESUME-012: no Complete can have been sent (the checkpoint saved before one
            # names every part), so the upload is simply gone: a new one starts.
            assert view.attempt == attempt + 1 and view.upload_id is None
            assert any(isinstance(c, InitiateMultipart) for c in out)
        else:
            assert any(isinstance(c, HeadObject) for c in out)
    elif reaction is Reaction.FAIL:
        assert view.state is FileState.FAILURE and view.error == error
        assert any(isinstance(n, NotifyFailed) for n in notes)
    elif reaction is Reaction.RESEND:
        assert isinstance(request, VerifyPart)
        assert view.state is FileState.UPLOADING
        sent = [c for c in out if isinstance(c, UploadPart)]
        while not sent:  # the part waits for a free slot, then is sent
            sent = [c for c in d.complete(d.take(UploadPart)) if isinstance(c, UploadPart)]
        assert sent[0].part_number == request.part_number
    else:
        assert reaction is Reaction.DROP
        assert out == [] and d.core.next_deadline() is None
        assert not any(isinstance(c, AbortMultipart) for c in d.core.in_flight())


def test_a_retry_the_policy_no_longer_allows_fails_the_file() -> None:
    """UP-STATE-007 UP-RETRY-001: RETRY out of retries is FAIL, for every file step."""
    error = service_error("RequestTimeout", 400)
    for step, recipe in RECIPES.items():
        if step in (Step.ABORT, Step.ADOPT):
            continue
        d, request = recipe()
        for _ in range(d.core.options.retry.max_retries):
            d.fail(request, error)
            assert d.core.file("f").state is FileState.UPLOADING, step
            request = retried(d, request)
        d.fail(request, error)
        view = d.core.file("f")
        assert view.state is FileState.FAILURE and view.error == error, step


def test_an_abort_out_of_retries_is_dropped() -> None:
    """UP-STATE-007 UP-CANCEL-001: an abort failing on its own (RETRY) is retried, then left
    to the lifecycle rule."""
    error = service_error("RequestTimeout", 400)
    d, request = abort()
    for _ in range(d.core.options.retry.max_retries):
        assert d.fail(request, error) == []
        request = retried(d, request)
    assert d.fail(request, error) == []
    assert d.core.next_deadline() is None and not d.core.pending_aborts()
    assert not any(isinstance(c, AbortMultipart) for c in d.core.in_flight())


def test_an_abort_waits_out_an_outage_until_outage_limit() -> None:
    """UP-CANCEL-007 UP-STATE-007: an abort whose connection fails (BACK_OFF) is sent again
    past max_retries, uncounted, until outage_limit seconds of failures in a row; then it is
    dropped. A success in between ends the wait (before: dropped after max_retries)."""
    d, request = abort()
    upload_id = request.upload_id
    assert isinstance(request, AbortMultipart)
    limit = d.core.options.outage_limit
    assert limit is not None
    started = d.now
    sent = 0
    while True:
        assert d.fail(request, RETRYABLE) == []
        if d.core.next_deadline() is None:
            break
        assert d.core.pending_aborts() == {upload_id}
        request = retried(d, request)
        sent += 1
    assert sent > d.core.options.retry.max_retries
    assert d.now - started >= limit and not d.core.pending_aborts()
    assert not any(isinstance(c, AbortMultipart) for c in d.core.in_flight())


def test_an_abort_that_gets_through_after_an_outage_is_done() -> None:
    """UP-CANCEL-007: after a few connection failures the abort lands; nothing is left."""
    d, request = abort()
    for _ in range(d.core.options.retry.max_retries + 2):
        d.fail(request, TIMEOUT)
        request = retried(d, request)
    d.complete(request)
    assert not d.core.pending_aborts() and d.core.next_deadline() is None


def test_cancel_reasons_read_as_the_plain_words() -> None:
    """UP-CB-006: NotifyCanceled.reason is a CancelReason that a driver may treat as the word."""
    d, _ = send_parts()
    out = d.send(CancelFile(file_id="f"))
    [note] = [c for c in out if isinstance(c, NotifyCanceled)]
    assert note.reason is CancelReason.CANCEL
    assert note.reason == "cancel" and str(note.reason) == "cancel" and f"{note.reason}" == "cancel"
