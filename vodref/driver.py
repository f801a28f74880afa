"""The threaded driver: runs the pure core, performs its commands, feeds back every fate.

Data flows one way (shared/STYLE.md): a user call or an outcome goes into the core under one
lock; the commands it returns are dispatched without blocking:

- **requests** (OSS calls, VOD calls, auth) go to a worker pool; each one's outcome comes back
  exactly once, including ``CommandAbandoned`` ("never happened") for a request the core
  canceled before a worker picked it up, or that was still queued when the driver closed;
- **credential requests** with no auth provider wait for the application
  (``set_upload_auth_and_address`` and friends) and are answered through :meth:`answer_auth`;
  a proactive refresh with nobody to answer it is abandoned at once;
- **checkpoint effects** go to the store (whose writer thread coalesces them). A barrier
  save (UPL-DUR-001) is made durable, off the lock, before anything that depends on it: a
  file's requests flush the store on their worker first, its notifications on the callback
  thread; other files go on meanwhile and share the store's writes (UPL-DUR-009);
- **notifications** go to one callback thread, in order, outside the lock, so user code may
  call back into the uploader, and an exception in user code is logged and swallowed; a
  notification nobody listens to (``wants_notification`` says no) is not queued at all.

A timer thread sleeps until ``core.next_deadline()`` on the injected :class:`Clock` and
calls ``handle_timer``; an event that moves the deadline earlier wakes it.

The per-part path is kept free of thread hand-offs (issue 12: thread wake-ups were 19 % of
the uploader's GIL time): a worker that reports a part's outcome performs the next request
that report produced itself (UPL-DRV-008); threads in :meth:`Driver.wait_until` are woken by
what can change an answer, not by every acknowledged part, and re-check every 0.2 s.

A bug of vodref's own never leaves a file waiting (UPL-DRV-010): see
:mod:`vodref.internal_errors`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, cast

from .clock import Clock
from .core import (
    AuthReason,
    CancelRequests,
    Command,
    CommandAbandoned,
    CommandFailed,
    DeleteCheckpoint,
    ErrorKind,
    Event,
    FileView,
    Notify,
    NotifyEnded,
    NotifyFailed,
    NotifyProgress,
    NotifySucceeded,
    Outcome,
    PartUploaded,
    Request,
    RequestAuth,
    SaveCheckpoint,
    ServiceError,
    StaleOutcomeError,
    UnknownCommandError,
    UploadPart,
    UsageError,
    VodrefError,
)
from .errors import CheckpointStoreError, UploaderClosedError
from .internal_errors import (
    INTERNAL_ERROR_CODE,
    internal_failure,
    log_unexpected,
    named_outcome,
    unfinished_failed,
)
from .performer import Performer
from .stores import CheckpointStore

__all__ = ["INTERNAL_ERROR_CODE", "CoreLike", "Driver", "NotificationSink"]

log = logging.getLogger("vodref.driver")


class CoreLike(Protocol):
    def handle(self, event: Event, *, now: float) -> list[Command]: ...

    def handle_timer(self, now: float) -> list[Command]: ...

    def next_deadline(self) -> float | None: ...

    def files(self) -> tuple[FileView, ...]: ...


NotificationSink = Callable[[Notify], None]

_BROKEN = "the uploader stopped after an internal error; create a new one"


def _file_of(notification: Notify) -> str | None:
    """The file a notification is about (None for the queue's own, e.g. the end)."""
    file_id = getattr(notification, "file_id", None)
    if isinstance(file_id, str):
        return file_id
    view = getattr(notification, "file", None)
    return view.file_id if isinstance(view, FileView) else None


class Driver:
    def __init__(
        self,
        *,
        core: CoreLike,
        performer: Performer,
        store: CheckpointStore,
        clock: Clock,
        notify: NotificationSink,
        workers: int,
        on_checkpoint_deleted: Callable[[str], None] | None = None,
        on_succeeded: Callable[[FileView], None] | None = None,
        wants_notification: Callable[[Notify], bool] | None = None,
    ) -> None:
        """``wants_notification`` says whether ``notify`` would do anything with a
        notification (None: everything is queued); the driver then does not queue it."""
        self._core = core
        self._performer = performer
        self._store = store
        self._clock = clock
        self._notify = notify
        self._wants_notification = wants_notification
        self._on_checkpoint_deleted = on_checkpoint_deleted
        self._on_succeeded = on_succeeded
        self._lock = threading.RLock()
        # Waiters in wait_until, and the timer thread: two conditions, so a part's outcome
        # wakes neither unless it matters to it.
        self._changed = threading.Condition(self._lock)
        self._timer_wake = threading.Condition(self._lock)
        self._timer_until: float | None = None  # the deadline the timer thread sleeps to
        # Per worker thread: the follow-on request a report produced, run by that worker.
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vodref-worker")
        self._in_flight: dict[int, Request] = {}
        self._canceled: set[int] = set()
        self._awaiting_auth: dict[str, RequestAuth] = {}
        # (notification, flush the store first): see _dispatch.
        self._callbacks: queue.Queue[tuple[Notify, bool] | None] = queue.Queue()
        # Barrier saves handed to the store but not yet flushed (UPL-DUR-009): file id ->
        # the number of its newest one; _barriers numbers them all.
        self._undurable: dict[str, int] = {}
        self._barriers = 0
        # The newest barrier whose parts must be durable too (the save before Complete,
        # UP-RESUME-012), and the newest barrier a whole flush covered.
        self._whole_barrier = self._whole_flushed = 0
        self._callbacks_pending = 0
        self._closed = False
        self.commands_seen = 0
        self.notifications_queued = 0  # for the callback thread (diagnostics, tests)
        self.requests_handed_off = 0  # given to the pool, not run by the reporting worker
        # Outcomes the core refused (a bug, never normal): for tests and diagnostics.
        self.refused_outcomes: list[tuple[Outcome, VodrefError]] = []
        # UPL-DRV-010: why the core is no longer trusted; the files the driver failed itself.
        self._broken: ServiceError | None = None
        self._failed_views: dict[str, FileView] = {}
        # Checkpoint store failures seen (messages): results are then not resumable.
        self.store_failures: list[str] = []
        self._timer = threading.Thread(target=self._timer_loop, name="vodref-timer", daemon=True)
        self._callback_thread = threading.Thread(
            target=self._callback_loop, name="vodref-callbacks", daemon=True
        )
        self._timer.start()
        self._callback_thread.start()

    # ----------------------------------------------------------------- feeding the core

    @property
    def lock(self) -> threading.RLock:
        """Held while the core changes; the façade takes it to read consistent snapshots."""
        return self._lock

    def submit(self, event: Event) -> None:
        """Feed a user event. A core ``UsageError`` (any ``VodrefError``) propagates: nothing
        changed. Anything else is a bug of ours that may have left the core half changed
        (UPL-DRV-010): the driver breaks (``_break``) and raises ``UploaderClosedError``."""
        with self._lock:
            if self._broken is not None:
                raise UploaderClosedError(_BROKEN)
            try:
                commands = self._core.handle(event, now=self._clock.monotonic())
            except VodrefError:
                raise
            except Exception as error:
                self._break(internal_failure(error, f"handling {type(event).__name__}"))
                raise UploaderClosedError(_BROKEN) from None  # its text may quote a secret
            self._dispatch(commands)
            self._changed.notify_all()
            self._deadline_may_have_moved()

    def answer_auth(self, file_id: str, build: Callable[[RequestAuth], Outcome]) -> None:
        """Answer the credential request the file is waiting on.

        ``build`` turns the waiting request into its outcome; it may raise (bad input), in
        which case nothing changes, and so may the core with a ``UsageError`` (credentials
        that contradict the file's): the file still waits, for a better answer or until
        ``credentials_timeout``. Anything else the core raises is a bug of ours: the file
        ends now, as for an outcome (UPL-DRV-010), and the call returns. Raises
        LookupError when the file awaits nothing."""
        with self._lock:
            request = self._awaiting_auth.get(file_id)
            if request is None:
                raise LookupError(file_id)
            outcome = build(request)
            commands = self._feed(outcome, answering=True)
            del self._awaiting_auth[file_id]
            self._in_flight.pop(request.command_id, None)
            self._dispatch(commands)
            self._changed.notify_all()
            self._deadline_may_have_moved()

    def awaiting_auth_any(self) -> list[RequestAuth]:
        with self._lock:
            return list(self._awaiting_auth.values())

    def _report(self, outcome: Outcome) -> None:
        with self._lock:
            self._in_flight.pop(outcome.command_id, None)
            self._canceled.discard(outcome.command_id)
            if self._closed or self._broken is not None:
                self._changed.notify_all()
                return
            commands = self._feed(outcome)
            try:
                self._dispatch(commands)
            except Exception as error:  # the rest of the batch is lost: nothing would end
                self._break(internal_failure(error, "performing the core's commands"))
            if not self._routine_part(outcome, commands):
                self._changed.notify_all()
            if self._broken is None:
                self._deadline_may_have_moved()

    def _feed(self, outcome: Outcome, *, answering: bool = False) -> list[Command]:
        """The core's commands for ``outcome`` (call under the lock). ``answering``: the
        application's answer, whose ``UsageError`` propagates (nothing changed)."""
        try:
            return self._core.handle(cast(Event, outcome), now=self._clock.monotonic())
        except (StaleOutcomeError, UnknownCommandError) as error:
            # A late outcome the core already settled: harmless, but worth a trace. By
            # type and id: an outcome's repr may show an AccessKeyId.
            log.warning("core refused %s: %s", named_outcome(outcome), type(error).__name__)
            self.refused_outcomes.append((outcome, error))
            return []
        except Exception as error:  # its command would wait forever: a bug of ours,
            # whose file must still end (UPL-DRV-010)
            if answering and isinstance(error, UsageError):
                raise
            if isinstance(error, VodrefError):
                self.refused_outcomes.append((outcome, error))
            return self._contain(outcome, error)

    def _contain(self, outcome: Outcome, error: Exception) -> list[Command]:
        """UPL-DRV-010 (call under the lock): ``outcome``'s command is failed instead, with
        a local error, never retried: its file ends in Failure by the core's own rules (the
        checkpoint stays). If the core refuses that too, it is not to be trusted: _break."""
        failure = internal_failure(error, f"handling {named_outcome(outcome)}")
        try:
            return self._core.handle(
                CommandFailed(command_id=outcome.command_id, error=failure),
                now=self._clock.monotonic(),
            )
        except Exception as second:
            log.error("the core refused the failure too (%s)", type(second).__name__)
            self._break(failure)
            return []

    def _break(self, failure: ServiceError) -> None:
        """UPL-DRV-010's last resort (call under the lock): fail every Ready or Uploading
        file here (a finished one stays finished), stop feeding the core, let ``wait()``
        return once the requests on the wire are back."""
        if self._broken is not None:
            return
        self._broken = failure
        self._failed_views = unfinished_failed(self._core.files, failure)
        for failed in self._failed_views.values():
            # 0: no core command has that id (the core numbers from 1).
            self._queue_notification(NotifyFailed(command_id=0, file=failed, error=failure))
        if self._failed_views:
            self._queue_notification(NotifyEnded(command_id=0))
        for request in self._awaiting_auth.values():
            self._in_flight.pop(request.command_id, None)
        self._awaiting_auth.clear()
        self._changed.notify_all()

    @property
    def broken(self) -> ServiceError | None:
        """The internal error the driver stopped on (UPL-DRV-010), or None."""
        return self._broken

    def seen(self, view: FileView) -> FileView:
        """``view`` as the application sees it: failed, when the driver failed it itself."""
        return self._failed_views.get(view.file_id, view)

    def _routine_part(self, outcome: Outcome, commands: list[Command]) -> bool:
        """A part acknowledged mid-upload: its batch only sends the next part, saves parts
        and reports progress, and requests are still in flight. Nothing a waiter waits for
        changes then (the uploader's state, a file's final state, idleness), so waiters are
        not woken (call under the lock)."""
        return (
            isinstance(outcome, PartUploaded)
            and all(
                isinstance(command, UploadPart | NotifyProgress)
                or (isinstance(command, SaveCheckpoint) and not command.barrier)
                for command in commands
            )
            and not self.idle()
        )

    def _deadline_may_have_moved(self) -> None:
        """Wake the timer thread when the core's next deadline is now earlier than the one
        it sleeps to (call under the lock)."""
        deadline = self._core.next_deadline()
        if deadline is not None and (self._timer_until is None or deadline < self._timer_until):
            self._timer_until = deadline
            self._timer_wake.notify_all()

    # ----------------------------------------------------------------- dispatching

    def _dispatch(self, commands: list[Command]) -> None:
        if self._on_succeeded is not None:
            # A success is recorded (durably) before anything else of its batch runs, in
            # particular before its checkpoint is deleted (UPL-DUR-004).
            for command in commands:
                if isinstance(command, NotifySucceeded):
                    try:
                        self._on_succeeded(command.file)
                    except CheckpointStoreError as error:
                        self.note_store_failure(error)
        for command in commands:
            self.commands_seen += 1
            if isinstance(command, Notify):
                self._queue_notification(command)
            elif isinstance(command, SaveCheckpoint | DeleteCheckpoint):
                if self._checkpoint_effect(command):
                    self._barriers += 1
                    self._undurable[command.file_id] = self._barriers
                    if isinstance(command, SaveCheckpoint) and command.checkpoint.names_every_part:
                        self._whole_barrier = self._barriers
            elif isinstance(command, CancelRequests):
                self._canceled.update(c for c in command.command_ids if c in self._in_flight)
                self._abandon_waiting_auth(command.command_ids)
            elif isinstance(command, RequestAuth) and not self._performer.has_auth_provider:
                self._in_flight[command.command_id] = command
                if command.reason is AuthReason.REFRESH:
                    # Proactive refresh with nobody to ask: the core carries on with the
                    # current credentials and asks again when they really expire.
                    self._submit_outcome_later(CommandAbandoned(command_id=command.command_id))
                else:
                    # The application answers (set_upload_auth_and_address & co.).
                    self._awaiting_auth[command.file_id] = command
            elif isinstance(command, Request):
                self._in_flight[command.command_id] = command
                # A request of a file whose barrier save is not yet durable (in this batch
                # or an earlier one: a request held by an outage) flushes first (UPL-DUR-001).
                durable_first = command.file_id in self._undurable
                local = self._local
                if getattr(local, "reporting", False) and local.follow_on is None:
                    local.follow_on = (command, durable_first)  # this worker runs it next
                else:
                    self.requests_handed_off += 1
                    self._pool.submit(self._run, command, durable_first)
            else:
                log.debug("ignoring effect %r", command)

    def _queue_notification(self, command: Notify) -> None:
        if self._wants_notification is None or self._wants_notification(command):
            # What it reports may name its file's VideoId or upload id, not yet on disk.
            self._callbacks_pending += 1
            self.notifications_queued += 1
            self._callbacks.put((command, _file_of(command) in self._undurable))

    def _checkpoint_effect(self, command: SaveCheckpoint | DeleteCheckpoint) -> bool:
        """Hand the effect to the store; True for a barrier save, whose batch must wait
        for a flush (UP-DUR-001: the requests after it depend on the VideoId or upload id
        it names). Part-only saves stay coalesced."""
        # A store failure (disk full, closed store) must not stop the commands after this
        # one: the upload goes on, only its resumability suffers; the failure is kept so the
        # caller can say the result is "done, not resumable" (UPL-DUR-002).
        try:
            if isinstance(command, SaveCheckpoint):
                self._store.save(command.key, command.checkpoint)
                return command.barrier
            self._store.delete(command.key)
            if self._on_checkpoint_deleted is not None:
                self._on_checkpoint_deleted(command.file_id)
        except CheckpointStoreError as error:
            self.note_store_failure(error)
        return False

    def note_store_failure(self, error: CheckpointStoreError) -> None:
        """Remember a checkpoint store failure (the uploads go on without resumability)."""
        with self._lock:
            first = not self.store_failures
            # Each distinct problem once, and a bounded list: a full disk fails every flush
            # of a long run the same way.
            if str(error) not in self.store_failures and len(self.store_failures) < 100:
                self.store_failures.append(str(error))
        if first:
            log.warning(
                "checkpoint store failed; uploads continue but are not resumable: %s", error
            )

    def _abandon_waiting_auth(self, command_ids: Iterable[int]) -> None:
        wanted = set(command_ids)
        for file_id, request in list(self._awaiting_auth.items()):
            if request.command_id in wanted:
                del self._awaiting_auth[file_id]
                self._submit_outcome_later(CommandAbandoned(command_id=request.command_id))

    def _submit_outcome_later(self, outcome: Outcome) -> None:
        # Never re-enter the core from inside _dispatch: report from a worker thread.
        self._pool.submit(self._report, outcome)

    def _make_durable(self) -> None:
        """Flush the store, off the lock (UPL-DUR-009): other files go on meanwhile, and
        the barriers of several files share the store's writes. Every barrier handed to
        the store before the flush started is then durable (or its failure noted, as any
        store failure: UPL-DUR-002)."""
        with self._lock:
            covered = self._barriers
            whole = self._whole_barrier > self._whole_flushed
        try:
            # A store's flush_barriers keeps part-only saves coalesced (UPL-CKPT-008); the
            # save before a Complete must be on disk parts and all (UP-RESUME-012).
            self.flush_store(barriers_only=not whole)
        except Exception as error:  # a store's bug (an OSError...): noted like any failure,
            # so the request after it still gets its fate and nothing waits forever
            log.exception("checkpoint store flush failed")
            self.note_store_failure(CheckpointStoreError(f"flush failed: {error!r}"))
        with self._lock:
            if whole:
                self._whole_flushed = max(self._whole_flushed, covered)
            for file_id, number in list(self._undurable.items()):
                if number <= covered:
                    del self._undurable[file_id]

    def undurable_files(self) -> set[str]:
        """Files with a barrier save not yet flushed (call under the lock): a process that
        dies now may lose their newest VideoId or upload id, but no request that depends
        on it has been sent."""
        return set(self._undurable)

    def _run(self, command: Request, durable_first: bool = False) -> None:
        """Perform ``command``, report it, and go on with the first request that report
        produced (UPL-DRV-008): the worker that freed a slot fills it, without waking
        another thread. The other requests of the batch go to the pool. A request whose
        file has a barrier save not yet durable flushes the store first (UPL-DUR-001)."""
        local = self._local
        next_item: tuple[Request, bool] | None = (command, durable_first)
        while next_item is not None:
            next_command, flush_first = next_item
            if flush_first:
                self._make_durable()
            outcome = self._perform(next_command)
            local.follow_on = None
            local.reporting = True
            try:
                self._report(outcome)
            except BaseException as error:
                # A driver bug: the follow-on request still runs (on the pool), so the core
                # does not wait for it forever.
                log_unexpected(log, error, "reporting an outcome")
                leftover, local.follow_on, local.reporting = local.follow_on, None, False
                if leftover is not None and not self._closed:
                    self._pool.submit(self._run, *leftover)
                raise
            local.reporting = False
            next_item, local.follow_on = local.follow_on, None

    def _perform(self, command: Request) -> Outcome:
        with self._lock:
            abandoned = (
                command.command_id in self._canceled or self._closed or self._broken is not None
            )
        if abandoned:
            return CommandAbandoned(command_id=command.command_id)
        try:
            return self._performer.perform(command)
        except BaseException as error:  # perform() catches everything; belt and braces
            message = log_unexpected(log, error, "the performer crashed")
            return CommandFailed(
                command_id=command.command_id,
                error=ServiceError(kind=ErrorKind.LOCAL, code="DriverError", message=message),
            )

    # ----------------------------------------------------------------- timers

    def _timer_loop(self) -> None:
        with self._lock:
            while not self._closed:
                # A broken core (UPL-DRV-010) gets no more ticks.
                deadline = None if self._broken is not None else self._core.next_deadline()
                now = self._clock.monotonic()
                if deadline is not None and deadline <= now:
                    try:
                        commands = self._core.handle_timer(now)
                    except Exception as error:  # a bug of ours (UPL-DRV-010): a tick the
                        # core refuses stays due, so nothing time-driven would happen again
                        self._break(internal_failure(error, "handling a timer"))
                        commands = []
                    self._dispatch(commands)
                    self._changed.notify_all()
                    continue
                # Wake at the deadline, or when an event moves it earlier. The cap keeps
                # an injected clock that jumps (tests) from being missed for long.
                self._timer_until = deadline
                wait = 0.25 if deadline is None else min(0.25, deadline - now)
                self._timer_wake.wait(max(wait, 0.001))

    # ----------------------------------------------------------------- callbacks

    def _callback_loop(self) -> None:
        while True:
            item = self._callbacks.get()
            if item is None:
                return
            notification, durable_first = item
            try:
                if durable_first:
                    # UP-DUR-002: what a notification reports (an upload id's progress) is
                    # on disk before anyone hears of it.
                    self._make_durable()
                self._notify(notification)
            except Exception:
                log.exception("a user callback raised; the upload carries on")
            finally:
                with self._lock:
                    self._callbacks_pending -= 1
                    if self._callbacks_pending == 0:  # what wait_until waits for
                        self._changed.notify_all()

    # ----------------------------------------------------------------- waiting, closing

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float | None, *, drain_callbacks: bool = True
    ) -> bool:
        """Block until ``predicate()`` (evaluated under the lock) holds and, with
        ``drain_callbacks``, every callback queued so far has run (never on the callback
        thread itself: the running callback is one of them). Returns False on timeout.

        The predicate is re-evaluated when something it may depend on changed (a user event,
        a timer, an outcome other than a routine part, the driver going idle, the callbacks
        draining: UPL-DRV-009) and at least every 0.2 s, so it should depend on those only
        (the uploader's state, final file states, idleness)."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                if (not drain_callbacks or self._callbacks_pending == 0) and predicate():
                    return True
                remaining = None if end is None else end - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(0.2 if remaining is None else min(0.2, remaining))

    def on_callback_thread(self) -> bool:
        return threading.current_thread() is self._callback_thread

    def idle(self) -> bool:
        """No request in flight and no callback pending (call under the lock)."""
        return not (set(self._in_flight) - {r.command_id for r in self._awaiting_auth.values()})

    def close(self, timeout: float = 30.0) -> None:
        """Stop the timer, abandon queued requests, wait for running ones, flush the store."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
            self._timer_wake.notify_all()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._callbacks.put(None)
        if not self.on_callback_thread():  # closed from a callback: its loop ends after it
            self._callback_thread.join(timeout)
        self._timer.join(timeout)
        self.flush_store()

    def flush_store(self, *, barriers_only: bool = False) -> None:
        """Make every checkpoint save durable, or with ``barriers_only`` the barriers (the
        store's ``flush_barriers`` when it has one, UPL-CKPT-008: saves that only add parts
        keep their coalescing window); a failure is noted, never raised."""
        flush = getattr(self._store, "flush_barriers", None) if barriers_only else None
        try:
            (flush or self._store.flush)()
        except CheckpointStoreError as error:
            self.note_store_failure(error)

    @property
    def closed(self) -> bool:
        return self._closed
