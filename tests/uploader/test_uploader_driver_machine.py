"""The core's Hypothesis state machine, run a second time through the real threaded driver
and the in-process transport (UPL-TRN-002: ``emulator.mock_vod`` for VOD, ``InProcessAdapter``
for OSS).

The core's own machine (tests/stateful) picks which in-flight request completes; here the
driver performs them for real on worker threads, so the test drives what a user and the
network can: user calls (add, start, stop, cancel, delete, pause, resume, clean), faults in
the emulator (5xx, resets, expired tokens), and crash-and-resume (close the uploader and build
a new one over the same checkpoint store). After every ``settle`` the emulator is the oracle:

- a Success file's object has the source's size and CRC-64 (UP-CRC-002);
- progress never decreases within one attempt (UP-PROG-002);
- at most ``parallel`` UploadPart requests of one upload in flight (UP-PART-005);
- one VideoId per file across crash-and-resume while its checkpoint exists (UP-RESUME-003);
- canceled and deleted files leave no open multipart upload (UP-CANCEL-001);
- no request is left in flight once the uploader is idle (UPL-DRV-003).

- the core accepts every outcome the driver reports (``Driver.refused_outcomes`` stays
  empty; this machine found outcomes refused after ``CleanList``, since fixed in the core).

It also found that a canceled file whose AbortMultipartUpload met expired credentials left its
upload open (a canceled file asks the core for no new credentials); the driver now refreshes
the video's credentials through the auth provider and aborts again.

And that a canceled file's abort gave up after ``max_retries`` resets while every OSS request
failed (an ``outage``), leaving the upload open; an abort now waits for the connection like
the uploads do (UP-CANCEL-007). ``settle`` waits for aborts still on their way before it looks.

Issue 14 adds a crash at a random early instant (``crash_early``: just after start, before or
around the first durable VideoId) and a store that fills up (``fill_store``). The store is a
:class:`LazyStore`, the worst a coalescing writer may do: a save is durable only once flushed,
so a crash keeps exactly what was flushed. Checked after every step: one file, one video (every
video in the emulator is accounted for: UP-DUR-001, UPL-DUR-008) and nothing left open after a
final state (a Success file's upload is closed; at ``settle`` every open upload belongs to a
file that can still continue it: UP-DUR-004). A request in flight at the instant of a crash may
still create a video or an upload the next process cannot know (its answer died with the
process), and an exit while the store is failing leaves the upload whose id it could not
write, with its parts (UPL-DUR-011): the machine counts those as allowed, and nothing else.

It found its own model wrong twice (test_uploader_store_full_exit.py replays both): it took
that UPL-DUR-011 upload for parts sent to the wrong upload, and its kill snapshot was taken
while the uploader still ran until ``close()``, so a video or upload made in between looked
like one a killed process had made; the kill now stops the uploader in the same instant.

Under CPU load it failed, rarely, for the same kind of reason: ``clean_list`` listed the
files and then called the uploader, so an Initiate answered (its upload adopted) or a file
finished in between was missing from the model ("an upload left open", with no crash
involved; "a second video for one file" once the finished content was added again), and
``crash_and_resume`` counted the requests in flight before ``close()`` stopped the uploader.
The model now looks and acts in one hold of the driver's lock, and the exit stops in the
same instant it counts.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Iterable
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from support.lazy_store import LazyStore, uploads_lost_to_a_full_store
from support.uploader import FAST_RETRIES, MIN_PART

from emulator import mock_vod
from emulator.faults import Effect, Match
from emulator.inprocess_transport import in_process_transport
from vodref import Vod
from vodref.checksums import crc64
from vodref.core import (
    AbortMultipart,
    CallVod,
    Credentials,
    FileState,
    InitiateMultipart,
    ObjectTarget,
    RequestAuth,
    UsageError,
)
from vodref.errors import CheckpointStoreError, UploadWaitTimeout
from vodref.sources import BytesSource
from vodref.testing import ForwardingTransport
from vodref.transport import ObjectTransport, UploadedPart
from vodref.vod_api import AcsVodApi, VodAuthProvider

SIZES = st.one_of(
    st.integers(min_value=1, max_value=MIN_PART - 1),
    st.integers(min_value=MIN_PART, max_value=4 * MIN_PART + 500),
)
FAULTS = {
    "part_503": (Effect.error(503, "ServiceUnavailable"), Match(operation="UploadPart")),
    "part_reset": (Effect.reset_after_body(), Match(operation="UploadPart")),
    "initiate_500": (
        Effect.error(500, "InternalError"),
        Match(operation="InitiateMultipartUpload"),
    ),
    "complete_drop": (Effect.drop_after_commit(), Match(operation="CompleteMultipartUpload")),
    "put_reset": (Effect.reset_before_body(), Match(operation="PutObject")),
}


class CountingTransport(ForwardingTransport):
    """Forwards to the in-process transport and records the most UploadPart calls of one
    upload in flight at once."""

    def __init__(self, inner: ObjectTransport) -> None:
        super().__init__(inner)
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def upload_part(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        number: int,
        data: bytes,
    ) -> UploadedPart:
        with self.lock:
            self.in_flight[upload_id] = self.in_flight.get(upload_id, 0) + 1
            self.peak[upload_id] = max(self.peak.get(upload_id, 0), self.in_flight[upload_id])
        try:
            return super().upload_part(
                target, credentials, upload_id=upload_id, number=number, data=data
            )
        finally:
            with self.lock:
                self.in_flight[upload_id] -= 1


class DriverMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_vod()
        self.emu = self.mock.__enter__()
        self.transport = CountingTransport(in_process_transport(self.emu.app, timeout=5.0))
        self.api = AcsVodApi(
            self.emu.access_key_id, self.emu.access_key_secret, endpoint=self.emu.url
        )
        self.store = LazyStore()
        # Videos and uploads the emulator may hold: one per file added, plus what requests
        # in flight at a crash (or a full store) may have created unknown to the next process.
        self.video_budget = 0
        self.orphan_uploads_allowed = 0
        # UPL-DUR-011: uploads an exit left open with their parts, their ids never written
        # by a full store; the only open uploads on a finished file's key that hold parts.
        self.lost_to_full_store: set[str] = set()
        self.store_was_full = False  # saves may have been lost since the last crash
        self.random = random.Random(0)
        self.parallel = 2
        self.sources: dict[str, BytesSource] = {}  # file id -> source (this instance)
        self.high: dict[tuple[str, int], int] = {}  # (file id, attempt) -> bytes
        self.video_of: dict[str, str] = {}  # source identity -> VideoId bound to it
        self.canceled_uploads: set[str] = set()
        # OSS resets installed since the last settle: each costs the uploader one backoff
        # (at most FAST_RETRIES.max_delay: jitter only shortens it) before the next probe.
        self.outage_resets = 0
        self.cleaned_uploads: set[str] = set()
        self.vod = self.new_vod()

    def new_vod(self) -> Vod:
        def on_bytes(view: Any, done: int, total: int) -> None:
            key = (view.file_id, view.attempt)
            assert done >= self.high.get(key, 0), "progress went backwards"
            self.high[key] = done

        self.high.clear()
        return Vod(
            part_size=MIN_PART,
            parallel=self.parallel,
            max_concurrent_files=2,
            retry_policy=FAST_RETRIES,
            checkpoint_store=self.store,
            transport=self.transport,
            auth_provider=VodAuthProvider(self.api),
            rng=self.random,
            on_upload_bytes=on_bytes,
        )

    def teardown(self) -> None:
        self.vod.close()
        self.transport.close()
        self.api.close()
        self.mock.__exit__(None, None, None)

    # ------------------------------------------------------------------ user calls

    @initialize(
        sizes=st.lists(st.tuples(SIZES, st.integers(0, 3)), min_size=1, max_size=3),
        start=st.booleans(),
    )
    def begin(self, sizes: list[tuple[int, int]], start: bool) -> None:
        for size, seed in sizes:
            self.add_file(size, seed)
        if start:
            self.vod.start_upload()

    @rule(size=SIZES, seed=st.integers(min_value=0, max_value=3))
    def add_file(self, size: int, seed: int) -> None:
        if len(self.sources) >= 4:
            return
        identity = f"file-{size}-{seed}"
        data = random.Random(f"{size}/{seed}").randbytes(size)
        source = BytesSource(data, name=f"{identity}.mp4", identity=identity)
        if any(s.identity == identity for s in self.sources.values()):
            return  # the same content twice in one list would share one checkpoint
        view = self.vod.add_file(source)
        self.sources[view.file_id] = source
        self.video_budget += 1

    @rule()
    def start_upload(self) -> None:
        with contextlib.suppress(UsageError):
            self.vod.start_upload()

    @rule()
    def stop_upload(self) -> None:
        with contextlib.suppress(UsageError):
            self.vod.stop_upload()

    @rule(
        index=st.integers(min_value=0, max_value=4),
        call=st.sampled_from(["cancel_file", "delete_file", "pause_file", "resume_file"]),
    )
    def file_call(self, index: int, call: str) -> None:
        # The view and the call in one lock hold: an answer landing in between (an upload
        # id adopted) would make the view the model records stale.
        with self.vod._driver.lock:
            views = self.vod.list_files()
            if index >= len(views):
                return
            view = views[index]
            try:
                getattr(self.vod, call)(view.file_id)
            except UsageError:
                return
        if call in ("cancel_file", "delete_file"):
            if view.upload_id:
                self.canceled_uploads.add(view.upload_id)
            self.video_of.pop(self.sources[view.file_id].identity, None)
            if call == "delete_file":
                self.sources.pop(view.file_id, None)

    @rule()
    def clean_list(self) -> None:
        # What was forgotten is what the lists showed in the same instant: an Initiate
        # answered, or a file finished, between a look and the call would otherwise be
        # missing from the model (an upload kept open that it never named; a finished
        # file's identity still bound to its video, so its next upload looked like a second
        # video). Both failed the machine under CPU load.
        with self.vod._driver.lock:
            views = self.vod.list_files()
            self.vod.clean_list()
        # Kept open on purpose: a later add of the same file resumes them (UP-API-006).
        self.cleaned_uploads.update(v.upload_id for v in views if v.upload_id)
        self._forget_finished(views)
        self.sources.clear()

    def _forget_finished(self, views: list[Any]) -> None:
        """A finished file has no checkpoint left: the same content added again is a new
        upload and may get a new video."""
        for view in views:
            source = self.sources.get(view.file_id)
            if source is not None and view.state is FileState.SUCCESS:
                self.video_of.pop(source.identity, None)

    @rule(kind=st.sampled_from(sorted(FAULTS)), times=st.integers(min_value=1, max_value=2))
    def inject_fault(self, kind: str, times: int) -> None:
        effect, match = FAULTS[kind]
        self.emu.control.add_fault(effect=effect, match=match, times=times)

    @rule(times=st.integers(min_value=3, max_value=12))
    def outage(self, times: int) -> None:
        """UP-OUTAGE-001: the next ``times`` OSS requests, whatever they are, are reset: an
        outage the uploader rides out as a whole (one probe at a time)."""
        self.emu.control.add_fault(
            effect=Effect.reset_before_body(), match=Match(service="oss"), times=times
        )
        self.outage_resets += times

    @rule()
    def crash_before_the_last_saves(self) -> None:
        """UP-RESUME-009: the process dies after parts were acknowledged but before the
        checkpoint recorded them (each record loses its later half of parts); the resume
        adopts the listed parts whose bytes match instead of sending them again."""
        with contextlib.suppress(UploadWaitTimeout):
            self.vod.wait(timeout=0.05)
        with contextlib.suppress(CheckpointStoreError):  # a full store keeps what it had
            self.vod._store.flush()
        stored = self.store.keys()
        for key in stored:
            record = self.store.load(key)
            if record and record.get("parts"):
                parts = record["parts"]
                record = {**record, "parts": parts[: len(parts) // 2]}
                self.store.save(key, record)
        self.crash_and_resume()

    @rule()
    def expire_tokens(self) -> None:
        for token in self.emu.control.tokens():
            if token.kind == "upload-auth" and not token.expired:
                self.emu.control.expire_token(token)

    @rule()
    def settle(self) -> None:
        # Outage rules stack up between settles (each 3-12 resets, ridden out one probe
        # per backoff): the deadline grows with them, so a slow but correct ride-out under
        # CPU load is not taken for a hang, and a real hang still fails here, loudly.
        deadline = 20 + self.outage_resets * 2 * FAST_RETRIES.max_delay
        try:
            self.vod.wait(timeout=deadline)
        except UploadWaitTimeout:
            raise AssertionError(
                f"the uploader did not settle in {deadline:.1f} s: "
                f"{[(v.file_id, v.state.name) for v in self.vod.list_files()]}"
            ) from None
        # wait() returns once every file is final; a canceled file's abort may still be on
        # its way (UP-CANCEL-007: it waits out an outage), and what it leaves open is
        # judged once it has landed or given up.
        core = self.vod._core
        settled = self.vod._driver.wait_until(lambda: not core.pending_aborts(), 20)
        assert settled, "an abort still pending after 20 s"
        self.check_settled()

    @rule(delay=st.sampled_from([0.0, 0.001, 0.004, 0.015]))
    def crash_early(self, delay: float) -> None:
        """UPL-DUR-008 UPL-DUR-001: SIGKILL ``delay`` seconds after (re)starting, often before
        the first durable VideoId. The next process sees only what was flushed."""
        if not self.sources:
            return
        with contextlib.suppress(UsageError):
            self.vod.start_upload()
        time.sleep(delay)
        with self.vod._driver.lock:  # the instant of the kill
            durable = self.store.durable()
            full = self.store.full
            in_flight = self.vod._core.in_flight()
            views = {v.file_id: v for v in self.vod.list_files()}
            undurable = self.vod._driver.undurable_files()
            # A killed process sends nothing more: stopped in the same instant, so no
            # request goes out between this snapshot and close() (an upload or a video
            # made then would be unknown to the next process, a model artefact).
            with contextlib.suppress(UsageError):
                self.vod.stop_upload()
        lossy = full or self.store_was_full
        self.store_was_full = False
        self._allow_for_in_flight(in_flight)
        # UPL-DUR-009: a barrier save still being flushed (off the lock) dies with the
        # process, as an answer in flight would; nothing that depends on it was sent.
        self.video_budget += len(undurable)
        self.orphan_uploads_allowed += len(undurable)
        self.vod.close()
        if lossy:  # saves were lost: a new process may not know the videos
            self.video_budget += len(views)
            self._allow_for_full_store(views.values(), durable)
        self.store = LazyStore(durable)
        self.vod = self.new_vod()
        old_sources, self.sources = self.sources, {}
        for file_id, source in old_sources.items():
            previous = views.get(file_id)
            if previous is None or previous.state is FileState.SUCCESS:
                self.video_of.pop(source.identity, None)
                continue
            view = self.vod.add_file(source)
            self.sources[view.file_id] = source
            if previous.state is FileState.CANCELED:
                # Its checkpoint was deleted on purpose (maybe durably, UP-API-003): the
                # next process may not know its VideoId, and a start makes a new video.
                self.video_budget += 1
                continue
            if view.video_id is None and previous.video_id is not None:
                # Its VideoId never became durable: only a full store, or a flush still
                # running at the kill, excuses that.
                assert lossy or file_id in undurable, "a VideoId used before it was durable"
                self.video_of.pop(source.identity, None)

    def _allow_for_in_flight(self, in_flight: Any) -> None:
        """A process that exits with a CreateUploadVideo or an Initiate in flight may leave a
        video or an upload whose id it never learned (UPL-DUR-001's residual): allowed,
        once per such request, and nothing else."""
        for request in in_flight:
            if isinstance(request, RequestAuth | CallVod) and request.video_id is None:
                self.video_budget += 1  # CreateUploadVideo may land, its answer lost
            elif isinstance(request, InitiateMultipart):
                self.orphan_uploads_allowed += 1

    def _allow_for_full_store(self, views: Iterable[Any], durable: dict[str, object]) -> None:
        """UPL-DUR-011: after an exit with a failing store, the uploads whose ids never
        reached the disk (``views``: the files as the exiting process last knew them) stay
        open with their parts: the next process cannot name them. Allowed, each once, and
        nothing else."""
        lost = uploads_lost_to_a_full_store(views, durable)
        self.orphan_uploads_allowed += len(lost - self.lost_to_full_store)
        self.lost_to_full_store |= lost

    @rule(full=st.booleans())
    def fill_store(self, full: bool) -> None:
        """UPL-DUR-008 UPL-DUR-002: the checkpoint directory fills up (or is freed): uploads
        go on, results are still reported."""
        self.store.full = full
        self.store_was_full = self.store_was_full or full

    @rule()
    def crash_and_resume(self) -> None:
        """Close the uploader (a process exit) and build a new one over the same store.
        (No precondition: which files remain depends on thread timing, and Hypothesis needs
        the rule choice to be independent of it.)"""
        if not self.sources:
            return
        with contextlib.suppress(UploadWaitTimeout):
            self.vod.wait(timeout=0.05)
        lossy = self.store.full or self.store_was_full
        with self.vod._driver.lock:  # what the exit may cut off
            self._allow_for_in_flight(self.vod._core.in_flight())
            # close() stops first; stopped in the same instant, so no request counted
            # out here goes out before it (UP-API-008), as in crash_early.
            with contextlib.suppress(UsageError):
                self.vod.stop_upload()
        self.vod.close()
        # The files as the exit left them: one may still have finished on an answer in
        # flight at the stop (a look before it would re-add a finished file, whose new
        # video nobody counted).
        views = self.vod.list_files()
        before = {self.sources[v.file_id].identity: v for v in views}
        self.store.full = self.store_was_full = False  # a new process, a freed disk
        if lossy:  # the flush at close failed: the next process may not know the videos
            self.video_budget += len(views)
            self._allow_for_full_store(self.vod.list_files(), self.store.durable())
            for view in views:
                self.video_of.pop(self.sources[view.file_id].identity, None)
        self._forget_finished(self.vod.list_files())
        self.vod = self.new_vod()
        old_sources, self.sources = self.sources, {}
        for source in old_sources.values():
            previous = before.get(source.identity)
            if previous is None or previous.state is FileState.SUCCESS:
                continue
            view = self.vod.add_file(source)
            self.sources[view.file_id] = source
            if previous.state is FileState.CANCELED:
                self.video_budget += 1  # as in crash_early: its checkpoint was deleted
            if view.video_id is not None:
                assert previous.video_id in (None, view.video_id)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def one_video_per_file(self) -> None:
        for view in self.vod.list_files():
            source = self.sources.get(view.file_id)
            if source is None or view.video_id is None or view.state is FileState.CANCELED:
                continue
            bound = self.video_of.setdefault(source.identity, view.video_id)
            assert bound == view.video_id, "a second video for one file"

    @invariant()
    def one_video_per_file_in_the_service(self) -> None:
        """UPL-DUR-008 UP-DEV-034: every video in the service is accounted for."""
        videos = self.emu.control.state()["vod"]["videos"]
        assert len(videos) <= self.video_budget, "a video nobody can account for"

    @invariant()
    def nothing_open_after_success(self) -> None:
        """UPL-DUR-008 UP-DUR-004: a finished file's upload is closed."""
        # The views first, then the service: the uploader runs meanwhile, and what it saw
        # finished must be closed on the server when looked at afterwards (an abort may
        # still be on its way).
        with self.vod._driver.lock:
            views = self.vod.list_files()
            aborting = {
                r.upload_id for r in self.vod._core.in_flight() if isinstance(r, AbortMultipart)
            }
        open_ids = {u["upload_id"] for u in self.emu.control.state()["oss"]["uploads"]}
        for view in views:
            if view.state is FileState.SUCCESS and view.upload_id not in aborting:
                assert view.upload_id not in open_ids, "a finished file left its upload open"

    @invariant()
    def outcomes_accepted(self) -> None:
        refused = self.vod._driver.refused_outcomes
        assert not refused, [(type(o).__name__, str(e)) for o, e in refused]

    @invariant()
    def parallel_bound(self) -> None:
        assert all(peak <= self.parallel for peak in self.transport.peak.values())

    def check_settled(self) -> None:
        # An outage fault may outlive the uploads it hit; the checks below are not uploads.
        self.emu.control.clear_faults()
        self.outage_resets = 0
        root = Credentials(
            access_key_id=self.emu.access_key_id, access_key_secret=self.emu.access_key_secret
        )
        for view in self.vod.list_files():
            if view.state is FileState.SUCCESS:
                source = self.sources[view.file_id]
                assert view.target is not None
                info = self.transport.head_object(view.target, root)
                data = source.read(0, source.size)
                assert info is not None and (info.size, info.crc64) == (len(data), crc64(data))
        state = self.emu.control.state()
        open_ids = {u["upload_id"] for u in state["oss"]["uploads"]}
        # Nothing left open after a final state: a finished file's key has no open upload.
        finished = {
            v.target.key for v in self.vod.list_files() if v.state is FileState.SUCCESS and v.target
        }
        # The exceptions are the documented residuals: an Initiate in flight when the
        # process died made an upload whose id never reached disk, with no part
        # (UPL-DUR-010); an exit while the store was failing left the upload whose id it
        # could not write, with the parts it sent (UPL-DUR-011).
        left = [u for u in state["oss"]["uploads"] if u["key"] in finished]
        assert len(left) <= self.orphan_uploads_allowed, "upload left open"
        with_parts = {u["upload_id"] for u in left if u["parts"]}
        assert with_parts <= self.lost_to_full_store, "a finished file's parts went elsewhere"
        # Even after expire_tokens: the driver refreshes the video's credentials to abort.
        assert not (open_ids & self.canceled_uploads), "a canceled file left its upload open"
        # UP-DUR-004: every open upload is one a file in the list can still continue.
        continuable = {
            v.upload_id
            for v in self.vod.list_files()
            if v.state not in (FileState.SUCCESS, FileState.CANCELED)
        }
        orphans = open_ids - continuable - self.canceled_uploads - self.cleaned_uploads
        assert len(orphans) <= self.orphan_uploads_allowed, "an upload left open"


DriverMachine.TestCase.settings = settings(
    DriverMachine.TestCase.settings,
    max_examples=min(settings().max_examples, 40),
    stateful_step_count=20,
    deadline=None,
)
TestDriverMachine = DriverMachine.TestCase
