"""Benchmark the emulator's OSS upload path.

Uploads a random file (default 256 MiB) in 1 MiB parts with 5 threads through oss2 with
``enable_crc=False`` (so the *server's* cost is what is measured) to the emulator running
as a separate process (``python -m emulator --port 0``; the URL comes from its first
output line), once ``--in-memory`` and once with ``--data-dir``. For each it prints MiB/s
and the server's CPU seconds per GiB (psutil on the server pid), and, measured in the same
run over the same bytes, the CPU cost of MD5 + CRC-64 (fastcrc), which the server must pay
anyway, and the ratio of the two. Targets: ratio <= 1.5 and >= 250 MiB/s in memory.

    .venv/bin/python bench/bench_emulator.py                 # 256 MiB, both modes
    .venv/bin/python bench/bench_emulator.py --size-mib 64 --modes in-memory

Every run ends with an integrity check: the completed object's size and CRC-64 (as the
emulator reports it) must equal the source's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import fastcrc
import oss2
import psutil

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET

MIB = 1024 * 1024
GIB = 1024 * MIB
BANNER = "vodref-emulator listening on "


@dataclass(frozen=True, slots=True)
class RunResult:
    mode: str
    mib_per_s: float
    server_cpu_per_gib: float
    server_system_per_gib: float


def hash_cost_per_gib(path: Path, part_size: int) -> float:
    """CPU seconds per GiB for one MD5 and one CRC-64 over each part (the server's floor)."""
    size = path.stat().st_size
    with path.open("rb") as source:
        parts = [source.read(part_size) for _ in range(0, size, part_size)]
    started = time.process_time()
    for part in parts:
        hashlib.md5(part).digest()
        fastcrc.crc64.xz(part)
    return (time.process_time() - started) * GIB / size


def start_emulator(mode: str, data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "emulator", "--port", "0"]
    command += ["--in-memory"] if mode == "in-memory" else ["--data-dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith(BANNER):
        process.kill()
        raise RuntimeError(f"unexpected emulator output: {first!r}")
    return process, first[len(BANNER) :]


def stop_emulator(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def upload(url: str, path: Path, part_size: int, threads: int) -> tuple[float, int]:
    """Multipart-upload ``path``; return (seconds, CRC-64 the emulator reported)."""
    auth = oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    bucket = oss2.Bucket(
        auth, url, "bench-bucket", enable_crc=False, session=oss2.Session(pool_size=threads)
    )
    bucket.create_bucket()
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        started = time.perf_counter()
        upload_id = bucket.init_multipart_upload("bench.bin").upload_id

        def send(number: int) -> oss2.models.PartInfo:
            offset = (number - 1) * part_size
            data = os.pread(fd, min(part_size, size - offset), offset)
            result = bucket.upload_part("bench.bin", upload_id, number, data)
            return oss2.models.PartInfo(number, result.etag)

        count = (size + part_size - 1) // part_size
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(send, range(1, count + 1)))
        result = bucket.complete_multipart_upload("bench.bin", upload_id, parts)
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
    head = bucket.head_object("bench.bin")
    if head.content_length != size:
        raise RuntimeError(f"size mismatch: {head.content_length} != {size}")
    bucket.session.session.close()
    return elapsed, int(result.headers["x-oss-hash-crc64ecma"])


def run(mode: str, path: Path, part_size: int, threads: int, workdir: Path) -> RunResult:
    data_dir = workdir / f"data-{mode}-{time.monotonic_ns()}"
    process, url = start_emulator(mode, data_dir)
    try:
        server = psutil.Process(process.pid)
        before = server.cpu_times()
        elapsed, server_crc = upload(url, path, part_size, threads)
        after = server.cpu_times()
    finally:
        stop_emulator(process)
    expected_crc = int(fastcrc.crc64.xz(path.read_bytes()))
    if server_crc != expected_crc:
        raise RuntimeError(f"CRC mismatch: {server_crc} != {expected_crc}")
    size = path.stat().st_size
    user, system = after.user - before.user, after.system - before.system
    return RunResult(mode, size / MIB / elapsed, (user + system) * GIB / size, system * GIB / size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--part-mib", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--modes", default="in-memory,data-dir")
    parser.add_argument("--runs", type=int, default=1, help="runs per mode (median reported)")
    args = parser.parse_args(argv)
    part_size = int(args.part_mib * MIB)
    with tempfile.TemporaryDirectory(prefix="vodref-bench-") as tmp:
        workdir = Path(tmp)
        source = workdir / "source.bin"
        with source.open("wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MIB))
        floor = hash_cost_per_gib(source, part_size)
        print(f"file: {args.size_mib} MiB, parts: {args.part_mib:g} MiB, threads: {args.threads}")
        print(f"MD5 + CRC-64 (fastcrc) over the same bytes: {floor:.2f} CPU-s/GiB")
        for mode in args.modes.split(","):
            results = sorted(
                (run(mode, source, part_size, args.threads, workdir) for _ in range(args.runs)),
                key=lambda r: r.mib_per_s,
            )
            median = results[len(results) // 2]
            ratio = median.server_cpu_per_gib / floor
            print(
                f"{mode:>9}: {median.mib_per_s:7.1f} MiB/s, server {median.server_cpu_per_gib:.2f} "
                f"CPU-s/GiB ({median.server_system_per_gib:.2f} in the kernel), "
                f"{ratio:.2f}x MD5+CRC-64"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
