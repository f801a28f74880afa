"""The JS callbacks of ``Vod`` and their dispatch: one user callback per core notification,
run on the driver's callback thread; an exception in user code is logged and swallowed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..core import (
    FileView,
    Notify,
    NotifyCanceled,
    NotifyEnded,
    NotifyFailed,
    NotifyProgress,
    NotifyStarted,
    NotifySucceeded,
    NotifyTokenExpired,
    UnknownFileError,
)

__all__ = ["CallbackDispatcher", "Callbacks"]

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


class CallbackDispatcher:
    """Runs on the driver's callback thread: one JS callback per core notification.

    ``view_of`` gives a fresh snapshot of a file (progress notifications carry only its id);
    ``lock`` is the driver's lock, held only while that snapshot is taken."""

    def __init__(
        self,
        callbacks: Callbacks,
        view_of: Callable[[str], FileView],
        lock: threading.RLock,
        *,
        on_auth_callback_error: Callable[[str, Exception], None] | None = None,
    ) -> None:
        self.callbacks = callbacks
        self._view_of = view_of
        self._lock = lock
        # Told when on_upload_started / on_upload_token_expired raise (UP-HANG-003).
        self._on_auth_callback_error = on_auth_callback_error

    def call_user(self, function: Callable[..., object] | None, *args: object) -> Exception | None:
        """Run a user callback; what it raises is logged and returned, never propagated."""
        if function is None:
            return None
        try:
            function(*args)
        except Exception as error:
            log.exception(
                "user callback %s raised; ignored", getattr(function, "__name__", function)
            )
            return error
        return None

    def _call_for_credentials(self, function: Callable[..., object] | None, file: FileView) -> None:
        error = self.call_user(function, file)
        if error is not None and self._on_auth_callback_error is not None:
            self._on_auth_callback_error(file.file_id, error)

    def wants(self, notification: Notify) -> bool:
        """Whether :meth:`__call__` would run a user callback for ``notification``: the driver
        queues nothing for the callback thread otherwise (issue 12: a hand-off per part)."""
        callbacks = self.callbacks
        if isinstance(notification, NotifyProgress):
            wanted: object = callbacks.on_upload_progress or callbacks.on_upload_bytes
        elif isinstance(notification, NotifyStarted):
            wanted = callbacks.on_upload_started
        elif isinstance(notification, NotifySucceeded):
            wanted = callbacks.on_upload_succeed
        elif isinstance(notification, NotifyFailed):
            wanted = callbacks.on_upload_failed
        elif isinstance(notification, NotifyTokenExpired):
            wanted = callbacks.on_upload_token_expired
        elif isinstance(notification, NotifyCanceled):
            wanted = callbacks.on_upload_canceled
        elif isinstance(notification, NotifyEnded):
            wanted = callbacks.on_upload_end
        else:
            return True  # a kind this dispatcher does not know: let __call__ decide
        return wanted is not None

    def __call__(self, notification: Notify) -> None:
        """Runs on the callback thread: one JS callback per notification."""
        callbacks = self.callbacks
        if isinstance(notification, NotifyStarted):
            self._call_for_credentials(callbacks.on_upload_started, notification.file)
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
            self._call_for_credentials(callbacks.on_upload_token_expired, notification.file)
        elif isinstance(notification, NotifyCanceled):
            self.call_user(callbacks.on_upload_canceled, notification.file, notification.reason)
        elif isinstance(notification, NotifyEnded):
            self.call_user(callbacks.on_upload_end)
