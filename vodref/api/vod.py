"""``Vod``: the Python equivalent of ``new AliyunUpload.Vod({...})`` (JS SDK 1.5.x).

Every JS option, method and callback has a snake_case twin (specs/api-mapping.md has the
table). What differs on purpose:

- Bad input raises a typed error from :mod:`vodref.errors` and changes nothing (no ``||``
  defaults, no ``false`` return values to forget to check). ``options=`` takes a whole,
  already validated :class:`~vodref.core.UploaderOptions` instead of the option keywords.
- ``auth_provider`` removes the need for callbacks: the uploader asks it for credentials
  (first start, expiry, proactive refresh); :class:`~vodref.vod_api.VodAuthProvider` calls
  CreateUploadVideo / RefreshUploadVideo / CreateUploadImage itself and reuses the VideoId
  from a checkpoint, so a resumed upload never creates a duplicate video.
- ``wait()`` blocks until the queue is done; ``pause_file()`` stops one file;
  ``max_concurrent_files`` uploads several files at once (default 1, as JS);
  ``multipart_threshold`` moves the JS rule "100 KiB or more goes multipart" (default
  102,400); credentials are refreshed
  ``refresh_margin`` seconds before they expire when a provider is set.
- Callbacks run on one dedicated thread, in order; an exception in one is logged and the
  upload carries on.
- Durability (issue 14, specs/uploader-driver.md UPL-DUR): a file in the list holds an upload
  lock (another uploader adding it gets ``FileBusyError``); with ``finished_scope`` every
  success is remembered and ``find_finished()`` reports it; a failing checkpoint store is
  reported by ``store_failures``, never raised from ``wait()`` or ``close()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from collections.abc import Callable
from typing import Any, BinaryIO

from ..clock import Clock, SystemClock
from ..core import (
    SINGLE_PUT_THRESHOLD,
    CancelFile,
    CleanList,
    CommandFailed,
    DeleteFile,
    ErrorKind,
    FileView,
    PauseFile,
    ResumeFile,
    RetryPolicy,
    ServiceError,
    StartUpload,
    StopUpload,
    StsToken,
    UnknownFileError,
    Uploader,
    UploaderOptions,
    UploaderState,
    UsageError,
)
from ..driver import Driver
from ..errors import (
    NoCredentialSourceError,
    UnknownOptionError,
    UploaderClosedError,
    UploadWaitTimeout,
)
from ..finished import FinishedUpload
from ..performer import FileContext, Performer, VodApiFactory
from ..resume import ResumeFinder
from ..sources import FileSource, open_source
from ..stores import CheckpointStore, FileCheckpointStore
from ..transport import ObjectTransport, OssHttpTransport
from ..vod_api import AcsVodApi, AuthProvider
from .callbacks import CallbackDispatcher, Callbacks
from .credentials import CredentialCalls, FileRef
from .guards import FileGuards
from .intake import FileIntake
from .js_options import (
    known_options,
    refuse_options_twice,
    retry_from_js,
    unknown_option_message,
    user_id_text,
)

__all__ = ["Vod"]

log = logging.getLogger("vodref")

# Seconds close() waits, once every upload is stopped, for the requests still running and
# the aborts still on their way (UPL-API-017, UP-CANCEL-007).
CLOSE_GRACE = 10.0


class Vod:
    """The uploader. Keyword-only options; an unknown keyword raises
    :class:`~vodref.errors.UnknownOptionError` (with a suggestion for JS camelCase names)."""

    def __init__(
        self,
        *,
        user_id: str | int | None = None,
        region: str = "cn-shanghai",
        part_size: int = 1_048_576,
        parallel: int = 5,
        retry_count: int = 3,
        retry_duration: float = 2.0,
        timeout: float | None = 60.0,
        local_checkpoint: bool = False,
        enable_upload_progress: bool = False,
        cname: bool = False,
        add_file_success: Callable[[FileView], object] | None = None,
        on_upload_started: Callable[[FileView], object] | None = None,
        on_upload_succeed: Callable[[FileView], object] | None = None,
        on_upload_failed: Callable[[FileView, str, str], object] | None = None,
        on_upload_progress: Callable[[FileView, int, float], object] | None = None,
        on_upload_token_expired: Callable[[FileView], object] | None = None,
        on_upload_canceled: Callable[[FileView, str], object] | None = None,
        on_upload_end: Callable[[], object] | None = None,
        # ---- beyond the JS SDK
        on_upload_bytes: Callable[[FileView, int, int], object] | None = None,
        auth_provider: AuthProvider | None = None,
        max_concurrent_files: int = 1,
        multipart_threshold: int = SINGLE_PUT_THRESHOLD,
        refresh_margin: float | None = 300.0,
        credentials_timeout: float | None = 300.0,
        outage_limit: float | None = 300.0,
        retry_policy: RetryPolicy | None = None,
        checkpoint_interval: float = 0.0,
        checkpoint_store: CheckpointStore | None = None,
        finished_scope: str | None = None,
        transport: ObjectTransport | None = None,
        vod_endpoint: str | None = None,
        vod_api_factory: VodApiFactory | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        options: UploaderOptions | None = None,
        **unknown: object,
    ) -> None:
        if unknown:
            raise UnknownOptionError(unknown_option_message(unknown, known_options(Vod.__init__)))
        if options is None:
            if retry_policy is None:
                retry_policy = retry_from_js(retry_count, retry_duration)
            # Validated in one place (the core's options), before anything is created.
            options = UploaderOptions(
                part_size=part_size,
                parallel=parallel,
                max_concurrent_files=max_concurrent_files,
                multipart_threshold=multipart_threshold,
                retry=retry_policy,
                refresh_margin=refresh_margin,
                credentials_timeout=credentials_timeout,
                outage_limit=outage_limit,
                checkpoint_interval=checkpoint_interval,
                timeout=timeout,
                region=region,
                user_id=user_id_text(user_id),
                cname=cname,
                local_checkpoint=local_checkpoint,
                enable_upload_progress=enable_upload_progress,
            )
        else:
            refuse_options_twice(Vod.__init__, options, locals())
        self.options = options
        callbacks = Callbacks(
            add_file_success=add_file_success,
            on_upload_started=on_upload_started,
            on_upload_succeed=on_upload_succeed,
            on_upload_failed=on_upload_failed,
            on_upload_progress=on_upload_progress,
            on_upload_bytes=on_upload_bytes,
            on_upload_token_expired=on_upload_token_expired,
            on_upload_canceled=on_upload_canceled,
            on_upload_end=on_upload_end,
        )
        self._clock = clock or SystemClock()
        self._owns_store = checkpoint_store is None
        self._store = checkpoint_store if checkpoint_store is not None else FileCheckpointStore()
        self._resume = ResumeFinder(self._store, self.options.user_id)
        # Upload locks (UPL-DUR-007) and finished-file records (UPL-DUR-004).
        self._guards = FileGuards(self._store, finished_scope)
        self._owns_transport = transport is None
        self._transport = transport or OssHttpTransport(
            timeout=self.options.timeout,
            pool_size=options.parallel * options.max_concurrent_files + 4,
            is_cname=options.cname,
        )
        self._vod_endpoint = vod_endpoint
        self._vod_api_factory = vod_api_factory or self._default_vod_api
        self._files: dict[str, FileContext] = {}
        self._core = Uploader(self.options, random=(rng or random.Random()).random)
        self._performer = Performer(
            transport=self._transport,
            clock=self._clock,
            files=self._files.get,
            vod_api_factory=self._vod_api_factory,
            auth_provider=auth_provider,
        )
        self._driver = Driver(
            core=self._core,
            performer=self._performer,
            store=self._store,
            clock=self._clock,
            # The dispatcher is created just below; callbacks only run once files exist.
            notify=lambda notification: self._dispatcher(notification),  # noqa: PLW0108
            workers=options.parallel * options.max_concurrent_files + 2,
            on_checkpoint_deleted=self._forget_identity,
            on_succeeded=self._guards.record,
            wants_notification=lambda notification: self._dispatcher.wants(notification),  # noqa: PLW0108
        )
        self._dispatcher = CallbackDispatcher(
            callbacks,
            self._view,
            self._driver.lock,
            on_auth_callback_error=self._auth_callback_failed,
        )
        # UP-HANG-002: without either, no file could ever get credentials.
        self._credential_source = auth_provider is not None or on_upload_started is not None
        self._credentials = CredentialCalls(
            clock=self._clock,
            driver=self._driver,
            resolve=self._resolve,
            check_open=self._check_open,
        )
        self._intake = FileIntake(
            options=self.options,
            resume=self._resume,
            guards=self._guards,
            files=self._files,
            driver=self._driver,
            view=self._view,
        )
        self._closed = False
        self._end_count = 0

    # ------------------------------------------------------------------ core queries
    # (the only place that knows the core's query API)

    def _views(self) -> list[FileView]:
        return [self._driver.seen(view) for view in self._core.files()]

    def _view(self, file_id: str) -> FileView:
        return self._driver.seen(self._core.file(file_id))

    def _uploader_state(self) -> UploaderState:
        return self._core.state

    def _default_vod_api(self, token: StsToken) -> AcsVodApi:
        region = self.options.region
        return AcsVodApi(
            token.access_key_id,
            token.access_key_secret,
            security_token=token.security_token,
            region=region,
            endpoint=self._vod_endpoint,
            timeout=self.options.timeout or 10.0,
        )

    # ------------------------------------------------------------------ the file list

    def _check_open(self) -> None:
        if self._closed:
            raise UploaderClosedError("this uploader is closed; create a new one")

    def _resolve(self, ref: FileRef) -> str:
        """A file id from a JS-style index, a file id, or a FileView."""
        if isinstance(ref, FileView):
            return ref.file_id
        if isinstance(ref, bool):
            raise UnknownFileError(f"not a file reference: {ref!r}")
        if isinstance(ref, int):
            with self._driver.lock:
                views = self._views()
            if not 0 <= ref < len(views):
                raise UnknownFileError(f"no file at index {ref} (the list has {len(views)})")
            return views[ref].file_id
        if isinstance(ref, str):
            return ref
        raise UnknownFileError(f"not a file reference: {ref!r}")

    def add_file(
        self,
        file: str | os.PathLike[str] | BinaryIO | bytes | FileSource,
        endpoint: str | None = None,
        bucket: str | None = None,
        object: str | None = None,
        param_data: str | dict[str, Any] | None = None,
        *,
        name: str | None = None,
        is_image: bool | None = None,
    ) -> FileView:
        """JS ``addFile(file, endpoint, bucket, object, paramData)``.

        Returns the new file's snapshot. A path that is missing or a directory raises
        :class:`~vodref.errors.SourceError`; malformed ``param_data`` raises
        :class:`~vodref.errors.InvalidOptionError`. If a checkpoint exists for this
        content, it is checked part by part against the file and offered to the core, so
        ``start_upload`` resumes the same video and upload.
        """
        self._check_open()
        view = self._intake.add(
            file, endpoint, bucket, object, param_data, name=name, is_image=is_image
        )
        self._dispatcher.call_user(self._dispatcher.callbacks.add_file_success, view)
        return view

    def find_finished(
        self,
        file: str | os.PathLike[str] | BinaryIO | bytes | FileSource,
        endpoint: str | None = None,
        bucket: str | None = None,
        object: str | None = None,
        param_data: str | dict[str, Any] | None = None,
        *,
        name: str | None = None,
        is_image: bool | None = None,
    ) -> FinishedUpload | None:
        """Beyond JS: the earlier upload of this very file (same path, size, mtime, content,
        ``param_data``, overrides and ``finished_scope``), or None. Needs
        ``Vod(finished_scope=...)``, under which every success is recorded (UPL-DUR-004)."""
        return self._intake.find_finished(
            file, endpoint, bucket, object, param_data, name=name, is_image=is_image
        )

    def _forget_identity(self, file_id: str) -> None:
        """The file's checkpoint is gone (success, cancel, delete): so is its path index."""
        context = self._files.get(file_id)
        if context is not None and context.identity_key is not None:
            self._resume.forget(context.identity_key)

    def delete_file(self, index: FileRef) -> None:
        """JS ``deleteFile(index)``: cancel (aborting the multipart upload) and remove."""
        self._check_open()
        file_id = self._resolve(index)
        self._driver.submit(DeleteFile(file_id=file_id))
        self._guards.release(file_id)

    def cancel_file(self, index: FileRef) -> None:
        """JS ``cancelFile(index)``: Canceled; the multipart upload is aborted on the server."""
        self._check_open()
        self._driver.submit(CancelFile(file_id=self._resolve(index)))

    def resume_file(self, index: FileRef) -> None:
        """JS ``resumeFile(index)``: a Canceled (or Stopped/Failed) file back to Ready."""
        self._check_open()
        self._driver.submit(ResumeFile(file_id=self._resolve(index)))

    def pause_file(self, index: FileRef) -> None:
        """Beyond JS: stop one file, keeping its multipart upload; ``resume_file`` and
        ``start_upload`` continue it."""
        self._check_open()
        self._driver.submit(PauseFile(file_id=self._resolve(index)))

    def list_files(self) -> list[FileView]:
        """JS ``listFiles()``: snapshots (never the live internals)."""
        with self._driver.lock:
            return self._views()

    def clean_list(self) -> None:
        """JS ``cleanList()``: stop and forget every file (checkpoints are kept)."""
        self._check_open()
        self._driver.submit(CleanList())
        self._guards.release_all()

    def start_upload(self) -> None:
        """JS ``startUpload()``. Raises :class:`~vodref.errors.NoCredentialSourceError` when
        there is neither ``auth_provider`` nor ``on_upload_started`` (UP-HANG-002)."""
        self._check_open()
        if not self._credential_source:
            raise NoCredentialSourceError(
                "start_upload needs a way to obtain credentials: pass auth_provider=, or "
                "on_upload_started= that calls set_upload_auth_and_address / set_sts_token"
            )
        self._driver.submit(StartUpload())

    def _auth_callback_failed(self, file_id: str, error: Exception) -> None:
        """UP-HANG-003: the callback that should provide credentials raised: fail its file
        now instead of letting it wait for an answer that will not come."""
        failure = ServiceError(
            kind=ErrorKind.LOCAL,
            code="AuthCallbackFailed",
            message=f"the credentials callback raised {type(error).__name__}",
        )
        # LookupError: answered meanwhile, or an auth provider answers: nothing waits.
        with contextlib.suppress(LookupError):
            self._driver.answer_auth(
                file_id, lambda request: CommandFailed(command_id=request.command_id, error=failure)
            )

    def stop_upload(self) -> None:
        """JS ``stopUpload()``: every Uploading file becomes Stopped; requests not yet sent
        never happen, parts already sent are kept; ``start_upload`` continues."""
        self._check_open()
        self._driver.submit(StopUpload())

    # ------------------------------------------------------------------ credentials
    # The JS credential methods; vodref.api.credentials has the contract of each.

    def set_upload_auth_and_address(
        self,
        upload_info: FileRef,
        upload_auth: str,
        upload_address: str | None,
        video_id: str | None = None,
    ) -> None:
        """JS ``setUploadAuthAndAddress``: see :class:`CredentialCalls`."""
        self._credentials.set_upload_auth_and_address(
            upload_info, upload_auth, upload_address, video_id
        )

    def set_sts_token(
        self,
        upload_info: FileRef,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
    ) -> None:
        """JS ``setSTSToken``: see :class:`CredentialCalls`."""
        self._credentials.set_sts_token(
            upload_info, access_key_id, access_key_secret, security_token, expiration
        )

    def set_sts_token_directly_upload(
        self,
        upload_info: FileRef,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
    ) -> None:
        """JS ``setSTSTokenDirectlyUpload``: see :class:`CredentialCalls`."""
        self._credentials.set_sts_token_directly_upload(
            upload_info, access_key_id, access_key_secret, security_token, expiration
        )

    def resume_upload_with_auth(
        self, upload_auth: str, upload_address: str | None = None, *, file: FileRef | None = None
    ) -> None:
        """JS ``resumeUploadWithAuth``: see :class:`CredentialCalls`."""
        self._credentials.resume_upload_with_auth(upload_auth, upload_address, file=file)

    def resume_upload_with_token(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
        *,
        file: FileRef | None = None,
    ) -> None:
        """JS ``resumeUploadWithToken``: see :class:`CredentialCalls`."""
        self._credentials.resume_upload_with_token(
            access_key_id, access_key_secret, security_token, expiration, file=file
        )

    def resume_upload_with_sts_token(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
        *,
        file: FileRef | None = None,
    ) -> None:
        """JS ``resumeUploadWithSTSToken``: see :class:`CredentialCalls`."""
        self._credentials.resume_upload_with_sts_token(
            access_key_id, access_key_secret, security_token, expiration, file=file
        )

    # ------------------------------------------------------------------ checkpoints

    def get_checkpoint(self, file: FileRef | str | os.PathLike[str]) -> dict[str, Any] | None:
        """JS ``getCheckpoint(file)``: the stored resume record for a file in the list (or a
        path), or None. Contains no secret."""
        if isinstance(file, os.PathLike) or (
            # A file id of the list wins; any other string naming a file is a path, even a
            # relative one that looks like an id ("file-clip.mp4", UP-API-014).
            isinstance(file, str) and not self._is_file_id(file) and os.path.exists(file)
        ):
            source = open_source(file)
            try:
                return self._store.load(self._resume.fingerprint(source))
            finally:
                source.close()
        file_id = self._resolve(file)
        with self._driver.lock:
            fingerprint = self._view(file_id).fingerprint
        self._store.flush()
        return self._store.load(fingerprint)

    def _is_file_id(self, name: str) -> bool:
        with self._driver.lock:
            return any(view.file_id == name for view in self._views())

    # ------------------------------------------------------------------ waiting, closing

    def _queue_done(self) -> bool:
        if self._driver.broken is not None:  # UPL-DRV-010: the core is not to be trusted
            return self._driver.idle()
        state = self._uploader_state()
        if state is UploaderState.STARTED:
            return False
        if state is UploaderState.EXPIRED and self.options.credentials_timeout is not None:
            # A wait for new credentials with a deadline ends on its own (UP-HANG-001).
            return False
        return self._driver.idle()

    def wait(self, timeout: float | None = None) -> list[FileView]:
        """Block until the queue has drained (every file Success, Failure, Canceled or
        Stopped, and their callbacks have run; a file waiting for new credentials counts as
        running until ``credentials_timeout``, when that is set). Raises
        :class:`~vodref.errors.UploadWaitTimeout` when ``timeout`` seconds pass first."""
        if self._driver.on_callback_thread():
            # The callbacks still queued run on this very thread: waiting would never end.
            raise UsageError("wait() cannot be called from an uploader callback")
        if not self._driver.wait_until(self._queue_done, timeout):
            raise UploadWaitTimeout(f"uploads still running after {timeout} s")
        # A failing store never hides a result (UPL-DUR-002): see ``store_failures``.
        self._driver.flush_store()
        return self.list_files()

    def upload(
        self,
        *files: str | os.PathLike[str] | BinaryIO | bytes | FileSource,
        timeout: float | None = None,
    ) -> list[FileView]:
        """Convenience: add the files (anything ``add_file`` takes), start, wait; the final
        snapshots in order."""
        added = [self.add_file(path).file_id for path in files]
        self.start_upload()
        self.wait(timeout)
        by_id = {view.file_id: view for view in self.list_files()}
        return [by_id[file_id] for file_id in added if file_id in by_id]

    def close(self) -> None:
        """Stop uploading, let running requests finish, flush checkpoints, release sockets.

        Every upload is stopped first, so nothing new starts; then the requests already
        running and the aborts still on their way (a canceled file's, UP-CANCEL-007) get up
        to 10 s (``CLOSE_GRACE``) to land, and what they did is recorded as at any other
        time (UPL-API-017): a part counts and is saved, and a Complete that lands ends its
        file in Success with ``on_upload_succeed`` (UP-CANCEL-010). With nothing running,
        close() does not wait. May be called from a callback (the callbacks queued after it
        then run after close() returns). Idempotent; every later call except the queries
        raises UploaderClosedError."""
        if self._closed:
            return
        self._closed = True
        try:
            with self._driver.lock:
                state = self._uploader_state()
            # Expired too: nothing may start while close() waits for the aborts below.
            if state in (UploaderState.STARTED, UploaderState.EXPIRED):
                self._driver.submit(StopUpload())
        except UsageError:
            pass
        # UPL-API-017, UP-CANCEL-007: the requests still running (their answers are
        # recorded: a finished video is never hidden, nor redone by the next process) and
        # the aborts on their way (in flight, or waiting out a backoff) get up to
        # CLOSE_GRACE seconds, with every upload stopped. A request still running after
        # that is left to its transport timeout and its answer dropped (the next process
        # resumes from the checkpoint); an abort, to the bucket lifecycle rule.
        # From a callback, the callbacks queued after it cannot run before close() returns.
        self._driver.wait_until(
            lambda: (
                self._driver.broken is not None
                or (not self._core.pending_aborts() and self._driver.idle())
            ),
            CLOSE_GRACE,
            drain_callbacks=not self._driver.on_callback_thread(),
        )
        self._driver.close()
        self._driver.flush_store()
        if self._owns_store:
            self._store.close()  # stops its writer thread
        for context in self._files.values():
            context.source.close()
        self._guards.release_all()
        if self._owns_transport:
            self._transport.close()

    def __enter__(self) -> Vod:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def store_failures(self) -> tuple[str, ...]:
        """Checkpoint store failures seen (a full or read-only directory), each distinct
        message once (at most 100): results are still reported, but may be neither
        resumable nor remembered (UPL-DUR-002)."""
        with self._driver.lock:
            return tuple(self._driver.store_failures)

    @property
    def bytes_sent(self) -> int:
        """Bytes of part and object bodies handed to the transport (all attempts)."""
        return self._performer.bytes_sent
