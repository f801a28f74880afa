"""Outage benchmark (issue 14, UP-OUTAGE-001): retry amplification under faults and a total
outage, over loopback against the emulator.

Usage::

    .venv/bin/python bench/bench_outage.py                  # 800 parts, every scenario
    .venv/bin/python bench/bench_outage.py --parts 200      # quicker
    .venv/bin/python bench/bench_outage.py --only outage-30s

The emulator runs as a separate process (``python -m emulator --in-memory``). Each scenario
uploads one file of ``--parts`` parts of 100 KiB with 5 parts in parallel and the default
retry policy's shape (faster delays: 0.1 s initial, 5 s cap), then prints:

- the final state (must be Success: every scenario finishes in one run);
- amplification = part bytes sent (every attempt) / file size (targets: <= 1.1 at 10 %
  5xx, <= 2.1 at 50 %; with independent failures at rate p the floor is 1 / (1 - p));
- the seconds it took.

Scenarios: 10 % and 50 % of UploadPart answered 503; 10 % and 30 % of OSS requests reset
before the body; every OSS request reset for 30 s (a total outage) after the first part.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client
from emulator.faults import Effect, Fault, Match
from vodref import Vod
from vodref.core import RetryPolicy
from vodref.testing import MemoryCheckpointStore
from vodref.vod_api import AcsVodApi, VodAuthProvider

PART = 102_400
PARALLEL = 5
POLICY = RetryPolicy(initial_delay=0.1, max_delay=5.0)

SCENARIOS: dict[str, list[Fault]] = {
    "5xx-10%": [
        Fault(
            match=Match(operation="UploadPart", probability=0.1, seed=1),
            effect=Effect.error(503, "ServiceUnavailable"),
        )
    ],
    "5xx-50%": [
        Fault(
            match=Match(operation="UploadPart", probability=0.5, seed=2),
            effect=Effect.error(503, "ServiceUnavailable"),
        )
    ],
    "reset-10%": [
        Fault(
            match=Match(service="oss", probability=0.1, seed=3), effect=Effect.reset_before_body()
        )
    ],
    "reset-30%": [
        Fault(
            match=Match(service="oss", probability=0.3, seed=4), effect=Effect.reset_before_body()
        )
    ],
    "outage-30s": [],  # installed after the first part, removed 30 s later
}


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--in-memory", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    prefix = "vodref-emulator listening on "
    if not first.startswith(prefix):
        process.kill()
        raise SystemExit(f"emulator did not start: {first!r}")
    return process, first[len(prefix) :]


def run(url: str, control: Client, name: str, parts: int, path: Path) -> dict[str, Any]:
    control.reset()
    control.clear_faults()
    for fault in SCENARIOS[name]:
        control.add_fault(fault)
    api = AcsVodApi(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, endpoint=url)
    outage_started = threading.Event()

    def outage(view: Any, done: int, total: int) -> None:
        if name != "outage-30s" or outage_started.is_set():
            return
        outage_started.set()
        fault_id = control.add_fault(effect=Effect.reset_before_body(), match=Match(service="oss"))
        threading.Timer(30.0, control.remove_fault, args=(fault_id,)).start()

    vod = Vod(
        part_size=PART,
        parallel=PARALLEL,
        retry_policy=POLICY,
        auth_provider=VodAuthProvider(api),
        checkpoint_store=MemoryCheckpointStore(),
        vod_endpoint=url,
        timeout=10.0,
        on_upload_bytes=outage,
    )
    started = time.perf_counter()
    try:
        [view] = vod.upload(path, timeout=900)
        # Bytes of part bodies handed to the transport, every attempt: the emulator's request
        # log is bounded, so it would undercount long runs.
        sent = vod.bytes_sent
    finally:
        vod.close()
        api.close()
    seconds = time.perf_counter() - started
    return {
        "state": view.state.value,
        "error": view.error.code if view.error else "",
        "amplification": sent / (parts * PART),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=800)
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    process, url = start_emulator()
    control = Client(url)
    try:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "outage.mp4"
            path.write_bytes(random.Random(14).randbytes(args.parts * PART))
            print(f"{args.parts} parts of {PART} B, parallel {PARALLEL}, {POLICY}")
            for name in args.only or list(SCENARIOS):
                result = run(url, control, name, args.parts, path)
                print(
                    f"{name:11s} {result['state']:8s} amplification "
                    f"{result['amplification']:.3f}  {result['seconds']:.1f} s "
                    f"{result['error']}",
                    flush=True,
                )
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
