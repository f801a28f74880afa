"""Resume benchmark (issue 12): a 10,000-part upload SIGKILLed half way resumes fast, cold.

Usage::

    .venv/bin/python bench/bench_resume.py            # 10,000 parts, 5 seeds
    .venv/bin/python bench/bench_resume.py --quick    # 2,000 parts, 2 seeds
    .venv/bin/python bench/bench_resume.py --parts 10000 --seeds 3

The file: ``parts - 1`` parts of 100 KiB (102,400 bytes, the smallest part the uploader
allows, so 10,000 parts stay a ~1 GB file) and a last part of 50 KiB, so the short last part
is exercised too. One file serves every seed; each seed has a fresh emulator state, resume
records and CLI data directory.

Per seed: ``vodref upload --progress json`` (parallel 5, ``--endpoint`` to the emulator,
which runs as a separate process with ``--log-requests``) is SIGKILLed when the emulator has
acknowledged the seed's number of parts (50 % +- 2.5 %). Then the source file and every file
the CLI wrote (resume records, locks) are fsynced and evicted from the page cache with
``posix_fadvise(POSIX_FADV_DONTNEED)``: that is how "cold" is made here (no root needed).
``--cold-python`` evicts the interpreter's standard library, site-packages and vodref the
same way (as after a reboot); ``--drop-caches`` also writes ``/proc/sys/vm/drop_caches``
when that is writable (root; it empties the whole machine's page cache, so it is opt-in).
Then the same command runs again to the end.

Times come from the control plane's request log, stamped by the emulator when it answered
(polled every 20 ms during the re-run): from the re-run's spawn to its first UploadPart (any
part number; whether that part was already on the server is printed too), to its first
ListParts and to its first VOD call. Also the CPU time the re-run had used when its first
part showed up (from /proc; less sensitive to the machine's load than the wall time; high
by at most one poll). Counts come from the emulator's ``--log-requests`` stream, which
misses nothing: parts re-sent (UploadParts of the re-run for parts the server listed at the
restart; must be <= parallel). And: the time until the upload completes, whether the
object's CRC-64 equals the file's, videos per file (must be 1), and the load average at
the start and end of each seed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from _emulator_process import start_emulator  # bench/ is sys.path[0] when run
from bench_crash import CLI, PARALLEL, PART, args_for, cli_env, summary

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client
from vodref.checksums import crc64
from vodref.core import Credentials, ObjectTarget
from vodref.transport import OssHttpTransport

LAST_PART = PART // 2
_PART_NUMBER = re.compile(r"[?&]partNumber=(\d+)")


@dataclass
class RequestStream:
    """The emulator's ``--log-requests`` lines (operation, status, part number), read on a
    thread. Complete but late by up to a pipe's worth of lines, so it is used for counts
    only, once it has caught up; times come from the control plane's request log."""

    lines: list[tuple[int, str, int | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def follow(self, stream: TextIO) -> None:
        for line in stream:
            fields = line.split()
            if len(fields) < 4 or not line.rstrip().endswith("]"):
                continue
            status = int(fields[0]) if fields[0].isdigit() else 0
            operation = line.rsplit(" ", 1)[-1].rstrip().rstrip("]")
            match = _PART_NUMBER.search(fields[2])
            with self.lock:
                self.lines.append((status, operation, int(match.group(1)) if match else None))

    def mark(self) -> int:
        with self.lock:
            return len(self.lines)

    def since(
        self, mark: int, *, until: str, timeout: float = 60.0
    ) -> list[tuple[int, str, int | None]]:
        """The lines after ``mark``, once one of operation ``until`` (answered 200) is in."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                lines = self.lines[mark:]
            if any(op == until and status == 200 for status, op, _ in lines):
                return lines
            if time.monotonic() > deadline:
                return lines  # the run did not get that far: its status says why
            time.sleep(0.05)


class FirstRequests:
    """Polls the control plane's request log (bounded, but with the emulator's own
    timestamps) from a re-run's spawn until its first UploadPart: when each operation was
    first answered."""

    def __init__(self, url: str) -> None:
        self.first: dict[str, tuple[float, int | None]] = {}
        self.pid: int | None = None  # the re-run's: its CPU time is read at the first part
        self.cpu_at_first_part: float | None = None
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> FirstRequests:
        with Client(self._url) as control:
            control.clear_requests()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        with Client(self._url) as control:
            while not self._stop.is_set() and "UploadPart" not in self.first:
                for record in control.requests():
                    self.first.setdefault(
                        record["operation"], (record["at"], record["part_number"])
                    )
                if "UploadPart" in self.first and self.pid is not None:
                    self.cpu_at_first_part = cpu_seconds(self.pid)
                self._stop.wait(0.02)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (all its threads) so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_file(path: Path, parts: int) -> int:
    """``parts - 1`` full parts and a half-size last one, random bytes; returns the CRC-64."""
    generator = random.Random(20261204)
    with path.open("wb") as handle:
        for number in range(1, parts + 1):
            handle.write(generator.randbytes(PART if number < parts else LAST_PART))
    return crc64(path.read_bytes())


def python_files() -> list[Path]:
    """What the interpreter reads to run the CLI: the standard library, the installed
    packages and vodref's own sources (``--cold-python``)."""
    import sysconfig  # noqa: PLC0415 (only for this option)

    roots = {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(str(Path(__file__).resolve().parent.parent / "vodref"))
    return [Path(root) for root in sorted(roots) if Path(root).is_dir()]


def evict(paths: list[Path], drop_caches: bool) -> tuple[int, bool]:
    """Make every file in ``paths`` (and below the directories) cold: fsync, then drop its
    pages. With ``drop_caches`` (and the right to write it), the whole page cache is
    dropped too. Returns how many files, and whether drop_caches was written."""
    count = 0
    for root in paths:
        for path in [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
            count += 1
    dropped = False
    if not drop_caches:
        return count, dropped
    with contextlib.suppress(OSError):
        with open("/proc/sys/vm/drop_caches", "w") as handle:
            handle.write("1\n")
        dropped = True
    return count, dropped


def cached_pages(path: Path) -> str:
    """``fincore``'s view of ``path`` (resident pages), or '?' without fincore."""
    try:
        out = subprocess.run(
            ["fincore", "--noheadings", "--raw", "--output", "PAGES", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return out or "?"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def upload_args(path: Path, checkpoints: Path) -> list[str]:
    return [*args_for(path), "--checkpoint-dir", str(checkpoints)]


def killed_at(command: list[str], env: dict[str, str], kill_after: int) -> tuple[bool, str | None]:
    """Run the CLI and SIGKILL it once its progress says ``kill_after`` parts are done.
    Returns whether it was killed, and the upload id it reported."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert process.stdout is not None
    upload_id = None
    for line in process.stdout:
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        upload_id = event.get("upload_id") or upload_id
        if event["event"] == "progress" and event["bytes"] >= kill_after * PART:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.communicate(timeout=60)
    return process.returncode == -signal.SIGKILL, upload_id


def root_transport_call(url: str, video: dict[str, Any], call: str, *args: Any) -> Any:
    """``call`` on the uploaded object with the emulator's root credentials."""
    target = ObjectTarget(endpoint=url, bucket=video["bucket"], key=video["object_key"])
    root = Credentials(
        access_key_id=DEFAULT_ACCESS_KEY_ID, access_key_secret=DEFAULT_ACCESS_KEY_SECRET
    )
    transport = OssHttpTransport(timeout=60.0)
    try:
        return getattr(transport, call)(target, root, *args)
    finally:
        transport.close()


def one_seed(
    seed: int,
    parts: int,
    path: Path,
    expected_crc: int,
    url: str,
    stream: RequestStream,
    work: Path,
    *,
    contender: tuple[str, str | None],
    cold_python: bool,
    drop_caches: bool,
    profile: Path | None,
) -> dict[str, Any]:
    """One kill and resume of ``contender`` (a name, and the PYTHONPATH that selects its
    vodref: None for this tree's)."""
    rng = random.Random(seed)
    kill_after = parts // 2 + rng.randint(-parts // 40, parts // 40)
    load_start = load_average()
    with Client(url) as control:
        control.reset()
    name, pythonpath = contender
    home = work / f"{name}-seed-{seed}"
    home.mkdir()
    checkpoints = home / "checkpoints"
    env = cli_env(url, home)
    env.pop("PYTHONPATH", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    command = [*CLI, *upload_args(path, checkpoints)]

    # Run 1, SIGKILLed at the kill point; then what the server holds, from ListParts.
    killed, upload_id = killed_at(command, env, kill_after)
    time.sleep(0.5)  # parts whose bodies were all in the socket buffers still land
    with Client(url) as control:
        videos = control.state()["vod"]["videos"]
    before: set[int] = set()
    if killed and upload_id and len(videos) == 1:
        listed = root_transport_call(url, videos[0], "list_parts", upload_id)
        before = {part.number for part in listed}

    files, dropped = evict([path, home, *(python_files() if cold_python else [])], drop_caches)
    source_pages = cached_pages(path)

    # Run 2: the resume, measured.
    rerun = command
    if profile is not None:
        output = profile / f"{name}-seed-{seed}.prof"
        rerun = [sys.executable, "-m", "cProfile", "-o", str(output)]
        rerun += [*CLI[1:], *command[len(CLI) :]]
    mark = stream.mark()
    with FirstRequests(url) as first:
        spawned = time.time()
        second = subprocess.Popen(
            rerun, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        first.pid = second.pid
        out, err = second.communicate(timeout=900)
        ended = time.time()
    seen = stream.since(mark, until="CompleteMultipartUpload", timeout=30.0)
    resent = sum(1 for s, op, n in seen if op == "UploadPart" and s == 200 and n in before)
    first_part = first.first.get("UploadPart")
    first_list = first.first.get("ListParts")
    first_vod = first.first.get("RefreshUploadVideo") or first.first.get("CreateUploadVideo")

    with Client(url) as control:
        videos = control.state()["vod"]["videos"]
    identical = False
    if len(videos) == 1:
        info = root_transport_call(url, videos[0], "head_object")
        identical = info is not None and (info.size, info.crc64) == (
            path.stat().st_size,
            expected_crc,
        )
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {
        "contender": name,
        "seed": seed,
        "kill_after_parts": kill_after,
        "killed": killed,
        "parts_on_server_at_restart": len(before),
        "highest_part_on_server": max(before, default=0),
        "evicted_files": files,
        "drop_caches": dropped,
        "source_pages_cached_after_evict": source_pages,
        "status": second.returncode,
        "first_vod_call_s": round(first_vod[0] - spawned, 3) if first_vod else None,
        "first_list_parts_s": round(first_list[0] - spawned, 3) if first_list else None,
        "list_parts_pages": sum(1 for _, op, _ in seen if op == "ListParts"),
        "first_upload_part_s": round(first_part[0] - spawned, 3) if first_part else None,
        "client_cpu_s_to_first_part": first.cpu_at_first_part,
        "first_upload_part_number": first_part[1] if first_part else None,
        "first_part_was_on_server": bool(first_part and first_part[1] in before),
        "resent_parts": resent,
        "complete_s": round(ended - spawned, 3),
        "videos": len(videos),
        "identical": identical,
        "result": results[-1].get("event") if results else None,
        "stderr_tail": err.strip().splitlines()[-3:] if second.returncode else [],
        "load_start": load_start,
        "load_end": load_average(),
    }


def report(results: list[dict[str, Any]], name: str) -> dict[str, float]:
    """Print one contender's summary; return its medians by key."""
    measured = [r for r in results if r["killed"] and r["first_upload_part_s"] is not None]
    print(f"\n{name}: seeds {len(results)}, killed mid-upload and resumed: {len(measured)}")
    print(f"videos per file: {sorted({r['videos'] for r in results})} (must be [1])")
    print(f"object CRC-64 equals the file's: {sum(r['identical'] for r in results)}/{len(results)}")
    print(f"exit statuses of the re-runs: {sorted({r['status'] for r in results})}")
    print(
        summary(
            f"parts re-sent per resume (must be <= parallel = {PARALLEL})",
            [float(r["resent_parts"]) for r in measured],
        )
    )
    medians = {}
    for label, key in (
        ("s from spawn to the first VOD call", "first_vod_call_s"),
        ("s from spawn to the first ListParts", "first_list_parts_s"),
        ("s from spawn to the first UploadPart (target < 1 s, cold)", "first_upload_part_s"),
        ("client CPU-s (all threads) by the first UploadPart", "client_cpu_s_to_first_part"),
        ("s from spawn to the upload's end", "complete_s"),
    ):
        values = [r[key] for r in measured if r[key] is not None]
        print(summary(label, values))
        if values:
            medians[key] = statistics.median(values)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 parts, 2 seeds")
    parser.add_argument(
        "--cold-python",
        action="store_true",
        help="also evict the standard library, site-packages and vodref (as after a reboot)",
    )
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="also write /proc/sys/vm/drop_caches when writable (root; drops the page cache "
        "of the whole machine, other users' included, so it is off by default)",
    )
    parser.add_argument("--profile", type=Path, help="cProfile each re-run into DIR")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also run the vodref package found in DIR (e.g. from `git archive REV vodref | "
        "tar -x -C DIR`), interleaved with this tree's; prints both and their ratios",
    )
    options = parser.parse_args()
    parts, seeds = (2000, 2) if options.quick else (options.parts, options.seeds)
    contenders: list[tuple[str, str | None]] = [("this-tree", None)]
    if options.baseline is not None:
        contenders.append(("baseline", str(options.baseline.resolve())))
    print(
        f"resume benchmark: {parts} parts ({parts - 1} x {PART} B + {LAST_PART} B), parallel "
        f"{PARALLEL}, SIGKILL at ~50 % of parts acknowledged, {seeds} seed(s), contenders "
        f"{[name for name, _ in contenders]}; cold = source and CLI files fsynced and evicted "
        "with posix_fadvise(POSIX_FADV_DONTNEED)"
        f"{' + the interpreter and packages' if options.cold_python else ''}"
        f"{' + drop_caches when writable' if options.drop_caches else ''}; "
        f"load average at start: {load_average()}",
        flush=True,
    )
    emulator, url = start_emulator(log_requests=True)
    assert emulator.stderr is not None
    stream = RequestStream()
    reader = threading.Thread(target=stream.follow, args=(emulator.stderr,), daemon=True)
    reader.start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-resume-") as work:
            path = Path(work) / "movie.mp4"
            expected_crc = make_file(path, parts)
            for seed in range(seeds):
                # Alternate which contender goes first: the machine's load drifts.
                for contender in contenders if seed % 2 == 0 else contenders[::-1]:
                    result = one_seed(
                        seed,
                        parts,
                        path,
                        expected_crc,
                        url,
                        stream,
                        Path(work),
                        contender=contender,
                        cold_python=options.cold_python,
                        drop_caches=options.drop_caches,
                        profile=options.profile,
                    )
                    results.append(result)
                    print(json.dumps(result), flush=True)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    medians = {
        name: report([r for r in results if r["contender"] == name], name) for name, _ in contenders
    }
    if len(contenders) == 2:
        print("\nratios this-tree / baseline (medians; below 1 is faster):")
        for key, value in medians["this-tree"].items():
            if medians["baseline"].get(key):
                print(f"  {key}: {value / medians['baseline'][key]:.2f}")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
