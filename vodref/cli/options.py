"""The ``vodref`` command line's arguments: parsing, checking, help text.

Every value is checked here, by the argument's own type function, so a bad one is reported
by argparse with the flag's name (``argument --concurrent-files: ...``), never by the
uploader with its Python field (``max_concurrent_files``); :data:`FLAG_FOR_FIELD` translates
the few checks that only the uploader can make. A usage error is one line on stderr and
exit status 2 (:class:`CliParser`).

Values from the environment are read after parsing (:func:`resolve_environment`), never as
argparse defaults, so ``--help`` cannot print a secret taken from the environment.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable, Sequence
from typing import NoReturn
from urllib.parse import urlsplit

from .. import __version__
from ..core import MAX_MULTIPART_THRESHOLD, MAX_PART_SIZE, MIN_PART_SIZE

__all__ = [
    "ENVIRONMENT",
    "EXIT_DONE_NOT_RESUMABLE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "FLAG_FOR_FIELD",
    "CliParser",
    "UsageProblem",
    "build_parser",
    "check_endpoint",
    "parse_age",
    "parse_size",
    "resolve_environment",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# Every file finished, but the checkpoint store failed: done, not resumable (UPL-DUR-002).
EXIT_DONE_NOT_RESUMABLE = 3
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process SIGTERM ended

# The uploader's own limits (UploaderOptions, RetryPolicy), repeated here so argparse can name
# the flag; tests/uploader/cli checks each bound through the CLI.
MAX_PARALLEL = 64
MAX_CONCURRENT_FILES = 64
MAX_RETRIES = 1000
# --oss-signature: OSS Signature V1 (the JS SDK's) or V4 (scoped to the region).
OSS_SIGNATURES = ("v1", "v4")

# The uploader's field -> the flag that sets it, for a message the uploader makes itself.
FLAG_FOR_FIELD = {
    "part_size": "--part-size",
    "parallel": "--parallel",
    "max_concurrent_files": "--concurrent-files",
    "multipart_threshold": "--multipart-threshold",
    "max_retries": "--retry-count",
    "budget": "--retry-budget",
    "outage_limit": "--outage-limit",
    "credentials_timeout": "--credentials-timeout",
    "retry_count": "--retry-count",
    "timeout": "--timeout",
    "region": "--region",
}

# (variable, flag, what): the environment the command reads, listed in --help.
ENVIRONMENT = (
    ("VODREF_VOD_ENDPOINT", "--endpoint", "VOD endpoint (set but empty is an error)"),
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "--access-key-id", "AccessKeyId"),
    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "--access-key-secret", "AccessKeySecret"),
    ("ALIBABA_CLOUD_SECURITY_TOKEN", "--security-token", "STS token (STS mode)"),
    ("ALIBABA_CLOUD_REGION_ID", "--region", "region (default cn-shanghai)"),
    ("VODREF_OSS_SIGNATURE", "--oss-signature", "v1 or v4 (default v1)"),
    ("VODREF_CHECKPOINT_DIR", "--checkpoint-dir", "resume records"),
    ("VODREF_EMULATOR_DATA_DIR", "--emulator-data-dir", "embedded emulator state"),
    ("NO_COLOR", "", "any value: no colours; TERM=dumb: no bars, plain lines"),
)

_EXIT_STATUSES = """\
exit status:
  0    every file uploaded
  1    at least one file failed (a line on stderr names it and the service's code), or
       another vodref process is uploading it
  2    bad usage: a bad argument or environment value, a missing file, an endpoint
       without credentials, an emulator data directory that cannot be used
  3    done, not resumable: every file uploaded (the VideoIds printed are final) but the
       checkpoint directory failed (full, read-only), so a re-run would not know them
  130  interrupted (Ctrl-C): finished files are printed, finished parts are kept; run
       the same command to resume
  143  terminated (SIGTERM): as for Ctrl-C
"""


def _environment_help() -> str:
    lines = ["environment:"]
    for variable, flag, what in ENVIRONMENT:
        lines.append(f"  {variable:<32} {what}{f' ({flag})' if flag else ''}")
    return "\n".join(lines) + "\n"


class UsageProblem(Exception):
    """Bad input found after parsing (an environment value, an unusable directory): one line
    for the user, exit status 2."""


class CliParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (not the usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout; wider than argparse's default so flags line up."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``1048576``, ``1MiB``, ``512KiB``, ``5M`` (binary units) -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1MiB, 512KiB or 102400)")
    number, unit = float(match.group(1)), (match.group(2) or "b").lower()
    scale = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit[0]]
    return int(number * scale)


def _part_size(text: str) -> int:
    size = parse_size(text)
    if not MIN_PART_SIZE <= size <= MAX_PART_SIZE:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside 100KiB..5GiB (OSS allows parts of {MIN_PART_SIZE} bytes to 5 GiB)"
        )
    return size


def _multipart_threshold(text: str) -> int:
    size = parse_size(text)
    if not 1 <= size <= MAX_MULTIPART_THRESHOLD:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside 1..64MiB (a file below it is read into memory whole)"
        )
    return size


def _positive_size(text: str) -> int:
    size = parse_size(text)
    if size <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 bytes")
    return size


def _whole_number(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{value} is outside {minimum}..{maximum}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds above 0")
    return value


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` -> seconds."""
    match = _AGE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (try 7d, 12h, 30m or 90s)")
    return float(match.group(1)) * _AGE_UNITS[match.group(2).lower()]


def check_endpoint(url: str, source: str) -> str:
    """``url`` if it is an http or https URL with a host (and a valid port); else
    :class:`UsageProblem` naming ``source`` (the flag or variable it came from)."""
    if not url.strip():
        raise UsageProblem(
            f"{source} is empty (an unset variable?); give an http(s) URL, or leave it out "
            "to use the embedded emulator"
        )
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError as error:
        raise UsageProblem(f"{source} {url!r} is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise UsageProblem(
            f"{source} {url!r} must start with http:// or https:// "
            "(e.g. https://vod.cn-shanghai.aliyuncs.com)"
        )
    if not host:
        raise UsageProblem(f"{source} {url!r} has no host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageProblem(f"{source} {url!r} must be scheme://host[:port] only (no path)")
    return url


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more to stderr: -v what happens, -vv (or --debug) every request, secrets masked",
    )
    parser.add_argument("--debug", action="store_true", help="the same as -vv")


def _add_upload_options(parser: argparse.ArgumentParser, *, for_demo: bool = False) -> None:
    parser.add_argument("--title", help="video title (default: the file name without extension)")
    parser.add_argument("--image", action="store_true", help="upload as images (CreateUploadImage)")
    parser.add_argument(
        "--part-size",
        type=_part_size,
        default=parse_size("1MiB"),
        metavar="SIZE",
        help="multipart part size, 100KiB..5GiB: bytes or with a unit, e.g. 512KiB, 1MiB, "
        "2M (binary units; default 1MiB)",
    )
    parser.add_argument(
        "--parallel",
        type=_whole_number(1, MAX_PARALLEL),
        default=5,
        metavar="N",
        help=f"parts in flight per file, 1..{MAX_PARALLEL} (default 5)",
    )
    parser.add_argument(
        "--concurrent-files",
        type=_whole_number(1, MAX_CONCURRENT_FILES),
        default=1,
        metavar="N",
        help=f"files uploading at once, 1..{MAX_CONCURRENT_FILES} (default 1); the JS SDK "
        "uploads one at a time, raise it for many small files",
    )
    parser.add_argument(
        "--multipart-threshold",
        type=_multipart_threshold,
        default=parse_size("100KiB"),
        metavar="SIZE",
        help="files of this size or more use multipart, smaller ones one PutObject "
        "(read into memory whole, retried whole), 1..64MiB (default 100KiB, the JS SDK's rule)",
    )
    parser.add_argument(
        "--retry-count",
        type=_whole_number(0, MAX_RETRIES),
        default=3,
        metavar="N",
        help="retries of one request, 0..1000, 2 s apart (default 3)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="per-request timeout (default 60)",
    )
    # UP-OUTAGE-004: the retry budget, the outage limit and the credentials deadline.
    parser.add_argument(
        "--retry-budget",
        type=_whole_number(0, MAX_RETRIES),
        default=50,
        metavar="N",
        help="retries one file may spend in a row, 0..1000; each acknowledged part restores "
        "it (default 50)",
    )
    parser.add_argument(
        "--outage-limit",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long the connection may keep failing before the file fails; no new part "
        "starts meanwhile, one probe per backoff (default 300)",
    )
    parser.add_argument(
        "--credentials-timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long a file may wait for credentials before it fails with "
        "CredentialsTimeout (default 300)",
    )
    parser.add_argument(
        "--upload-again",
        action="store_true",
        help="upload files even if this command uploaded them before (a new video each; "
        "by default such a file is reported with its existing VideoId)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bars", "lines", "json", "none"),
        default="auto",
        help="auto (default): bars on a terminal, lines otherwise; json: one JSON object "
        "per line on stdout, results included",
    )
    if not for_demo:
        parser.add_argument(
            "--checkpoint-dir",
            metavar="DIR",
            help="where resume records go (env VODREF_CHECKPOINT_DIR; default: the per-user "
            "cache directory)",
        )
        parser.add_argument(
            "--endpoint",
            metavar="URL",
            help="VOD OpenAPI endpoint, http(s)://host[:port], e.g. "
            "https://vod.cn-shanghai.aliyuncs.com (env VODREF_VOD_ENDPOINT); "
            "none: the embedded emulator",
        )
        parser.add_argument(
            "--region", help="VOD region (env ALIBABA_CLOUD_REGION_ID; default cn-shanghai)"
        )
        parser.add_argument(
            "--oss-signature",
            choices=OSS_SIGNATURES,
            help="how OSS requests are signed: v1 (default; what the JS SDK 1.5.x sends) or v4 "
            "(OSS4-HMAC-SHA256 scoped to --region, where VOD keeps the files; OSS no longer "
            "offers V1 to new accounts and buckets) (env VODREF_OSS_SIGNATURE)",
        )
        parser.add_argument(
            "--access-key-id", metavar="ID", help="(env ALIBABA_CLOUD_ACCESS_KEY_ID, better)"
        )
        parser.add_argument(
            "--access-key-secret",
            metavar="SECRET",
            help="(env ALIBABA_CLOUD_ACCESS_KEY_SECRET, better: not visible in ps)",
        )
        parser.add_argument(
            "--security-token",
            metavar="TOKEN",
            help="STS token: STS mode (env ALIBABA_CLOUD_SECURITY_TOKEN)",
        )
        parser.add_argument(
            "--emulator-data-dir",
            metavar="DIR",
            help="state of the embedded emulator (env VODREF_EMULATOR_DATA_DIR; default: "
            "the per-user data directory); one vodref at a time uses it, a second waits",
        )
    _add_common(parser)


def build_parser() -> CliParser:
    parser = CliParser(
        prog="vodref",
        description="Upload files to ApsaraVideo VOD (or to the embedded emulator), "
        "resumably. Start with: vodref demo",
        epilog=_environment_help() + "\n" + _EXIT_STATUSES,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=_environment_help() + "\n" + _EXIT_STATUSES,
            formatter_class=_HelpFormatter,
        )

    upload = command("upload", "upload files, resumably; prints NAME<TAB>VideoId: ID per file")
    upload.add_argument("files", nargs="+", metavar="FILE")
    _add_upload_options(upload)

    demo = command("demo", "upload a generated sample file to the embedded emulator")
    demo.add_argument(
        "--size",
        type=_positive_size,
        default=parse_size("8MiB"),
        metavar="SIZE",
        help="sample size, e.g. 300KiB or 8MiB (default 8MiB)",
    )
    _add_upload_options(demo, for_demo=True)

    checkpoints = command("checkpoints", "list or clean the resume records")
    actions = checkpoints.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="file, size, progress, VideoId and age of each record"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per record")
    clean = actions.add_parser("clean", help="delete records: --all, --older-than or --file")
    which = clean.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every record")
    which.add_argument(
        "--older-than", type=parse_age, metavar="AGE", help="records untouched for AGE: 7d, 12h"
    )
    which.add_argument(
        "--file", nargs="+", metavar="FILE", help="the records of these files (as uploaded)"
    )
    for action in (listing, clean):
        action.add_argument(
            "--checkpoint-dir",
            metavar="DIR",
            help="(env VODREF_CHECKPOINT_DIR; default: the per-user cache directory)",
        )
        _add_common(action)

    # Listed for the help text only: main() hands everything after "emulator" to the
    # emulator's own parser, so "vodref emulator --help" shows the emulator's options.
    commands.add_parser("emulator", help="run the emulator (same options as vodref-emulator)")
    # Also for the help text only: "conformance" hands the rest to vodref.conformance.
    commands.add_parser("conformance", help="run the upload conformance scenarios on an uploader")
    return parser


def _from_environment(name: str) -> str | None:
    return os.environ.get(name) or None


def resolve_environment(args: argparse.Namespace) -> argparse.Namespace:
    """Fill what the command line left out from the environment, and check the endpoint.
    Raises :class:`UsageProblem`."""
    if getattr(args, "checkpoint_dir", None) is None:
        args.checkpoint_dir = _from_environment("VODREF_CHECKPOINT_DIR")
    if args.command == "demo":
        args.endpoint = None
        args.access_key_id = args.access_key_secret = args.security_token = None
        args.region = "cn-shanghai"
        args.oss_signature = "v1"
        args.emulator_data_dir = None
        return args
    if args.command != "upload":
        return args
    if args.endpoint is not None:
        check_endpoint(args.endpoint, "--endpoint")
    elif "VODREF_VOD_ENDPOINT" in os.environ:
        # Set but empty is a CI variable that was never filled in: an error, not a silent
        # upload to the local emulator.
        args.endpoint = check_endpoint(os.environ["VODREF_VOD_ENDPOINT"], "VODREF_VOD_ENDPOINT")
    args.region = args.region or _from_environment("ALIBABA_CLOUD_REGION_ID") or "cn-shanghai"
    if args.oss_signature is None:
        args.oss_signature = _from_environment("VODREF_OSS_SIGNATURE") or "v1"
        if args.oss_signature not in OSS_SIGNATURES:
            raise UsageProblem(
                f"VODREF_OSS_SIGNATURE must be one of {', '.join(OSS_SIGNATURES)}, "
                f"not {args.oss_signature!r}"
            )
    for flag, variable in (
        ("access_key_id", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ("access_key_secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        ("security_token", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    ):
        if getattr(args, flag) is None:
            setattr(args, flag, _from_environment(variable))
    if args.emulator_data_dir is None:
        args.emulator_data_dir = _from_environment("VODREF_EMULATOR_DATA_DIR")
    return args


def flag_message(message: str) -> str:
    """An uploader message with its leading Python field replaced by the flag."""
    for field, flag in FLAG_FOR_FIELD.items():
        if message.startswith(field):
            return flag + message[len(field) :]
    return message


def parse_arguments(parser: CliParser, argv: Sequence[str]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if getattr(args, "debug", False):
        args.verbose = max(args.verbose, 2)
    return args
