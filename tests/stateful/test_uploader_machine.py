"""A Hypothesis state machine that drives the pure core against an in-memory OSS + VOD model.

Because the core is pure, the test itself is the network and the clock: at every step it picks
which in-flight request completes, fails (retryable, fatal, token expired, timed out after
taking effect) or is abandoned, when timers fire, and when the process crashes and resumes from
*any* checkpoint the core ever emitted. User calls (start, stop, cancel, delete, pause, resume,
clean, add) are rules too.

Invariants after every step (issue #2):
- at most ``parallel`` parts of a file in flight (UP-PART-005);
- the parts the core holds as acknowledged exist in the model with the same ETag;
- progress never decreases within one attempt (UP-PROG-002);
- Success only after Complete, with the bytes and CRC-64 of the source (UP-CRC-002);
- one VideoId per file across any number of resumes (UP-RESUME-003);
- cancel and delete leave no open multipart upload (UP-CANCEL-001, UP-CANCEL-002);
- one file, one video, checked after every step (UP-RESUME-003);
- nothing left open after a final state: a file in Success or Canceled has no multipart
  upload of this instance still open unless its abort was issued (UP-CANCEL-001).

Issue 14 adds an early crash (``crash_early``: the process dies and each file resumes from its
last *barrier* save, the worst a coalescing checkpoint writer may leave) and a full store
(``fill_store``: saves are lost). Checked after every step: one file, one video (the model's
videos named for a file never exceed what its lineage may legitimately have created:
UP-DUR-001) and every OSS request names a VideoId and upload id that a barrier save made
durable before it (UP-DUR-002); at quiescence nothing is left open after a final state
(UP-DUR-004). It also adds rules for an outage (every OSS request fails for a while: at most
one probe is in flight once it opened, UP-OUTAGE-001) and for adopting a listed part
(VerifyPart answered truthfully or with bytes that differ, UP-RESUME-009).
"""

from __future__ import annotations

import random

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from support.core import (
    EXPIRED,
    FATAL,
    RETRYABLE,
    TIMEOUT,
    ScriptedDriver,
    crc_of,
    make_data,
)

from vodref.core import (
    AbortMultipart,
    AuthReason,
    CallVod,
    CancelFile,
    Checkpoint,
    CleanList,
    DeleteFile,
    FileState,
    InvalidStateError,
    ListParts,
    MediaKind,
    MultipartInitiated,
    NotifyProgress,
    NotifySucceeded,
    OssRequest,
    PartVerified,
    PauseFile,
    RequestAuth,
    ResumeFile,
    RetryPolicy,
    StartUpload,
    StopUpload,
    UnknownFileError,
    UploadAuthProvided,
    UploaderOptions,
    UploadPart,
    VerifyPart,
)
from vodref.core.states import outage_threshold

PART = 102_400
SIZES = st.one_of(
    st.integers(min_value=1, max_value=PART - 1),
    st.integers(min_value=PART, max_value=4 * PART + 500),
)
FAILURES = ["retryable", "fatal", "expired", "timeout_applied", "abandon"]


class UploaderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[str, bytes] = {}
        self.saved: dict[str, list[Checkpoint]] = {}
        self.video: dict[str, str] = {}  # the VideoId a file's lineage is bound to
        self.high: dict[tuple[int, str, int], int] = {}  # (instance, file, attempt) -> bytes
        self.initiated: dict[str, str] = {}  # upload id -> file id (this instance)
        self.aborted: set[str] = set()  # uploads the core asked to abort
        self.kept: set[str] = set()  # uploads clean_list keeps open for a later resume
        self.granted: set[str] = set()  # files that got credentials in this instance
        self.instance = 0
        # Issue 14: the last barrier save per file (what survives any crash), videos each
        # file may have created, and whether saves are being lost (a full store).
        self.durable: dict[str, Checkpoint] = {}
        self.video_budget: dict[str, int] = {}
        self.store_full = False
        self.lost_saves = False
        self.next_file = 0
        self.seen_notes = 0
        self.seen_log = 0

    # ------------------------------------------------------------------ set-up

    @initialize(
        parallel=st.integers(min_value=1, max_value=3),
        files_at_once=st.integers(min_value=1, max_value=2),
        interval=st.sampled_from([0.0, 1.0]),
        sts=st.booleans(),
        seed=st.integers(min_value=0, max_value=2**16),
        sizes=st.lists(SIZES, min_size=1, max_size=3),
    )
    def set_up(
        self,
        parallel: int,
        files_at_once: int,
        interval: float,
        sts: bool,
        seed: int,
        sizes: list[int],
    ) -> None:
        self.options = UploaderOptions(
            part_size=PART,
            parallel=parallel,
            max_concurrent_files=files_at_once,
            checkpoint_interval=interval,
            retry=RetryPolicy(max_retries=3, initial_delay=1.0, max_delay=4.0, budget=8),
            refresh_margin=300.0,
        )
        self.sts = sts
        self.random = random.Random(seed)
        self.driver = self.new_driver(model=None)
        for size in sizes:
            self.add_file(size)

    def new_driver(self, model: object) -> ScriptedDriver:
        driver = ScriptedDriver(
            self.options,
            model=model,  # type: ignore[arg-type]
            sts=self.sts,
            random_source=self.random,
            credentials_ttl=3000.0,
        )
        driver.sources = self.sources
        return driver

    # ------------------------------------------------------------------ bookkeeping

    def observe(self) -> None:
        """Check every new command against the model; called after each step."""
        d = self.driver
        for command in d.log[self.seen_log :]:
            if isinstance(command, RequestAuth) and command.reason is not AuthReason.START:
                event(f"credentials requested: {command.reason.value}")
            if isinstance(command, AbortMultipart):
                self.aborted.add(command.upload_id)
            if isinstance(command, VerifyPart):
                event("a listed part checked")
            if type(command).__name__ == "SaveCheckpoint" and not self.store_full:
                checkpoint = command.checkpoint  # type: ignore[attr-defined]
                self.saved.setdefault(command.file_id, []).append(checkpoint)  # type: ignore[attr-defined]
                if command.barrier:  # type: ignore[attr-defined]
                    self.durable[command.file_id] = checkpoint  # type: ignore[attr-defined]
            if isinstance(command, OssRequest) and not self.lost_saves:
                self.check_durable_before(command)
        self.seen_log = len(d.log)
        for note in d.notes[self.seen_notes :]:
            if isinstance(note, NotifyProgress):
                key = (self.instance, note.file_id, note.attempt)
                assert note.bytes_done >= self.high.get(key, 0), "progress went backwards"
                self.high[key] = note.bytes_done
                assert 0 <= note.bytes_done <= note.total_bytes
            elif isinstance(note, NotifySucceeded):
                event("a file succeeded")
                view = note.file
                source = self.sources[view.file_id]
                assert view.target is not None
                assert d.model.objects.get(view.target.key) == source, "success without the bytes"
                assert view.crc64 == crc_of(source)
        self.seen_notes = len(d.notes)

    def check_durable_before(self, command: OssRequest) -> None:
        """UP-DUR-002: an OSS request of a video names what a barrier save made durable."""
        view = next((v for v in self.driver.core.files() if v.file_id == command.file_id), None)
        if view is None or view.media_kind is not MediaKind.VIDEO or view.video_id is None:
            return
        if isinstance(command, AbortMultipart):
            return  # aborting needs nothing durable
        durable = self.durable.get(command.file_id)
        assert durable is not None and durable.video_id == view.video_id, (
            f"{type(command).__name__} before the VideoId was durable"
        )
        upload_id = getattr(command, "upload_id", None)
        if upload_id is not None:
            assert durable.upload_id == upload_id, (
                f"{type(command).__name__} before its upload id was durable"
            )

    def send_user(self, event: object) -> None:
        d = self.driver
        before = (d.core.state, d.core.files(), d.core.in_flight())
        try:
            d.send(event)
        except (InvalidStateError, UnknownFileError):
            assert (d.core.state, d.core.files(), d.core.in_flight()) == before

    def file_ids(self) -> list[str]:
        return [view.file_id for view in self.driver.core.files()]

    # ------------------------------------------------------------------ user calls

    @precondition(lambda self: len(self.driver.core.files()) < 4)
    @rule(size=SIZES)
    def add_file(self, size: int) -> None:
        file_id = f"file{self.next_file}"
        self.next_file += 1
        self.sources[file_id] = make_data(size, seed=self.next_file)
        self.video_budget[file_id] = 1
        self.driver.add(file_id, self.sources[file_id])

    @rule()
    def start_upload(self) -> None:
        self.send_user(StartUpload())

    @rule()
    def stop_upload(self) -> None:
        self.send_user(StopUpload())

    @rule(
        index=st.integers(min_value=0, max_value=7),
        kind=st.sampled_from([CancelFile, DeleteFile, PauseFile, ResumeFile]),
    )
    def file_call(self, index: int, kind: type) -> None:
        ids = self.file_ids()
        file_id = ids[index % len(ids)] if ids else "missing"
        views = {v.file_id: v for v in self.driver.core.files()}
        before = views.get(file_id)
        sent = len(self.driver.log)
        self.send_user(kind(file_id=file_id))
        if (
            kind in (CancelFile, DeleteFile)
            and before is not None
            and before.upload_id
            and before.state not in (FileState.SUCCESS, FileState.CANCELED)
            and file_id in self.granted
        ):
            aborts = [c for c in self.driver.log[sent:] if isinstance(c, AbortMultipart)]
            assert [a.upload_id for a in aborts] == [before.upload_id], "cancel did not abort"

    @rule(really=st.integers(min_value=0, max_value=4))
    def clean_list(self, really: int) -> None:
        if really == 0:  # rarely: it forgets every file, keeping their uploads resumable
            self.kept.update(v.upload_id for v in self.driver.core.files() if v.upload_id)
            self.send_user(CleanList())

    # ------------------------------------------------------------------ the network

    @precondition(lambda self: bool(self.driver.pending))
    @rule(index=st.integers(min_value=0, max_value=20))
    def complete_request(self, index: int) -> None:
        d = self.driver
        command = d.pending[index % len(d.pending)]
        outcome = d.success_of(command)
        d.pending.remove(command)
        self.note_outcome(command, outcome)
        d.send(outcome)

    def note_outcome(self, command: object, outcome: object) -> None:
        if isinstance(outcome, MultipartInitiated):
            self.initiated[outcome.upload_id] = command.file_id  # type: ignore[attr-defined]
        if isinstance(outcome, UploadAuthProvided):
            self.granted.add(command.file_id)  # type: ignore[attr-defined]

    @precondition(lambda self: bool(self.driver.pending))
    @rule(index=st.integers(min_value=0, max_value=20), failure=st.sampled_from(FAILURES))
    def fail_request(self, index: int, failure: str) -> None:
        d = self.driver
        command = d.pending[index % len(d.pending)]
        if isinstance(command, AbortMultipart) and failure in ("retryable", "fatal", "expired"):
            failure = "abandon"  # an abort that gives up leaves the upload to lifecycle rules
        if isinstance(command, (RequestAuth, CallVod)) and failure == "timeout_applied":
            failure = "retryable"
        if failure == "abandon":
            d.abandon(command)
        elif failure == "timeout_applied":
            d.apply_then_fail(command, TIMEOUT)
        else:
            error = {"retryable": RETRYABLE, "fatal": FATAL, "expired": EXPIRED}[failure]
            d.fail(command, error)

    @precondition(lambda self: any(isinstance(c, OssRequest) for c in self.driver.pending))
    @rule(rounds=st.integers(min_value=1, max_value=6))
    def outage(self, rounds: int) -> None:
        """UP-OUTAGE-001: the connection is gone for ``rounds`` backoffs: every OSS request
        fails as a network error. Once enough failed in a row, at most one OSS request (the
        probe) is ever in flight, and nothing is lost: the invariants still hold after."""
        d = self.driver
        failed = 0
        for _ in range(rounds):
            oss = [c for c in d.pending if isinstance(c, OssRequest)]
            probes = [c for c in oss if not isinstance(c, AbortMultipart)]
            if failed >= outage_threshold(self.options.parallel):
                event("outage: probing")
                assert len(probes) <= 1, f"{len(probes)} OSS requests in flight in an outage"
            for command in oss:
                if isinstance(command, AbortMultipart):
                    # as in fail_request: an abort that gives up is left to lifecycle rules
                    # (UP-CANCEL-001), which run_to_quiescence would report as a leak
                    d.abandon(command)
                    continue
                d.fail(command, TIMEOUT)
                failed += 1
            if d.core.next_deadline() is None:
                break
            d.to_deadline()

    @precondition(lambda self: self.driver.has(VerifyPart))
    @rule(index=st.integers(min_value=0, max_value=20), honest=st.booleans())
    def verify_listed_part(self, index: int, honest: bool) -> None:
        """UP-RESUME-009: a listed part the checkpoint missed is checked; its bytes match
        (adopted, never sent again) or differ (sent again)."""
        d = self.driver
        checks = [c for c in d.pending if isinstance(c, VerifyPart)]
        command = checks[index % len(checks)]
        d.pending.remove(command)
        if honest:
            event("a listed part adopted")
            d.send(d.success_of(command))
        else:
            d.send(PartVerified(command_id=command.command_id, md5="0" * 32, crc64=0))

    @precondition(lambda self: self.driver.core.next_deadline() is not None)
    @rule()
    def fire_timers(self) -> None:
        self.driver.to_deadline()

    @rule()
    def run_to_quiescence(self) -> None:
        """Everything succeeds until nothing is left to do; then no upload may leak."""
        d = self.driver
        for _ in range(5_000):
            if d.pending:
                command = d.pending[0]
                outcome = d.success_of(command)
                d.pending.remove(command)
                self.note_outcome(command, outcome)
                d.send(outcome)
            elif d.core.next_deadline() is not None:
                d.to_deadline()
            else:
                break
        else:
            raise AssertionError("the core never became idle")
        self.observe()
        stuck = [v.file_id for v in d.core.files() if v.state is FileState.UPLOADING]
        assert not stuck, f"idle core with files still Uploading: {stuck}"
        current = {
            view.upload_id
            for view in d.core.files()
            if view.state is not FileState.CANCELED and view.upload_id
        }
        for upload_id, file_id in self.initiated.items():
            if upload_id in d.model.uploads and upload_id not in self.kept:
                assert upload_id in current, f"upload {upload_id} of {file_id} leaked"
        for upload_id in self.aborted:
            assert upload_id not in d.model.uploads, f"aborted upload {upload_id} still open"

    @rule(data=st.data())
    def crash_and_resume(self, data: st.DataObject) -> None:
        """The process dies (in-flight requests never happen) and restarts from whatever
        checkpoint each file had saved at some point."""
        self.crash(data, lose_last_save=False)

    @rule(data=st.data())
    def crash_before_the_last_save(self, data: st.DataObject) -> None:
        """UP-RESUME-009: the process dies after a part was acknowledged but before the save
        recording it: the resume lists it, checks it (VerifyPart) and adopts it."""
        self.crash(data, lose_last_save=True)
        d = self.driver
        self.send_user(StartUpload())
        for _ in range(20):  # get each resumed file to its listing
            asked = [c for c in d.pending if isinstance(c, (RequestAuth, CallVod, ListParts))]
            if not asked:
                break
            command = asked[0]
            outcome = d.success_of(command)
            d.pending.remove(command)
            self.note_outcome(command, outcome)
            d.send(outcome)

    def crash(self, data: st.DataObject, *, lose_last_save: bool) -> None:
        old = self.driver
        survivors = [v for v in old.core.files() if v.state is not FileState.SUCCESS]
        self.instance += 1
        self.driver = self.new_driver(model=old.model)
        self.seen_notes = self.seen_log = 0
        self.initiated.clear()
        self.aborted.clear()
        self.kept.clear()
        self.granted.clear()
        for view in survivors:
            saved = self.saved.get(view.file_id, [])
            options: st.SearchStrategy[Checkpoint | None] = st.none()
            if saved and lose_last_save:
                options = st.just(saved[-2] if len(saved) > 1 else saved[-1])
            elif saved:  # any checkpoint ever emitted, the latest most often
                options = st.one_of(st.just(saved[-1]), st.sampled_from(saved), st.none())
            checkpoint = data.draw(options, label=f"checkpoint {view.file_id}")
            event("resumed from a checkpoint" if checkpoint else "resumed without one")
            if checkpoint is None or checkpoint.video_id is None:
                self.video.pop(view.file_id, None)  # a fresh start may create a new video
                self.video_budget[view.file_id] = self.video_budget.get(view.file_id, 0) + 1
            else:  # resuming binds the file to the checkpoint's video, and only to it
                self.video[view.file_id] = checkpoint.video_id
            self.resume(view.file_id, checkpoint)

    def resume(self, file_id: str, checkpoint: Checkpoint | None) -> None:
        """Add a file again in the new process; the checkpoint it loads is durable."""
        self.durable.pop(file_id, None)
        if checkpoint is not None:
            self.durable[file_id] = checkpoint
        self.driver.add(file_id, self.sources[file_id], checkpoint=checkpoint)

    @rule()
    def crash_early(self) -> None:
        """SIGKILL now, however early: each file resumes from its last barrier save (the
        coalescing writer may have lost every later one), or from nothing (UP-DUR-001)."""
        old = self.driver
        survivors = [v for v in old.core.files() if v.state is not FileState.SUCCESS]
        for request in old.core.in_flight():
            # A CreateUploadVideo whose answer dies with the process may still create one.
            if isinstance(request, RequestAuth | CallVod) and request.video_id is None:
                budget = self.video_budget.get(request.file_id, 0)
                self.video_budget[request.file_id] = budget + 1
        self.instance += 1
        self.driver = self.new_driver(model=old.model)
        self.seen_notes = self.seen_log = 0
        self.initiated.clear()
        self.aborted.clear()
        self.kept.clear()
        self.granted.clear()
        self.store_full = False
        for view in survivors:
            checkpoint = self.durable.get(view.file_id)
            if view.state is FileState.CANCELED:
                checkpoint = None  # deleted on purpose: a fresh start, maybe a new video
            if checkpoint is None or checkpoint.video_id is None:
                self.video.pop(view.file_id, None)
                self.video_budget[view.file_id] = self.video_budget.get(view.file_id, 0) + 1
                if view.video_id is not None and view.state is not FileState.CANCELED:
                    # Only a full store may have lost a VideoId the old process used.
                    assert self.lost_saves, "a VideoId was used before it was durable"
            else:
                self.video[view.file_id] = checkpoint.video_id
            self.resume(view.file_id, checkpoint)
        self.lost_saves = False

    @rule(full=st.booleans())
    def fill_store(self, full: bool) -> None:
        """The checkpoint store fills up: saves from now on are lost (UPL-DUR-002)."""
        self.store_full = full
        self.lost_saves = self.lost_saves or full

    # ------------------------------------------------------------------ invariants

    @invariant()
    def one_video_per_file(self) -> None:
        if not hasattr(self, "driver"):
            return
        made: dict[str, int] = {}
        for name in self.driver.model.videos.values():
            made[name] = made.get(name, 0) + 1
        for file_id, budget in self.video_budget.items():
            assert made.get(f"{file_id}.mp4", 0) <= budget, f"a second video for {file_id}"

    @invariant()
    def check(self) -> None:
        if not hasattr(self, "driver"):
            return
        self.observe()
        d = self.driver
        parts_in_flight: dict[str, int] = {}
        for command in d.pending:
            if isinstance(command, UploadPart):
                parts_in_flight[command.file_id] = parts_in_flight.get(command.file_id, 0) + 1
        assert all(n <= self.options.parallel for n in parts_in_flight.values()), parts_in_flight
        # the core awaits exactly the outcomes the network still owes it
        assert {c.command_id for c in d.core.in_flight()} == {c.command_id for c in d.pending}
        for view in d.core.files():
            if view.video_id is not None:
                bound = self.video.setdefault(view.file_id, view.video_id)
                assert view.video_id == bound, "a second VideoId for one file"
            upload = d.model.uploads.get(view.upload_id or "")
            has_progress = any(
                isinstance(n, NotifyProgress)
                and n.file_id == view.file_id
                and n.attempt == view.attempt
                for n in d.notes
            )
            if view.state in (FileState.SUCCESS, FileState.CANCELED):
                # nothing left open after a final state (uploads of this instance)
                for upload_id, owner in self.initiated.items():
                    if owner == view.file_id and upload_id in d.model.uploads:
                        assert upload_id in self.aborted | self.kept, (
                            f"{view.state.value} file {owner} left upload {upload_id} open"
                        )
            checkpoint = d.core.checkpoint(view.file_id)
            if upload is not None and has_progress and checkpoint is not None:
                # after Initiate or ListParts, acknowledged parts are on the server
                for part in checkpoint.parts:
                    body_etag = upload.parts.get(part.number)
                    assert body_etag is not None, f"part {part.number} not on the server"
                    assert body_etag[1].upper() == part.etag.strip('"').upper()


# Steps are microseconds each (no I/O), so even the ci profile can afford long runs; the
# profile's max_examples still applies when it asks for more (thorough: 1000).
_profile = UploaderMachine.TestCase.settings
UploaderMachine.TestCase.settings = settings(
    _profile, max_examples=max(_profile.max_examples, 250), stateful_step_count=100
)
TestUploaderMachine = UploaderMachine.TestCase
