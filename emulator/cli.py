"""``vodref-emulator`` / ``python -m emulator``: run the emulator until interrupted.

The first line printed is exactly ``vodref-emulator listening on http://HOST:PORT`` (tools
and the benchmark read the URL from it); the credentials and endpoints to use follow.
For programs, ``--ready-file FILE`` writes a JSON ready signal once listening and
``--json-ready`` prints it as a JSON line first (then the first line is the JSON).
SIGINT and SIGTERM stop it cleanly: the listening socket closes, open connections end,
and with ``--data-dir`` every answered request is already durable.

Every failure to start is one line on stderr and exit status 2, never a traceback: a bad
argument, a port that cannot be bound, a data directory that cannot be used or that
another process holds (its lock names the holder).

Listening beyond loopback (``--host 0.0.0.0``, a LAN address) prints a loud warning on
stderr once bound (EMU-SEC-008): the emulator is a test tool and protects nothing worth exposing.
The banner shows the root AccessKeySecret only when it is the documented default, and
never the control-plane token (EMU-SEC-005).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from emulator import __version__
from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorConfig
from emulator.control import ControlHandler
from emulator.control.recorder import RequestRecord
from emulator.logs import configure_logging
from emulator.namespaces import Namespaces
from emulator.persistence import DataDirError, DataDirInUse
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

EXIT_STOPPED = 0
EXIT_CANNOT_START = 2
EXIT_INTERRUPTED = 130
MAX_PORT = 65535

EPILOG = """\
exit status:
  0    stopped by SIGINT (Ctrl-C) or SIGTERM
  2    bad arguments, or cannot start: the port cannot be bound, or the data directory
       cannot be used or is in use by another process (the message names it)
  130  interrupted while starting
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block followed by the error.
        self.exit(EXIT_CANNOT_START, f"{self.prog}: {message} (see --help)\n")


def port_number(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        port = -1
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port: give a number from 0 to {MAX_PORT} (0 picks a free one)"
        )
    return port


CONTROL_TOKEN_ENV = "VODREF_EMULATOR_CONTROL_TOKEN"


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the emulator reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, has_token: bool) -> list[str]:
    """The stderr lines printed when binding beyond loopback (EMU-SEC-008)."""
    lines = [
        "!" * 78,
        f"vodref-emulator: WARNING: listening on {host}, BEYOND LOOPBACK.",
        "  The emulator is a test tool. It accepts its documented default credentials,",
        "  keeps nothing it stores secret or durable, and its control plane can reset,",
        "  read and poison everything. Anyone who can reach this address can use it.",
        "  Bind 127.0.0.1 (the default) unless you must (a container, a CI service).",
    ]
    if not has_token:
        lines.append("  Then also set --control-token (or $" + CONTROL_TOKEN_ENV + ").")
    lines.append("!" * 78)
    return lines


def _bound_control_hosts(host: str) -> tuple[str, ...]:
    """A specific --host address is a name clients will use for the control plane too."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return (host,)
    return () if address.is_unspecified else (str(address),)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vodref-emulator",
        description="A local Alibaba Cloud OSS + VOD + STS emulator for offline tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=0,
        help=f"port to bind, 0 to {MAX_PORT}; 0 picks a free port (default 0)",
    )
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep state in DIR across restarts; one process at a time (DIR/lock)",
    )
    storage.add_argument(
        "--in-memory", action="store_true", help="keep state in memory only (the default)"
    )
    parser.add_argument(
        "--access-key-id",
        default=DEFAULT_ACCESS_KEY_ID,
        help=f"the root account's AccessKeyId (default {DEFAULT_ACCESS_KEY_ID})",
    )
    parser.add_argument(
        "--access-key-secret",
        default=DEFAULT_ACCESS_KEY_SECRET,
        help=f"the root account's AccessKeySecret (default {DEFAULT_ACCESS_KEY_SECRET})",
    )
    parser.add_argument("--region", default="cn-shanghai", help="region (default cn-shanghai)")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more to stderr: -v start-up details, -vv (or --debug) every request "
        "(operation, bucket, key, status: never a signature, key id or token)",
    )
    parser.add_argument("--debug", action="store_true", help="the same as -vv: log every request")
    parser.add_argument(
        "--ready-file",
        type=Path,
        help="once listening, write {url, host, port, pid, region, access_key_id} as JSON to "
        "FILE (atomically: it appears complete or not at all)",
    )
    parser.add_argument(
        "--json-ready",
        action="store_true",
        help="print the ready signal as one JSON line before the banner",
    )
    parser.add_argument(
        "--log-requests",
        action="store_true",
        help="print one line per request to stderr (credentials and signatures redacted)",
    )
    parser.add_argument(
        "--callback-allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also deliver VOD event callbacks to HOST (default: loopback only)",
    )
    parser.add_argument(
        "--control-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name the control plane (/_emulator/) answers besides loopback names "
        "(repeatable); a --host address that is not a wildcard is added automatically",
    )
    parser.add_argument(
        "--control-token",
        default=os.environ.get(CONTROL_TOKEN_ENV) or None,
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on every control-plane request "
        f"(default: ${CONTROL_TOKEN_ENV}, else no token)",
    )
    parser.add_argument(
        "--extra-region",
        action="append",
        default=[],
        metavar="REGION",
        help="another region an OSS V4 signature may be scoped to (repeatable); by default "
        "only --region is accepted, as OSS binds V4 signatures to the endpoint's region",
    )
    return parser


def ready_document(server: ThreadedServer, config: EmulatorConfig) -> dict[str, object]:
    """The machine-readable ready signal (no secret in it)."""
    host, _, port = server.url.removeprefix("http://").rpartition(":")
    return {
        "event": "ready",
        "url": server.url,
        "host": host,
        "port": int(port),
        "pid": os.getpid(),
        "region": config.region,
        "access_key_id": config.access_key_id,
    }


def write_ready_file(path: Path, document: dict[str, object]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def request_line(record: RequestRecord) -> str:
    """One console line per request; the query is the log's redacted one."""
    query = f"?{record.query}" if record.query else ""
    fault = f" fault={record.fault_id}" if record.fault_id else ""
    return (
        f"{record.status or '---'} {record.method} {record.path}{query} "
        f"[{record.service} {record.operation}]{fault}"
    )


def banner(server: ThreadedServer, config: EmulatorConfig) -> list[str]:
    url = server.url
    storage = str(config.data_dir) if config.data_dir else "in memory"
    # The documented default is public; a secret the user chose stays out of logs.
    secret = (
        config.access_key_secret
        if config.access_key_secret == DEFAULT_ACCESS_KEY_SECRET
        else "(as given with --access-key-secret; not shown)"
    )
    return [
        f"vodref-emulator listening on {url}",
        f"  AccessKeyId:     {config.access_key_id}",
        f"  AccessKeySecret: {secret}",
        f"  Region:          {config.region}",
        f"  OSS endpoint:    {url}  (path style; alibabacloud-oss-v2 needs use_path_style "
        "for localhost)",
        f"  VOD endpoint:    {url}  (aliyunsdkcore: req.set_endpoint; tea: protocol='http')",
        f"  STS endpoint:    {url}  (aliyunsdkcore forces https: use set_endpoint('{url}'))",
        f"  Control plane:   {url}/_emulator/"
        + ("  (needs its token: Authorization: Bearer ...)" if config.control_token else ""),
        f"  State:           {storage}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(
        2 if args.debug else args.verbose,
        secrets=(args.access_key_id, args.access_key_secret, args.control_token or ""),
    )
    config = EmulatorConfig(
        region=args.region,
        extra_regions=tuple(args.extra_region),
        access_key_id=args.access_key_id,
        access_key_secret=args.access_key_secret,
        data_dir=args.data_dir,
        callback_allowed_hosts=frozenset(host.lower() for host in args.callback_allow_host),
        control_hosts=(*args.control_host, *_bound_control_hosts(args.host)),
        control_token=args.control_token,
    )
    try:
        return serve(args, config)
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers are installed
        print("vodref-emulator: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def serve(args: argparse.Namespace, config: EmulatorConfig) -> int:
    try:
        state = EmulatorState(config)
    except DataDirInUse as busy:
        print(f"vodref-emulator: {busy}; stop it or give another --data-dir", file=sys.stderr)
        return EXIT_CANNOT_START
    except DataDirError as error:
        print(f"vodref-emulator: {error}", file=sys.stderr)
        return EXIT_CANNOT_START
    if args.log_requests:
        state.requests.add_listener(lambda record: print(request_line(record), file=sys.stderr))
    # Namespaces: other emulators in this process, for callers that share it (xdist).
    namespaces = Namespaces(host=args.host, config=config)
    server = ThreadedServer(
        state, args.host, args.port, control=ControlHandler(state, namespaces=namespaces)
    )
    try:
        server.start()
    except OSError as error:
        state.close()
        reason = error.strerror or str(error)
        print(
            f"vodref-emulator: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr
        )
        return EXIT_CANNOT_START
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    document = ready_document(server, config)
    # The file first: whoever read the first stdout line may look for it at once.
    if args.ready_file is not None:
        write_ready_file(args.ready_file, document)
    if args.json_ready:
        print(json.dumps(document), flush=True)
    if not is_loopback_host(args.host):
        # Once listening (a failed start stays one line): loud, on stderr, before the banner.
        print("\n".join(exposure_warning(args.host, bool(args.control_token))), file=sys.stderr)
    print("\n".join(banner(server, config)), flush=True)
    try:
        while not stop.wait(3600):
            pass
    finally:
        server.stop()
        namespaces.close()
        state.close()
    print("vodref-emulator stopped", flush=True)
    return EXIT_STOPPED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
