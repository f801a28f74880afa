"""The core stays pure (UP-CORE-001) and its per-part work does not grow (UP-CORE-006)."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

from support.core import ScriptedDriver, make_data

from vodref.core import StartUpload, UploaderOptions

CORE = Path(__file__).resolve().parents[2] / "vodref" / "core"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_core.py"
ALLOWED = {
    "__future__",
    "dataclasses",
    "enum",
    "typing",
    "collections",
    "collections.abc",
    "itertools",
    "functools",
    "math",
    "bisect",
    "heapq",
    "json",  # checkpoint (de)serialisation only: pure string <-> data
}
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}
# The project's pre-stop hook, verbatim.
HOOK = re.compile(
    r"^\s*(import|from)\s+(os|io|socket|threading|asyncio|concurrent|time|random|requests|oss2"
    r"|urllib|http|subprocess|pathlib|logging)\b|\bopen\(|time\.time\(|datetime\.now\("
)


def core_files() -> list[Path]:
    files = sorted(CORE.glob("*.py"))
    assert files
    return files


def main_guard_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            for child in ast.walk(node):
                if hasattr(child, "lineno"):
                    lines.add(child.lineno)
    return lines


def test_core_imports_only_pure_standard_modules() -> None:
    """UP-CORE-001"""
    for path in core_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name in ALLOWED, f"{path.name}: import {alias.name}"
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside vodref.core
                    continue
                assert node.module in ALLOWED, f"{path.name}: from {node.module}"


def test_core_calls_no_io_builtins() -> None:
    """UP-CORE-001: the diagram generator's `python -m` entry point may print"""
    for path in core_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed_lines = main_guard_lines(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in FORBIDDEN_CALLS
            ):
                assert node.lineno in allowed_lines, f"{path.name}:{node.lineno} {node.func.id}"


def test_core_passes_the_project_hook() -> None:
    """UP-CORE-001"""
    for path in core_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not HOOK.search(line), f"{path.name}:{number}: {line}"


def load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_core", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_core"] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_and_work_per_part_is_constant() -> None:
    """UP-CORE-006: the timed figures come from `python bench/bench_core.py`; here the benchmark
    must work, and the commands the core returns per part must not grow."""
    bench = load_bench()
    # run() itself asserts that the file ends in Success; a clock that measured nothing fails.
    assert bench.run(50) > 0

    counts = []
    for parts in (20, 200):
        driver = ScriptedDriver(UploaderOptions(part_size=102_400, checkpoint_interval=1e9))
        driver.add("f", make_data(parts * 102_400))
        driver.send(StartUpload())
        driver.run()
        counts.append(len(driver.log) / parts)
    assert counts[1] <= counts[0]
