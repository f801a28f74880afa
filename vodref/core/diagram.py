"""Render the rulebook of :mod:`vodref.core.states` as ``specs/uploader-states.md``: the two
state diagrams, the user triggers, the upload steps and the failure reactions.

Regenerate the committed file with::

    python -m vodref.core.diagram > specs/uploader-states.md

tests/core/test_core_diagram.py fails when the committed file differs from :func:`render`.
"""

from __future__ import annotations

from collections import defaultdict

from .classify import Disposition
from .states import (
    FILE_EVENT_TRIGGERS,
    FILE_TRANSITIONS,
    ON_FAILURE,
    STEP_RULES,
    SWEEPS,
    UPLOADER_EVENT_TRIGGERS,
    UPLOADER_TRANSITIONS,
    FileState,
    Step,
    UploaderState,
)

__all__ = ["render"]

_HEADER = """\
# Uploader state diagrams

<!-- Generated from vodref/core/states.py; do not edit by hand.
     Regenerate: python -m vodref.core.diagram > specs/uploader-states.md -->

Everything here is generated from the core's rulebook, `vodref/core/states.py`: the transition
tables (`FILE_TRANSITIONS`, `UPLOADER_TRANSITIONS`), the user triggers
(`FILE_EVENT_TRIGGERS`, `UPLOADER_EVENT_TRIGGERS`, `SWEEPS`), the upload steps (`STEP_RULES`)
and the failure reactions (`ON_FAILURE`). A (state, trigger) pair not drawn here raises
`InvalidStateError` before anything changes (UP-STATE-003). `[*]` is outside the list: a file
enters it with `add_file` and leaves it with `delete_file` or `clean_list`.
"""

_STEPS_INTRO = """\
While a file is Uploading, its next step is derived from its data by `next_step`: the first
rule that holds wins. Every outcome records its facts and asks again (UP-STATE-007).
"""

_REACTIONS_INTRO = """\
A failed request is classified (`vodref/core/classify.py`) and its reaction is
`ON_FAILURE[(step, disposition)]` (UP-STATE-007). A failure that no longer matters (the file
left Uploading, or the request was superseded) is dropped before the table is consulted. A
retry the policy no longer allows fails the file (a failed abort is dropped instead).
"""


def _file_diagram() -> list[str]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (state, trigger), targets in FILE_TRANSITIONS.items():
        for target in targets:
            end = "[*]" if target is None else target.value
            edges[(state.value, end)].append(trigger.value)
    lines = ["stateDiagram-v2", f"    [*] --> {FileState.READY.value}: add_file"]
    for (start, end), triggers in sorted(edges.items()):
        lines.append(f"    {start} --> {end}: {', '.join(sorted(triggers))}")
    return lines


def _uploader_diagram() -> list[str]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (state, trigger), targets in UPLOADER_TRANSITIONS.items():
        for target in targets:
            edges[(state.value, target.value)].append(trigger.value)
    lines = ["stateDiagram-v2", f"    [*] --> {UploaderState.INIT.value}"]
    for (start, end), triggers in sorted(edges.items()):
        lines.append(f"    {start} --> {end}: {', '.join(sorted(triggers))}")
    return lines


def _triggers_table() -> list[str]:
    lines = ["| User call | Trigger | Also moves |", "|---|---|---|"]
    for event, trigger in FILE_EVENT_TRIGGERS.items():
        lines.append(f"| `{event.__name__}` | file: {trigger.value} | |")
    for event, utrigger in UPLOADER_EVENT_TRIGGERS.items():
        sweep = SWEEPS.get(event)
        also = ""
        if sweep is not None:
            file_trigger, states = sweep
            names = ", ".join(sorted(state.value for state in states))
            where = "" if states == frozenset(FileState) else f" in {names}"
            also = f"{file_trigger.value} on every file{where}"
        lines.append(f"| `{event.__name__}` | uploader: {utrigger.value} | {also} |")
    return lines


def _steps_diagram() -> list[str]:
    lines = ["flowchart TD", '    wait(["wait for an outcome or a timer"])']
    lines += [f'    {step.name}["{step.value}"]' for step in Step if step is not Step.ABORT]
    for number, rule in enumerate(STEP_RULES, 1):
        end = "wait" if rule.step is None else rule.step.name
        if number == len(STEP_RULES):  # "otherwise": the previous rule's "no" leads here
            lines.append(f"    rule{number - 1} -- no --> {end}")
            break
        lines.append(f'    rule{number}{{"{rule.when}"}}')
        lines.append(f"    rule{number} -- yes --> {end}")
        if number > 1:
            lines.append(f"    rule{number - 1} -- no --> rule{number}")
    return lines


def _reactions_table() -> list[str]:
    dispositions = list(Disposition)
    lines = [
        "| Step | " + " | ".join(d.value for d in dispositions) + " |",
        "|---" * (len(dispositions) + 1) + "|",
    ]
    for step in Step:
        cells = " | ".join(ON_FAILURE[(step, d)].value for d in dispositions)
        lines.append(f"| {step.value} | {cells} |")
    return lines


def render() -> str:
    """The whole markdown file, deterministic for a given rulebook."""
    parts = [
        _HEADER,
        "## File states\n",
        "```mermaid",
        *_file_diagram(),
        "```\n",
        "## Uploader states\n",
        "```mermaid",
        *_uploader_diagram(),
        "```\n",
        "## User calls\n",
        *_triggers_table(),
        "",
        "## Upload steps\n",
        _STEPS_INTRO,
        "```mermaid",
        *_steps_diagram(),
        "```\n",
        "## Failure reactions\n",
        _REACTIONS_INTRO,
        *_reactions_table(),
    ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover - exercised through the stale-file test
    print(render(), end="")
