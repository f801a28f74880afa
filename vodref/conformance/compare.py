"""``--compare A B``: where two subjects' traces differ, scenario by scenario.

Traces are normalised before comparing: runs of ``progress`` events collapse into one
``progress xN`` line (part sizes and timing legitimately differ), ``log`` and ``action``
lines are dropped, and failures keep their code. Each difference names the scenario's spec
ids and the ``UP-DEV`` ids (specs/deviations.md) of every check whose verdict differs
between the two subjects, so a reader goes straight to the documented reason when the JS
SDK 1.5.x deviates.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from .model import TraceEvent
from .runner import ScenarioResult, Status

__all__ = ["Difference", "compare", "format_comparison", "normalise", "print_comparison"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    scenario_id: str
    spec_ids: tuple[str, ...]
    deviation_ids: tuple[str, ...]
    status_a: Status
    status_b: Status
    diff: tuple[str, ...]
    checks: tuple[str, ...]  # checks whose verdict differs


def normalise(trace: Sequence[TraceEvent]) -> list[str]:
    lines: list[str] = []
    run = 0
    for event in trace:
        if event.name in {"log", "action"}:
            continue
        if event.name == "progress":
            run += 1
            continue
        if run:
            lines.append(f"progress x{run}")
            run = 0
        detail = ""
        if event.name == "failed":
            detail = f" code={event.detail.get('code')}"
        elif event.name == "canceled":
            detail = f" reason={event.detail.get('reason')}"
        lines.append(f"{event.name}{'' if event.file is None else ' ' + event.file}{detail}")
    if run:
        lines.append(f"progress x{run}")
    return lines


def compare(a: Sequence[ScenarioResult], b: Sequence[ScenarioResult]) -> list[Difference]:
    by_id = {r.scenario.id: r for r in b}
    differences = []
    for left in a:
        right = by_id.get(left.scenario.id)
        if right is None:
            continue
        trace_a, trace_b = normalise(left.trace), normalise(right.trace)
        diff = tuple(
            line
            for line in difflib.unified_diff(
                trace_a, trace_b, left.subject, right.subject, lineterm="", n=1
            )
        )
        verdict_b = {c.check.describe: c.status for c in right.checks}
        differing = [
            c for c in left.checks if verdict_b.get(c.check.describe, c.status) != c.status
        ]
        if not diff and left.status == right.status and not differing:
            continue
        deviations: dict[str, None] = {}
        for check in differing:
            deviations.update(dict.fromkeys(check.check.deviations))
        differences.append(
            Difference(
                scenario_id=left.scenario.id,
                spec_ids=left.scenario.all_spec_ids(),
                deviation_ids=tuple(deviations),
                status_a=left.status,
                status_b=right.status,
                diff=diff,
                checks=tuple(c.check.describe for c in differing),
            )
        )
    return differences


def format_comparison(differences: Sequence[Difference], a: str, b: str) -> str:
    if not differences:
        return f"no differences between {a} and {b}\n"
    out = [f"{len(differences)} scenario(s) differ between {a} and {b}:"]
    for d in differences:
        out.append(f"\n{d.scenario_id}: {d.status_a.value} vs {d.status_b.value}")
        out.append(f"  spec ids: {' '.join(d.spec_ids)}")
        if d.deviation_ids:
            out.append(f"  specs/deviations.md: {' '.join(d.deviation_ids)}")
        out.extend(f"  check differs: {check}" for check in d.checks)
        out.extend(f"  {line}" for line in d.diff)
    return "\n".join(out) + "\n"


def print_comparison(out: TextIO, differences: Sequence[Difference], a: str, b: str) -> None:
    out.write(format_comparison(differences, a, b))
