"""The parts a loaded checkpoint recorded count as done at once after ListParts, so the first
new part goes out with the listing's answer; their bytes are checked against the file beside
the uploads and Complete waits for the checks (UP-RESUME-011). The model is
tests/support/core.py's in-memory OSS."""

from __future__ import annotations

from support.core import ScriptedDriver, make_data

from vodref.core import (
    AddFile,
    Checkpoint,
    CompleteMultipart,
    ErrorKind,
    InitiateMultipart,
    ListParts,
    NotifyProgress,
    RequestAuth,
    SaveCheckpoint,
    ServiceError,
    StartUpload,
    StopUpload,
    UploaderOptions,
    UploadPart,
    VerifyPart,
)

KIB100 = 102_400
PARTS = 6


def interrupted(acknowledged: int = 4) -> tuple[ScriptedDriver, Checkpoint]:
    """A first process that saw ``acknowledged`` parts acknowledged and saved, then died."""
    first = ScriptedDriver(UploaderOptions(part_size=KIB100, parallel=2, checkpoint_interval=0))
    first.add("f", make_data(PARTS * KIB100))
    first.send(StartUpload())
    first.complete(first.take(RequestAuth))
    first.complete(first.take(InitiateMultipart))
    for _ in range(acknowledged):
        first.complete(first.take(UploadPart))
    saved = first.checkpoints[-1].checkpoint
    assert [p.number for p in saved.parts] == list(range(1, acknowledged + 1))
    return first, Checkpoint.from_json(saved.to_json())


def resumed(first: ScriptedDriver, saved: Checkpoint, data: bytes | None = None) -> ScriptedDriver:
    """A second process for the same file (``data``: its bytes now; same fingerprint, as
    when a byte changed outside the sampled blocks), listed and running."""
    second = ScriptedDriver(
        UploaderOptions(part_size=KIB100, parallel=2, checkpoint_interval=0), model=first.model
    )
    second.sources["f"] = first.sources["f"] if data is None else data
    second.send(
        AddFile(
            file_id="f",
            name="f.mp4",
            size=saved.file_size,
            fingerprint=saved.fingerprint,
            checkpoint=saved,
        )
    )
    second.send(StartUpload())
    second.complete(second.take(RequestAuth))
    return second


def numbers(d: ScriptedDriver, kind: type[UploadPart] | type[VerifyPart]) -> list[int]:
    return [c.part_number for c in d.log if isinstance(c, kind)]


def test_new_parts_go_out_with_the_listing_and_complete_waits_for_the_checks() -> None:
    """UP-RESUME-011 UP-RESUME-010 UP-RESUME-002"""
    first, saved = interrupted()
    second = resumed(first, saved)
    answer = second.complete(second.take(ListParts))
    # The listing's answer already sends the parts the server lacks: nothing was read first,
    # and the checks wait for the first new part's acknowledgement.
    assert [c.part_number for c in answer if isinstance(c, UploadPart)] == [5, 6]
    assert not any(isinstance(c, VerifyPart) for c in answer)
    [progress] = [c for c in answer if isinstance(c, NotifyProgress)]
    assert progress.bytes_done == 4 * KIB100  # the recorded parts count at once
    # The loaded record names this video and upload already: its save is no barrier, so
    # the parts are not held back by an fsync (UP-DUR-001).
    [save] = [c for c in answer if isinstance(c, SaveCheckpoint)]
    assert not save.barrier and [p.number for p in save.checkpoint.parts] == [1, 2, 3, 4]
    acknowledged = second.complete(second.take(UploadPart))
    assert [c.part_number for c in acknowledged if isinstance(c, VerifyPart)] == [1, 2]
    second.complete(second.take(UploadPart))
    # Every part is done, but checks are out or queued: no Complete yet.
    assert not second.has(CompleteMultipart)
    second.run()
    assert second.state("f") == "Success"
    assert numbers(second, UploadPart) == [5, 6]  # no recorded part was sent again
    assert numbers(second, VerifyPart) == [1, 2, 3, 4]
    complete = next(c for c in second.log if isinstance(c, CompleteMultipart))
    assert second.log.index(complete) > max(
        second.log.index(c) for c in second.log if isinstance(c, VerifyPart)
    )
    assert first.model.objects[saved.target.key if saved.target else ""] == first.sources["f"]


def test_a_recorded_part_whose_bytes_changed_is_dropped_and_sent_again() -> None:
    """UP-RESUME-011 UPL-CKPT-002: same fingerprint, bytes changed inside recorded parts 2
    and 3: their checks fail, they are sent again and the object equals the file as it is
    now. Progress, reported at 4 parts after the listing, never goes backwards."""
    first, saved = interrupted()
    data = bytearray(first.sources["f"])
    data[KIB100 + 1000] ^= 0xFF
    data[2 * KIB100 + 1000] ^= 0xFF
    second = resumed(first, saved, bytes(data))
    second.complete(second.take(ListParts))
    second.complete(second.take(UploadPart))  # part 5: the checks start
    for _ in range(3):  # parts 1 (matches), 2 and 3 (dropped)
        second.complete(second.take(VerifyPart))
    second.complete(second.take(UploadPart))  # part 6: 4 parts done now, 5 were reported
    second.run()
    assert second.state("f") == "Success"
    assert sorted(numbers(second, UploadPart)) == [2, 3, 5, 6]
    assert first.model.objects[saved.target.key if saved.target else ""] == bytes(data)
    reported = [n.bytes_done for n in second.progress("f")]
    assert reported == sorted(reported) and reported[-1] == PARTS * KIB100
    # The checkpoint written after the failed check no longer vouches for part 2.
    dropped = [
        s.checkpoint
        for s in second.checkpoints
        if 2 not in {p.number for p in s.checkpoint.parts} and len(s.checkpoint.parts) >= 3
    ]
    assert dropped


def test_a_recorded_part_whose_check_never_happened_is_checked_again_not_resent() -> None:
    """UP-RESUME-011: a check abandoned (here by a stop) leaves the recorded part done; it is
    checked again when the file runs again, and never sent twice."""
    first, saved = interrupted()
    second = resumed(first, saved)
    second.complete(second.take(ListParts))
    second.complete(second.take(UploadPart))
    check = second.take(VerifyPart)
    assert check.part_number == 1
    second.send(StopUpload())
    second.abandon(check)
    for request in list(second.pending):
        second.abandon(request)
    second.send(StartUpload())
    second.run()
    assert second.state("f") == "Success"
    assert 1 not in numbers(second, UploadPart)
    assert numbers(second, VerifyPart).count(1) == 2


def test_a_recorded_part_that_cannot_be_read_is_sent_again() -> None:
    """UP-RESUME-011: a check that fails (the bytes cannot be read) drops the recorded part,
    which is sent again, as an unreadable adoption check is (UP-RESUME-009)."""
    first, saved = interrupted()
    second = resumed(first, saved)
    second.complete(second.take(ListParts))
    second.complete(second.take(UploadPart))
    check = second.take(VerifyPart)
    second.fail(check, ServiceError(kind=ErrorKind.LOCAL, code="SourceChanged", message="gone"))
    second.run()
    assert second.state("f") == "Success"
    assert sorted(numbers(second, UploadPart)) == [check.part_number, 5, 6]
    assert first.model.objects[saved.target.key if saved.target else ""] == first.sources["f"]
