"""Exhaustive property over every (state, user event) pair of the transition table.

For each file state and each uploader state, a recipe drives a fresh core into that state in
one of several ways; then every user event is applied. A pair in the table must land in one of
its targets; a pair not in the table must raise InvalidStateError and leave the core exactly
as it was (UP-STATE-003, UP-CORE-004).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.core import EXPIRED, FATAL, ScriptedDriver, make_data

from vodref.core import (
    FILE_TRANSITIONS,
    UPLOADER_TRANSITIONS,
    CancelFile,
    CleanList,
    DeleteFile,
    FileState,
    FileTrigger,
    InitiateMultipart,
    InvalidStateError,
    PauseFile,
    RequestAuth,
    ResumeFile,
    StartUpload,
    StopUpload,
    UnknownFileError,
    UploaderOptions,
    UploaderState,
    UploaderTrigger,
    UploadPart,
)

BIG = 5 * 102_400 + 7


def new_driver() -> ScriptedDriver:
    return ScriptedDriver(UploaderOptions(part_size=102_400, parallel=2))


def ready(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG if variant % 2 else 1000))
    if variant >= 2:  # Ready again after a cancel and resume
        d.send(CancelFile(file_id="f"))
        d.send(ResumeFile(file_id="f"))


def uploading(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG))
    d.send(StartUpload())
    for _ in range(variant):  # 0: waiting for auth; 1: initiating; 2+: parts in flight
        if d.pending:
            d.complete(d.pending[0])


def success(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG if variant % 2 else 1000))
    d.send(StartUpload())
    d.run()


def failure(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    if variant % 2:
        d.complete(d.take(InitiateMultipart))
        d.fail(d.take(UploadPart), FATAL)
    else:
        d.fail(d.take(InitiateMultipart), FATAL)


def canceled(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG))
    if variant % 2:
        d.send(StartUpload())
        d.complete(d.take(RequestAuth))
        d.complete(d.take(InitiateMultipart))
    d.send(CancelFile(file_id="f"))


def stopped(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG))
    if variant % 2:
        d.send(PauseFile(file_id="f"))
        return
    d.send(StartUpload())
    for _ in range(variant // 2):
        if d.pending:
            d.complete(d.pending[0])
    d.send(StopUpload())


FILE_RECIPES: dict[FileState, Callable[[ScriptedDriver, int], None]] = {
    FileState.READY: ready,
    FileState.UPLOADING: uploading,
    FileState.SUCCESS: success,
    FileState.FAILURE: failure,
    FileState.CANCELED: canceled,
    FileState.STOPPED: stopped,
}

FILE_EVENTS = {
    FileTrigger.CANCEL: CancelFile,
    FileTrigger.DELETE: DeleteFile,
    FileTrigger.RESUME: ResumeFile,
    FileTrigger.PAUSE: PauseFile,
}


def snapshot(d: ScriptedDriver) -> object:
    core = d.core
    return (core.state, core.files(), core.in_flight(), core.next_deadline())


def test_recipes_cover_every_file_state() -> None:
    """UP-STATE-001"""
    assert set(FILE_RECIPES) == set(FileState)
    for state, recipe in FILE_RECIPES.items():
        for variant in range(4):
            d = new_driver()
            recipe(d, variant)
            assert d.core.file("f").state is state, (state, variant)


@pytest.mark.parametrize("state", list(FileState), ids=lambda s: s.value)
@pytest.mark.parametrize("trigger", list(FILE_EVENTS), ids=lambda t: t.value)
@given(variant=st.integers(min_value=0, max_value=5))
def test_every_file_state_and_user_event(
    state: FileState, trigger: FileTrigger, variant: int
) -> None:
    """UP-STATE-003 UP-API-002 UP-API-003 UP-API-004 UP-API-015"""
    d = new_driver()
    FILE_RECIPES[state](d, variant)
    assert d.core.file("f").state is state
    before = snapshot(d)
    targets = FILE_TRANSITIONS.get((state, trigger))
    event = FILE_EVENTS[trigger](file_id="f")
    if targets is None:
        with pytest.raises(InvalidStateError):
            d.send(event)
        assert snapshot(d) == before
        return
    d.send(event)
    remaining = {view.file_id: view.state for view in d.core.files()}
    if None in targets:
        assert "f" not in remaining
        return
    # Resume may start the file at once when the uploader is running: Ready -> Uploading.
    allowed = set(targets)
    if FileState.READY in allowed and d.core.state is UploaderState.STARTED:
        allowed.add(FileState.UPLOADING)
    assert remaining["f"] in allowed


def uploader_init(d: ScriptedDriver, variant: int) -> None:
    if variant % 2:
        d.add("f", make_data(1000))


def uploader_started(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG))
    d.send(StartUpload())
    for _ in range(variant):
        if d.pending:
            d.complete(d.pending[0])


def uploader_stopped(d: ScriptedDriver, variant: int) -> None:
    uploader_started(d, variant)
    d.send(StopUpload())
    if variant % 2:
        d.send(CleanList())


def uploader_expired(d: ScriptedDriver, variant: int) -> None:
    d.add("f", make_data(BIG))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    d.fail(d.take(UploadPart), EXPIRED)


def uploader_ended(d: ScriptedDriver, variant: int) -> None:
    if variant % 2:
        d.add("f", make_data(1000))
    d.send(StartUpload())
    d.run()


UPLOADER_RECIPES: dict[UploaderState, Callable[[ScriptedDriver, int], None]] = {
    UploaderState.INIT: uploader_init,
    UploaderState.STARTED: uploader_started,
    UploaderState.STOPPED: uploader_stopped,
    UploaderState.EXPIRED: uploader_expired,
    UploaderState.ENDED: uploader_ended,
}

UPLOADER_EVENTS = {
    UploaderTrigger.START: StartUpload,
    UploaderTrigger.STOP: StopUpload,
    UploaderTrigger.CLEAN: CleanList,
}


@pytest.mark.parametrize("state", list(UploaderState), ids=lambda s: s.value)
@pytest.mark.parametrize("trigger", list(UPLOADER_EVENTS), ids=lambda t: t.value)
@given(variant=st.integers(min_value=0, max_value=3))
def test_every_uploader_state_and_user_event(
    state: UploaderState, trigger: UploaderTrigger, variant: int
) -> None:
    """UP-STATE-002 UP-STATE-003 UP-API-006 UP-API-007 UP-API-008 UP-DEV-024 UP-DEV-013"""
    assert set(UPLOADER_RECIPES) == set(UploaderState)
    d = new_driver()
    UPLOADER_RECIPES[state](d, variant)
    assert d.core.state is state
    before = snapshot(d)
    targets = UPLOADER_TRANSITIONS.get((state, trigger))
    if targets is None:
        with pytest.raises(InvalidStateError):
            d.send(UPLOADER_EVENTS[trigger]())
        assert snapshot(d) == before
        return
    d.send(UPLOADER_EVENTS[trigger]())
    assert d.core.state in targets


def test_unknown_files_raise_before_any_change() -> None:
    """UP-API-002 UP-CORE-004"""
    d = new_driver()
    d.add("f", make_data(1000))
    before = snapshot(d)
    for event in (CancelFile, DeleteFile, ResumeFile, PauseFile):
        with pytest.raises(UnknownFileError):
            d.send(event(file_id="nope"))
    with pytest.raises(UnknownFileError):
        d.core.file("nope")
    assert snapshot(d) == before
