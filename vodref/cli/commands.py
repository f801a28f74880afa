"""``vodref``: upload files to ApsaraVideo VOD (or to the embedded emulator) from a shell.

Commands:

- ``vodref upload FILE...``: one progress bar per file; prints ``VideoId`` (or ``ImageURL``)
  per file; exit status 0 when every file succeeded, 1 when one failed, 2 on bad usage,
  130 on Ctrl-C. With no ``--endpoint`` (or ``VODREF_VOD_ENDPOINT``) it starts the emulator
  on loopback with its state in the per-user data directory, so re-running the same command
  after an interruption resumes the same video without re-sending finished parts.
- ``vodref emulator ...``: the emulator on its own (same options as ``vodref-emulator``).
- ``vodref demo``: writes a sample video file and uploads it to the embedded emulator; the
  one command a newcomer runs first.

Credentials come from ``--access-key-id``/``--access-key-secret``/``--security-token`` or,
better (not visible in ``ps``), from ``ALIBABA_CLOUD_ACCESS_KEY_ID``,
``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` and ``ALIBABA_CLOUD_SECURITY_TOKEN``. With a security
token the uploader runs in STS mode (the JS ``setSTSToken`` flow).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import platformdirs

from ..api import Vod
from ..api.js_options import retry_from_js
from ..core import FileState, FileView, StsToken, UploaderOptions, VodrefError, plan_parts
from ..errors import UploadWaitTimeout
from ..sources import open_source
from ..stores import FileCheckpointStore
from ..transport import OssHttpTransport
from ..vod_api import AcsVodApi, VodAuthProvider
from .embedded import EmbeddedEmulator, EmulatorUnavailableError, rebasing_transport
from .progress import ProgressBoard

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# The JS retryDuration default; the CLI has no option for it.
RETRY_DURATION = 2.0
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``1048576``, ``1MiB``, ``512KiB``, ``5M`` (binary units) -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1MiB or 102400)")
    number, unit = float(match.group(1)), (match.group(2) or "b").lower()
    scale = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit[0]]
    return int(number * scale)


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vodref", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    upload = commands.add_parser("upload", help="upload files (resumable)")
    upload.add_argument("files", nargs="+", metavar="FILE")
    _add_upload_options(upload)

    demo = commands.add_parser(
        "demo", help="upload a generated sample file to the embedded emulator"
    )
    demo.add_argument("--size", type=parse_size, default=parse_size("8MiB"), help="default 8MiB")
    _add_upload_options(demo, for_demo=True)

    # Listed for the help text only: main() hands everything after "emulator" to the
    # emulator's own parser, so "vodref emulator --help" shows the emulator's options.
    commands.add_parser("emulator", help="run the emulator (same options as vodref-emulator)")
    return parser


def _add_upload_options(parser: argparse.ArgumentParser, *, for_demo: bool = False) -> None:
    parser.add_argument("--title", help="video title (default: the file name without extension)")
    parser.add_argument("--image", action="store_true", help="upload as images (CreateUploadImage)")
    parser.add_argument("--part-size", type=parse_size, default=parse_size("1MiB"))
    parser.add_argument("--parallel", type=int, default=5, help="parts in flight per file")
    parser.add_argument("--concurrent-files", type=int, default=1, help="files at once")
    parser.add_argument("--retry-count", type=int, default=3)
    # UP-OUTAGE-004: the retry budget, outage limit and credentials deadline.
    parser.add_argument("--retry-budget", type=int, default=50, help="retries per file in a row")
    parser.add_argument("--outage-limit", type=float, default=300.0, help="seconds of outage")
    parser.add_argument("--credentials-timeout", type=float, default=300.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument(
        "--progress",
        choices=("auto", "bars", "lines", "json", "none"),
        default="auto",
        help="bars on a terminal, lines otherwise; json prints one event per line",
    )
    parser.add_argument(
        "--checkpoint-dir",
        default=_env("VODREF_CHECKPOINT_DIR"),
        help="where resume records go (default: the per-user cache directory)",
    )
    if for_demo:
        parser.set_defaults(
            endpoint=None,
            access_key_id=None,
            access_key_secret=None,
            security_token=None,
            region="cn-shanghai",
        )
    else:
        parser.add_argument(
            "--endpoint",
            default=_env("VODREF_VOD_ENDPOINT"),
            help="VOD OpenAPI endpoint, e.g. https://vod.cn-shanghai.aliyuncs.com "
            "(env VODREF_VOD_ENDPOINT); none: the embedded emulator",
        )
        parser.add_argument("--region", default=_env("ALIBABA_CLOUD_REGION_ID", "cn-shanghai"))
        parser.add_argument("--access-key-id", default=_env("ALIBABA_CLOUD_ACCESS_KEY_ID"))
        parser.add_argument("--access-key-secret", default=_env("ALIBABA_CLOUD_ACCESS_KEY_SECRET"))
        parser.add_argument("--security-token", default=_env("ALIBABA_CLOUD_SECURITY_TOKEN"))
    parser.add_argument(
        "--emulator-data-dir",
        default=_env("VODREF_EMULATOR_DATA_DIR"),
        help="state of the embedded emulator (default: the per-user data directory)",
    )


class _Reporter:
    """Turns uploader callbacks into progress output and remembers each file's result."""

    def __init__(self, mode: str, stream: TextIO) -> None:
        self._stream = stream
        self._mode = mode
        self._lock = threading.Lock()
        self._board = None
        self.failures: dict[str, tuple[str, str]] = {}
        if mode in ("bars", "lines"):
            self._board = ProgressBoard(stream, interactive=mode == "bars")

    def _json(self, **fields: Any) -> None:
        with self._lock:
            self._stream.write(json.dumps(fields) + "\n")
            self._stream.flush()

    def added(self, view: FileView) -> None:
        if self._board is not None:
            self._board.add(view.file_id, view.name, view.size)

    def started(self, view: FileView) -> None:
        if self._mode == "json":
            self._json(event="started", file=view.name, video_id=view.video_id)

    def progress(self, view: FileView, done: int, total: int) -> None:
        if self._board is not None:
            self._board.update(view.file_id, done)
        elif self._mode == "json":
            self._json(
                event="progress",
                file=view.name,
                bytes=done,
                total=total,
                video_id=view.video_id,
                upload_id=view.upload_id,
            )

    def succeeded(self, view: FileView) -> None:
        if self._board is not None:
            self._board.finish(view.file_id, "done")
        elif self._mode == "json":
            self._json(
                event="succeeded", file=view.name, video_id=view.video_id, image_url=view.image_url
            )

    def failed(self, view: FileView, code: str, message: str) -> None:
        self.failures[view.file_id] = (code, message)
        if self._board is not None:
            self._board.finish(view.file_id, f"FAILED {code}")
        elif self._mode == "json":
            self._json(event="failed", file=view.name, code=code, message=message)

    def close(self) -> None:
        if self._board is not None:
            self._board.close()


def _progress_mode(requested: str, stream: TextIO) -> str:
    if requested != "auto":
        return requested
    return "bars" if stream.isatty() else "lines"


@contextlib.contextmanager
def _service(args: argparse.Namespace, err: TextIO) -> Iterator[dict[str, Any]]:
    """The uploader's wiring: the embedded emulator, or the configured endpoint."""
    if args.endpoint:
        if not (args.access_key_id and args.access_key_secret):
            raise _UsageProblem(
                "an endpoint needs credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET (or pass --access-key-id/--access-key-secret)"
            )
        yield {
            "vod_endpoint": args.endpoint,
            "region": args.region,
            "access_key_id": args.access_key_id,
            "access_key_secret": args.access_key_secret,
            "security_token": args.security_token,
            "transport": None,
        }
        return
    data_dir = Path(args.emulator_data_dir) if args.emulator_data_dir else None
    faults_json = os.environ.get("VODREF_EMULATOR_FAULTS")
    try:
        faults = json.loads(faults_json) if faults_json else None
    except ValueError:
        raise _UsageProblem("VODREF_EMULATOR_FAULTS is not JSON") from None
    with EmbeddedEmulator(data_dir, faults=faults) as embedded:
        err.write(
            f"vodref: no --endpoint given; using the embedded emulator at {embedded.url} "
            f"(state in {embedded.data_dir})\n"
        )
        err.flush()
        yield {
            "vod_endpoint": embedded.url,
            "region": embedded.region,
            "access_key_id": embedded.access_key_id,
            "access_key_secret": embedded.access_key_secret,
            "security_token": None,
            "transport": rebasing_transport(
                OssHttpTransport(
                    timeout=args.timeout, pool_size=args.parallel * args.concurrent_files + 4
                ),
                embedded.url,
            ),
        }


class _UsageProblem(Exception):
    pass


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
    if part_size <= 0:
        return 0.0  # UploaderOptions refuses this part size with a clear message
    parts = plan_parts(largest, part_size).part_count
    return 0.0 if parts <= _PER_PART_CHECKPOINT_LIMIT else 0.5


def run_upload(args: argparse.Namespace, paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    options = _checked_options(args, paths)
    reporter = _Reporter(
        _progress_mode(args.progress, err if args.progress != "json" else out),
        err if args.progress != "json" else out,
    )
    with _service(args, err) as service:
        store = FileCheckpointStore(args.checkpoint_dir) if args.checkpoint_dir else None
        vod = Vod(
            options=options,
            auth_provider=_auth_provider(service, args),
            vod_endpoint=service["vod_endpoint"],
            transport=service["transport"],
            checkpoint_store=store,
            on_upload_started=reporter.started,
            on_upload_bytes=reporter.progress,
            on_upload_succeed=reporter.succeeded,
            on_upload_failed=reporter.failed,
        )
        try:
            # The title travels as the JS paramData does, so both credential modes use it.
            param_data = {"Vod": {"Title": args.title}} if args.title else None
            views = [
                vod.add_file(path, param_data=param_data, is_image=True if args.image else None)
                for path in paths
            ]
            for view in views:
                reporter.added(view)
            vod.start_upload()
            while True:
                try:
                    final = vod.wait(timeout=0.5)
                    break
                except UploadWaitTimeout:
                    continue
        except KeyboardInterrupt:
            err.write(
                "\nvodref: interrupted; finished parts are kept. "
                "Run the same command again to resume.\n"
            )
            with contextlib.suppress(VodrefError):
                vod.stop_upload()
            vod.close()
            reporter.close()
            return EXIT_INTERRUPTED
        finally:
            vod.close()
            if store is not None:
                store.close()
        reporter.close()
    status = EXIT_OK
    for view in final:
        if view.state is FileState.SUCCESS:
            if view.image_url:
                out.write(f"{view.name}\tImageURL: {view.image_url}\n")
            else:
                out.write(f"{view.name}\tVideoId: {view.video_id}\n")
        else:
            code, message = reporter.failures.get(view.file_id, (view.state.value, ""))
            if view.error is not None:
                code, message = view.error.code, view.error.message
            err.write(
                f"vodref: {view.name}: upload failed: {code}{': ' + message if message else ''}\n"
            )
            status = EXIT_FAILED
    out.flush()
    return status


def run_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    demo_dir = Path(platformdirs.user_data_dir("vodref")) / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    sample = demo_dir / f"sample-{args.size}.mp4"
    if not sample.exists() or sample.stat().st_size != args.size:
        generator = random.Random(20170321)  # same bytes every time: a re-run resumes
        temp = sample.with_suffix(".tmp")
        with temp.open("wb") as handle:
            remaining = args.size
            while remaining:
                chunk = min(remaining, 1 << 20)
                handle.write(generator.randbytes(chunk))
                remaining -= chunk
        temp.replace(sample)
    err.write(f"vodref demo: uploading {sample} ({args.size} bytes)\n")
    return run_upload(args, [str(sample)], out, err)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["emulator"]:
        try:
            from emulator.cli import main as emulator_main  # noqa: PLC0415 (only this command)
        except ImportError as error:
            sys.stderr.write(f"vodref: the emulator is not available ({error})\n")
            return EXIT_USAGE

        return int(emulator_main(arguments[1:]) or 0)
    args = build_parser().parse_args(arguments)
    out, err = sys.stdout, sys.stderr
    try:
        if args.command == "demo":
            return run_demo(args, out, err)
        return run_upload(args, args.files, out, err)
    except (_UsageProblem, EmulatorUnavailableError) as problem:
        err.write(f"vodref: {problem}\n")
        return EXIT_USAGE
    except VodrefError as error:  # bad input: missing file, bad part size, ...
        err.write(f"vodref: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("\nvodref: interrupted\n")
        return EXIT_INTERRUPTED
