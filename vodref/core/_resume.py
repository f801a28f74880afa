"""Resume against the server: what ListParts says, adopting the parts it names that the
checkpoint missed, and checking the parts the checkpoint recorded against the file
(UP-RESUME-001, UP-RESUME-009, UP-RESUME-010, UP-RESUME-011).

A listed part a checkpoint vouches for (same ETag and size) counts as done at once, so the
parts still to send go out right after ListParts; its bytes are then read again beside the
uploads and Complete waits until each one matched (its MD5 equal to the ETag and its CRC-64
equal to the recorded one: the file may have changed in a block the fingerprint does not
sample). A part that no longer matches is dropped and sent again. Any other listed part of
the planned size is checked against the file the same way and adopted when it matches. The
core issues ``VerifyPart`` for both (the driver hashes the bytes; the core does no I/O), at
most :data:`VERIFY_PARALLEL` at a time.

When ListParts says the upload is gone, :func:`expect_object` tells whether a Complete of it
may have landed unseen and the object can be recognised (UP-RESUME-012).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._records import FileRecord
from .commands import VerifyPart
from .crc64 import crc64_combine_all
from .errors import OutcomeMismatchError
from .events import PartsListed, PartVerified
from .states import Step

if TYPE_CHECKING:
    from ._machine import Machine
    from ._records import Flight

__all__ = [
    "VERIFY_PARALLEL",
    "expect_object",
    "on_listed",
    "on_verified",
    "unverified",
    "verify_parts",
]

# Listed parts checked against the file at once (VerifyPart is local I/O, bounded so the
# hashing never delays the part uploads that run beside it: UP-RESUME-010).
VERIFY_PARALLEL = 2


def verify_parts(m: Machine, rec: FileRecord) -> None:
    """Check listed parts against the file, a few at a time, beside the part uploads."""
    to_verify = rec.to_verify
    # UP-RESUME-011: the checks of recorded parts (queued after the adoption checks) wait
    # until a new part has been acknowledged, or nothing is left to send: the first new parts
    # have the disk and the CPU to themselves.
    hold = rec.bytes_done <= rec.listed_bytes and bool(
        rec.requeue or rec.in_flight_numbers or rec.waiting_parts
    )
    while to_verify and len(rec.verifying) < VERIFY_PARALLEL:
        if hold and to_verify[0][0] in rec.done:
            return
        number, etag, listed_crc = to_verify.popleft()
        offset, length = rec.plan.part_range(number)
        command = VerifyPart(
            command_id=m.new_id(),
            file_id=rec.file_id,
            part_number=number,
            offset=offset,
            length=length,
            etag=etag,
            listed_crc64=listed_crc,
        )
        rec.verifying[number] = command.command_id
        m.request(rec, command, Step.ADOPT)


def on_listed(m: Machine, flight: Flight, event: PartsListed) -> None:
    rec = flight.record
    assert rec is not None
    numbers = [part.number for part in event.parts]
    if len(set(numbers)) != len(numbers):
        raise OutcomeMismatchError("ListParts answer names a part more than once")
    current = m.is_current_op(flight, rec) and rec.needs_listing
    m.release(flight)
    if not current:
        return
    plan = rec.plan
    listed = {part.number: part for part in event.parts}
    kept: set[int] = set()
    # UP-RESUME-011: what the checkpoint recorded and the server still lists counts as done
    # now; its bytes are checked against the file (VerifyPart) before Complete.
    recorded: list[tuple[int, str, int | None]] = []
    for claimed in rec.claimed_parts:
        number = claimed.number
        part = listed.get(number)
        if (
            part is not None
            and number <= plan.part_count
            and part.size == claimed.size == plan.part_range(number)[1]
            and _norm_etag(part.etag) == _norm_etag(claimed.etag)
        ):
            kept.add(number)
            recorded.append((number, claimed.etag, claimed.crc64))
    rec.keep_claimed(kept)
    rec.bytes_done = rec.listed_bytes = sum(part.size for part in rec.done.values())
    # UP-RESUME-009: a listed part no checkpoint vouches for (its ack was lost in a kill) is
    # checked against the file's bytes (VerifyPart) beside the uploads, not sent again.
    to_verify = [
        (part.number, part.etag, part.crc64)
        for part in event.parts
        if part.number not in kept
        and part.number <= plan.part_count
        and part.number not in rec.in_flight_numbers
        and part.size == plan.part_range(part.number)[1]
    ]
    checking = {number for number, _, _ in to_verify}
    rec.to_verify.clear()
    rec.to_verify.extend(to_verify)  # first: a match spares sending a part again
    rec.to_verify.extend(recorded)
    rec.requeue.clear()
    rec.requeue.extend(
        n
        for n in range(1, plan.part_count + 1)
        if n not in kept and n not in rec.in_flight_numbers and n not in checking
    )
    rec.next_fresh = plan.part_count + 1
    rec.needs_listing = False
    rec.signature_retry_used = False
    if rec.uploading:
        m.progress(rec)
    m.save_checkpoint(rec, force=True)
    m.advance(rec)


def on_verified(m: Machine, flight: Flight, event: PartVerified) -> None:
    rec = flight.record
    assert rec is not None
    command = flight.command
    assert isinstance(command, VerifyPart)
    current = verifying(flight, rec, command)
    m.release(flight)
    if not current or rec.removed:
        return
    number = command.part_number
    listed_crc = command.listed_crc64
    same = _norm_etag(event.md5) == _norm_etag(command.etag) and listed_crc in (None, event.crc64)
    if number in rec.done:
        # A part the checkpoint recorded (UP-RESUME-011): done already, unless the file's
        # bytes there changed since it was sent; then it goes again.
        if not same:
            drop_recorded(m, rec, number)
    elif same:
        # The server holds exactly these bytes as this part: adopt it, with the CRC-64 of
        # the bytes (so the object's CRC can be checked at Complete, UP-CRC-*).
        rec.add_done(number, command.etag.strip('"'), event.crc64, command.length)
        rec.bytes_done += command.length
        if rec.uploading:
            m.progress(rec)
        m.save_checkpoint(rec, force=False)
    else:
        rec.requeue.append(number)
    m.advance(rec)


def unverified(rec: FileRecord, command: VerifyPart, *, checked: bool) -> None:
    """A ``VerifyPart`` that failed (``checked``: the bytes could not be read) or never
    happened (abandoned, by a stop say). A part no checkpoint vouched for is sent instead. A
    part the checkpoint recorded is done, and a recorded part is not sent twice: it is
    checked again later, unless reading it failed; then it is dropped and sent again."""
    number = command.part_number
    if number not in rec.done:
        rec.requeue.append(number)
    elif checked:
        rec.drop_done(number)
        rec.requeue.append(number)
    else:
        rec.to_verify.appendleft((number, command.etag, command.listed_crc64))


def drop_recorded(m: Machine, rec: FileRecord, number: int) -> None:
    rec.drop_done(number)
    rec.requeue.append(number)
    m.save_checkpoint(rec, force=False)


def verifying(flight: Flight, rec: FileRecord, command: VerifyPart) -> bool:
    """Whether the file still waits for this VerifyPart (same upload, not superseded)."""
    return (
        rec.verifying.get(command.part_number) == command.command_id
        and flight.attempt == rec.attempt
    )


def _norm_etag(etag: str) -> str:
    # OSS quotes ETags in XML and headers; drivers may or may not strip the quotes.
    return etag.strip('"').upper()


def expect_object(rec: FileRecord) -> bool:
    """Whether the object a Complete of ``rec``'s upload made can be recognised: its CRC-64
    is known from a Complete sent in this process, or (a resume whose ListParts met
    NoSuchUpload) from a loaded checkpoint naming every part, as the one saved before each
    Complete does (UP-RESUME-012). Sets ``rec.expected_crc``."""
    if rec.expected_crc is not None:
        return True
    claimed = rec.claimed
    count = rec.plan.part_count
    if not rec.needs_listing or len(claimed) != count:
        return False
    known = [
        (part.crc64, part.size)
        for part in map(claimed.get, range(1, count + 1))
        if part is not None and part.crc64 is not None
    ]
    if len(known) != count:
        return False
    rec.expected_crc = crc64_combine_all(known)
    return True
