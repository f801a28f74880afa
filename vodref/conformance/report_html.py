"""A self-contained HTML report: one file, inline CSS, no script, no external resource.

It holds a summary table per subject (scenario, spec ids, status, time) and, per scenario,
its checks with their verdicts, the final file states, the subject's trace and the
emulator's request log. Every text goes through :func:`html.escape` and the redaction of
:mod:`vodref.conformance.redact`: no AccessKeyId, secret, token or signature is written.
Elements carry ``data-`` attributes (scenario, subject, status) for tools and tests.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .redact import redact_text
from .runner import ScenarioResult, Status

__all__ = ["render_html", "write_html"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;
text-align:left;font-size:90%}code{font-size:90%}
.pass{background:#e6f4ea}.fail,.error{background:#fce8e6}.skipped{background:#f1f3f4}
.expected-deviation{background:#fef7e0}section{border-top:1px solid #999;margin-top:1.5em}
ol.trace{font-family:monospace;font-size:85%}
"""


def _e(value: object) -> str:
    return html.escape(redact_text(str(value)), quote=True)


def _css_class(status: Status) -> str:
    return status.value.replace(" ", "-")


def _anchor(subject: str, scenario_id: str) -> str:
    return f"{subject}--{scenario_id}".replace(":", "-").replace("/", "-")


def _summary(subject: str, results: Sequence[ScenarioResult]) -> str:
    rows = []
    for r in results:
        rows.append(
            f'<tr class="{_css_class(r.status)}" data-scenario="{_e(r.scenario.id)}" '
            f'data-status="{_e(r.status.value)}">'
            f'<td><a href="#{_e(_anchor(subject, r.scenario.id))}">{_e(r.scenario.id)}</a></td>'
            f"<td>{_e(' '.join(r.scenario.all_spec_ids()))}</td>"
            f"<td>{_e(r.status.value)}</td><td>{r.seconds:.2f}s</td></tr>"
        )
    return (
        f'<h2>Subject <code>{_e(subject)}</code></h2><table class="summary" '
        f'data-subject="{_e(subject)}"><tr><th>scenario</th><th>spec ids</th><th>result</th>'
        f"<th>time</th></tr>{''.join(rows)}</table>"
    )


def _requests_table(records: Sequence[Mapping[str, Any]]) -> str:
    columns = ("seq", "method", "service", "operation", "key", "part_number", "status", "fault_id")
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_e(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in records
    )
    return f'<table class="requests"><tr>{head}</tr>{rows}</table>'


def _scenario(subject: str, r: ScenarioResult) -> str:
    checks = "".join(
        f'<li class="{_css_class(c.status)}" data-status="{_e(c.status.value)}">'
        f"<b>{_e(c.status.value)}</b> {_e(c.check.describe)} "
        f"[{_e(', '.join(c.check.spec_ids))}]"
        + (f" deviation {_e(', '.join(c.check.deviations))}" if c.check.deviations else "")
        + (f": {_e(c.reason)}" if c.reason else "")
        + "</li>"
        for c in r.checks
    )
    files = "".join(
        f"<tr><td>{_e(label)}</td>"
        + "".join(f"<td>{_e(v if v is not None else '')}</td>" for v in outcome.values())
        + "</tr>"
        for label, outcome in r.files.items()
    )
    trace = "".join(f"<li>{_e(event.short())}</li>" for event in r.trace)
    server = "".join(
        f'<tr><th>{_e(name)}</th><td data-name="{_e(name)}">{value}</td></tr>'
        for name, value in r.server.items()
    )
    faults = "".join(f"<li><code>{_e(f)}</code></li>" for f in r.scenario.faults)
    return (
        f'<section id="{_e(_anchor(subject, r.scenario.id))}" class="scenario" '
        f'data-scenario="{_e(r.scenario.id)}" data-subject="{_e(subject)}" '
        f'data-status="{_e(r.status.value)}">'
        f"<h3>{_e(r.scenario.id)}: {_e(r.scenario.title)}</h3>"
        f"<p>Result: <b>{_e(r.status.value)}</b> in {r.seconds:.2f}s. Spec ids: "
        f"{_e(' '.join(r.scenario.all_spec_ids()))}</p>"
        + (f"<p>{_e(r.reason)}</p>" if r.reason else "")
        + (f"<p>Faults injected:</p><ul>{faults}</ul>" if faults else "")
        + f'<h4>Checks</h4><ul class="checks">{checks}</ul>'
        + (
            "<h4>Final file states</h4><table><tr><th>file</th><th>state</th><th>video id</th>"
            f"<th>image url</th><th>error code</th></tr>{files}</table>"
            if files
            else ""
        )
        + (f'<h4>On the server</h4><table class="server">{server}</table>' if server else "")
        + f'<details><summary>Trace ({len(r.trace)} events)</summary><ol class="trace">'
        f"{trace}</ol></details>"
        + f"<details><summary>Request log ({len(r.requests)} requests)</summary>"
        f"{_requests_table(r.requests)}</details></section>"
    )


def render_html(
    results: Mapping[str, Sequence[ScenarioResult]],
    *,
    target: str,
    comparison: str | None = None,
) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    body = [f"<h1>vodref conformance report</h1><p>Target <code>{_e(target)}</code>, {when}.</p>"]
    for subject, subject_results in results.items():
        body.append(_summary(subject, subject_results))
    if comparison:
        body.append(f'<h2>Comparison</h2><pre class="comparison">{_e(comparison)}</pre>')
    for subject, subject_results in results.items():
        body.extend(_scenario(subject, r) for r in subject_results)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>vodref conformance report</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_html(
    path: Path,
    results: Mapping[str, Sequence[ScenarioResult]],
    *,
    target: str,
    comparison: str | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(results, target=target, comparison=comparison), "utf-8")
