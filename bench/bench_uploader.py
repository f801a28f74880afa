"""Uploader benchmark (issue 12): vodref vs ``oss2.resumable_upload`` vs a bare uploader.

Usage::

    .venv/bin/python bench/bench_uploader.py            # 256 MiB, 3 interleaved runs, 1 GiB RSS run
    .venv/bin/python bench/bench_uploader.py --quick    # 64 MiB, 1 run, 256 MiB RSS run

The emulator runs as a separate process (``python -m emulator --in-memory``); every client
run is a fresh subprocess, so CPU seconds (user + sys, all threads) and peak RSS are the
client's alone. Each run uploads the same page-cached random file (parallel 5); the emulator
is reset between runs. Runs are interleaved (every contender once per round, the order
rotated each round) so the slow phases of a shared machine hit every contender alike.

The contenders, each checking CRC-64 per part and per object:

- **vodref** (``Vod`` with a file checkpoint store, its default: a save after every part);
- **oss2** ``resumable_upload`` with CRC on (its default), 5 threads;
- **bare**: ``requests`` + ``os.pread`` + fastcrc/anycrc, one ``requests.Session`` per
  thread, 5 threads (bench/_bare_uploader.py): no core, no checkpoint, no callbacks.

Printed for 100 KiB, 1 MiB and 5 MiB parts (medians [min-max]): MiB/s and client CPU-s/GiB
of each, the ratios vodref/oss2, vodref/bare and CPU vodref/bare with their targets (>= 5x;
>= 0.9x, >= 0.8x at 100 KiB; <= 1.2x), vodref's peak RSS against 64 MiB + 2 x parallel x
part_size, the cost of checkpointing at 1 MiB parts (vodref with no store), and the load
average at start and end. Beside each client's figures: the emulator's CPU-s/GiB over the
same run (psutil on its pid); from the bare uploader's client and emulator CPU per GiB, the
most MiB/s any client could reach with every core busy, next to what 5x oss2 asks.
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
from pathlib import Path
from typing import Any

import oss2
import psutil
from _bare_uploader import bare_upload  # bench/ is sys.path[0] when run
from _emulator_process import start_emulator

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client
from vodref import Vod
from vodref.clock import SystemClock
from vodref.core import FileState
from vodref.stores import FileCheckpointStore
from vodref.upload_auth import decode_upload_address, decode_upload_auth
from vodref.vod_api import AcsVodApi, AuthRequest, VodAuthProvider

MIB = 1024 * 1024
PARALLEL = 5


# --------------------------------------------------------------------------- workers


class _NoCheckpoints:
    """A store that keeps nothing: "checkpointing off"."""

    def load(self, key: str) -> None:
        return None

    def save(self, key: str, record: object) -> None:
        pass

    def delete(self, key: str) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def worker_vodref(url: str, path: str, part_size: int, checkpoints: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        store: Any = FileCheckpointStore(directory) if checkpoints else _NoCheckpoints()
        api = AcsVodApi(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, endpoint=url)
        vod = Vod(
            part_size=part_size,
            parallel=PARALLEL,
            auth_provider=VodAuthProvider(api),
            checkpoint_store=store,
            vod_endpoint=url,
        )
        started = time.perf_counter()
        [view] = vod.upload(path, timeout=600)
        seconds = time.perf_counter() - started
        vod.close()
        api.close()
        if view.state is not FileState.SUCCESS:
            raise SystemExit(f"vodref upload failed: {view.error}")
        return {
            "seconds": seconds,
            "writes": getattr(store, "writes", 0),
            "appends": getattr(store, "appends", 0),
        }


def worker_oss2(url: str, path: str, part_size: int) -> dict[str, Any]:
    auth = oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    bucket = oss2.Bucket(auth, url, "bench-oss2")  # enable_crc=True: oss2's default
    bucket.create_bucket()
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        oss2.resumable_upload(
            bucket,
            "bench.mp4",
            path,
            store=oss2.ResumableStore(root=directory),
            part_size=part_size,
            num_threads=PARALLEL,
        )
        seconds = time.perf_counter() - started
    return {"seconds": seconds}


def worker_bare(url: str, path: str, part_size: int) -> dict[str, Any]:
    """The bare uploader (bench/_bare_uploader.py), with its VOD call timed like vodref's."""
    started = time.perf_counter()
    api = AcsVodApi(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, endpoint=url)
    grant = VodAuthProvider(api)(
        AuthRequest(
            file_name="bare.mp4",
            file_size=os.path.getsize(path),
            is_image=False,
            video_id=None,
            vod_params={},
            refresh=False,
        )
    )
    api.close()
    auth = decode_upload_auth(grant.upload_auth, SystemClock())
    target = decode_upload_address(grant.upload_address)
    bare_upload(
        target.endpoint, target.bucket, target.key, auth.credentials, path, part_size, PARALLEL
    )
    return {"seconds": time.perf_counter() - started}


def run_worker(arguments: argparse.Namespace) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF)
    if arguments.client == "vodref":
        result = worker_vodref(
            arguments.url, arguments.file, arguments.part_size, arguments.checkpoints == "on"
        )
    elif arguments.client == "bare":
        result = worker_bare(arguments.url, arguments.file, arguments.part_size)
    else:
        result = worker_oss2(arguments.url, arguments.file, arguments.part_size)
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["user"] = after.ru_utime - before.ru_utime
    result["sys"] = after.ru_stime - before.ru_stime
    result["cpu"] = result["user"] + result["sys"]
    result["maxrss_mib"] = _peak_rss_mib()
    print(json.dumps(result))


def _peak_rss_mib() -> float:
    """VmHWM: this process's own peak RSS. (ru_maxrss survives exec on Linux, so a worker
    forked from a big parent would report the parent's peak.)"""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- orchestration


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    generator = random.Random(256)
    with path.open("wb") as handle:
        for _ in range(size // MIB):
            handle.write(generator.randbytes(MIB))
        handle.write(generator.randbytes(size % MIB))
    with path.open("rb") as handle:  # warm the page cache without growing this process
        while handle.read(8 * MIB):
            pass


def measure(
    url: str,
    client: str,
    path: Path,
    part_size: int,
    checkpoints: str = "on",
    server: psutil.Process | None = None,
) -> dict[str, Any]:
    """One client run in a fresh subprocess; with ``server`` (the emulator's process), its
    CPU over the run too."""
    with Client(url) as control:
        control.reset()
    server_before = server.cpu_times() if server is not None else None
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "worker",
            "--client",
            client,
            "--url",
            url,
            "--file",
            str(path),
            "--part-size",
            str(part_size),
            "--checkpoints",
            checkpoints,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        raise SystemExit(f"{client} worker failed:\n{output.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    size_gib = path.stat().st_size / 1024**3
    result["mib_s"] = path.stat().st_size / MIB / result["seconds"]
    result["cpu_per_gib"] = result["cpu"] / size_gib
    if server is not None and server_before is not None:
        after = server.cpu_times()
        spent = after.user - server_before.user + after.system - server_before.system
        result["server_cpu_per_gib"] = spent / size_gib
    return result


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} [{min(values):.1f}-{max(values):.1f}]"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


PARTS = (100 * 1024, 1 * MIB, 5 * MIB)
#: (contender, checkpoints) measured at every part size; vodref without checkpoints at 1 MiB.
CONTENDERS = (("vodref", "on"), ("bare", "off"), ("oss2", "on"))


def part_label(part: int) -> str:
    return f"{part // 1024} KiB" if part < MIB else f"{part // MIB} MiB"


def report(results: dict[tuple[str, int, str], list[dict[str, Any]]]) -> None:
    def median(client: str, part: int, field: str, checkpoints: str = "on") -> float:
        key = (client, part, "off" if client == "bare" else checkpoints)
        return statistics.median(r[field] for r in results[key])

    print(
        f"\n{'client':<7} {'part':>7} {'MiB/s':>24} {'CPU-s/GiB':>24} {'peak RSS MiB':>12} "
        f"{'emulator CPU-s/GiB':>19}"
    )
    for (client, part, checkpoints), runs in sorted(results.items(), key=lambda i: i[0][1]):
        name = client if checkpoints == "on" or client == "bare" else f"{client}-0"
        server = statistics.median(r["server_cpu_per_gib"] for r in runs)
        print(
            f"{name:<7} {part_label(part):>7} {summary([r['mib_s'] for r in runs]):>24} "
            f"{summary([r['cpu_per_gib'] for r in runs]):>24} "
            f"{max(r['maxrss_mib'] for r in runs):>12.1f} {server:>19.2f}"
        )
    print("(vodref-0: vodref with no checkpoint store)\n")
    for part in PARTS:
        label = part_label(part)
        vodref = median("vodref", part, "mib_s")
        versus_oss2 = vodref / median("oss2", part, "mib_s")
        versus_bare = vodref / median("bare", part, "mib_s")
        cpu = median("vodref", part, "cpu_per_gib") / median("bare", part, "cpu_per_gib")
        bare_target = 0.8 if part < MIB else 0.9
        rss = max(r["maxrss_mib"] for r in results[("vodref", part, "on")])
        limit = 64 + 2 * PARALLEL * part / MIB
        print(
            f"{label:>7}: vodref/oss2 {versus_oss2:5.2f}x (target >= 5x)   "
            f"vodref/bare {versus_bare:5.2f}x (target >= {bare_target}x)   "
            f"CPU vodref/bare {cpu:5.2f}x (target <= 1.2x)   "
            f"peak RSS {rss:.0f} MiB (target <= {limit:.0f} MiB)"
        )
    # What the machine allows at all: every core busy with nothing but the bare uploader's
    # client work and the emulator's server work for the same bytes (both measured above).
    cores = os.cpu_count() or 1
    for part in PARTS:
        bare_gib = median("bare", part, "cpu_per_gib") + median("bare", part, "server_cpu_per_gib")
        ceiling = cores / bare_gib * 1024
        needed = 5 * median("oss2", part, "mib_s")
        print(
            f"{part_label(part):>7}: 5x oss2 is {needed:.0f} MiB/s; {cores} cores at "
            f"{bare_gib:.2f} CPU-s/GiB (bare client + emulator) allow at most {ceiling:.0f} MiB/s"
        )
    on = median("vodref", MIB, "mib_s", "on")
    off = median("vodref", MIB, "mib_s", "off")
    print(
        f"checkpointing cost at 1 MiB parts: {(1 - on / off) * 100:+.1f} % of throughput "
        f"(store {on:.0f} vs none {off:.0f} MiB/s; target <= 5 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker")
    worker.add_argument("--client", choices=("vodref", "oss2", "bare"), required=True)
    worker.add_argument("--url", required=True)
    worker.add_argument("--file", required=True)
    worker.add_argument("--part-size", type=int, required=True)
    worker.add_argument("--checkpoints", choices=("on", "off"), default="on")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rss-size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="64 MiB, 1 run, 256 MiB RSS run")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "vodref-bench"
    )
    arguments = parser.parse_args()
    if arguments.command == "worker":
        run_worker(arguments)
        return
    if arguments.quick:
        arguments.size_mib, arguments.runs, arguments.rss_size_mib = 64, 1, 256
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    data = arguments.workdir / f"bench-{arguments.size_mib}MiB.mp4"
    make_file(data, arguments.size_mib * MIB)
    print(f"load average at start: {load()}")
    emulator, url = start_emulator()
    server = psutil.Process(emulator.pid)
    print(
        f"emulator {url} (separate process); file {arguments.size_mib} MiB; "
        f"{arguments.runs} interleaved run(s) each; parallel/threads {PARALLEL}"
    )
    try:
        results: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        measure(url, "vodref", data, MIB, "on")  # warm-up, discarded (first run after start)
        for run in range(arguments.runs):
            shift = run % len(CONTENDERS)
            for part in PARTS:
                # Rotate the contenders each round: nobody always goes first.
                for client, checkpoints in CONTENDERS[shift:] + CONTENDERS[:shift]:
                    key = (client, part, checkpoints)
                    results.setdefault(key, []).append(
                        measure(url, client, data, part, checkpoints, server)
                    )
            key = ("vodref", MIB, "off")
            results.setdefault(key, []).append(measure(url, "vodref", data, MIB, "off", server))
        report(results)
        big = arguments.workdir / f"bench-{arguments.rss_size_mib}MiB.mp4"
        make_file(big, arguments.rss_size_mib * MIB)
        rss = measure(url, "vodref", big, MIB)
        limit = 64 + 2 * PARALLEL * 1
        print(
            f"vodref peak RSS, {arguments.rss_size_mib} MiB file, 1 MiB parts x {PARALLEL}: "
            f"{rss['maxrss_mib']:.1f} MiB (target <= {limit} MiB); "
            f"{rss['mib_s']:.0f} MiB/s"
        )
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
