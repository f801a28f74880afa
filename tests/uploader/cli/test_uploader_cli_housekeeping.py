"""What the CLI leaves on disk: ``vodref checkpoints list|clean`` and the demo's bounded
footprint, run as real processes against the embedded emulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import run_cli
from support.uploader import MIN_PART, isolated_env, write_file

# Part 3 of every upload is refused for good: each file stops with parts 1 and 2 done.
PART_THREE_REFUSED = json.dumps(
    [
        {
            "match": {"operation": "UploadPart", "part_number": 3},
            "effect": {"type": "error", "status": 403, "code": "AccessDenied"},
        }
    ]
)


def _tree_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def test_checkpoints_list_and_clean(tmp_path: Path) -> None:
    """UPL-CLI-016: two unfinished uploads are listed with size, progress and VideoId;
    clean by file, by age and all."""
    store = tmp_path / "records"
    env = {**isolated_env(tmp_path), "VODREF_CHECKPOINT_DIR": str(store)}
    first = write_file(tmp_path, "first.mp4", 5 * MIN_PART, seed=1)
    second = write_file(tmp_path, "second.mp4", 5 * MIN_PART, seed=2)
    failed = run_cli(
        [
            "upload",
            str(first),
            str(second),
            "--part-size",
            "100KiB",
            "--parallel",
            "1",
            "--progress",
            "none",
        ],
        {**env, "VODREF_EMULATOR_FAULTS": PART_THREE_REFUSED},
    )
    assert failed.returncode == 1, failed.stderr

    listed = run_cli(["checkpoints", "list", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    records = {r["file"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert set(records) == {"first.mp4", "second.mp4"}
    for record in records.values():
        assert record["size"] == 5 * MIN_PART and record["bytes_done"] == 2 * MIN_PART
        assert record["video_id"] and record["age_seconds"] >= 0
    table = run_cli(["checkpoints", "list"], env)
    assert table.returncode == 0
    [row] = [line for line in table.stdout.splitlines() if line.endswith("first.mp4")]
    assert "40.0%" in row and records["first.mp4"]["video_id"] in row and "500.0 KiB" in row

    by_file = run_cli(["checkpoints", "clean", "--file", str(first)], env)
    assert by_file.returncode == 0 and "removed 1 checkpoint(s)" in by_file.stdout
    remaining = run_cli(["checkpoints", "list", "--json"], env).stdout.splitlines()
    assert [json.loads(line)["file"] for line in remaining] == ["second.mp4"]

    young = run_cli(["checkpoints", "clean", "--older-than", "1d"], env)
    assert "removed 0 checkpoint(s)" in young.stdout
    old = run_cli(["checkpoints", "clean", "--older-than", "0s"], env)
    assert "removed 1 checkpoint(s)" in old.stdout
    assert run_cli(["checkpoints", "list", "--json"], env).stdout == ""
    assert "no checkpoints in" in run_cli(["checkpoints", "list"], env).stdout
    every = run_cli(["checkpoints", "clean", "--all"], env)
    assert every.returncode == 0
    assert not list(store.glob("*.json")) and not list(store.glob("*.log"))


def test_the_demo_footprint_stays_bounded(tmp_path: Path) -> None:
    """UPL-CLI-017: a second demo run adds nothing (its emulator and checkpoints start
    afresh, the sample is reused), and another size replaces the sample."""
    env = isolated_env(tmp_path)
    data = tmp_path / "xdg-data" / "vodref"
    runs = []
    for _ in range(3):
        demo = run_cli(["demo", "--size", "300KiB", "--progress", "none"], env)
        assert demo.returncode == 0, demo.stderr
        runs.append(_tree_size(data))
    # One sample (300 KiB) and one uploaded copy, plus the emulator's small database: a
    # run that kept the last one's upload would add 300 KiB.
    assert runs[2] < runs[0] + 100 * 1024, runs
    assert runs[0] < 3 * 300 * 1024, runs
    other = run_cli(["demo", "--size", "200KiB", "--progress", "none"], env)
    assert other.returncode == 0, other.stderr
    assert [p.name for p in (data / "demo").glob("sample-*.mp4")] == ["sample-204800.mp4"]
