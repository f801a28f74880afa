"""JUnit XML for CI: one testsuite per subject, one testcase per scenario.

``fail`` and ``error`` become ``<failure>`` and ``<error>``; ``skipped`` becomes
``<skipped>``; an expected deviation passes, with the deviation ids in ``system-out``.
Every testcase carries its spec ids as ``<property name="spec-id">``, so a CI dashboard
maps each result back to the requirements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

from .redact import redact_text
from .runner import ScenarioResult, Status

__all__ = ["junit_tree", "write_junit"]


def junit_tree(results: Mapping[str, Sequence[ScenarioResult]]) -> ET.Element:
    root = ET.Element("testsuites", name="vodref conformance")
    for subject, subject_results in results.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"conformance[{subject}]",
            tests=str(len(subject_results)),
            failures=str(sum(r.status is Status.FAIL for r in subject_results)),
            errors=str(sum(r.status is Status.ERROR for r in subject_results)),
            skipped=str(sum(r.status is Status.SKIP for r in subject_results)),
            time=f"{sum(r.seconds for r in subject_results):.3f}",
        )
        for result in subject_results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"vodref.conformance.{subject}",
                name=result.scenario.id,
                time=f"{result.seconds:.3f}",
            )
            properties = ET.SubElement(case, "properties")
            for spec_id in result.scenario.all_spec_ids():
                ET.SubElement(properties, "property", name="spec-id", value=spec_id)
            for deviation in result.deviations:
                ET.SubElement(properties, "property", name="deviation", value=deviation)
            reason = redact_text(result.reason or "")
            if result.status is Status.FAIL:
                ET.SubElement(case, "failure", message=reason[:500]).text = reason
            elif result.status is Status.ERROR:
                ET.SubElement(case, "error", message=reason[:500]).text = reason
            elif result.status is Status.SKIP:
                ET.SubElement(case, "skipped", message=reason)
            lines = [f"{r.status.value}: {r.check.describe}" for r in result.checks]
            lines += [f"server: {name}: {value}" for name, value in result.server.items()]
            if result.status is Status.DEVIATION:
                lines.append("expected deviation: " + ", ".join(result.deviations))
            ET.SubElement(case, "system-out").text = redact_text("\n".join(lines))
    return root


def write_junit(path: Path, results: Mapping[str, Sequence[ScenarioResult]]) -> None:
    tree = ET.ElementTree(junit_tree(results))
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
