"""Per-part cost at 1,000 vs 10,000 parts, at the library's default settings (issue 12).

Usage::

    .venv/bin/python bench/bench_parts.py            # 3 interleaved runs of each
    .venv/bin/python bench/bench_parts.py --quick    # 1 run of each

A ``Vod`` with its defaults (parallel 5, a checkpoint save after every part, the file
checkpoint store with its 50 ms coalescing window, CRC-64 per part and per object) uploads a
file of 1,000 and one of 10,000 parts to the emulator (a separate process, reset between
runs). The part size is the smallest OSS allows, 100 KiB, the only one that keeps 10,000
parts under 1 GiB; everything else is the default. Each run is a fresh subprocess, so its CPU
seconds are the client's alone.

The bare uploader (bench/_bare_uploader.py: no checkpoint, no core) runs the same two files
as a control: what grows for it too (the emulator holding 10,000 parts, a 10,000-part
Complete) is not vodref's per-part path.

Printed, per contender and size (median [min-max]): wall ms per part, client CPU ms per
part, and for vodref its checkpoint snapshot writes and journal appends; then the 10k/1k
ratios with the target (<= 1.2) and the load average at start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _emulator_process import start_emulator  # bench/ is sys.path[0] when run
from bench_uploader import make_file

from emulator.control import Client

PART = 102_400
COUNTS = (1_000, 10_000)
CLIENTS = ("vodref", "bare")


def measure(url: str, path: Path, client: str) -> dict[str, Any]:
    with Client(url) as control:
        control.reset()
    output = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("bench_uploader.py")),
            "worker",
            "--client",
            client,
            "--url",
            url,
            "--file",
            str(path),
            "--part-size",
            str(PART),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        raise SystemExit(f"worker failed:\n{output.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def summary(values: list[float], digits: int = 3) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"[{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 run of each")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "vodref-bench"
    )
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.runs = 1
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    files = {count: arguments.workdir / f"parts-{count}.mp4" for count in COUNTS}
    for count, path in files.items():
        make_file(path, count * PART)
    print(f"load average at start: {load()}")
    emulator, url = start_emulator()
    print(
        f"emulator {url} (separate process); parts of {PART // 1024} KiB; "
        f"{arguments.runs} interleaved run(s) each; Vod defaults otherwise"
    )
    plan = [(client, count) for count in COUNTS for client in CLIENTS]
    results: dict[tuple[str, int], list[dict[str, Any]]] = {key: [] for key in plan}
    try:
        measure(url, files[COUNTS[0]], "vodref")  # warm-up, discarded
        for run in range(arguments.runs):
            for client, count in plan if run % 2 == 0 else plan[::-1]:
                results[(client, count)].append(measure(url, files[count], client))
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    print(f"\n{'client':<7} {'parts':>6} {'wall ms/part':>22} {'CPU ms/part':>22}", end=" ")
    print(f"{'snapshots':>10} {'appends':>8}")
    per_part: dict[tuple[str, int], dict[str, float]] = {}
    for (client, count), runs in sorted(results.items()):
        wall = [r["seconds"] * 1000 / count for r in runs]
        cpu = [r["cpu"] * 1000 / count for r in runs]
        per_part[(client, count)] = {
            "wall": statistics.median(wall),
            "cpu": statistics.median(cpu),
        }
        print(
            f"{client:<7} {count:>6} {summary(wall):>22} {summary(cpu):>22} "
            f"{statistics.median(r.get('writes', 0) for r in runs):>10.0f} "
            f"{statistics.median(r.get('appends', 0) for r in runs):>8.0f}"
        )
    small, big = COUNTS
    print()
    for client in CLIENTS:
        for field, name in (("wall", "wall time"), ("cpu", "client CPU")):
            ratio = per_part[(client, big)][field] / per_part[(client, small)][field]
            target = "(target <= 1.2)" if client == "vodref" else "(control)"
            print(f"{client}: per-part {name}, {big:,} / {small:,} parts: {ratio:.2f}x  {target}")
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
