"""The committed state diagram is generated from the transition table (UP-STATE-004)."""

from __future__ import annotations

from pathlib import Path

from vodref.core import FILE_TRANSITIONS, UPLOADER_TRANSITIONS
from vodref.core.diagram import render
from vodref.core.states import (
    FILE_EVENT_TRIGGERS,
    ON_FAILURE,
    STEP_RULES,
    UPLOADER_EVENT_TRIGGERS,
)

DIAGRAM = Path(__file__).resolve().parents[2] / "specs" / "uploader-states.md"
REGENERATE = "python -m vodref.core.diagram > specs/uploader-states.md"


def test_committed_diagram_is_current() -> None:
    """UP-STATE-004"""
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


def test_steps_reactions_and_triggers_are_drawn() -> None:
    """UP-STATE-008: the steps, the failure reactions and the user triggers are drawn too."""
    text = render()
    lines = text.splitlines()
    for rule in STEP_RULES[:-1]:
        assert f'{{"{rule.when}"}}' in text
    last = STEP_RULES[-1].step
    assert last is not None and any(line.endswith(f"-- no --> {last.name}") for line in lines)
    for (step, disposition), reaction in ON_FAILURE.items():
        row = next(line for line in lines if line.startswith(f"| {step.value} |"))
        header = next(line for line in lines if line.startswith("| Step |"))
        columns = [cell.strip() for cell in header.strip("|").split("|")]
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[columns.index(disposition.value)] == reaction.value
    for event, trigger in {**FILE_EVENT_TRIGGERS, **UPLOADER_EVENT_TRIGGERS}.items():
        assert any(f"`{event.__name__}`" in line and trigger.value in line for line in lines)
