"""Render the transition tables of :mod:`vodref.core.states` as Mermaid state diagrams.

Regenerate the committed diagram with::

    python -m vodref.core.diagram > specs/uploader-states.md

tests/core/test_core_diagram.py fails when the committed file differs from :func:`render`.
"""

from __future__ import annotations

from collections import defaultdict

from .states import FILE_TRANSITIONS, UPLOADER_TRANSITIONS, FileState, UploaderState

__all__ = ["render"]

_HEADER = """\
# Uploader state diagrams

<!-- Generated from vodref/core/states.py; do not edit by hand.
     Regenerate: python -m vodref.core.diagram > specs/uploader-states.md -->

These diagrams are generated from the core's transition tables (`FILE_TRANSITIONS`,
`UPLOADER_TRANSITIONS`). A (state, trigger) pair not drawn here raises `InvalidStateError`
before anything changes (UP-STATE-003). `[*]` is outside the list: a file enters it with
`add_file` and leaves it with `delete_file` or `clean_list`.
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


def render() -> str:
    """The whole markdown file, deterministic for a given table."""
    parts = [
        _HEADER,
        "## File states\n",
        "```mermaid",
        *_file_diagram(),
        "```\n",
        "## Uploader states\n",
        "```mermaid",
        *_uploader_diagram(),
        "```",
    ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover - exercised through the stale-file test
    print(render(), end="")
