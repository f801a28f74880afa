"""The terminal table: scenario, spec ids, status, time; then why each failure failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from .runner import ScenarioResult, Status

__all__ = ["print_result_line", "print_summary"]

_MARK = {
    Status.PASS: "pass",
    Status.DEVIATION: "deviation",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIP: "skipped",
}


def _ids(result: ScenarioResult, width: int = 44) -> str:
    text = " ".join(result.scenario.spec_ids)
    return text if len(text) <= width else text[: width - 3] + "..."


def print_header(out: TextIO, subject: str, target: str) -> None:
    out.write(f"vodref conformance: subject {subject}, target {target}\n")
    out.write(f"{'scenario':<34} {'spec ids':<44} {'result':<9} {'time':>6}\n")


def print_result_line(out: TextIO, result: ScenarioResult) -> None:
    out.write(
        f"{result.scenario.id:<34} {_ids(result):<44} {_MARK[result.status]:<9} "
        f"{result.seconds:>5.1f}s\n"
    )
    out.flush()


def print_summary(out: TextIO, results: Sequence[ScenarioResult], seconds: float) -> None:
    for result in results:
        if result.status in (Status.FAIL, Status.ERROR, Status.SKIP, Status.DEVIATION):
            detail = result.reason
            if result.status is Status.DEVIATION:
                detail = "deviates as documented: " + ", ".join(result.deviations)
            out.write(f"  {result.scenario.id}: {_MARK[result.status]}: {detail}\n")
    counts = Counter(r.status for r in results)
    parts = [f"{counts[s]} {s.value}" for s in Status if counts[s]]
    out.write(f"{len(results)} scenarios: {', '.join(parts) or 'none'} in {seconds:.1f}s\n")
