"""``vodref-emulator`` / ``python -m emulator``: run the emulator until interrupted.

The first line printed is exactly ``vodref-emulator listening on http://HOST:PORT`` (tools
and the benchmark read the URL from it); the credentials and endpoints to use follow.
SIGINT and SIGTERM stop it cleanly: the listening socket closes, open connections end,
and with ``--data-dir`` every answered request is already durable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorConfig
from emulator.control import ControlHandler
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vodref-emulator",
        description="A local Alibaba Cloud OSS + VOD + STS emulator for offline tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind; 0 picks a free port (default 0)"
    )
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument("--data-dir", type=Path, help="keep state in DIR across restarts")
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
    return parser


def banner(server: ThreadedServer, config: EmulatorConfig) -> list[str]:
    url = server.url
    storage = str(config.data_dir) if config.data_dir else "in memory"
    return [
        f"vodref-emulator listening on {url}",
        f"  AccessKeyId:     {config.access_key_id}",
        f"  AccessKeySecret: {config.access_key_secret}",
        f"  Region:          {config.region}",
        f"  OSS endpoint:    {url}  (path style; alibabacloud-oss-v2 needs use_path_style "
        "for localhost)",
        f"  VOD endpoint:    {url}  (aliyunsdkcore: req.set_endpoint; tea: protocol='http')",
        f"  STS endpoint:    {url}  (aliyunsdkcore forces https: use set_endpoint('{url}'))",
        f"  Control plane:   {url}/_emulator/",
        f"  State:           {storage}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = EmulatorConfig(
        region=args.region,
        access_key_id=args.access_key_id,
        access_key_secret=args.access_key_secret,
        data_dir=args.data_dir,
    )
    state = EmulatorState(config)
    server = ThreadedServer(state, args.host, args.port, control=ControlHandler(state))
    try:
        server.start()
    except OSError as error:
        print(
            f"vodref-emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr
        )
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print("\n".join(banner(server, config)), flush=True)
    try:
        while not stop.wait(3600):
            pass
    finally:
        server.stop()
        state.db.close()
    print("vodref-emulator stopped", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
