"""A local OSS + VOD + STS emulator that the official Alibaba Cloud SDKs talk to unmodified."""

__version__ = "0.1.0"

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.inprocess import MockVod as MockVod
    from emulator.inprocess import mock_vod as mock_vod


def __getattr__(name: str) -> object:
    # Lazy, so that importing ``emulator`` (the pytest plugin does, in every test run)
    # does not load the services, SQLite and requests until in-process mode is used.
    if name in ("mock_vod", "MockVod"):
        from emulator import inprocess  # noqa: PLC0415 - lazy on purpose

        return getattr(inprocess, name)
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")
