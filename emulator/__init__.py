"""A local OSS + VOD + STS emulator that the official Alibaba Cloud SDKs talk to unmodified."""

from typing import TYPE_CHECKING

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_REGION

# The emulator ships in the vodref distribution: one version, written once in vodref.
# (vodref/__init__.py imports nothing heavy: its public names load lazily.)
from vodref import __version__ as __version__

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "DEFAULT_REGION",
    "MockVod",
    "__version__",
    "mock_vod",
]

if TYPE_CHECKING:
    from emulator.inprocess import MockVod as MockVod
    from emulator.inprocess import mock_vod as mock_vod
    from emulator.serving import serve as serve


def __getattr__(name: str) -> object:
    # Lazy, so that importing ``emulator`` (the pytest plugin does, in every test run)
    # does not load the services, SQLite and requests until in-process mode is used.
    if name in ("mock_vod", "MockVod"):
        from emulator import inprocess  # noqa: PLC0415 - lazy on purpose

        return getattr(inprocess, name)
    if name == "serve":
        from emulator.serving import serve  # noqa: PLC0415 - lazy on purpose

        return serve
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")
