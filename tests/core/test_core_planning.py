"""Single PUT below 100 KiB, multipart at or above, and part-size growth."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vodref.core import (
    MAX_FILE_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    SINGLE_PUT_THRESHOLD,
    plan_parts,
)


def test_threshold_is_100_kib_not_the_part_size() -> None:
    """UP-PART-001 UP-PART-002"""
    assert SINGLE_PUT_THRESHOLD == 102_400
    assert not plan_parts(102_399, 1_048_576).multipart
    one_part = plan_parts(102_400, 1_048_576)
    assert one_part.multipart and one_part.part_count == 1
    assert plan_parts(500_000, 1_048_576).part_count == 1


def test_no_cliff_at_ten_thousand_parts() -> None:
    """UP-PART-003 UP-DEV-018: the JS SDK breaks just above 9.77 GiB with 1 MiB parts"""
    size = 10_000 * 1_048_576 + 1
    plan = plan_parts(size, 1_048_576)
    assert plan.part_count <= MAX_PARTS
    assert plan.part_size % 4096 == 0
    assert plan_parts(MAX_FILE_SIZE, MIN_PART_SIZE).part_size == MAX_PART_SIZE


@given(
    size=st.integers(min_value=SINGLE_PUT_THRESHOLD, max_value=MAX_FILE_SIZE),
    requested=st.integers(min_value=MIN_PART_SIZE, max_value=MAX_PART_SIZE),
)
def test_any_size_fits_in_ten_thousand_parts_that_cover_it_exactly(
    size: int, requested: int
) -> None:
    """UP-PART-003 UP-PART-004"""
    plan = plan_parts(size, requested)
    assert 1 <= plan.part_count <= MAX_PARTS
    assert MIN_PART_SIZE <= plan.part_size <= MAX_PART_SIZE
    assert plan.part_size >= requested
    if -(-size // requested) <= MAX_PARTS:
        assert plan.part_size == requested
    first_offset, first_length = plan.part_range(1)
    last_offset, last_length = plan.part_range(plan.part_count)
    assert first_offset == 0 and first_length == min(plan.part_size, size)
    assert last_offset + last_length == size
    assert 1 <= last_length <= plan.part_size
    assert last_offset == (plan.part_count - 1) * plan.part_size


@given(size=st.integers(min_value=SINGLE_PUT_THRESHOLD, max_value=3_000_000))
def test_parts_tile_the_file(size: int) -> None:
    """UP-PART-004"""
    plan = plan_parts(size, MIN_PART_SIZE)
    covered = 0
    for number in range(1, plan.part_count + 1):
        offset, length = plan.part_range(number)
        assert offset == covered
        covered += length
    assert covered == size
