"""Every requirement id in specs/*.md is cited by at least one test under tests/.

An id is anything matching ``REQUIREMENT_ID`` (``UP-OPT-003``, ``UP-DEV-012``,
``EMU-OSS-004``...) in any markdown file under specs/, so new spec files are covered without
touching this test. An id needs an area between prefix and number: ``DEV-012`` alone is not one,
which keeps words like ``CRC-64`` or ``ISO-8601`` out.
A test cites an id by naming it anywhere in its file: a comment, a docstring or a test name.
"""

from __future__ import annotations

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


def cited_ids() -> set[str]:
    cited: set[str] = set()
    for path in TESTS.rglob("*"):
        if not path.is_file() or path.resolve() == THIS_FILE:
            continue
        if path.suffix not in {".py", ".md", ".txt", ".js", ".json", ".toml", ".ini"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        cited.update(match.group(0) for match in REQUIREMENT_ID.finditer(text))
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


def test_specs_define_requirement_ids() -> None:
    assert spec_ids(), "no requirement ids found under specs/"


def test_every_requirement_id_is_cited_by_a_test() -> None:
    ids = spec_ids()
    uncovered = sorted(set(ids) - cited_ids())
    report = "\n".join(f"  {rid}  (in {', '.join(ids[rid])})" for rid in uncovered)
    assert not uncovered, f"{len(uncovered)} requirement id(s) not cited by any test:\n{report}"
