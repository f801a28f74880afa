"""Small validation helpers shared by the value, event and command constructors.

They raise the error class they are given, so the same check serves options
(``InvalidOptionError``), events (``InvalidEventError``) and checkpoints (``CheckpointError``).
They are deliberately plain functions with ``isinstance`` checks: they run on the per-part hot
path, so they must stay cheap.
"""

from __future__ import annotations

import math

from .errors import VodrefError

_UINT64_MAX = (1 << 64) - 1


def check_int(
    value: object,
    name: str,
    error: type[VodrefError],
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    # bool is an int subclass; True as a part number is a bug, not a 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise error(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise error(f"{name} must be <= {maximum}, got {value!r}")
    return value


def check_float(
    value: object,
    name: str,
    error: type[VodrefError],
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_min: bool = True,
) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise error(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise error(f"{name} must be finite, got {value!r}")
    if minimum is not None and (number < minimum or (not allow_min and number == minimum)):
        bound = ">=" if allow_min else ">"
        raise error(f"{name} must be {bound} {minimum}, got {value!r}")
    if maximum is not None and number > maximum:
        raise error(f"{name} must be <= {maximum}, got {value!r}")
    return number


def check_str(value: object, name: str, error: type[VodrefError], *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise error(f"{name} must be a str, got {value!r}")
    if not empty_ok and not value:
        raise error(f"{name} must not be empty")
    return value


def check_optional_str(value: object, name: str, error: type[VodrefError]) -> str | None:
    if value is None:
        return None
    return check_str(value, name, error)


def check_crc64(value: object, name: str, error: type[VodrefError]) -> int:
    return check_int(value, name, error, minimum=0, maximum=_UINT64_MAX)


def check_optional_crc64(value: object, name: str, error: type[VodrefError]) -> int | None:
    if value is None:
        return None
    return check_crc64(value, name, error)


def check_instance(value: object, cls: type, name: str, error: type[VodrefError]) -> None:
    if not isinstance(value, cls):
        raise error(f"{name} must be a {cls.__name__}, got {value!r}")
