"""The ``multipart_threshold`` option (beyond JS): where the JS rule "100 KiB or more goes
multipart" sits, on the pure core (tests/support/core.py's in-memory OSS)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.core import ScriptedDriver, make_data

from vodref.core import (
    MAX_MULTIPART_THRESHOLD,
    SINGLE_PUT_THRESHOLD,
    AddFile,
    Checkpoint,
    CompleteMultipart,
    InitiateMultipart,
    InvalidOptionError,
    ListParts,
    MediaKind,
    PutObject,
    StartUpload,
    UploaderOptions,
    plan_parts,
)

PART = 102_400


def _requests(d: ScriptedDriver) -> list[str]:
    return [type(c).__name__ for c in d.log if type(c).__name__ in _OSS]


_OSS = {"PutObject", "InitiateMultipart", "UploadPart", "CompleteMultipart", "ListParts"}


def test_the_default_is_the_js_rule() -> None:
    """UP-OPT-013 UP-PART-001 UP-PART-002: by default a 200 KiB file goes multipart."""
    assert UploaderOptions().multipart_threshold == SINGLE_PUT_THRESHOLD == 102_400
    d = ScriptedDriver(UploaderOptions(part_size=1_048_576))
    d.add("f", make_data(200 * 1024))
    d.send(StartUpload())
    d.run()
    assert d.state("f") == "Success"
    assert _requests(d) == ["InitiateMultipart", "UploadPart", "CompleteMultipart"]


def test_a_raised_threshold_puts_small_files_in_one_request() -> None:
    """UP-OPT-013 UP-PART-007: below the threshold a file is one PutObject (its CRC-64 is
    checked as any PutObject's), at it multipart as before."""
    d = ScriptedDriver(UploaderOptions(multipart_threshold=256 * 1024))
    d.add("small", make_data(200 * 1024, seed=1))
    d.add("big", make_data(256 * 1024, seed=2))
    d.send(StartUpload())
    d.run()
    assert d.state("small") == "Success" and d.state("big") == "Success"
    kinds = [(type(c).__name__, c.file_id) for c in d.log if type(c).__name__ in _OSS]
    assert ("PutObject", "small") in kinds
    assert not any(kind == "PutObject" and file_id == "big" for kind, file_id in kinds)
    assert ("CompleteMultipart", "big") in kinds


def test_a_lowered_threshold_sends_even_tiny_files_as_one_part() -> None:
    """UP-PART-007: with threshold 1 every file goes multipart (one part)."""
    d = ScriptedDriver(UploaderOptions(multipart_threshold=1))
    d.add("f", make_data(1000))
    d.send(StartUpload())
    d.run()
    assert d.state("f") == "Success"
    assert _requests(d) == ["InitiateMultipart", "UploadPart", "CompleteMultipart"]


@given(
    size=st.integers(min_value=1, max_value=3_000_000),
    threshold=st.integers(min_value=1, max_value=4_000_000),
)
def test_the_threshold_alone_decides_put_or_multipart(size: int, threshold: int) -> None:
    """UP-PART-007: ``size < threshold`` is a single PUT, anything else multipart."""
    plan = plan_parts(size, PART, threshold)
    assert plan.multipart is (size >= threshold)


@pytest.mark.parametrize("bad", [0, -1, MAX_MULTIPART_THRESHOLD + 1, True, 1.5, "100KiB"])
def test_bad_thresholds_raise(bad: object) -> None:
    """UP-OPT-013: 1 .. 64 MiB (a file below it is held in memory whole); nothing else."""
    with pytest.raises(InvalidOptionError, match="multipart_threshold"):
        UploaderOptions(multipart_threshold=bad)  # type: ignore[arg-type]


def test_a_checkpoint_with_an_upload_stays_multipart_under_a_raised_threshold() -> None:
    """UP-PART-007: a file whose checkpoint names a multipart upload goes on with it (its
    parts are on the server), whatever the threshold says now."""
    d = ScriptedDriver(UploaderOptions(part_size=PART, multipart_threshold=MAX_MULTIPART_THRESHOLD))
    data = make_data(3 * PART)
    video_id, target = d.model.create_video("f.mp4")
    upload_id = d.model.initiate(target.key)
    fingerprint = "fp-resumed"
    checkpoint = Checkpoint(
        file_name="f.mp4",
        file_size=len(data),
        fingerprint=fingerprint,
        media_kind=MediaKind.VIDEO,
        video_id=video_id,
        target=target,
        upload_id=upload_id,
        part_size=PART,
    )
    d.sources["f"] = data
    d.feed(
        d.core.handle(
            AddFile(
                file_id="f",
                name="f.mp4",
                size=len(data),
                fingerprint=fingerprint,
                checkpoint=checkpoint,
            ),
            now=d.now,
        )
    )
    d.send(StartUpload())
    d.run()
    assert d.state("f") == "Success"
    sent = [type(c) for c in d.log]
    assert ListParts in sent and CompleteMultipart in sent
    assert PutObject not in sent and InitiateMultipart not in sent
