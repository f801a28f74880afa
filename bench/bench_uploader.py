"""Uploader benchmark: vodref vs ``oss2.resumable_upload`` against the emulator.

Usage::

    .venv/bin/python bench/bench_uploader.py            # 256 MiB, 3 runs each, 1 GiB RSS run
    .venv/bin/python bench/bench_uploader.py --quick    # 64 MiB, 1 run, 256 MiB RSS run

The emulator runs as a separate process (``python -m emulator --in-memory``); every client
run is a fresh subprocess, so CPU seconds (user + sys, all threads) and peak RSS are the
client's alone. Each run uploads the same page-cached random file; the emulator is reset
between runs so memory does not pile up.

Printed (medians, [min-max]):

- MiB/s and client CPU-s/GiB of vodref and of oss2 (CRC on, its default; 5 threads) at 1 MiB
  and 5 MiB parts, and their ratios (target: vodref >= 5x oss2 throughput at 1 MiB parts);
- vodref with its file checkpoint store vs with no checkpoints (target: <= 5 % slower);
- vodref's peak RSS on a 1 GiB file (target: <= 64 MiB + 2 x parallel x part_size).

Every vodref run checks the object's CRC-64 against the file (the uploader does it; the run
fails otherwise); oss2 checks it too with CRC on.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import oss2
from _bare_uploader import bare_upload  # bench/ is sys.path[0] when run
from _emulator_process import start_emulator

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client
from vodref import Vod
from vodref.clock import SystemClock
from vodref.core import FileState
from vodref.stores import FileCheckpointStore
from vodref.transport import OssHttpTransport
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
        return {"seconds": seconds, "writes": getattr(store, "writes", 0)}


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


def worker_raw(url: str, path: str, part_size: int) -> dict[str, Any]:
    """The ceiling: the same transport, PUTting parts from 5 threads, no core, no CRC
    check, no checkpoint. What the emulator and HTTP stack allow on this machine."""
    api = AcsVodApi(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, endpoint=url)
    grant = VodAuthProvider(api)(
        AuthRequest(
            file_name="raw.mp4",
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
    transport = OssHttpTransport(pool_size=PARALLEL + 2)
    upload_id = transport.initiate_multipart(target, auth.credentials, headers={})
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDONLY)

    def put(number: int) -> None:
        offset = (number - 1) * part_size
        data = os.pread(fd, min(part_size, size - offset), offset)
        transport.upload_part(
            target, auth.credentials, upload_id=upload_id, number=number, data=data
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(put, range(1, -(-size // part_size) + 1)))
    seconds = time.perf_counter() - started
    os.close(fd)
    transport.close()
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
    elif arguments.client == "raw":
        result = worker_raw(arguments.url, arguments.file, arguments.part_size)
    elif arguments.client == "bare":
        result = worker_bare(arguments.url, arguments.file, arguments.part_size)
    else:
        result = worker_oss2(arguments.url, arguments.file, arguments.part_size)
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
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
    url: str, client: str, path: Path, part_size: int, checkpoints: str = "on"
) -> dict[str, Any]:
    with Client(url) as control:
        control.reset()
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
    return result


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f} [{min(values):.1f}-{max(values):.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker")
    worker.add_argument("--client", choices=("vodref", "oss2", "raw", "bare"), required=True)
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
    emulator, url = start_emulator()
    print(
        f"emulator {url} (separate process); file {arguments.size_mib} MiB; "
        f"{arguments.runs} run(s) each; parallel/threads {PARALLEL}"
    )
    try:
        results: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        plan = [
            ("vodref", 1 * MIB, "on"),
            ("vodref", 1 * MIB, "off"),
            ("oss2", 1 * MIB, "on"),
            ("vodref", 5 * MIB, "on"),
            ("oss2", 5 * MIB, "on"),
            ("raw", 1 * MIB, "off"),
        ]
        measure(url, "vodref", data, MIB, "on")  # warm-up, discarded (first run after start)
        for run in range(arguments.runs):
            # Interleaved, so slow phases of a shared machine hit every client alike; the
            # checkpoint on/off pair runs back to back, in alternating order.
            order = plan if run % 2 == 0 else [plan[1], plan[0], *plan[2:]]
            for client, part, checkpoints in order:
                key = (client, part, checkpoints)
                results.setdefault(key, []).append(measure(url, client, data, part, checkpoints))
        print(f"\n{'client':<8} {'part':>5} {'ckpt':>4} {'MiB/s':>22} {'CPU-s/GiB':>22}")
        for (client, part, checkpoints), runs in results.items():
            print(
                f"{client:<8} {part // MIB:>4}M {checkpoints:>4} "
                f"{summary([r['mib_s'] for r in runs]):>22} "
                f"{summary([r['cpu_per_gib'] for r in runs]):>22}"
            )

        def median(client: str, part: int, field: str, checkpoints: str = "on") -> float:
            return statistics.median(r[field] for r in results[(client, part, checkpoints)])

        print()
        for part in (1 * MIB, 5 * MIB):
            speed = median("vodref", part, "mib_s") / median("oss2", part, "mib_s")
            cpu = median("oss2", part, "cpu_per_gib") / median("vodref", part, "cpu_per_gib")
            print(
                f"{part // MIB} MiB parts: vodref/oss2 throughput {speed:.1f}x, "
                f"CPU per GiB {cpu:.1f}x less"
                + ("  (target >= 5x throughput)" if part == MIB else "")
            )
        ceiling = median("raw", MIB, "mib_s", "off")
        print(
            f"1 MiB parts: vodref reaches {median('vodref', MIB, 'mib_s') / ceiling:.0%} of the "
            f"raw ceiling ({ceiling:.0f} MiB/s: 5 threads PUTting parts to this emulator, "
            "no core, no checks)"
        )
        on = median("vodref", MIB, "mib_s", "on")
        off = median("vodref", MIB, "mib_s", "off")
        print(
            f"checkpointing cost: {(1 - on / off) * 100:+.1f} % of throughput "
            f"(on {on:.0f} vs off {off:.0f} MiB/s; target <= 5 %)"
        )
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


if __name__ == "__main__":
    main()
