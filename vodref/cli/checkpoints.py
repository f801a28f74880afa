"""``vodref checkpoints list|clean``: the resume records of unfinished uploads.

A record is kept per file while its upload is unfinished (deleted when it succeeds), in
the checkpoint directory (``--checkpoint-dir``, ``VODREF_CHECKPOINT_DIR`` or the per-user
cache directory): a JSON snapshot named by a hash of the file's fingerprint, the journal of
parts added since (``*.log``), and a small index record per path. ``list`` reads each
snapshot through :class:`~vodref.stores.FileCheckpointStore` (journal replayed) and shows
the file name, size, bytes done, VideoId and age (time since the record last changed).
``clean`` deletes all records, those older than an age, or those of given files; it
should not run while an upload that uses the same directory runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import CheckpointStoreError
from ..resume import fingerprint_for, identity_key
from ..sources import open_source
from ..stores import FileCheckpointStore, default_checkpoint_dir
from .options import EXIT_OK, UsageProblem
from .progress import format_bytes, format_duration

__all__ = ["run_checkpoints"]


@dataclass(frozen=True, slots=True)
class _Entry:
    record_id: str  # the snapshot's file name without .json
    key: str  # the store key (the file's fingerprint)
    name: str
    size: int
    done: int
    video_id: str | None
    age: float  # seconds since the record last changed

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.record_id,
            "file": self.name,
            "size": self.size,
            "bytes_done": self.done,
            "video_id": self.video_id,
            "age_seconds": round(self.age, 1),
        }


def _record_paths(directory: Path, record_id: str) -> list[Path]:
    return [directory / f"{record_id}.json", *directory.glob(f"{record_id}.*.log")]


def _entries(store: FileCheckpointStore, now: float) -> Iterator[_Entry]:
    for snapshot in sorted(store.directory.glob("*.json")):
        try:
            raw = json.loads(snapshot.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        file = raw.get("file") if isinstance(raw, dict) else None
        if not isinstance(file, dict) or not isinstance(file.get("fingerprint"), str):
            continue  # an index record, or not ours
        key: str = file["fingerprint"]
        if hashlib.sha256(key.encode()).hexdigest()[:40] != snapshot.stem:
            continue
        try:
            record: dict[str, Any] = store.load(key) or raw
        except CheckpointStoreError:
            record = raw
        parts = record.get("parts")
        done = sum(
            part[3]
            for part in (parts if isinstance(parts, list) else [])
            if isinstance(part, list) and len(part) > 3 and isinstance(part[3], int)
        )
        paths = _record_paths(store.directory, snapshot.stem)
        changed = max(path.stat().st_mtime for path in paths if path.exists())
        video_id = record.get("video_id")
        yield _Entry(
            record_id=snapshot.stem,
            key=key,
            name=str(file.get("name", "?")),
            size=int(file.get("size", 0) or 0),
            done=done,
            video_id=video_id if isinstance(video_id, str) else None,
            age=max(0.0, now - changed),
        )


def _age(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return format_duration(seconds)


def _list(store: FileCheckpointStore, as_json: bool, out: TextIO) -> int:
    entries = list(_entries(store, time.time()))
    if as_json:
        for entry in entries:
            out.write(json.dumps(entry.as_json()) + "\n")
        return EXIT_OK
    if not entries:
        out.write(f"no checkpoints in {store.directory}\n")
        return EXIT_OK
    out.write(f"{'ID':<12}  {'SIZE':>10}  {'DONE':>6}  {'AGE':>7}  {'VIDEO':<32}  FILE\n")
    for entry in entries:
        percent = 100.0 * entry.done / entry.size if entry.size else 0.0
        out.write(
            f"{entry.record_id[:12]:<12}  {format_bytes(entry.size):>10}  {percent:5.1f}%  "
            f"{_age(entry.age):>7}  {entry.video_id or '-':<32}  {entry.name}\n"
        )
    return EXIT_OK


def _keys_of_files(store: FileCheckpointStore, paths: list[str]) -> set[str]:
    """The fingerprint keys and path-index keys of ``paths`` as the CLI uploads them (no
    user id), including an older fingerprint the path's index still names."""
    keys: set[str] = set()
    for path in paths:
        source = open_source(path)
        try:
            identity = identity_key(source, None)
            keys.update((fingerprint_for(source, None), identity))
            index = store.load(identity)
        finally:
            source.close()
        previous = index.get("fingerprint") if index else None
        if isinstance(previous, str):
            keys.add(previous)
    return keys


def _clean(args: argparse.Namespace, store: FileCheckpointStore, out: TextIO) -> int:
    directory = store.directory
    if args.all:
        doomed = [p for p in directory.iterdir() if p.suffix in (".json", ".log")]
        removed = len([p for p in doomed if p.suffix == ".json"])
        for path in doomed:
            path.unlink(missing_ok=True)
    elif args.older_than is not None:
        removed = 0
        for entry in list(_entries(store, time.time())):
            if entry.age >= args.older_than:
                for path in _record_paths(directory, entry.record_id):
                    path.unlink(missing_ok=True)
                removed += 1
    else:
        keys = _keys_of_files(store, args.file)
        removed = 0
        for key in keys:
            record_id = hashlib.sha256(key.encode()).hexdigest()[:40]
            if (directory / f"{record_id}.json").exists():
                removed += not key.startswith("v1:path:")
            for path in _record_paths(directory, record_id):
                path.unlink(missing_ok=True)
    out.write(f"removed {removed} checkpoint(s) from {directory}\n")
    return EXIT_OK


def run_checkpoints(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    directory = Path(args.checkpoint_dir) if args.checkpoint_dir else default_checkpoint_dir()
    if directory.exists() and not directory.is_dir():
        raise UsageProblem(f"--checkpoint-dir {directory} is a file, not a directory")
    store = FileCheckpointStore(directory)
    try:
        if args.action == "list":
            return _list(store, args.json, out)
        return _clean(args, store, out)
    finally:
        store.close()
