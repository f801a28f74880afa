"""Benchmark: the pure core's cost per part, with instant outcomes.

Drives one file of N parts through vodref.core (auth, initiate, N parts, complete) answering
every request at once, and prints microseconds per part at N=1,000 and N=10,000 and their
ratio; then the same with ``checkpoint_interval=0`` (a SaveCheckpoint after every part, as
the CLI runs files of up to 2,000 parts), where a save must not redo the file's parts: what
stays per save is one copy of the parts tuple (about 2 ns a part, its freeing included),
which an immutable ``Checkpoint`` needs. No bytes exist: the CRC-64 values are made up, and
the Complete answer echoes the CRC the core combined, so what is measured is the core alone
(event construction included, as a driver would pay it). Targets (issue #2): < 20 us/part,
ratio <= 1.3; with per-part checkpoints: < ~40 us/part, ratio <= 1.5.

    .venv/bin/python bench/bench_core.py
"""

from __future__ import annotations

import time

from vodref.core import (
    AddFile,
    CheckpointPart,
    CompleteMultipart,
    Credentials,
    InitiateMultipart,
    MultipartCompleted,
    MultipartInitiated,
    ObjectTarget,
    PartUploaded,
    RequestAuth,
    SaveCheckpoint,
    StartUpload,
    UploadAuthProvided,
    Uploader,
    UploaderOptions,
    UploadPart,
)

PART_SIZE = 102_400
CREDENTIALS = Credentials(access_key_id="id", access_key_secret="secret", security_token="tok")
ADDRESS = ObjectTarget(endpoint="oss.example", bucket="bucket", key="video/key.mp4")


def run(parts: int, checkpoint_interval: float = 1.0) -> float:
    """Upload one file of ``parts`` parts; return seconds spent inside the loop."""
    core = Uploader(
        UploaderOptions(part_size=PART_SIZE, parallel=5, checkpoint_interval=checkpoint_interval)
    )
    now = 0.0
    pending = core.handle(
        AddFile(file_id="f", name="big.mp4", size=parts * PART_SIZE, fingerprint="fp"), now=now
    )
    pending += core.handle(StartUpload(), now=now)
    succeeded = False
    saves = 0
    started = time.perf_counter()
    while pending:
        follow_up = []
        for command in pending:
            kind = type(command)
            if kind is UploadPart:
                event: object = PartUploaded(
                    command_id=command.command_id,
                    etag="etag",
                    crc64=command.part_number,
                )
            elif kind is RequestAuth:
                event = UploadAuthProvided(
                    command_id=command.command_id,
                    credentials=CREDENTIALS,
                    address=ADDRESS,
                    video_id="video",
                )
            elif kind is InitiateMultipart:
                event = MultipartInitiated(command_id=command.command_id, upload_id="upload")
            elif kind is CompleteMultipart:
                event = MultipartCompleted(
                    command_id=command.command_id, server_crc64=command.expected_crc64
                )
                succeeded = True
            else:
                saves += kind is SaveCheckpoint
                continue  # effects: checkpoints and notifications
            follow_up.extend(core.handle(event, now=now))  # type: ignore[arg-type]
        pending = follow_up
    elapsed = time.perf_counter() - started
    assert succeeded and core.files()[0].state.value == "Success"
    if checkpoint_interval == 0:
        assert saves > parts, saves  # really one save per part
    return elapsed


def tuple_copy_per_part(parts: int) -> float:
    """Microseconds per part spent only copying (and freeing) a growing tuple of ``parts``
    checkpoint entries once per part: the floor a save after every part cannot go under."""
    entries = [
        CheckpointPart(number=n, etag="etag", crc64=n, size=PART_SIZE) for n in range(1, parts + 1)
    ]
    growing: list[CheckpointPart] = []
    started = time.perf_counter()
    for entry in entries:
        growing.append(entry)
        copy = tuple(growing)
        del copy
    return (time.perf_counter() - started) / parts * 1e6


def best_per_part(parts: int, repeats: int, checkpoint_interval: float = 1.0) -> float:
    return min(run(parts, checkpoint_interval) for _ in range(repeats)) / parts * 1e6


def main() -> None:
    run(200)  # warm up imports and caches
    small = best_per_part(1_000, repeats=7)
    large = best_per_part(10_000, repeats=3)
    print(f"1,000 parts:  {small:6.2f} us/part")
    print(f"10,000 parts: {large:6.2f} us/part")
    print(f"ratio 10k/1k: {large / small:6.2f}")
    run(200, checkpoint_interval=0)
    small = best_per_part(1_000, repeats=7, checkpoint_interval=0)
    large = best_per_part(10_000, repeats=3, checkpoint_interval=0)
    print("checkpoint_interval=0 (a save after every part):")
    print(f"1,000 parts:  {small:6.2f} us/part")
    print(f"10,000 parts: {large:6.2f} us/part")
    print(f"ratio 10k/1k: {large / small:6.2f}")
    small_copy = min(tuple_copy_per_part(1_000) for _ in range(7))
    large_copy = min(tuple_copy_per_part(10_000) for _ in range(3))
    print(f"of which the parts tuple copy alone: {small_copy:.2f} / {large_copy:.2f} us/part")


if __name__ == "__main__":
    main()
