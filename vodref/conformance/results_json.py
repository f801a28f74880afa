"""Results as JSON, to compare runs made apart: the same subject on the real cloud and on
the emulator (what the emulator gets wrong about the service), or today's run against
yesterday's.

``--save-json PATH`` writes every result (status, checks, trace, final files, what the
server held; requests are left out); ``--compare-json PATH`` loads such a file and shows,
per scenario, where this run's first subject differs from the file's first subject, with
the same spec and deviation links as ``--compare``. Scenario ids the library no longer
has are skipped, and so are checks whose wording changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .model import TraceEvent
from .runner import CheckResult, ScenarioResult, Status
from .scenarios import SCENARIOS

__all__ = ["FORMAT", "ResultsFileError", "load_results", "save_results"]

FORMAT = "vodref-conformance-results/1"


class ResultsFileError(ValueError):
    """The file is not a results file of this format."""


def _result_json(result: ScenarioResult) -> dict[str, Any]:
    return {
        "scenario": result.scenario.id,
        "status": result.status.value,
        "seconds": round(result.seconds, 3),
        "reason": result.reason,
        "checks": [
            {"describe": c.check.describe, "status": c.status.value, "reason": c.reason}
            for c in result.checks
        ],
        "trace": [{"name": e.name, "file": e.file, "detail": dict(e.detail)} for e in result.trace],
        "files": dict(result.files),
        "server": dict(result.server),
    }


def save_results(
    path: Path, results: Mapping[str, Sequence[ScenarioResult]], *, target: str
) -> None:
    document = {
        "format": FORMAT,
        "target": target,
        "subjects": {name: [_result_json(r) for r in rs] for name, rs in results.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str), "utf-8")


def load_results(path: Path) -> tuple[str, str, list[ScenarioResult]]:
    """(target, subject, results) of the file's first subject."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ResultsFileError(f"{path}: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ResultsFileError(f"{path}: not a {FORMAT} file")
    subjects = document.get("subjects") or {}
    if not subjects:
        raise ResultsFileError(f"{path}: no results")
    name, raw_results = next(iter(subjects.items()))
    library = {s.id: s for s in SCENARIOS}
    results = []
    try:
        for raw in raw_results:
            scenario = library.get(raw["scenario"])
            if scenario is None:
                continue
            by_text = {c.describe: c for c in scenario.checks}
            checks = tuple(
                CheckResult(
                    check=by_text[c["describe"]], status=Status(c["status"]), reason=c.get("reason")
                )
                for c in raw["checks"]
                if c["describe"] in by_text
            )
            results.append(
                ScenarioResult(
                    scenario=scenario,
                    subject=str(name),
                    status=Status(raw["status"]),
                    seconds=float(raw["seconds"]),
                    checks=checks,
                    trace=tuple(
                        TraceEvent(name=e["name"], file=e.get("file"), detail=e.get("detail") or {})
                        for e in raw["trace"]
                    ),
                    files=raw.get("files") or {},
                    reason=raw.get("reason"),
                    server=raw.get("server") or {},
                )
            )
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsFileError(f"{path}: malformed result ({error})") from None
    return str(document.get("target")), str(name), results
