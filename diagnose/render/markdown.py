"""Reports as Markdown for chats and issues: the short answer first (a line or two per verdict),
then each verdict's path, causes, fixes and questions, a Mermaid diagram of the topology with
the hops where paths break marked (see diagnose/render/mermaid.py), and the findings.
"""

from __future__ import annotations

from diagnose.render import mermaid
from diagnose.render.safe import shown_report, visible
from diagnose.report import FixOut, Report, Verdict

_MARK = {"pass": "✅", "blocked": "❌", "unknown": "❔"}
_HOP_OF = {"reachable": "pass", "blocked": "blocked", "unknown": "unknown"}
_SEVERITIES = ("error", "warning", "info")


def _w(key: str, lang: str, **params: object) -> str:
    """A word of the Markdown layout, in the report's language (knowledge/<lang>/report.yaml)."""
    from diagnose.diagnosis import report_phrase

    return report_phrase(f"md_{key}", lang, **params)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _fix(fix: FixOut, lang: str = "en") -> list[str]:
    note = _w("changes_config" if fix.persistent else "no_lasting_change", lang)
    if fix.risky:
        note = _w("risky", lang, note=note)
    lines = [f"- {fix.text} _{_w('note', lang, note=note)}_"]
    if fix.command:
        lines += ["  ```sh", *("  " + line for line in fix.command.splitlines()), "  ```"]
    if fix.config:
        lines += ["  ```", *("  " + line for line in fix.config.splitlines()), "  ```"]
    return lines


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def answer(v: Verdict, lang: str = "en") -> list[str]:
    """The short answer to one verdict: the summary, then the first fix or question."""
    rule = next((c.rule for c in v.causes if c.certain), None)
    lines = [
        f"- {_MARK[_HOP_OF[v.status]]} **{v.symptom}** {v.question}: {v.summary}"
        + (f" (`{rule}`)" if rule and v.status == "blocked" else "")
    ]
    fix = next((f for c in v.causes if c.certain for f in c.fixes), None)
    if v.status != "reachable" and fix is not None:
        how = f" `{_first_line(fix.command)}`" if fix.command else ""
        lines.append("  " + _w("fix", lang, fix=f"{fix.text}{how}"))
    elif v.status != "reachable" and v.questions:
        lines.append("  " + _w("to_settle_it", lang, question=v.questions[0].text))
    return lines


def answers(report: Report) -> list[str]:
    """The short answer of a whole report: one or two lines per verdict, or the count of
    findings when there are no symptoms."""
    lang = report.lang
    if report.verdicts:
        return [line for v in report.verdicts for line in answer(v, lang)]
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in _SEVERITIES}
    found = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if not found:
        return [_w("no_findings", lang)]
    first = report.findings[0]
    return [_w("first", lang, found=found, title=first.title, rule=first.rule)]


def diagram(report: Report) -> list[str]:
    """The topology as a fenced Mermaid block, or nothing when there is no device to draw."""
    chart = mermaid.render(report)
    return ["```mermaid", *chart.splitlines(), "```"] if chart else []


def verdict(v: Verdict, lang: str = "en") -> list[str]:
    """One verdict in Markdown."""
    lines = [f"### {v.symptom}: {v.question}", "", f"**{v.status.upper()}**: {v.summary}", ""]
    if v.path:
        head = " | ".join(_w(f"col_{col}", lang) for col in ("hop", "status", "rule", "claims"))
        lines += [f"| # | {head} |", "|---|---|---|---|---|"]
        for hop in v.path:
            reached = hop.reached or hop.status == "blocked"
            status = (
                f"{_MARK[hop.status]} {_w(hop.status, lang)}"
                if reached
                else _w("not_reached", lang)
            )
            lines.append(
                f"| {hop.seq} | {_cell(hop.label)} | {status} | {hop.rule} | "
                f"{', '.join(hop.claims)} |"
            )
        lines.append("")
    for i, c in enumerate(v.causes, start=1):
        tag = c.severity if c.certain else _w("possible", lang)
        claims = ", ".join(c.claims)
        lines.append(_w("cause", lang, i=i, title=c.title, tag=tag, rule=c.rule, claims=claims))
        for fix in c.fixes:
            lines += ["   " + line for line in _fix(fix, lang)]
    if v.causes:
        lines.append("")
    if v.questions:
        lines.append(f"**{_w('to_settle', lang)}**")
        for q in v.questions:
            lines.append(f"- {q.text} _{_w('why', lang, why=q.why)}_")
        lines.append("")
    return lines


def render(report: Report) -> str:
    """The whole report: the short answer, the verdicts, the topology, then findings."""
    report = shown_report(report, visible)  # control characters, undecodable bytes spelled out
    lang = report.lang
    lines: list[str] = [f"## {_w('answer', lang)}", "", *answers(report), ""]
    if report.verdicts:
        lines += [f"## {_w('verdicts', lang)}", ""]
        for v in report.verdicts:
            lines += verdict(v, lang)
    chart = diagram(report)
    if chart:
        lines += [f"## {_w('topology', lang)}", "", *chart, ""]
    lines += [f"## {_w('findings', lang)}", ""]
    if not report.findings:
        lines.append(_w("no_findings", lang))
    for f in report.findings:
        lines += [f"#### {f.severity}: {f.title} (`{f.rule}`)", "", f.explanation, ""]
        for fix in f.fixes:
            lines += _fix(fix, lang)
        lines += ["", _w("claims", lang, claims=", ".join(f.claims)), ""]
    return "\n".join(lines).rstrip() + "\n"
