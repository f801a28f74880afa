"""CRC-64/XZ combination, in pure Python: OSS's ``x-oss-hash-crc64ecma``.

The driver computes the CRC-64 of the bytes it sends (fastcrc, outside the core); the core only
*combines* part CRCs into the object CRC, to compare with what the service reports at
Complete. CRC-64/XZ is ECMA-182, reflected, init and xorout all ones; check value
``crc(b"123456789") == 0x995DC9BBDF1939FA``.

Because init equals xorout, ``crc(A + B) == crc(A) * x^(8*len(B)) mod P  xor  crc(B)``, where the
multiplication is in GF(2)[x] modulo the polynomial, in the reflected bit order. Computing
``x^(8n) mod P`` by square-and-multiply costs O(log n) products (zlib's ``crc32_combine`` method).
A product costs up to 64 shift-xor steps in Python (~10 us), so :class:`Combiner` precomputes,
for one length, eight 256-entry tables of the linear map ``c -> c * x^(8n)``: combining a part
then costs eight lookups, which keeps a 10,000-part Complete cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

__all__ = ["POLY_REFLECTED", "Combiner", "crc64_combine", "crc64_combine_all", "crc64_xz"]

#: ECMA-182 polynomial 0x42F0E1EBA9EA3693, bit-reversed.
POLY_REFLECTED = 0xC96C5795D7870F42
_TOP = 1 << 63  # x^0 in the reflected representation
_MASK = (1 << 64) - 1


def _multiply(a: int, b: int) -> int:
    """a * b mod P, both in the reflected representation (bit 63 is x^0)."""
    product = 0
    bit = _TOP
    while True:
        if a & bit:
            product ^= b
            if not a & (bit - 1):
                return product
        bit >>= 1
        b = (b >> 1) ^ POLY_REFLECTED if b & 1 else b >> 1


def _powers_of_two() -> tuple[int, ...]:
    # table[k] = x^(2^k) mod P; 67 entries cover byte counts below 2^64.
    powers = [_TOP >> 1]  # x^1
    for _ in range(66):
        powers.append(_multiply(powers[-1], powers[-1]))
    return tuple(powers)


_X_TO_2_TO_K = _powers_of_two()


def _x_to_8n(length: int) -> int:
    """x^(8 * length) mod P by square-and-multiply over the bits of length."""
    result = _TOP  # x^0
    k = 3  # 8 = 2^3
    while length:
        if length & 1:
            result = _multiply(_X_TO_2_TO_K[k], result)
        length >>= 1
        k += 1
    return result


def crc64_combine(crc1: int, crc2: int, length2: int) -> int:
    """CRC-64/XZ of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)``. O(log len(B))."""
    if length2 < 0:
        raise ValueError("length2 must be >= 0")
    return _multiply(_x_to_8n(length2), crc1) ^ crc2


class Combiner:
    """Combining for one fixed ``length``, precomputed as eight byte tables."""

    __slots__ = ("_tables", "length")

    def __init__(self, length: int) -> None:
        if length < 0:
            raise ValueError("length must be >= 0")
        self.length = length
        operator = _x_to_8n(length)
        tables = []
        for byte_index in range(8):
            table = [0] * 256
            for bit in range(8):
                table[1 << bit] = _multiply(operator, 1 << (8 * byte_index + bit))
            # Linear in the input: fill every byte value from its lowest set bit.
            for value in range(3, 256):
                low = value & -value
                if value != low:
                    table[value] = table[low] ^ table[value ^ low]
            tables.append(tuple(table))
        self._tables = tuple(tables)

    def shift(self, crc1: int) -> int:
        """``crc1 * x^(8*length) mod P``: the part of the combination that depends on A."""
        t = self._tables
        return (
            t[0][crc1 & 0xFF]
            ^ t[1][(crc1 >> 8) & 0xFF]
            ^ t[2][(crc1 >> 16) & 0xFF]
            ^ t[3][(crc1 >> 24) & 0xFF]
            ^ t[4][(crc1 >> 32) & 0xFF]
            ^ t[5][(crc1 >> 40) & 0xFF]
            ^ t[6][(crc1 >> 48) & 0xFF]
            ^ t[7][(crc1 >> 56) & 0xFF]
        )

    def combine(self, crc1: int, crc2: int) -> int:
        """CRC of ``A + B`` where ``len(B) == self.length``."""
        return self.shift(crc1) ^ crc2


@lru_cache(maxsize=32)
def _combiner(length: int) -> Combiner:
    """One :class:`Combiner` per length, kept across files: building one costs ~1 ms of
    pure Python, once per file before (issue 12: 16 % of the GIL time on small files). A
    Combiner is immutable and its value depends on ``length`` only, so sharing it is pure."""
    return Combiner(length)


def crc64_combine_all(pieces: Iterable[tuple[int, int]]) -> int:
    """CRC-64/XZ of the concatenation of pieces given as (crc, length), in order.

    Lengths that repeat (every part but the last, and the part size of every file) share
    one :class:`Combiner`."""
    total = 0  # the CRC of the empty string
    for crc, length in pieces:
        if total == 0:
            # The shift is linear, so shift(0) == 0 and the combination is ``crc``: the
            # first piece (the only one of a one-part file) needs no Combiner (~1 ms).
            total = crc
            continue
        total = _combiner(length).combine(total, crc)
    return total


def crc64_xz(data: bytes, crc: int = 0) -> int:
    """Bitwise reference CRC-64/XZ, continuing from ``crc``. Slow (pure Python); the core
    never calls it. It exists so the combine can be checked without a C extension."""
    register = crc ^ _MASK
    for byte in data:
        register ^= byte
        for _ in range(8):
            register = (register >> 1) ^ POLY_REFLECTED if register & 1 else register >> 1
    return register ^ _MASK
