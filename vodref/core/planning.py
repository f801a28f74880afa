"""Part planning: single PutObject or multipart, and the part size a file really uses.

The rules (UP-PART-001..005 in specs/uploader.md):

- A file smaller than 102,400 bytes (100 KiB) goes up in one PutObject; a file of 102,400 bytes
  or more uses multipart, even when it is smaller than the part size (one part). This is the
  JS SDK's threshold, which does not depend on ``partSize``. The ``multipart_threshold``
  option (beyond JS, UP-PART-007) moves it: many small files then cost a PutObject each
  instead of Initiate + UploadPart + Complete.
- The part size is the requested one unless the file would need more than 10,000 parts. Then
  it grows to ``ceil(size / 10000)`` rounded up to a multiple of 4 KiB (whole pages for the
  driver's reads), so any size up to the OSS limit works; the JS SDK breaks at ~9.77 GiB.
"""

from __future__ import annotations

from dataclasses import dataclass

SINGLE_PUT_THRESHOLD = 102_400
MIN_PART_SIZE = 102_400
MAX_PART_SIZE = 5 * 1024**3
# A file below the multipart threshold is read into memory whole and retried whole, so the
# threshold is capped where that stays a bounded cost per file at once (64 MiB).
MAX_MULTIPART_THRESHOLD = 64 * 1024**2
MAX_PARTS = 10_000
MAX_FILE_SIZE = MAX_PARTS * MAX_PART_SIZE
_PART_ALIGNMENT = 4096

__all__ = [
    "MAX_FILE_SIZE",
    "MAX_MULTIPART_THRESHOLD",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "SINGLE_PUT_THRESHOLD",
    "PartPlan",
    "plan_parts",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartPlan:
    """How one file is cut. ``part_count == 0`` means a single PutObject."""

    size: int
    part_size: int
    part_count: int

    @property
    def multipart(self) -> bool:
        return self.part_count > 0

    def part_range(self, number: int) -> tuple[int, int]:
        """(offset, length) of 1-based part ``number``."""
        offset = (number - 1) * self.part_size
        return offset, min(self.part_size, self.size - offset)


def plan_parts(
    size: int, requested_part_size: int, threshold: int = SINGLE_PUT_THRESHOLD
) -> PartPlan:
    """Plan a file of ``size`` bytes: one PutObject below ``threshold`` bytes, multipart
    from it on. The caller validated the numbers."""
    if size < threshold:
        return PartPlan(size=size, part_size=requested_part_size, part_count=0)
    part_size = requested_part_size
    if -(-size // part_size) > MAX_PARTS:
        needed = -(-size // MAX_PARTS)
        part_size = -(-needed // _PART_ALIGNMENT) * _PART_ALIGNMENT
    return PartPlan(size=size, part_size=part_size, part_count=-(-size // part_size))
