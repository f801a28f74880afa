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
CONFORMANCE = PACKAGE / "conformance"
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


def _module_level_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, module) of the imports that run when the module is imported: those not inside
    a function (``if TYPE_CHECKING:`` blocks count as module level, to stay strict)."""
    tree = ast.parse(source)
    lazy = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


def _library_imports(*, outside: Path, also: Path | None = None) -> Iterator[tuple[str, int, str]]:
    """(file, line, name) for every import of every module under vodref/ not in ``outside``
    (nor in ``also``)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if outside in path.parents or (also is not None and also in path.parents):
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


def test_only_the_cli_and_the_conformance_suite_import_the_emulator() -> None:
    """UPL-PKG-001: the library never imports ``emulator``; only ``vodref/cli/`` and
    ``vodref/conformance/`` do, and the conformance suite only inside functions (CONF-CLI-004)."""
    offenders = [
        f"{path}:{line} imports {name}"
        for path, line, name in _library_imports(outside=CLI, also=CONFORMANCE)
        if name == "emulator" or name.startswith("emulator.")
    ]
    assert offenders == []
    eager = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} at module level"
        for path in sorted(CONFORMANCE.rglob("*.py"))
        for line, name in _module_level_imports(path.read_text(encoding="utf-8"))
        if name == "emulator" or name.startswith("emulator.")
    ]
    assert eager == []
    assert list(_module_level_imports("import emulator\ndef f():\n    import emulator.x\n")) == [
        (1, "emulator")
    ]


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
