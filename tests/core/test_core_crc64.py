"""CRC-64/XZ combine: a pure function checked against anycrc's C implementation."""

from __future__ import annotations

import anycrc
import pytest
from fastcrc import crc64
from hypothesis import given
from hypothesis import strategies as st

from vodref.core import Combiner, crc64_combine, crc64_combine_all, crc64_xz

MODEL = anycrc.Model("CRC64-XZ")


def test_check_value() -> None:
    """UP-CRC-003"""
    assert crc64_xz(b"123456789") == 0x995DC9BBDF1939FA
    assert crc64.xz(b"123456789") == 0x995DC9BBDF1939FA


@given(a=st.binary(max_size=300), b=st.binary(max_size=300))
def test_combine_equals_crc_of_concatenation(a: bytes, b: bytes) -> None:
    """UP-CRC-002 UP-CRC-003"""
    expected = crc64.xz(a + b)
    assert crc64_combine(crc64.xz(a), crc64.xz(b), len(b)) == expected
    assert Combiner(len(b)).combine(crc64.xz(a), crc64.xz(b)) == expected
    assert crc64_xz(b, crc64_xz(a)) == expected


@given(
    crc1=st.integers(min_value=0, max_value=2**64 - 1),
    crc2=st.integers(min_value=0, max_value=2**64 - 1),
    length=st.integers(min_value=0, max_value=2**63),
)
def test_combine_matches_anycrc_for_huge_lengths(crc1: int, crc2: int, length: int) -> None:
    """UP-CRC-003: lengths far beyond what can be materialised"""
    assert crc64_combine(crc1, crc2, length) == MODEL.combine(crc1, crc2, length)


@given(pieces=st.lists(st.binary(max_size=200), max_size=12))
def test_combine_all_folds_in_order(pieces: list[bytes]) -> None:
    """UP-CRC-002"""
    combined = crc64_combine_all((crc64.xz(piece), len(piece)) for piece in pieces)
    assert combined == crc64.xz(b"".join(pieces))


def test_negative_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        crc64_combine(1, 2, -1)
    with pytest.raises(ValueError):
        Combiner(-1)
