"""Benchmark the emulator's OSS upload path against its floor and against moto.

Uploads a random file (default 256 MiB) in 1 MiB parts with 5 threads (multipart: initiate,
parts, complete) and prints, as medians of interleaved rounds (the machine is shared):

- the floor: CPU seconds per GiB for one MD5 and one CRC-64 (fastcrc) over each part, in
  this process, over the same bytes: what the server must pay anyway;
- the emulator's server CPU seconds per GiB (psutil on its pid) ``--in-memory`` and with
  ``--data-dir``, and each as a ratio to the floor, with the targets beside them
  (<= 1.4x in memory, <= 2x with a data directory, issue 12);
- ingest MiB/s of the emulator (in memory) and of moto's server mode (``ThreadedMotoServer``
  in a child process), and the ratio (target >= 5x), twice: with the same client for
  both (urllib3, one pool of ``--threads`` connections, sending each part to a presigned
  URL that the service's SDK made: oss2 ``sign_url`` for the emulator, which checks it,
  boto3 ``generate_presigned_url`` for moto; initiate and complete through the SDKs), and
  with each service's SDK (oss2 over requests for the emulator, boto3 for moto). oss2
  runs with ``enable_crc=False`` so the *server's* checks are what is measured; the
  emulator-side figures above come from the oss2 runs;
- the raw receiver (bench/_raw_receiver.py): no HTTP, the same parts over the same number of
  connections, each read into fresh memory exactly as the emulator reads a body, hashed with
  the emulator's MD5 and CRC-64 and kept in memory. Its CPU per GiB is the least a Python
  server keeping bodies in memory pays on this machine (the floor plus the kernel's socket
  copy and fresh zeroed pages), printed as a ratio to the floor beside the in-memory
  emulator's ratio to it;
- the load average (``os.getloadavg()``) at the start and the end.

Every emulator run ends with an integrity check: the completed object's size and CRC-64
(as the emulator reports it) must equal the source's; a moto run checks the size.

    .venv/bin/python bench/bench_emulator.py            # 256 MiB, 3 rounds
    .venv/bin/python bench/bench_emulator.py --quick    # 64 MiB, 1 round
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import fastcrc
import oss2
import psutil
import urllib3
from botocore.config import Config  # type: ignore[import-untyped]

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET

MIB = 1024 * 1024
GIB = 1024 * MIB
BANNER = "vodref-emulator listening on "
TARGET_IN_MEMORY = 1.4
TARGET_DATA_DIR = 2.0
TARGET_VS_MOTO = 5.0
# moto's server on a loopback port of its choosing, in a child process (so its CPU is its
# own); the first line it prints is its URL.
_MOTO_SERVER = """
import sys, threading
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"http://{host}:{port}", flush=True)
sys.stdin.read()
server.stop()
"""


@dataclass(frozen=True, slots=True)
class RunResult:
    contender: str
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


def start_moto(part_size: int) -> tuple[subprocess.Popen[str], str]:
    # S3 refuses parts under 5 MiB at Complete; OSS takes 100 KiB. moto's own setting
    # lowers its minimum to the part size benchmarked, and its in-memory key buffer is
    # pinned at its default (it would follow the minimum down and spill parts to disk).
    environment = {
        **os.environ,
        "S3_UPLOAD_PART_MIN_SIZE": str(min(part_size, 5 * MIB)),
        "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(5 * MIB - 1024),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", _MOTO_SERVER],
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("http://127.0.0.1:"):
        process.kill()
        raise RuntimeError(f"unexpected moto output: {first!r}")
    return process, first


def stop_server(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def _parts(size: int, part_size: int) -> list[tuple[int, int, int]]:
    """(part number, offset, length) of each part."""
    return [
        (number, offset, min(part_size, size - offset))
        for number, offset in enumerate(range(0, size, part_size), start=1)
    ]


def upload_oss2(url: str, path: Path, part_size: int, threads: int) -> tuple[float, int]:
    """Multipart-upload ``path`` with oss2; return (seconds, CRC-64 the emulator reported)."""
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

        def send(part: tuple[int, int, int]) -> oss2.models.PartInfo:
            number, offset, length = part
            result = bucket.upload_part(
                "bench.bin", upload_id, number, os.pread(fd, length, offset)
            )
            return oss2.models.PartInfo(number, result.etag)

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(send, _parts(size, part_size)))
        result = bucket.complete_multipart_upload("bench.bin", upload_id, parts)
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
    head = bucket.head_object("bench.bin")
    if head.content_length != size:
        raise RuntimeError(f"size mismatch: {head.content_length} != {size}")
    bucket.session.session.close()
    return elapsed, int(result.headers["x-oss-hash-crc64ecma"])


def _s3_client(url: str, threads: int) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # moto's server checks no signature
        # moto's Complete joins every part in one request: minutes on a busy machine.
        config=Config(max_pool_connections=threads, retries={"max_attempts": 0}, read_timeout=900),
    )


def upload_boto3(url: str, path: Path, part_size: int, threads: int) -> float:
    """Multipart-upload ``path`` to moto with boto3; return the seconds it took."""
    client = _s3_client(url, threads)
    client.create_bucket(Bucket="bench-bucket")
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        started = time.perf_counter()
        upload_id = client.create_multipart_upload(Bucket="bench-bucket", Key="bench.bin")[
            "UploadId"
        ]

        def send(part: tuple[int, int, int]) -> dict[str, object]:
            number, offset, length = part
            result = client.upload_part(
                Bucket="bench-bucket",
                Key="bench.bin",
                UploadId=upload_id,
                PartNumber=number,
                Body=os.pread(fd, length, offset),
            )
            return {"PartNumber": number, "ETag": result["ETag"]}

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(send, _parts(size, part_size)))
        client.complete_multipart_upload(
            Bucket="bench-bucket",
            Key="bench.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
    stored = client.head_object(Bucket="bench-bucket", Key="bench.bin")["ContentLength"]
    if stored != size:
        raise RuntimeError(f"size mismatch: {stored} != {size}")
    client.close()
    return elapsed


def _send_presigned(
    urls: list[str], path: Path, part_size: int, threads: int
) -> list[tuple[int, str]]:
    """PUT each part to its presigned URL with urllib3; (part number, ETag) of each."""
    size = path.stat().st_size
    pool = urllib3.PoolManager(maxsize=threads, block=True, retries=False)
    fd = os.open(path, os.O_RDONLY)
    try:

        def send(part: tuple[int, int, int]) -> tuple[int, str]:
            number, offset, length = part
            response = pool.request("PUT", urls[number - 1], body=os.pread(fd, length, offset))
            if response.status != 200:
                raise RuntimeError(f"part {number}: HTTP {response.status}")
            return number, str(response.headers["ETag"])

        with ThreadPoolExecutor(threads) as executor:
            return list(executor.map(send, _parts(size, part_size)))
    finally:
        os.close(fd)
        pool.clear()


def presigned_oss(url: str, path: Path, part_size: int, threads: int) -> float:
    """The emulator through urllib3 and oss2-presigned part URLs; seconds it took."""
    auth = oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    bucket = oss2.Bucket(auth, url, "bench-bucket", enable_crc=False)
    bucket.create_bucket()
    size = path.stat().st_size
    started = time.perf_counter()
    upload_id = bucket.init_multipart_upload("bench.bin").upload_id
    urls = [
        bucket.sign_url(
            "PUT", "bench.bin", 3600, params={"partNumber": str(n), "uploadId": upload_id}
        )
        for n, _, _ in _parts(size, part_size)
    ]
    sent = _send_presigned(urls, path, part_size, threads)
    parts = [oss2.models.PartInfo(number, etag.strip('"')) for number, etag in sent]
    bucket.complete_multipart_upload("bench.bin", upload_id, parts)
    elapsed = time.perf_counter() - started
    if bucket.head_object("bench.bin").content_length != size:
        raise RuntimeError("size mismatch")
    return elapsed


def presigned_s3(url: str, path: Path, part_size: int, threads: int) -> float:
    """moto through urllib3 and boto3-presigned part URLs; seconds it took."""
    client = _s3_client(url, threads)
    client.create_bucket(Bucket="bench-bucket")
    size = path.stat().st_size
    started = time.perf_counter()
    upload_id = client.create_multipart_upload(Bucket="bench-bucket", Key="bench.bin")["UploadId"]
    urls = [
        client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": "bench-bucket",
                "Key": "bench.bin",
                "UploadId": upload_id,
                "PartNumber": n,
            },
            ExpiresIn=3600,
        )
        for n, _, _ in _parts(size, part_size)
    ]
    sent = _send_presigned(urls, path, part_size, threads)
    client.complete_multipart_upload(
        Bucket="bench-bucket",
        Key="bench.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in sent]},
    )
    elapsed = time.perf_counter() - started
    if client.head_object(Bucket="bench-bucket", Key="bench.bin")["ContentLength"] != size:
        raise RuntimeError("size mismatch")
    client.close()
    return elapsed


def _measured(
    contender: str,
    process: subprocess.Popen[str],
    size: int,
    send: Callable[[], float],
) -> RunResult:
    try:
        server = psutil.Process(process.pid)
        before = server.cpu_times()
        elapsed = send()
        after = server.cpu_times()
    finally:
        stop_server(process)
    user, system = after.user - before.user, after.system - before.system
    return RunResult(
        contender, size / MIB / elapsed, (user + system) * GIB / size, system * GIB / size
    )


def run_emulator(mode: str, path: Path, part_size: int, threads: int, workdir: Path) -> RunResult:
    data_dir = workdir / f"data-{mode}-{time.monotonic_ns()}"
    process, url = start_emulator(mode, data_dir)
    crcs: list[int] = []

    def send() -> float:
        elapsed, crc = upload_oss2(url, path, part_size, threads)
        crcs.append(crc)
        return elapsed

    result = _measured(mode, process, path.stat().st_size, send)
    expected_crc = int(fastcrc.crc64.xz(path.read_bytes()))
    if crcs != [expected_crc]:
        raise RuntimeError(f"CRC mismatch: {crcs} != {expected_crc}")
    return result


def run_moto(path: Path, part_size: int, threads: int) -> RunResult:
    process, url = start_moto(part_size)
    return _measured(
        "moto", process, path.stat().st_size, lambda: upload_boto3(url, path, part_size, threads)
    )


def run_same_client(name: str, path: Path, part_size: int, threads: int) -> RunResult:
    """``name`` "emulator-urllib3" or "moto-urllib3": presigned parts sent with urllib3."""
    if name == "moto-urllib3":
        process, url = start_moto(part_size)
        send = presigned_s3
    else:
        process, url = start_emulator("in-memory", path.parent)
        send = presigned_oss
    return _measured(
        name, process, path.stat().st_size, lambda: send(url, path, part_size, threads)
    )


def run_raw_receiver(path: Path, part_size: int, threads: int) -> RunResult:
    """The same parts to bench/_raw_receiver.py, one connection per thread."""
    script = Path(__file__).resolve().parent / "_raw_receiver.py"
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("raw-receiver listening on "):
        process.kill()
        raise RuntimeError(f"unexpected raw receiver output: {first!r}")
    host, port = first.rsplit(" ", 1)[1].split(":")
    parts = _parts(path.stat().st_size, part_size)

    def send() -> float:
        fd = os.open(path, os.O_RDONLY)
        digests: list[bytes] = []
        try:
            started = time.perf_counter()

            def one_connection(index: int) -> None:
                with socket.create_connection((host, int(port))) as connection:
                    for _number, offset, length in parts[index::threads]:
                        data = os.pread(fd, length, offset)
                        connection.sendall(length.to_bytes(8, "big"))
                        connection.sendall(data)
                        digest = connection.recv(16, socket.MSG_WAITALL)
                        if len(digest) != 16:
                            raise RuntimeError("the raw receiver closed early")
                        digests.append(digest)

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(one_connection, range(threads)))
            elapsed = time.perf_counter() - started
            _number, offset, length = parts[0]
            first_part = hashlib.md5(os.pread(fd, length, offset)).digest()
        finally:
            os.close(fd)
        if len(digests) != len(parts) or first_part not in digests:
            raise RuntimeError("the raw receiver's digests do not match the parts")
        return elapsed

    return _measured("raw-receiver", process, path.stat().st_size, send)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--part-mib", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument(
        "--contenders",
        default="in-memory,data-dir,raw-receiver,moto,emulator-urllib3,moto-urllib3",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--quick", action="store_true", help="64 MiB, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mib, args.rounds = 64, 1
    part_size = int(args.part_mib * MIB)
    contenders = args.contenders.split(",")
    print(f"load average at start: {_load()}")
    print(
        f"file: {args.size_mib} MiB, parts: {args.part_mib:g} MiB, threads: {args.threads}, "
        f"rounds: {args.rounds} (interleaved; medians)"
    )
    floors: list[float] = []
    results: dict[str, list[RunResult]] = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory(prefix="vodref-bench-") as tmp:
        workdir = Path(tmp)
        source = workdir / "source.bin"
        with source.open("wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MIB))
        for _ in range(args.rounds):
            floors.append(hash_cost_per_gib(source, part_size))
            for name in contenders:
                if name == "moto":
                    results[name].append(run_moto(source, part_size, args.threads))
                elif name == "raw-receiver":
                    results[name].append(run_raw_receiver(source, part_size, args.threads))
                elif name.endswith("-urllib3"):
                    results[name].append(run_same_client(name, source, part_size, args.threads))
                else:
                    results[name].append(
                        run_emulator(name, source, part_size, args.threads, workdir)
                    )
    floor = statistics.median(floors)
    print(f"floor, MD5 + CRC-64 (fastcrc) over the same parts: {floor:.2f} CPU-s/GiB")
    targets = {"in-memory": TARGET_IN_MEMORY, "data-dir": TARGET_DATA_DIR}
    speed: dict[str, float] = {}
    cpus: dict[str, float] = {}
    for name, runs in results.items():
        cpu = cpus[name] = statistics.median(r.server_cpu_per_gib for r in runs)
        system = statistics.median(r.server_system_per_gib for r in runs)
        speed[name] = statistics.median(r.mib_per_s for r in runs)
        line = (
            f"{name:>16}: {speed[name]:7.1f} MiB/s, server {cpu:.2f} CPU-s/GiB "
            f"({system:.2f} in the kernel)"
        )
        if name in targets:
            line += f", {cpu / floor:.2f}x the floor (target <= {targets[name]:g}x)"
        elif name == "raw-receiver":
            line += f", {cpu / floor:.2f}x the floor (no HTTP: the least a server pays here)"
        print(line)
    if "raw-receiver" in cpus and "in-memory" in cpus:
        print(
            "in-memory emulator / raw receiver, server CPU per GiB: "
            f"{cpus['in-memory'] / cpus['raw-receiver']:.2f}x (what HTTP, signatures and "
            "the service model add)"
        )
    pairs = (
        ("same client, urllib3", "emulator-urllib3", "moto-urllib3"),
        ("each SDK, oss2 vs boto3", "in-memory", "moto"),
    )
    for label, ours, theirs in pairs:
        if ours in speed and theirs in speed:
            print(
                f"emulator vs moto ingest ({label}): {speed[ours]:.1f} vs {speed[theirs]:.1f} "
                f"MiB/s = {speed[ours] / speed[theirs]:.1f}x (target >= {TARGET_VS_MOTO:g}x); "
                f"moto's server needs {cpus[theirs] / cpus[ours]:.1f}x the CPU per GiB"
            )
    print(f"load average at end: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
