"""Pieces of the ``Vod`` API kept apart from the class: callbacks and their dispatch, option
translation (JS retry options, paramData, unknown keywords), the file fingerprint."""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .core.commands import (
    Notify,
    NotifyCanceled,
    NotifyEnded,
    NotifyFailed,
    NotifyProgress,
    NotifyStarted,
    NotifySucceeded,
    NotifyTokenExpired,
)
from .core.errors import InvalidOptionError, UnknownFileError
from .core.options import RetryPolicy
from .core.views import FileView
from .sources import FileSource

__all__ = ["CallbackDispatcher", "Callbacks", "fingerprint_for"]

log = logging.getLogger("vodref")


@dataclass(frozen=True, slots=True, kw_only=True)
class Callbacks:
    add_file_success: Callable[[FileView], object] | None
    on_upload_started: Callable[[FileView], object] | None
    on_upload_succeed: Callable[[FileView], object] | None
    on_upload_failed: Callable[[FileView, str, str], object] | None
    on_upload_progress: Callable[[FileView, int, float], object] | None
    on_upload_bytes: Callable[[FileView, int, int], object] | None
    on_upload_token_expired: Callable[[FileView], object] | None
    on_upload_canceled: Callable[[FileView, str], object] | None
    on_upload_end: Callable[[], object] | None


def fingerprint_for(source: FileSource, user_id: str | None) -> str:
    """The core's file fingerprint (also the checkpoint key): the user, where the file is,
    its size and a SHA-256 over sampled blocks of its content."""
    digest = hashlib.sha256()
    for part in (user_id or "", source.identity, str(source.size), source.fingerprint()):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return "v1:" + digest.hexdigest()


class CallbackDispatcher:
    """Runs on the driver's callback thread: one JS callback per core notification.

    ``view_of`` gives a fresh snapshot of a file (progress notifications carry only its id);
    ``lock`` is the driver's lock, held only while that snapshot is taken."""

    def __init__(
        self,
        callbacks: Callbacks,
        view_of: Callable[[str], FileView],
        lock: threading.RLock,
    ) -> None:
        self.callbacks = callbacks
        self._view_of = view_of
        self._lock = lock

    def call_user(self, function: Callable[..., object] | None, *args: object) -> None:
        if function is None:
            return
        try:
            function(*args)
        except Exception:
            log.exception(
                "user callback %s raised; ignored", getattr(function, "__name__", function)
            )

    def __call__(self, notification: Notify) -> None:
        """Runs on the callback thread: one JS callback per notification."""
        callbacks = self.callbacks
        if isinstance(notification, NotifyStarted):
            self.call_user(callbacks.on_upload_started, notification.file)
        elif isinstance(notification, NotifyProgress):
            if callbacks.on_upload_progress is None and callbacks.on_upload_bytes is None:
                return  # no snapshot to take (it needs the driver's lock)
            with self._lock:
                try:
                    view = self._view_of(notification.file_id)
                except UnknownFileError:
                    return
            self.call_user(
                callbacks.on_upload_progress, view, notification.total_bytes, notification.ratio
            )
            self.call_user(
                callbacks.on_upload_bytes, view, notification.bytes_done, notification.total_bytes
            )
        elif isinstance(notification, NotifySucceeded):
            self.call_user(callbacks.on_upload_succeed, notification.file)
        elif isinstance(notification, NotifyFailed):
            self.call_user(
                callbacks.on_upload_failed,
                notification.file,
                notification.error.code,
                notification.error.message,
            )
        elif isinstance(notification, NotifyTokenExpired):
            self.call_user(callbacks.on_upload_token_expired, notification.file)
        elif isinstance(notification, NotifyCanceled):
            self.call_user(callbacks.on_upload_canceled, notification.file, notification.reason)
        elif isinstance(notification, NotifyEnded):
            self.call_user(callbacks.on_upload_end)


def retry_from_js(retry_count: int, retry_duration: float) -> RetryPolicy:
    """JS retryCount/retryDuration as a policy: the same count and first delay, but
    exponential backoff with jitter (DEV: JS uses a fixed delay and only retries timeouts)."""
    return RetryPolicy(
        max_retries=retry_count,
        initial_delay=retry_duration,
        max_delay=max(60.0, retry_duration),
    )


def parse_param_data(param_data: str | dict[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    """The JS paramData (``'{"Vod": {"Title": ...}}'``) as text and its ``Vod`` dict."""
    if param_data is None:
        return None, {}
    if isinstance(param_data, dict):
        value: object = param_data
        text = json.dumps(param_data, ensure_ascii=False)
    elif isinstance(param_data, str):
        try:
            value = json.loads(param_data)
        except ValueError:
            raise InvalidOptionError("param_data must be a JSON object string") from None
        text = param_data
    else:
        raise InvalidOptionError(
            f"param_data must be a str or dict, got {type(param_data).__name__}"
        )
    if not isinstance(value, dict):
        raise InvalidOptionError("param_data must be a JSON object")
    vod = value.get("Vod", {})
    if not isinstance(vod, dict):
        raise InvalidOptionError('param_data "Vod" must be a JSON object')
    return text, dict(vod)


_JS_NAMES = {
    "userId": "user_id",
    "partSize": "part_size",
    "retryCount": "retry_count",
    "retryDuration": "retry_duration",
    "localCheckpoint": "local_checkpoint",
    "enableUploadProgress": "enable_upload_progress",
    "addFileSuccess": "add_file_success",
    "onUploadstarted": "on_upload_started",
    "onUploadStarted": "on_upload_started",
    "onUploadSucceed": "on_upload_succeed",
    "onUploadFailed": "on_upload_failed",
    "onUploadProgress": "on_upload_progress",
    "onUploadTokenExpired": "on_upload_token_expired",
    "onUploadCanceled": "on_upload_canceled",
    "onUploadEnd": "on_upload_end",
}


def unknown_option_message(unknown: Iterable[str], known: list[str]) -> str:
    hints = []
    for name in unknown:
        guess = _JS_NAMES.get(name) or next(iter(difflib.get_close_matches(name, known, n=1)), None)
        hints.append(f"{name!r}" + (f" (did you mean {guess!r}?)" if guess else ""))
    return "unknown option " + ", ".join(hints)
