"""The JS-parity API: :class:`Vod` (``new AliyunUpload.Vod({...})``), its credential calls,
callbacks and the translation of JS options."""

from .credentials import CredentialCalls, FileRef
from .vod import Vod

__all__ = ["CredentialCalls", "FileRef", "Vod"]
