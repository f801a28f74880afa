"""``vodref``: upload files to ApsaraVideo VOD (or to the embedded emulator) from a shell.

Commands:

- ``vodref upload FILE...``: one progress bar per file; prints ``FILE<TAB>VideoId: ID`` (or
  ``ImageURL``) per file. With no ``--endpoint`` (and no ``VODREF_VOD_ENDPOINT``) it starts
  the emulator on loopback with its state in the per-user data directory, so re-running the
  same command after an interruption resumes the same video without re-sending finished
  parts. Two runs at once share that directory one after the other: the second waits.
  On Ctrl-C and SIGTERM every file that finished is still printed. A file uploaded before
  by the same command (same file, size, mtime, content, title, target and account) is
  reported, not uploaded again, unless ``--upload-again`` is given. Exit statuses are
  listed in ``vodref upload --help`` (3: done, but the checkpoint directory failed).
- ``vodref demo``: writes a sample video file and uploads it to an emulator of its own; the
  one command a newcomer runs first. Each run starts that emulator afresh and reuses the
  sample, so the demo's footprint stays one sample and one upload.
- ``vodref checkpoints list|clean``: the resume records kept for unfinished uploads.
- ``vodref emulator ...``: the emulator on its own (same options as ``vodref-emulator``).
- ``vodref conformance ...``: the conformance suite (:mod:`vodref.conformance`; everything
  after ``conformance`` goes to its parser, and its exit codes are its own).

Credentials come from ``--access-key-id``/``--access-key-secret``/``--security-token`` or,
better (not visible in ``ps``), from ``ALIBABA_CLOUD_ACCESS_KEY_ID``,
``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` and ``ALIBABA_CLOUD_SECURITY_TOKEN``. With a security
token the uploader runs in STS mode (the JS ``setSTSToken`` flow).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import platformdirs

from ..api import Vod
from ..api.js_options import retry_from_js
from ..core import StsToken, UploaderOptions, VodrefError, plan_parts
from ..errors import CheckpointStoreError, FileBusyError, UploadWaitTimeout
from ..sources import open_source
from ..stores import FileCheckpointStore
from ..transport import OssHttpTransport
from ..vod_api import AcsVodApi, VodAuthProvider
from .checkpoints import run_checkpoints
from .embedded import EmbeddedEmulator, EmulatorUnavailableError, rebasing_transport
from .logs import configure_logging
from .options import (
    EXIT_DONE_NOT_RESUMABLE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    UsageProblem,
    build_parser,
    flag_message,
    parse_arguments,
    resolve_environment,
)
from .progress import format_bytes
from .report import Reporter, choose_progress_mode

__all__ = ["main", "run_demo", "run_upload"]

log = logging.getLogger("vodref.cli")

# The JS retryDuration default; the CLI has no option for it.
RETRY_DURATION = 2.0


@contextlib.contextmanager
def _service(args: argparse.Namespace, err: TextIO) -> Iterator[dict[str, Any]]:
    """The uploader's wiring: the embedded emulator, or the configured endpoint."""
    if args.endpoint:
        if not (args.access_key_id and args.access_key_secret):
            raise UsageProblem(
                "an endpoint needs credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET (or pass --access-key-id/--access-key-secret)"
            )
        yield {
            "scope": args.endpoint,
            "vod_endpoint": args.endpoint,
            "region": args.region,
            "access_key_id": args.access_key_id,
            "access_key_secret": args.access_key_secret,
            "security_token": args.security_token,
            "transport": _oss_transport(args, args.region) if args.oss_signature == "v4" else None,
        }
        return
    data_dir = Path(args.emulator_data_dir) if args.emulator_data_dir else None
    faults_json = os.environ.get("VODREF_EMULATOR_FAULTS")
    try:
        faults = json.loads(faults_json) if faults_json else None
    except ValueError:
        raise UsageProblem("VODREF_EMULATOR_FAULTS is not JSON") from None

    def waiting(holder: str) -> None:
        err.write(
            f"vodref: the embedded emulator's data directory is in use by {holder}; "
            "waiting for it to finish (Ctrl-C to stop; or give another "
            "--emulator-data-dir)\n"
        )
        err.flush()

    with EmbeddedEmulator(
        data_dir, faults=faults, fresh=getattr(args, "fresh_emulator", False), on_wait=waiting
    ) as embedded:
        err.write(
            f"vodref: no --endpoint given; using the embedded emulator at {embedded.url} "
            f"(state in {embedded.data_dir})\n"
        )
        err.flush()
        yield {
            # The embedded emulator's port changes every run; its data directory does not.
            "scope": f"embedded:{embedded.data_dir}",
            "vod_endpoint": embedded.url,
            "region": embedded.region,
            "access_key_id": embedded.access_key_id,
            "access_key_secret": embedded.access_key_secret,
            "security_token": None,
            "transport": rebasing_transport(
                _oss_transport(args, embedded.region if args.oss_signature == "v4" else None),
                embedded.url,
            ),
        }


def _oss_transport(args: argparse.Namespace, v4_region: str | None) -> OssHttpTransport:
    """The OSS transport: Signature V4 scoped to ``v4_region`` when given, else V1. For VOD
    the region of the files is VOD's own (--region; the embedded emulator's)."""
    return OssHttpTransport(
        timeout=args.timeout,
        pool_size=args.parallel * args.concurrent_files + 4,
        region=v4_region,
    )


def _auth_provider(service: dict[str, Any], args: argparse.Namespace) -> Any:
    if service["security_token"]:
        token = StsToken(
            access_key_id=service["access_key_id"],
            access_key_secret=service["access_key_secret"],
            security_token=service["security_token"],
        )
        return lambda request: token  # STS mode: the uploader calls VOD with the token
    api = AcsVodApi(
        service["access_key_id"],
        service["access_key_secret"],
        region=service["region"],
        endpoint=service["vod_endpoint"],
        timeout=args.timeout,
    )
    return VodAuthProvider(api)


def _checked_options(args: argparse.Namespace, paths: Sequence[str]) -> UploaderOptions:
    """The files checked and the uploader's options validated, once: bad input fails before
    anything starts (an emulator, a connection)."""
    for path in paths:
        open_source(path).close()
    return UploaderOptions(
        part_size=args.part_size,
        parallel=args.parallel,
        max_concurrent_files=args.concurrent_files,
        multipart_threshold=args.multipart_threshold,
        retry=replace(retry_from_js(args.retry_count, RETRY_DURATION), budget=args.retry_budget),
        outage_limit=args.outage_limit,
        credentials_timeout=args.credentials_timeout,
        checkpoint_interval=_checkpoint_interval(paths, args.part_size),
        timeout=args.timeout,
        # The region the options carry serves STS-mode VOD calls, which only an --endpoint
        # run makes; the embedded emulator's own region goes to its auth provider.
        region=args.region,
    )


# Above this many parts a file is checkpointed at most twice a second instead of after every
# part: the core's save is cheap (bench/bench_core.py: ~23 us/part at 10,000 parts), but the
# file store still walks every part to find what a write adds, which at thousands of parts
# costs more than a crash could (half a second of parts sent again).
_PER_PART_CHECKPOINT_LIMIT = 2000


def _checkpoint_interval(paths: Sequence[str], part_size: int) -> float:
    largest = max((os.path.getsize(path) for path in paths), default=0)
    parts = plan_parts(largest, part_size).part_count  # the threshold changes no big file
    return 0.0 if parts <= _PER_PART_CHECKPOINT_LIMIT else 0.5


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (UPL-DUR-003)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _finished_scope(service: dict[str, Any]) -> str:
    """Where the videos go (service, region, account), hashed: no AccessKeyId is stored."""
    parts = (service["scope"], service["region"], service["access_key_id"] or "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def run_upload(args: argparse.Namespace, paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    with _sigterm_as_interrupt():
        return _run_upload(args, paths, out, err)


def _run_upload(args: argparse.Namespace, paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    options = _checked_options(args, paths)
    mode = choose_progress_mode(args.progress, err)
    log.info(
        "%d file(s); parts of %s, %d in flight per file, %d file(s) at once, %d retries, "
        "%.0f s timeout; progress: %s",
        len(paths),
        format_bytes(options.part_size),
        options.parallel,
        options.max_concurrent_files,
        options.retry.max_retries,
        args.timeout,
        mode,
    )
    store = _checkpoint_store(args.checkpoint_dir)
    with contextlib.ExitStack() as cleanup:
        if store is not None:
            cleanup.callback(store.close)
        return _upload(args, paths, options=options, store=store, mode=mode, out=out, err=err)


def _checkpoint_store(directory: str | None) -> FileCheckpointStore | None:
    """The store for ``--checkpoint-dir``, made before anything starts, so a directory that
    cannot be used is a usage error (None: the uploader's default store)."""
    if not directory:
        return None
    try:
        return FileCheckpointStore(directory)
    except CheckpointStoreError as error:
        reason = "it is a file" if Path(directory).is_file() else str(error)
        raise UsageProblem(f"cannot use --checkpoint-dir {directory}: {reason}") from None


def _upload(
    args: argparse.Namespace,
    paths: Sequence[str],
    *,
    options: UploaderOptions,
    store: FileCheckpointStore | None,
    mode: str,
    out: TextIO,
    err: TextIO,
) -> int:
    with _service(args, err) as service:
        reporter = Reporter(mode, out, err)
        vod = Vod(
            options=options,
            auth_provider=_auth_provider(service, args),
            vod_endpoint=service["vod_endpoint"],
            transport=service["transport"],
            checkpoint_store=store,
            finished_scope=_finished_scope(service),
            on_upload_started=reporter.started,
            on_upload_bytes=reporter.progress,
            on_upload_succeed=reporter.succeeded,
            on_upload_failed=reporter.failed,
        )
        status = EXIT_OK
        interrupted: KeyboardInterrupt | None = None
        try:
            # The title travels as the JS paramData does, so both credential modes use it.
            param_data = {"Vod": {"Title": args.title}} if args.title else None
            is_image = True if args.image else None
            added = 0
            for path in paths:
                earlier = None
                if not args.upload_again:
                    earlier = vod.find_finished(path, param_data=param_data, is_image=is_image)
                if earlier is not None:
                    # UPL-DUR-004: the same command uploaded this very file before.
                    reporter.earlier(path, video_id=earlier.video_id, image_url=earlier.image_url)
                    continue
                try:
                    view = vod.add_file(path, param_data=param_data, is_image=is_image)
                except FileBusyError as busy:  # UPL-DUR-007
                    err.write(f"vodref: {busy}\n")
                    status = EXIT_FAILED
                    continue
                reporter.added(view, path)
                added += 1
            if added:
                vod.start_upload()
                while True:
                    try:
                        vod.wait(timeout=0.5)
                        break
                    except UploadWaitTimeout:
                        continue
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (UPL-DUR-003)
            interrupted = interrupt
            reporter.close_display()  # no redraw may land after the notice
            with contextlib.suppress(VodrefError):
                vod.stop_upload()
        finally:
            views = vod.list_files()
            vod.close()
            views = vod.list_files()
            vod.close()
            reporter.close_display()
        for view in views:
            log.info(
                "%s: %s, %d of %d bytes",
                reporter.label(view),
                view.state.value,
                view.bytes_done,
                view.size,
            )
        # UPL-DUR-003: what finished before (or while) stopping is reported on interrupt too.
        all_ok = reporter.finish(views, interrupted=interrupted is not None)
        store_failed = _report_store_failures(vod, err)
    if interrupted is not None:
        return EXIT_TERMINATED if isinstance(interrupted, _Terminated) else EXIT_INTERRUPTED
    if not all_ok:
        return EXIT_FAILED
    if status != EXIT_OK:
        return status
    return EXIT_DONE_NOT_RESUMABLE if store_failed else EXIT_OK


def _report_store_failures(vod: Vod, err: TextIO) -> bool:
    """Say that results are not resumable nor remembered when the checkpoint store failed."""
    failures = vod.store_failures
    if failures:
        err.write(
            f"vodref: the checkpoint directory failed ({failures[0]}): the results above are "
            "done but not resumable, and a re-run would not know about them\n"
        )
    return bool(failures)


def run_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The sample is written once per size and reused (same bytes every time), other sizes'
    samples are removed, and the demo's emulator starts from nothing on every run: its
    footprint is one sample and one uploaded copy, however often it runs."""
    demo_dir = Path(platformdirs.user_data_dir("vodref")) / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    sample = demo_dir / f"sample-{args.size}.mp4"
    for other in demo_dir.glob("sample-*.mp4"):
        if other != sample:
            other.unlink(missing_ok=True)
    if not sample.exists() or sample.stat().st_size != args.size:
        generator = random.Random(20170321)
        temp = sample.with_suffix(".tmp")
        with temp.open("wb") as handle:
            remaining = args.size
            while remaining:
                chunk = min(remaining, 1 << 20)
                handle.write(generator.randbytes(chunk))
                remaining -= chunk
        temp.replace(sample)
    # Its own emulator and resume records, both started afresh: a record left by an
    # interrupted demo must not point the new run at a video the fresh emulator never had.
    args.emulator_data_dir = str(demo_dir / "emulator")
    args.fresh_emulator = True
    args.checkpoint_dir = str(demo_dir / "checkpoints")
    shutil.rmtree(args.checkpoint_dir, ignore_errors=True)
    err.write(f"vodref demo: uploading {sample} ({args.size} bytes)\n")
    return run_upload(args, [str(sample)], out, err)


def _secrets(args: argparse.Namespace) -> list[str]:
    return [
        value
        for value in (
            getattr(args, "access_key_id", None),
            getattr(args, "access_key_secret", None),
            getattr(args, "security_token", None),
        )
        if value
    ]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    if arguments[:1] == ["emulator"]:
        try:
            from emulator.cli import main as emulator_main  # noqa: PLC0415 (only this command)
        except ImportError as error:
            err.write(f"vodref: the emulator is not available ({error})\n")
            return EXIT_USAGE
        return int(emulator_main(arguments[1:]) or 0)
    if arguments[:1] == ["conformance"]:
        from vodref.conformance.cli import main as conformance_main  # noqa: PLC0415

        return conformance_main(arguments[1:], prog="vodref conformance")
    try:
        args = parse_arguments(build_parser(), arguments)
        resolve_environment(args)
        configure_logging(args.verbose, secrets=_secrets(args))
        if args.command == "checkpoints":
            return run_checkpoints(args, out, err)
        if args.command == "demo":
            return run_demo(args, out, err)
        return run_upload(args, args.files, out, err)
    except (UsageProblem, EmulatorUnavailableError) as problem:
        err.write(f"vodref: {problem}\n")
        return EXIT_USAGE
    except VodrefError as error:  # bad input: missing file, bad part size, ...
        err.write(f"vodref: {flag_message(str(error))}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("\nvodref: interrupted\n")
        return EXIT_INTERRUPTED
