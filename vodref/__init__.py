"""vodref: a test-first reference uploader for Alibaba Cloud ApsaraVideo VOD."""

# The one place the version is written: pyproject.toml reads it (setuptools dynamic
# version) and emulator.__version__ re-exports it.
__version__ = "0.1.0"

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import Vod as Vod
    from .vod_api import AcsVodApi as AcsVodApi
    from .vod_api import VodAuthProvider as VodAuthProvider

__all__ = ["AcsVodApi", "Vod", "VodAuthProvider", "__version__"]

_LAZY = {"Vod": "api", "AcsVodApi": "vod_api", "VodAuthProvider": "vod_api"}


def __getattr__(name: str) -> object:
    # Lazy, so that ``import vodref.core`` (pure, no I/O libraries) stays cheap and does not
    # load oss2 and aliyunsdkcore.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vodref' has no attribute {name!r}")
    return getattr(import_module(f"vodref.{module}"), name)
