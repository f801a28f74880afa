"""The checksums OSS reports, computed independently of the emulator for tests to compare.

fastcrc's CRC-64/XZ is the ``x-oss-hash-crc64ecma`` of OSS (the same polynomial, initial
value and final XOR as oss2's ``Crc64``), so a test can check the emulator's value without
reusing the emulator's own code.
"""

from __future__ import annotations

import fastcrc


def crc64(data: bytes) -> int:
    """CRC-64/XZ, OSS's ``x-oss-hash-crc64ecma``."""
    return int(fastcrc.crc64.xz(data))
