"""How the library's modules may import each other (UPL-PKG-001, UPL-PKG-002), checked on the
source: every ``import`` statement of every module under ``vodref/``, at any depth (a lazy
import inside a function counts too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import vodref
import vodref.core

PACKAGE = Path(vodref.__file__).resolve().parent
CLI = PACKAGE / "cli"
CORE = PACKAGE / "core"


def _imports(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute name) of every module and every name imported by ``source``, a module
    of ``package`` (for resolving relative imports)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def _library_imports(*, outside: Path) -> Iterator[tuple[str, int, str]]:
    """(file, line, name) for every import of every module under vodref/ not in ``outside``."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if outside in path.parents:
            continue
        relative = path.relative_to(PACKAGE.parent)
        package = ".".join(relative.parts[:-1])
        for line, name in _imports(path.read_text(encoding="utf-8"), package):
            yield str(relative), line, name


def test_the_scan_resolves_relative_lazy_and_aliased_imports() -> None:
    """UPL-PKG-001: the scanner finds the forms the checks below depend on."""
    source = (
        "import emulator as emu\n"
        "from ..core import Checkpoint\n"
        "from . import progress\n"
        "def later():\n"
        "    from emulator.server import ThreadedServer\n"
    )
    found = [name for _, name in _imports(source, "vodref.cli")]
    assert found == [
        "emulator",
        "vodref.core",
        "vodref.core.Checkpoint",
        "vodref.cli",
        "vodref.cli.progress",
        "emulator.server",
        "emulator.server.ThreadedServer",
    ]


def test_only_the_cli_imports_the_emulator() -> None:
    """UPL-PKG-001: the library never imports ``emulator``; only ``vodref/cli/`` does."""
    offenders = [
        f"{path}:{line} imports {name}"
        for path, line, name in _library_imports(outside=CLI)
        if name == "emulator" or name.startswith("emulator.")
    ]
    assert offenders == []


def test_the_outer_layer_imports_the_core_only_through_its_package() -> None:
    """UPL-PKG-002: ``vodref.core``, never ``vodref.core.<submodule>``, outside the core."""
    # ``from vodref.core import classify`` names the exported function, not the submodule.
    submodules = {path.stem for path in CORE.glob("*.py")} - {"__init__", *vodref.core.__all__}
    offenders = [
        f"{path}:{line} imports {name}"
        for path, line, name in _library_imports(outside=CORE)
        if name.startswith("vodref.core.") and name.split(".")[2] in submodules
    ]
    assert offenders == []
