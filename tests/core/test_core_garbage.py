"""Arbitrary garbage outcomes and events raise only the core's typed errors, and an error leaves
the core exactly as it was (UP-CORE-003, UP-CORE-004)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.core import ScriptedDriver, make_data

import vodref.core as core
from vodref.core import (
    AddFile,
    CancelFile,
    Checkpoint,
    CleanList,
    CommandAbandoned,
    CommandFailed,
    Credentials,
    DeleteFile,
    ErrorKind,
    InvalidEventError,
    ListedPart,
    MediaKind,
    MultipartAborted,
    MultipartCompleted,
    MultipartInitiated,
    ObjectHeaded,
    ObjectPut,
    ObjectTarget,
    OutcomeMismatchError,
    PartsListed,
    PartUploaded,
    PauseFile,
    ResumeFile,
    ServiceError,
    StaleOutcomeError,
    StartUpload,
    StopUpload,
    StsToken,
    StsTokenProvided,
    TargetOverride,
    UnknownCommandError,
    UploadAuthProvided,
    UploaderOptions,
    VodrefError,
)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.just(object()),
    st.lists(st.integers(), max_size=2),
)
crc = st.one_of(st.integers(min_value=0, max_value=2**64 - 1), junk)
text = st.one_of(st.text(min_size=1, max_size=12), junk)
credentials = st.one_of(
    st.builds(
        Credentials,
        access_key_id=st.just("id"),
        access_key_secret=st.just("secret"),
        security_token=st.sampled_from([None, "tok"]),
        expires_at=st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6)),
    ),
    junk,
)
target = st.builds(
    ObjectTarget, endpoint=st.just("https://e"), bucket=st.just("b"), key=st.text(min_size=1)
)
service_error = st.one_of(
    st.builds(
        ServiceError,
        kind=st.sampled_from(ErrorKind),
        code=st.sampled_from(
            [
                "NoSuchUpload",
                "SecurityTokenExpired",
                "InternalError",
                "AccessDenied",
                "SignatureDoesNotMatch",
                "InvalidAccessKeyId",
                "NoSuchKey",
                "X",
            ]
        ),
        http_status=st.sampled_from([None, 400, 403, 404, 429, 500, 503]),
    ),
    junk,
)
listed = st.builds(
    ListedPart,
    number=st.integers(min_value=1, max_value=12),
    etag=st.text(min_size=1, max_size=6),
    size=st.integers(min_value=0, max_value=300_000),
)

FIELDS: dict[type[Any], dict[str, st.SearchStrategy[Any]]] = {
    UploadAuthProvided: {
        "credentials": credentials,
        "address": st.one_of(st.none(), target, junk),
        "video_id": st.one_of(st.none(), text),
        "image_url": st.one_of(st.none(), text),
    },
    StsTokenProvided: {
        "token": st.one_of(
            st.just(StsToken(access_key_id="a", access_key_secret="s", security_token="t")), junk
        ),
        "direct": st.one_of(st.booleans(), junk),
    },
    ObjectPut: {"crc64": crc, "server_crc64": st.one_of(st.none(), crc), "etag": st.none()},
    MultipartInitiated: {"upload_id": text},
    PartUploaded: {"etag": text, "crc64": crc, "server_crc64": st.one_of(st.none(), crc)},
    PartsListed: {"parts": st.one_of(st.lists(listed, max_size=6).map(tuple), junk)},
    MultipartCompleted: {"server_crc64": st.one_of(st.none(), crc), "etag": st.none()},
    MultipartAborted: {},
    ObjectHeaded: {
        "size": st.one_of(st.integers(min_value=0, max_value=10**6), junk),
        "server_crc64": st.one_of(st.none(), crc),
    },
    CommandFailed: {"error": service_error},
    CommandAbandoned: {},
}


def snapshot(d: ScriptedDriver) -> object:
    core = d.core
    return (core.state, core.files(), core.in_flight(), core.next_deadline())


def build(kind: type[Any], kwargs: dict[str, Any]) -> Any:
    try:
        return kind(**kwargs)
    except VodrefError:
        return None


@settings(max_examples=150)
@given(data=st.data(), warmup=st.integers(min_value=0, max_value=12), sts=st.booleans())
def test_garbage_outcomes_raise_only_typed_errors(
    data: st.DataObject, warmup: int, sts: bool
) -> None:
    """UP-CORE-003 UP-CORE-004"""
    d = ScriptedDriver(UploaderOptions(part_size=102_400, parallel=3), sts=sts)
    d.add("f", make_data(350_000))
    d.add("g", make_data(5_000, seed=1))
    d.send(StartUpload())
    for _ in range(warmup):
        if d.pending:
            d.complete(d.pending[0])
    for _ in range(8):
        kind = data.draw(st.sampled_from(list(FIELDS)))
        ids = [c.command_id for c in d.pending] or [1]
        command_id = data.draw(
            st.one_of(st.sampled_from(ids), st.integers(min_value=-3, max_value=10_000), junk)
        )
        kwargs = {name: data.draw(strategy) for name, strategy in FIELDS[kind].items()}
        event = build(kind, {"command_id": command_id, **kwargs})
        if event is None:
            continue
        before = snapshot(d)
        try:
            d.send(event)
        except VodrefError:
            assert snapshot(d) == before
        else:
            d.pending = [c for c in d.pending if c.command_id != event.command_id]


@given(data=st.data())
def test_garbage_user_events_raise_only_typed_errors(data: st.DataObject) -> None:
    """UP-CORE-004 UP-API-001"""
    d = ScriptedDriver(UploaderOptions(part_size=102_400))
    d.add("f", make_data(1000))
    for _ in range(6):
        choice = data.draw(st.integers(min_value=0, max_value=4))
        before = snapshot(d)
        try:
            if choice == 0:
                event: Any = AddFile(
                    file_id=data.draw(text),
                    name=data.draw(text),
                    size=data.draw(st.one_of(st.integers(min_value=-5, max_value=2**70), junk)),
                    fingerprint=data.draw(text),
                    media_kind=data.draw(st.one_of(st.sampled_from(MediaKind), junk)),
                    target_override=data.draw(
                        st.one_of(st.none(), st.just(TargetOverride()), junk)
                    ),
                    param_data=data.draw(st.one_of(st.none(), text)),
                    checkpoint=data.draw(st.one_of(st.none(), junk)),
                )
            elif choice == 1:
                cls = data.draw(st.sampled_from([CancelFile, DeleteFile, ResumeFile, PauseFile]))
                event = cls(file_id=data.draw(st.one_of(st.sampled_from(["f", "x"]), text)))
            else:
                event = data.draw(st.sampled_from([StartUpload, StopUpload, CleanList]))()
            now = data.draw(st.one_of(st.floats(min_value=0, max_value=10), junk))
            d.feed(d.core.handle(event, now=now))
        except VodrefError:
            assert snapshot(d) == before


def test_outcome_matching_errors_are_specific() -> None:
    """UP-CORE-003"""
    d = ScriptedDriver(UploaderOptions(part_size=102_400))
    d.add("f", make_data(350_000))
    effects = d.send(StartUpload())
    request = d.pending[0]
    before = snapshot(d)
    try:
        d.send(MultipartInitiated(command_id=request.command_id, upload_id="u"))
    except OutcomeMismatchError:
        pass
    else:
        raise AssertionError("a MultipartInitiated cannot answer a RequestAuth")
    for event, error in (
        (CommandAbandoned(command_id=10_000), UnknownCommandError),
        (CommandAbandoned(command_id=effects[0].command_id), StaleOutcomeError),  # a Notify
    ):
        try:
            d.send(event)
        except error:
            pass
        else:
            raise AssertionError(f"{event} should raise {error.__name__}")
    assert snapshot(d) == before
    d.complete(request)
    try:
        d.send(CommandAbandoned(command_id=request.command_id))  # settled already
    except StaleOutcomeError:
        pass
    else:
        raise AssertionError("a duplicate outcome must raise StaleOutcomeError")


def test_now_must_be_finite_and_never_go_back() -> None:
    """UP-CORE-005"""
    d = ScriptedDriver(UploaderOptions())
    d.core.handle_timer(5.0)
    for bad in (4.0, math.nan, math.inf, "5", None):
        try:
            d.core.handle_timer(bad)  # type: ignore[arg-type]
        except InvalidEventError:
            continue
        raise AssertionError(bad)
    assert d.core.handle(StartUpload(), now=5.0)


def test_events_are_frozen_slotted_and_keyword_only() -> None:
    """UP-CORE-002"""
    for name in core.__all__:
        obj = getattr(core, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            params = obj.__dataclass_params__  # type: ignore[attr-defined]
            assert params.frozen, name
            assert "__slots__" in obj.__dict__, name
            assert all(f.kw_only for f in dataclasses.fields(obj)), name
    assert Checkpoint.__dataclass_params__.frozen  # type: ignore[attr-defined]
