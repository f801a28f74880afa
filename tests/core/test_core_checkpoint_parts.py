"""Per-part checkpoints of a many-part file hold exactly what the straightforward construction
gives (UP-CKPT-004, UP-CORE-006).

The core keeps each file's checkpoint entries built once and sorted as parts are acknowledged,
so that a save after every part does not redo the whole file. These tests drive many-part
files with ``checkpoint_interval=0`` (acknowledgements out of order, a stop, a lost upload, a
resume whose listing drops some parts) and compare every save against a reference built here
the simple way: sort the acknowledged parts and build a validated ``Checkpoint`` from them.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from support.core import ScriptedDriver, make_data

from vodref.core import (
    Checkpoint,
    CheckpointPart,
    ListParts,
    PartsListed,
    PartUploaded,
    StartUpload,
    StopUpload,
    UploaderOptions,
    UploadPart,
)

PART = 102_400
DonePart = tuple[str, int, int]  # etag, crc64, size


class Reference:
    """What the checkpoint of file ``f`` should hold, kept from the outcomes the test sends."""

    def __init__(self, driver: ScriptedDriver) -> None:
        self.driver = driver
        self.acked: dict[str, dict[int, DonePart]] = {}  # upload id -> acknowledged parts
        self.claimed: dict[int, DonePart] | None = None  # set while a listing is due
        self.saves_seen = len(driver.checkpoints)

    def expected(self) -> Checkpoint | None:
        view = self.driver.core.file("f")
        if view.video_id is None and view.upload_id is None:
            return None  # nothing to resume yet
        source: dict[int, DonePart] = {}
        if view.upload_id is not None:
            source = (
                self.claimed if self.claimed is not None else self.acked.get(view.upload_id, {})
            )
        return Checkpoint(
            file_name=view.name,
            file_size=view.size,
            fingerprint=view.fingerprint,
            media_kind=view.media_kind,
            video_id=view.video_id,
            target=view.target,
            upload_id=view.upload_id,
            part_size=view.part_size,
            parts=tuple(
                CheckpointPart(number=number, etag=etag, crc64=crc, size=size)
                for number, (etag, crc, size) in sorted(source.items())
            ),
        )

    def step(self, rng: random.Random) -> None:
        """Answer one pending request, chosen at random, with what the model says."""
        driver = self.driver
        command = rng.choice(driver.pending)
        current_upload = driver.core.file("f").upload_id
        outcome = driver.success_of(command)
        driver.pending.remove(command)
        if (
            isinstance(command, UploadPart)
            and isinstance(outcome, PartUploaded)
            and command.upload_id == current_upload
        ):
            self.acked.setdefault(command.upload_id, {})[command.part_number] = (
                outcome.etag,
                outcome.crc64,
                command.length,
            )
        if isinstance(command, ListParts) and isinstance(outcome, PartsListed):
            assert self.claimed is not None
            listed = {p.number: p.etag.strip('"').upper() for p in outcome.parts}
            self.acked[command.upload_id] = {
                n: part for n, part in self.claimed.items() if listed.get(n) == part[0].upper()
            }
            self.claimed = None
        driver.send(outcome)
        self.check()

    def check(self) -> None:
        driver = self.driver
        new = driver.checkpoints[self.saves_seen :]
        self.saves_seen = len(driver.checkpoints)
        for saved in new:
            checkpoint = saved.checkpoint
            # The core builds checkpoints without re-validating every part; each must still
            # pass the full validation a user-supplied one gets.
            assert dataclasses.replace(checkpoint) == checkpoint
            assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint
        expected = self.expected()
        if new:
            assert new[-1].checkpoint == expected
        assert driver.core.checkpoint("f") == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_save_of_a_many_part_file_matches_the_simple_construction(seed: int) -> None:
    rng = random.Random(seed)
    parts = 150
    driver = ScriptedDriver(UploaderOptions(part_size=PART, parallel=6, checkpoint_interval=0))
    driver.add("f", make_data(parts * PART, seed))
    ref = Reference(driver)
    driver.send(StartUpload())
    ref.check()
    steps = 0
    stopped = restarted = False
    while driver.pending:
        ref.step(rng)
        steps += 1
        view = driver.core.file("f")
        if not stopped and view.parts_done >= 40:
            # stop with parts in flight: they still land in the checkpoint when answered
            stopped = True
            driver.send(StopUpload())
            ref.check()
            while driver.pending:
                ref.step(rng)
            driver.send(StartUpload())
            ref.check()
        elif stopped and not restarted and view.parts_done >= 90 and view.upload_id:
            # the multipart upload vanishes: NoSuchUpload restarts it from part 1
            restarted = True
            del driver.model.uploads[view.upload_id]
    assert stopped and restarted
    assert driver.state("f") == "Success"
    assert len(driver.checkpoints) > parts  # really a save after every part
    assert steps > parts


@pytest.mark.parametrize("seed", [0, 1])
def test_a_resumed_file_saves_claimed_then_listed_parts_like_the_simple_construction(
    seed: int,
) -> None:
    rng = random.Random(seed)
    parts = 120
    data = make_data(parts * PART, seed)
    first = ScriptedDriver(UploaderOptions(part_size=PART, parallel=5, checkpoint_interval=0))
    first.add("f", data)
    ref = Reference(first)
    first.send(StartUpload())
    while first.core.file("f").parts_done < 70:
        ref.step(rng)
    first.send(StopUpload())
    ref.check()
    while first.pending:
        ref.step(rng)
    saved = first.checkpoints[-1].checkpoint
    assert len(saved.parts) >= 70
    assert [p.number for p in saved.parts] == sorted(p.number for p in saved.parts)
    # The server lost some parts and holds another body under one number.
    upload = first.model.uploads[saved.upload_id or ""]
    numbers = [p.number for p in saved.parts]
    for number in rng.sample(numbers, 10):
        del upload.parts[number]
    changed = next(n for n in numbers if n in upload.parts)
    upload.parts[changed] = (upload.parts[changed][0], "0" * 32)

    second = ScriptedDriver(
        UploaderOptions(part_size=PART, parallel=5, checkpoint_interval=0), model=first.model
    )
    # A checkpoint's parts need not be sorted: the core sorts what it claims.
    shuffled = list(saved.parts)
    rng.shuffle(shuffled)
    second.add("f", data, checkpoint=dataclasses.replace(saved, parts=tuple(shuffled)))
    ref = Reference(second)
    ref.claimed = {p.number: (p.etag, p.crc64, p.size) for p in saved.parts}
    ref.check()
    assert second.core.checkpoint("f") == saved
    second.send(StartUpload())
    ref.check()
    while second.pending:
        ref.step(rng)
    assert second.state("f") == "Success"
    assert second.model.objects[second.core.file("f").target.key] == data  # type: ignore[union-attr]
