"""A bug of vodref's own while an outcome is reported (UPL-DRV-010): the file ends Failed with
its callback, `wait()` returns, a finished file stays finished.

The bug is injected by a core that raises `RuntimeError` (not a `VodrefError`: what no test
of the core can plan for) from `handle`, once or from some point on; the uploader runs over
the in-memory transport, which is what driver tests use (UPL-TRN-003)."""

from __future__ import annotations

import logging
import queue
import time
from typing import Any, cast

import pytest
import requests
from support.uploader import MIN_PART, Tracer, memory_auth_provider

import vodref.api.vod
import vodref.errors
from vodref import Vod
from vodref.core import (
    AuthMismatchError,
    Event,
    FileState,
    Outcome,
    OutcomeMismatchError,
    PartUploaded,
    PauseFile,
    UploadAuthProvided,
    Uploader,
)
from vodref.core.commands import Command
from vodref.sources import BytesSource
from vodref.testing import MemoryCheckpointStore, MemoryTransport

INTERNAL_ERROR_CODE = "VodrefInternalError"  # the code UPL-DRV-010 names
FIRST = bytes(range(256)) * 400  # 100 KiB: one part
SECOND = bytes(range(251)) * 2000  # about 490 KiB: five parts
# The exception's text: it may quote anything (a secret), so no log line may show it.
BUG_TEXT = "-".join(("AccessKeySecret", "quoted", "by", "a", "bug"))


class _Crashing(Uploader):
    """The real core, except that ``handle`` raises a RuntimeError for the outcomes
    ``crashes(event)`` picks, before the core sees them (``always``: from then on, for every
    outcome, so that reporting the failure fails too)."""

    crash_after_parts = 2
    always = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parts = 0
        self.broken = False

    def handle(self, event: Event, *, now: float) -> list[Command]:
        if isinstance(event, PartUploaded):
            self.parts += 1
            if self.parts == self.crash_after_parts:
                self.broken = True
                raise RuntimeError(BUG_TEXT)
        if self.broken and self.always and isinstance(event, Outcome):
            raise RuntimeError(BUG_TEXT)
        return super().handle(event, now=now)


class _AlwaysCrashing(_Crashing):
    always = True


def _vod(tracer: Tracer, transport: MemoryTransport) -> Vod:
    return Vod(
        part_size=MIN_PART,
        parallel=1,
        max_concurrent_files=1,
        transport=transport,
        auth_provider=memory_auth_provider(time.time()),
        checkpoint_store=MemoryCheckpointStore(),
        **tracer.callbacks(),
    )


def test_a_bug_while_reporting_a_part_fails_that_file_and_wait_returns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """UPL-DRV-010: the core raises a RuntimeError on the second file's second part: that
    file ends in Failure with the internal-error code and on_upload_failed, wait() returns,
    the file before it stays a success; the log names the error's type, never its text."""
    monkeypatch.setattr(vodref.api.vod, "Uploader", _Crashing)
    tracer = Tracer()
    transport = MemoryTransport()
    vod = _vod(tracer, transport)
    try:
        vod.add_file(BytesSource(FIRST, name="first.mp4"))
        vod.add_file(BytesSource(SECOND, name="second.mp4"))
        vod.start_upload()
        with caplog.at_level(logging.ERROR, logger="vodref.driver"):
            first, second = vod.wait(timeout=20)
        assert first.state is FileState.SUCCESS
        assert second.state is FileState.FAILURE
        assert second.error is not None and second.error.code == INTERNAL_ERROR_CODE
        assert "RuntimeError" in second.error.message
        assert tracer.of("succeeded") == [("succeeded", "first.mp4")]
        assert tracer.of("failed") == [("failed", "second.mp4", INTERNAL_ERROR_CODE)]
        assert tracer.of("end") == [("end",)]
        assert "RuntimeError" in caplog.text
        assert BUG_TEXT not in caplog.text
    finally:
        vod.close()


def test_a_core_that_cannot_fail_the_file_either_ends_every_unfinished_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """UPL-DRV-010: the core also refuses the failure it is then given (it raises for every
    outcome from then on): every unfinished file ends in Failure with its callback, the
    finished one stays a success (no second upload of it), wait() returns, later user calls
    raise a typed error, and close() returns."""
    monkeypatch.setattr(vodref.api.vod, "Uploader", _AlwaysCrashing)
    tracer = Tracer()
    transport = MemoryTransport()
    vod = _vod(tracer, transport)
    try:
        vod.add_file(BytesSource(FIRST, name="first.mp4"))
        vod.add_file(BytesSource(SECOND, name="second.mp4"))
        vod.add_file(BytesSource(FIRST + b"x", name="third.mp4"))
        vod.start_upload()
        first, second, third = vod.wait(timeout=20)
        assert first.state is FileState.SUCCESS
        assert (second.state, third.state) == (FileState.FAILURE, FileState.FAILURE)
        assert second.error is not None and second.error.code == INTERNAL_ERROR_CODE
        assert tracer.of("succeeded") == [("succeeded", "first.mp4")]
        assert sorted(tracer.of("failed")) == [
            ("failed", "second.mp4", INTERNAL_ERROR_CODE),
            ("failed", "third.mp4", INTERNAL_ERROR_CODE),
        ]
        assert transport.calls.count("CompleteMultipartUpload") == 1  # the first, once
        with pytest.raises(vodref.errors.UploaderClosedError):
            vod.start_upload()
    finally:
        vod.close()


class _RefusingAuth(Uploader):
    """The real core, except that it refuses the auth provider's answer with the core's
    own OutcomeMismatchError (as for an outcome of the wrong type: the command still waits
    in the core for its real answer)."""

    def handle(self, event: Event, *, now: float) -> list[Command]:
        if isinstance(event, UploadAuthProvided):
            raise OutcomeMismatchError("UploadAuthProvided does not answer it")
        return super().handle(event, now=now)


def test_an_outcome_the_core_refuses_fails_its_file_and_logs_no_credentials(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """UPL-DRV-010: a refusal other than "already settled" (here OutcomeMismatchError) would
    leave the command waiting forever: its file fails with the internal-error code and
    wait() returns. The log names the outcome by type, never its repr (which shows the
    credentials' AccessKeyId)."""
    monkeypatch.setattr(vodref.api.vod, "Uploader", _RefusingAuth)
    tracer = Tracer()
    vod = _vod(tracer, MemoryTransport())
    try:
        vod.add_file(BytesSource(SECOND, name="refused.mp4"))
        vod.start_upload()
        with caplog.at_level(logging.DEBUG, logger="vodref"):
            [view] = vod.wait(timeout=20)
        assert view.state is FileState.FAILURE
        assert view.error is not None and view.error.code == INTERNAL_ERROR_CODE
        assert tracer.of("failed") == [("failed", "refused.mp4", INTERNAL_ERROR_CODE)]
        assert "UploadAuthProvided" in caplog.text
        assert "STS.a" not in caplog.text  # memory_auth_provider's AccessKeyId
    finally:
        vod.close()


def test_an_auth_provider_bug_quoting_a_signed_url_fails_the_file_without_the_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """UPL-DRV-011: an auth provider raises a ValueError whose text, and the requests error
    it is chained from, quote a signed request (AccessKeyId, Signature, SecurityToken): the
    file fails with the text masked, and no log line shows any of the three values."""
    key_id, signature, token = "LTAIdoNotShow1", "c2lnbmF0dXJl", "CAIStoken0SEcret"
    url = f"/?AccessKeyId={key_id}&Signature={signature}&SecurityToken={token}"

    def provider(request: Any) -> Any:
        try:
            raise requests.ConnectionError(f"Max retries exceeded with url: {url}")
        except requests.ConnectionError as error:
            raise ValueError(f"could not get credentials from {url}") from error

    tracer = Tracer()
    vod = Vod(
        part_size=MIN_PART,
        transport=MemoryTransport(),
        auth_provider=provider,
        checkpoint_store=MemoryCheckpointStore(),
        **tracer.callbacks(),
    )
    try:
        vod.add_file(BytesSource(FIRST, name="first.mp4"))
        with caplog.at_level(logging.DEBUG):
            vod.start_upload()
            (view,) = vod.wait(timeout=20)
    finally:
        vod.close()
    assert view.state is FileState.FAILURE and view.error is not None
    assert view.error.code == "ValueError" and "could not get credentials" in view.error.message
    shown = view.error.message + "\n".join(r.getMessage() for r in caplog.records)
    shown += "".join(str(r.exc_info) for r in caplog.records if r.exc_info)
    for secret in (key_id, signature, token):
        assert secret not in shown
    assert "failed unexpectedly" in shown  # the log line is there, masked


class _CrashingOnUserCalls(Uploader):
    """The real core, except that it raises a RuntimeError for the events of one type
    (``crash_on``): a user call or the application's credentials answer."""

    crash_on: type[Event] = PauseFile

    def handle(self, event: Event, *, now: float) -> list[Command]:
        if isinstance(event, self.crash_on):
            raise RuntimeError(BUG_TEXT)
        return super().handle(event, now=now)


class _CrashingOnAnswer(_CrashingOnUserCalls):
    crash_on = UploadAuthProvided


def test_a_bug_while_taking_the_applications_credentials_ends_the_file_at_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """UPL-DRV-010: the core raises a RuntimeError for the UploadAuth the application gives
    (no auth provider; here from its own thread, once on_upload_started said the file
    waits). The file does not wait for ``credentials_timeout`` (300 s here): it fails at
    once with the internal-error code and on_upload_failed, the application's call returns
    (the bug is not the application's), the log shows no secret."""
    monkeypatch.setattr(vodref.api.vod, "Uploader", _CrashingOnAnswer)
    grant = memory_auth_provider(time.time())(cast(Any, None))
    tracer = Tracer()
    waiting: queue.Queue[Any] = queue.Queue()
    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = waiting.put
    vod = Vod(
        part_size=MIN_PART,
        transport=MemoryTransport(),
        auth_provider=None,
        credentials_timeout=300.0,
        checkpoint_store=MemoryCheckpointStore(),
        **callbacks,
    )
    try:
        vod.add_file(BytesSource(SECOND, name="answered.mp4"))
        vod.start_upload()
        with caplog.at_level(logging.DEBUG, logger="vodref"):
            started = waiting.get(timeout=20)
            vod.set_upload_auth_and_address(started, grant.upload_auth, grant.upload_address, "v1")
            [view] = vod.wait(timeout=20)
        assert view.state is FileState.FAILURE
        assert view.error is not None and view.error.code == INTERNAL_ERROR_CODE
        assert tracer.of("failed") == [("failed", "answered.mp4", INTERNAL_ERROR_CODE)]
        assert "RuntimeError" in caplog.text and BUG_TEXT not in caplog.text
    finally:
        vod.close()


def test_a_bug_during_a_user_call_stops_the_uploader_and_ends_every_unfinished_file(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """UPL-DRV-010: the core raises a RuntimeError for a user call (pause_file), which may
    have left it half changed: the call raises UploaderClosedError (its message without the
    bug's text), the unfinished file fails with its callback, the finished one stays a
    success, wait() returns and later calls raise UploaderClosedError too."""
    monkeypatch.setattr(vodref.api.vod, "Uploader", _CrashingOnUserCalls)
    tracer = Tracer()
    vod = _vod(tracer, MemoryTransport())
    try:
        vod.add_file(BytesSource(FIRST, name="first.mp4"))
        vod.start_upload()
        vod.wait(timeout=20)
        waiting = vod.add_file(BytesSource(SECOND, name="waiting.mp4"))
        with (
            caplog.at_level(logging.ERROR, logger="vodref.driver"),
            pytest.raises(vodref.errors.UploaderClosedError) as raised,
        ):
            vod.pause_file(waiting)
        assert BUG_TEXT not in str(raised.value) and raised.value.__cause__ is None
        first, second = vod.wait(timeout=20)
        assert first.state is FileState.SUCCESS
        assert second.state is FileState.FAILURE
        assert second.error is not None and second.error.code == INTERNAL_ERROR_CODE
        assert tracer.of("failed") == [("failed", "waiting.mp4", INTERNAL_ERROR_CODE)]
        assert "RuntimeError" in caplog.text and BUG_TEXT not in caplog.text
        with pytest.raises(vodref.errors.UploaderClosedError):
            vod.start_upload()
    finally:
        vod.close()


class _RefusingTheFirstAnswer(Uploader):
    """The real core, except that it refuses the first UploadAuth it is given as
    contradicting the file (a ``UsageError``: the application's mistake, not a bug)."""

    refused = False

    def handle(self, event: Event, *, now: float) -> list[Command]:
        if isinstance(event, UploadAuthProvided) and not self.refused:
            self.refused = True
            raise AuthMismatchError("credentials for another video")
        return super().handle(event, now=now)


def test_an_answer_the_core_refuses_as_misuse_raises_and_the_file_still_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """UPL-DRV-010: a UsageError for the application's answer is not contained: the call
    raises it, nothing changed, the file still waits for credentials, and a second answer
    uploads it."""
    monkeypatch.setattr(vodref.api.vod, "Uploader", _RefusingTheFirstAnswer)
    grant = memory_auth_provider(time.time())(cast(Any, None))
    waiting: queue.Queue[Any] = queue.Queue()
    tracer = Tracer()
    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = waiting.put
    vod = Vod(
        part_size=MIN_PART,
        transport=MemoryTransport(),
        auth_provider=None,
        checkpoint_store=MemoryCheckpointStore(),
        **callbacks,
    )
    try:
        vod.add_file(BytesSource(FIRST, name="refused-once.mp4"))
        vod.start_upload()
        started = waiting.get(timeout=20)
        with pytest.raises(AuthMismatchError):
            vod.set_upload_auth_and_address(started, grant.upload_auth, grant.upload_address)
        [view] = vod.list_files()
        assert view.state is FileState.UPLOADING and view.target is None
        vod.set_upload_auth_and_address(started, grant.upload_auth, grant.upload_address, "v1")
        [view] = vod.wait(timeout=20)
        assert view.state is FileState.SUCCESS and tracer.of("failed") == []
    finally:
        vod.close()
