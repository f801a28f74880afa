"""Every requirement id in specs/*.md is cited by at least one test under tests/.

An id is anything matching ``REQUIREMENT_ID`` (``UP-OPT-003``, ``UP-DEV-012``,
``EMU-OSS-004``...) in any markdown file under specs/, so new spec files are covered without
touching this test. An id needs an area between prefix and number: ``DEV-012`` alone is not one,
which keeps words like ``CRC-64`` or ``ISO-8601`` out.
A test cites an id by naming it inside a test function under tests/: in a string of the
function (its docstring, a message, a parametrize id; decorators included) or its name. A
test function is one whose name starts with ``test`` or a Hypothesis state-machine step
(``@rule``, ``@invariant``, ``@initialize``, ``@precondition``). Comments, module
docstrings and helpers do not count: an id there says nothing about what a test checks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "specs"
TESTS = REPO / "tests"
REQUIREMENT_ID = re.compile(r"\b[A-Z]{2,}(?:-[A-Z0-9]+)+-[0-9]{2,4}\b")
THIS_FILE = Path(__file__).resolve()


def spec_ids() -> dict[str, list[str]]:
    """id -> spec files that mention it."""
    found: dict[str, list[str]] = {}
    for spec in sorted(SPECS.glob("*.md")):
        for match in REQUIREMENT_ID.finditer(spec.read_text(encoding="utf-8")):
            found.setdefault(match.group(0), [])
            if spec.name not in found[match.group(0)]:
                found[match.group(0)].append(spec.name)
    return found


_STATE_MACHINE_STEPS = frozenset({"rule", "invariant", "initialize", "precondition"})


def _is_test_function(node: ast.AST) -> bool:
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    if node.name.startswith("test"):
        return True
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in _STATE_MACHINE_STEPS:
            return True
    return False


def _ids_in_name(name: str) -> set[str]:
    """Ids spelled in a function name (``test_emu_oss_001_...``): every run of words that
    reads as an id once ``_`` becomes ``-`` (a surplus candidate such as ``TEST-EMU-OSS-001``
    matches no spec id, so it is harmless)."""
    words = name.upper().split("_")
    return {
        "-".join(words[start:end])
        for start in range(len(words))
        for end in range(start + 3, len(words) + 1)
        if REQUIREMENT_ID.fullmatch("-".join(words[start:end]))
    }


def ids_cited_in(source: str) -> set[str]:
    """The ids named inside the test functions of one Python module."""
    cited: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not _is_test_function(node):
            continue
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        cited.update(_ids_in_name(node.name))
        for inner in ast.walk(node):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                cited.update(REQUIREMENT_ID.findall(inner.value))
    return cited


def cited_ids() -> set[str]:
    cited: set[str] = set()
    for path in sorted(TESTS.rglob("*.py")):
        if path.resolve() != THIS_FILE:
            cited |= ids_cited_in(path.read_text(encoding="utf-8"))
    return cited


def test_the_id_pattern_matches_the_forms_the_specs_use() -> None:
    for good in ("UP-OPT-003", "UP-CB-004", "UP-DEV-012", "EMU-OSS-0042", "UP-A1-01"):
        assert REQUIREMENT_ID.fullmatch(good), good
    for bad in (
        "DEV-012",
        "ISO-8601",
        "UP-003",
        "U-OPT-003",
        "up-opt-003",
        "UP-OPT-3",
        "UP-OPT-12345",
    ):
        assert not REQUIREMENT_ID.fullmatch(bad), bad
    assert REQUIREMENT_ID.findall("see UP-OPT-003, UP-DEV-001.") == ["UP-OPT-003", "UP-DEV-001"]


def test_only_ids_inside_test_functions_count() -> None:
    source = '''"""Module docstring: EMU-AAA-001."""
# comment: EMU-AAA-002
MODULE_TABLE = ["EMU-AAA-003"]


def helper() -> None:
    """EMU-AAA-004"""


def test_docstring() -> None:
    """EMU-BBB-001: named in a test's docstring."""
    # EMU-AAA-005 in a comment inside a test
    assert check("EMU-BBB-002")


@pytest.mark.parametrize("case", [pytest.param(1, id="EMU-BBB-003")])
async def test_parametrized(case: int) -> None:
    pass


def test_emu_bbb_004_in_the_name() -> None:
    pass


class Machine(RuleBasedStateMachine):
    @rule()
    def step(self) -> None:
        """EMU-BBB-005"""

    def not_a_step(self) -> None:
        """EMU-AAA-006"""
'''
    cited = ids_cited_in(source)
    assert {f"EMU-BBB-00{n}" for n in range(1, 6)} <= cited
    assert not {rid for rid in cited if "AAA" in rid}


def test_specs_define_requirement_ids() -> None:
    assert spec_ids(), "no requirement ids found under specs/"


def test_every_requirement_id_is_cited_by_a_test() -> None:
    ids = spec_ids()
    uncovered = sorted(set(ids) - cited_ids())
    report = "\n".join(f"  {rid}  (in {', '.join(ids[rid])})" for rid in uncovered)
    assert not uncovered, f"{len(uncovered)} requirement id(s) not cited by any test:\n{report}"
