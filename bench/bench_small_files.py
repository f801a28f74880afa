"""Small-files benchmark (issue 12): many small files, vodref vs an oss2 ``put_object`` loop.

Usage::

    .venv/bin/python bench/bench_small_files.py            # 500 files of 200 KiB, 3 runs each
    .venv/bin/python bench/bench_small_files.py --quick    # 100 files, 1 run each

The emulator runs as a separate process (``python -m emulator --in-memory``, reset between
runs); every client run is a fresh subprocess, so its CPU seconds (user + sys, all threads)
and peak RSS are its own. Runs are interleaved (slow phases of a shared machine hit every
client alike) and the medians are printed.

Contenders, each uploading the same N files (distinct random content, page-cached):

- ``vodref xK``: the library's ``Vod`` with its JS-like defaults (1 MiB parts, parallel 5,
  files of 100 KiB or more go multipart, a file checkpoint store: barrier saves of VideoId
  and upload id, CRC-64 per part and per object) and ``max_concurrent_files=K``. Each file
  costs a CreateUploadVideo (the VOD call, through ``VodAuthProvider``) plus its OSS
  requests: 4 for a 200 KiB file (CreateUploadVideo, Initiate, UploadPart, Complete). The
  VOD client is ``vodref.vod_rpc.RpcVodApi`` (``--vod-api acs``: ``AcsVodApi``, i.e.
  aliyun-python-sdk-core);
- ``vodref xK put``: the same with ``multipart_threshold`` raised above the file size (the
  documented option that relaxes the JS rule): CreateUploadVideo + PutObject;
- ``oss2``: ``oss2.Bucket.put_object`` in a loop, one object per file, CRC on (oss2's
  default), no VOD call: the baseline. Target: vodref >= 2x its files/s with K > 1.
- ``vodref xK mem`` (diagnostic, not a target figure): ``vodref xK`` with
  ``MemoryCheckpointStore``, i.e. no checkpoint on disk: what the file store's writes
  (fsync) cost per file.

Printed: files/s, client CPU ms per file, the emulator's CPU ms per file (psutil on its
pid over the same run), requests per file (from the emulator's request log), peak RSS, the
vodref/oss2 ratio with the target beside it, the most files/s the emulator's own CPU per
file allows on this machine's cores (for a client that would cost nothing) next to the
target, and the load average at start and end (2 cores shared with other work skew
everything; compare ratios, not absolute figures).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import oss2
import psutil
from _emulator_process import start_emulator  # bench/ is sys.path[0] when run

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client
from vodref import Vod
from vodref.core import FileState
from vodref.stores import FileCheckpointStore
from vodref.testing import MemoryCheckpointStore
from vodref.vod_api import AcsVodApi, VodAuthProvider
from vodref.vod_rpc import RpcVodApi

KIB = 1024
TARGET = 2.0


# --------------------------------------------------------------------------- workers


def worker_vodref(
    url: str, paths: list[str], concurrent: int, threshold: int | None, store: str, vod_api: str
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        client = RpcVodApi if vod_api == "rpc" else AcsVodApi
        api = client(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, endpoint=url)
        extra: dict[str, Any] = {}
        if threshold is not None:
            extra["multipart_threshold"] = threshold
        vod = Vod(
            auth_provider=VodAuthProvider(api),
            checkpoint_store=(
                FileCheckpointStore(directory) if store == "file" else MemoryCheckpointStore()
            ),
            vod_endpoint=url,
            max_concurrent_files=concurrent,
            **extra,
        )
        started = time.perf_counter()
        views = vod.upload(*paths, timeout=600)
        seconds = time.perf_counter() - started
        vod.close()
        api.close()
        failed = [view for view in views if view.state is not FileState.SUCCESS]
        if failed or len(views) != len(paths):
            raise SystemExit(f"vodref: {len(failed)} file(s) failed, first: {failed[:1]}")
        return {"seconds": seconds}


def worker_oss2(url: str, paths: list[str]) -> dict[str, Any]:
    auth = oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    bucket = oss2.Bucket(auth, url, "bench-oss2")  # enable_crc=True: oss2's default
    bucket.create_bucket()
    started = time.perf_counter()
    for path in paths:
        with open(path, "rb") as handle:
            bucket.put_object(os.path.basename(path), handle)
    seconds = time.perf_counter() - started
    return {"seconds": seconds}


def run_worker(arguments: argparse.Namespace) -> None:
    paths = sorted(str(p) for p in Path(arguments.files).iterdir() if p.suffix == ".mp4")
    before = resource.getrusage(resource.RUSAGE_SELF)
    if arguments.client == "vodref":
        result = worker_vodref(
            arguments.url,
            paths,
            arguments.concurrent,
            arguments.threshold,
            arguments.store,
            arguments.vod_api,
        )
    else:
        result = worker_oss2(arguments.url, paths)
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["maxrss_mib"] = _peak_rss_mib()
    print(json.dumps(result))


def _peak_rss_mib() -> float:
    """VmHWM: this process's own peak RSS."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- orchestration


def make_files(directory: Path, count: int, size: int) -> None:
    """``count`` files of ``size`` random bytes (distinct content: vodref refuses a second
    unfinished entry of the same content), page-cached."""
    marker = directory / f".made-{count}x{size}"
    if marker.exists():
        for path in directory.glob("*.mp4"):
            path.read_bytes()
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.mp4"):
        path.unlink()
    generator = random.Random(12)
    for number in range(count):
        (directory / f"clip-{number:05d}.mp4").write_bytes(generator.randbytes(size))
    marker.touch()


def _last_seq(control: Client) -> int:
    records = control.requests()
    return int(records[-1]["seq"]) if records else 0


# client, files at once, multipart threshold, checkpoint store ("file" or "memory")
Contender = tuple[str, int, int | None, str]


def label(contender: Contender) -> str:
    client, concurrent, threshold, store = contender
    if client == "oss2":
        return "oss2 put_object loop"
    put = " put" if threshold is not None else ""
    return f"vodref x{concurrent}{put}" + (" mem" if store == "memory" else "")


def measure(
    url: str,
    contender: Contender,
    files: Path,
    count: int,
    vod_api: str,
    server: psutil.Process | None = None,
) -> dict[str, Any]:
    """One client run in a fresh subprocess; with ``server`` (the emulator's process), the
    emulator's CPU per file over the run too."""
    client, concurrent, threshold, store = contender
    with Client(url) as control:
        # The log's sequence numbers go on across a reset, which empties the log.
        first = _last_seq(control)
        control.reset()
    server_before = server.cpu_times() if server is not None else None
    command = [
        sys.executable,
        __file__,
        "worker",
        "--client",
        client,
        "--url",
        url,
        "--files",
        str(files),
        "--concurrent",
        str(concurrent),
        "--store",
        store,
        "--vod-api",
        vod_api,
    ]
    if threshold is not None:
        command += ["--threshold", str(threshold)]
    output = subprocess.run(command, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"{label(contender)} worker failed:\n{output.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    if server is not None and server_before is not None:
        after = server.cpu_times()
        spent = after.user - server_before.user + after.system - server_before.system
        result["server_ms_per_file"] = spent * 1000 / count
    with Client(url) as control:
        records = control.requests()
    last = int(records[-1]["seq"]) if records else first
    result["requests_per_file"] = (last - first) / count
    result["operations"] = Counter(r["operation"] for r in records if r["seq"] > first)
    result["files_s"] = count / result["seconds"]
    result["cpu_ms_per_file"] = result["cpu"] * 1000 / count
    return result


def summary(values: list[float], width: int = 18) -> str:
    text = f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"
    return f"{text:>{width}}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker")
    worker.add_argument("--client", choices=("vodref", "oss2"), required=True)
    worker.add_argument("--url", required=True)
    worker.add_argument("--files", required=True)
    worker.add_argument("--concurrent", type=int, default=1)
    worker.add_argument("--threshold", type=int, default=None)
    worker.add_argument("--store", choices=("file", "memory"), default="file")
    for command_parser in (worker, parser):
        command_parser.add_argument(
            "--vod-api",
            choices=("rpc", "acs"),
            default="rpc",
            help="vodref's VOD client: RpcVodApi (default) or AcsVodApi (aliyunsdkcore)",
        )
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--size-kib", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--concurrent", type=int, default=8, help="vodref's max_concurrent_files (default 8)"
    )
    parser.add_argument("--quick", action="store_true", help="100 files, 1 run each")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "vodref-bench-small"
    )
    arguments = parser.parse_args()
    if arguments.command == "worker":
        run_worker(arguments)
        return
    if arguments.quick:
        arguments.count, arguments.runs = 100, 1
    size = arguments.size_kib * KIB
    files = arguments.workdir / f"{arguments.count}x{arguments.size_kib}KiB"
    make_files(files, arguments.count, size)
    start_load = load_average()
    emulator, url = start_emulator()
    server = psutil.Process(emulator.pid)
    print(
        f"emulator {url} (separate process); {arguments.count} files of "
        f"{arguments.size_kib} KiB; {arguments.runs} run(s) each; vodref's VOD client "
        f"{'RpcVodApi' if arguments.vod_api == 'rpc' else 'AcsVodApi'}; load average {start_load}"
    )
    above = size + 1
    plan: list[Contender] = [
        ("oss2", 1, None, "file"),
        ("vodref", 1, None, "file"),
        ("vodref", arguments.concurrent, None, "file"),
        ("vodref", arguments.concurrent, above, "file"),
        ("vodref", arguments.concurrent, None, "memory"),
    ]
    try:
        results: dict[Contender, list[dict[str, Any]]] = {}
        measure(url, plan[2], files, arguments.count, arguments.vod_api)  # warm-up, discarded
        for run in range(arguments.runs):
            order = plan if run % 2 == 0 else list(reversed(plan))
            for contender in order:
                results.setdefault(contender, []).append(
                    measure(url, contender, files, arguments.count, arguments.vod_api, server)
                )
        print(
            f"\n{'client':<22} {'files/s':>18} {'CPU ms/file':>18} {'emulator ms/file':>17} "
            f"{'req/file':>9} {'RSS MiB':>8}  operations (last run, up to 1,000 requests)"
        )
        for contender in plan:
            runs = results[contender]
            operations = ", ".join(f"{k} {v}" for k, v in sorted(runs[-1]["operations"].items()))
            print(
                f"{label(contender):<22} {summary([r['files_s'] for r in runs])} "
                f"{summary([r['cpu_ms_per_file'] for r in runs])} "
                f"{statistics.median(r['server_ms_per_file'] for r in runs):>17.2f} "
                f"{statistics.median(r['requests_per_file'] for r in runs):>9.2f} "
                f"{statistics.median(r['maxrss_mib'] for r in runs):>8.1f}  {operations}"
            )

        def median(contender: Contender) -> float:
            return float(statistics.median(r["files_s"] for r in results[contender]))

        baseline = median(plan[0])
        print()
        for contender in plan[1:]:
            ratio = median(contender) / baseline
            if contender[3] == "memory":
                target = "(diagnostic: no checkpoint on disk, not a target figure)"
            elif contender[1] > 1:
                target = f"(target >= {TARGET:g}x)"
            else:
                target = "(files at once 1: the JS default)"
            print(f"{label(contender)}/oss2 files/s: {ratio:.2f}x  {target}")
        # The bound no client can pass: the emulator's own work for each file, with every
        # core doing nothing else (a client that cost no CPU at all).
        cores = os.cpu_count() or 1
        print(
            f"\n{TARGET:g}x the oss2 loop is {TARGET * baseline:.0f} files/s. With {cores} cores:"
        )
        for contender in plan[2:4]:
            server_ms = statistics.median(r["server_ms_per_file"] for r in results[contender])
            print(
                f"  {label(contender)}: the emulator alone spends {server_ms:.2f} ms per file, "
                f"so at most {cores * 1000 / server_ms:.0f} files/s even for a client that "
                "costs nothing"
            )
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    print(f"\nload average: start {start_load}, end {load_average()}")


if __name__ == "__main__":
    main()
