"""Checkpoints: contents, no secrets, key, JSON round trip, typed errors on bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.core import ScriptedDriver, make_data

from vodref.core import (
    Checkpoint,
    CheckpointError,
    CheckpointPart,
    MediaKind,
    ObjectTarget,
    PauseFile,
    RequestAuth,
    ResumeFile,
    SaveCheckpoint,
    StartUpload,
    UploaderOptions,
    UploadPart,
)

TARGET = ObjectTarget(endpoint="https://e", bucket="b", key="k")


def sample() -> Checkpoint:
    return Checkpoint(
        file_name="a.mp4",
        file_size=300_000,
        fingerprint="fp",
        media_kind=MediaKind.VIDEO,
        video_id="vid1",
        target=TARGET,
        upload_id="up1",
        part_size=102_400,
        parts=(CheckpointPart(number=1, etag="E1", crc64=2**64 - 1, size=102_400),),
    )


def test_json_round_trip_and_key() -> None:
    """UP-CKPT-001 UP-CKPT-002 UP-CKPT-003"""
    checkpoint = sample()
    assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint
    assert Checkpoint.from_dict(json.loads(checkpoint.to_json())) == checkpoint
    assert checkpoint.key == "fp"
    data = checkpoint.to_dict()
    assert data["format"] == "vodref.checkpoint" and data["version"] == 1
    assert data["parts"] == [[1, "E1", "ffffffffffffffff", 102_400]]


def test_checkpoints_the_core_saves_hold_no_secret() -> None:
    """UP-CKPT-001: no AccessKeyId, AccessKeySecret or SecurityToken, ever"""
    driver = ScriptedDriver(UploaderOptions(part_size=102_400, checkpoint_interval=0))
    driver.add("f", make_data(350_000))
    driver.send(StartUpload())
    driver.run()
    assert driver.checkpoints
    for saved in driver.checkpoints:
        text = saved.checkpoint.to_json()
        for secret in ("STS.id", "secret", "token"):
            assert secret not in text
        assert saved.key == saved.checkpoint.fingerprint


def test_checkpoint_saves_are_throttled_and_flushed_by_a_timer() -> None:
    """UP-CKPT-004 UP-OPT-011 UP-DEV-026"""
    driver = ScriptedDriver(UploaderOptions(part_size=102_400, parallel=1, checkpoint_interval=5))
    driver.add("f", make_data(5 * 102_400))
    driver.send(StartUpload())
    driver.complete(driver.take())  # auth: VideoId known -> saved at once (UP-DEV-026)
    assert driver.checkpoints[-1].checkpoint.upload_id is None
    assert driver.checkpoints[-1].checkpoint.video_id is not None
    driver.complete(driver.take())  # initiate -> saved
    saves = len(driver.checkpoints)
    driver.complete(driver.take(UploadPart))  # within the interval: not saved yet
    assert len(driver.checkpoints) == saves
    deadline = driver.core.next_deadline()
    assert deadline is not None and deadline <= driver.now + 5
    driver.now += 5
    driver.feed(driver.core.handle_timer(driver.now))
    assert len(driver.checkpoints) == saves + 1
    assert [p.number for p in driver.checkpoints[-1].checkpoint.parts] == [1]


BAD_RECORDS: list[object] = [
    None,
    [],
    "x",
    {},
    {"format": "other", "version": 1},
    {"format": "vodref.checkpoint", "version": 2},
    {"format": "vodref.checkpoint", "version": 1},
]


@pytest.mark.parametrize("record", BAD_RECORDS)
def test_malformed_records_raise_checkpoint_error(record: object) -> None:
    """UP-CKPT-003"""
    with pytest.raises(CheckpointError):
        Checkpoint.from_dict(record)


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", b"\xff\xfe", "null"])
def test_malformed_json_raises_checkpoint_error(text: str | bytes) -> None:
    """UP-CKPT-003"""
    with pytest.raises(CheckpointError):
        Checkpoint.from_json(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


@given(
    mutation=st.dictionaries(
        st.sampled_from(
            [
                "file",
                "media_kind",
                "video_id",
                "target",
                "upload_id",
                "part_size",
                "parts",
                "version",
            ]
        ),
        json_values,
        min_size=1,
    )
)
def test_any_mutation_of_a_valid_record_parses_or_raises_checkpoint_error(
    mutation: dict[str, object],
) -> None:
    """UP-CKPT-003: never another exception type"""
    record = sample().to_dict()
    record.update(mutation)
    try:
        parsed = Checkpoint.from_dict(record)
    except CheckpointError:
        return
    assert isinstance(parsed, Checkpoint)


@pytest.mark.parametrize(
    "changes",
    [
        {"version": 2},
        {"file_size": 0},
        {"part_size": 1000},
        {"target": None},  # an upload id needs a target
        {"upload_id": None},  # parts need an upload id
        {"parts": [CheckpointPart(number=1, etag="E", crc64=1, size=102_400)]},
        {
            "parts": (
                CheckpointPart(number=1, etag="E", crc64=1, size=102_400),
                CheckpointPart(number=1, etag="F", crc64=2, size=102_400),
            )
        },
    ],
)
def test_inconsistent_checkpoints_cannot_be_built(changes: dict[str, object]) -> None:
    """UP-CKPT-003"""
    fields = {
        "file_name": "a.mp4",
        "file_size": 300_000,
        "fingerprint": "fp",
        "media_kind": MediaKind.VIDEO,
        "video_id": "v",
        "target": TARGET,
        "upload_id": "u",
        "part_size": 102_400,
        "parts": (CheckpointPart(number=1, etag="E1", crc64=1, size=102_400),),
    }
    fields.update(changes)
    with pytest.raises(CheckpointError):
        Checkpoint(**fields)  # type: ignore[arg-type]


def test_images_are_not_checkpointed() -> None:
    """UP-CKPT-005 UP-DEV-031"""
    driver = ScriptedDriver(UploaderOptions(part_size=102_400))
    driver.add("img", make_data(250_000), media_kind=MediaKind.IMAGE)
    driver.send(StartUpload())
    driver.run()
    assert driver.state("img") == "Success"
    assert not [c for c in driver.log if isinstance(c, SaveCheckpoint)]
    assert driver.core.checkpoint("img") is None


def test_a_flush_timer_survives_a_forced_save() -> None:
    """UP-CKPT-004: a throttled save is flushed by its timer even after a stop saved meanwhile"""
    driver = ScriptedDriver(UploaderOptions(part_size=102_400, parallel=1, checkpoint_interval=5))
    driver.add("f", make_data(3 * 102_400))
    driver.send(StartUpload())
    driver.complete(driver.take())
    driver.complete(driver.take())
    driver.complete(driver.take(UploadPart))  # throttled: dirty, flush timer armed
    driver.send(PauseFile(file_id="f"))  # forced save of part 1
    assert [p.number for p in driver.checkpoints[-1].checkpoint.parts] == [1]
    assert driver.core.next_deadline() is not None
    driver.send(ResumeFile(file_id="f"))
    driver.send(StartUpload())
    driver.complete(driver.take(RequestAuth))
    driver.complete(driver.take(UploadPart))  # throttled again
    saves = len(driver.checkpoints)
    driver.to_deadline()
    assert len(driver.checkpoints) == saves + 1
    assert [p.number for p in driver.checkpoints[-1].checkpoint.parts] == [1, 2]


def test_a_stop_before_listing_keeps_the_parts_the_checkpoint_claimed() -> None:
    """UP-CKPT-004 UP-RESUME-002"""
    first = ScriptedDriver(UploaderOptions(part_size=102_400, checkpoint_interval=0))
    first.add("f", make_data(3 * 102_400))
    first.send(StartUpload())
    first.complete(first.take())
    first.complete(first.take())
    first.complete(first.take(UploadPart))
    saved = first.checkpoints[-1].checkpoint
    second = ScriptedDriver(UploaderOptions(part_size=102_400), model=first.model)
    second.add("f", first.sources["f"], checkpoint=saved)
    assert second.core.checkpoint("f") == saved
    assert second.core.file("f").parts_done == 0  # not believed before ListParts
