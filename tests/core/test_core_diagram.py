"""The committed state diagram is generated from the transition table (UP-STATE-004)."""

from __future__ import annotations

from pathlib import Path

from vodref.core import FILE_TRANSITIONS, UPLOADER_TRANSITIONS
from vodref.core.diagram import render

DIAGRAM = Path(__file__).resolve().parents[2] / "specs" / "uploader-states.md"
REGENERATE = "python -m vodref.core.diagram > specs/uploader-states.md"


def test_committed_diagram_is_current() -> None:
    """UP-STATE-004."""
    assert DIAGRAM.exists(), f"missing {DIAGRAM}; run: {REGENERATE}"
    assert DIAGRAM.read_text(encoding="utf-8") == render(), f"stale diagram; run: {REGENERATE}"


def test_every_table_edge_is_drawn() -> None:
    """UP-STATE-003: the diagram shows every (state, trigger) pair of the one table."""
    text = render()
    for (state, trigger), targets in FILE_TRANSITIONS.items():
        for target in targets:
            end = "[*]" if target is None else target.value
            line = next(
                line
                for line in text.splitlines()
                if line.strip().startswith(f"{state.value} --> {end}:")
            )
            assert trigger.value in line
    for (ustate, utrigger), utargets in UPLOADER_TRANSITIONS.items():
        for utarget in utargets:
            assert f"{ustate.value} --> {utarget.value}:" in text
            assert utrigger.value in text
