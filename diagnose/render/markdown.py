"""Reports as Markdown: the short answer first, then the path, causes and fixes."""

from __future__ import annotations

from diagnose.report import FixOut, Report, Verdict

_MARK = {"pass": "✅", "blocked": "❌", "unknown": "❔"}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _fix(fix: FixOut) -> list[str]:
    note = "changes configuration" if fix.persistent else "no lasting change"
    if fix.risky:
        note += ", risky"
    lines = [f"- {fix.text} _({note})_"]
    if fix.command:
        lines += ["  ```sh", *("  " + line for line in fix.command.splitlines()), "  ```"]
    if fix.config:
        lines += ["  ```", *("  " + line for line in fix.config.splitlines()), "  ```"]
    return lines


def verdict(v: Verdict) -> list[str]:
    """One verdict in Markdown."""
    lines = [f"### {v.symptom}: {v.question}", "", f"**{v.status.upper()}**: {v.summary}", ""]
    if v.path:
        lines += ["| # | hop | status | rule | claims |", "|---|---|---|---|---|"]
        for hop in v.path:
            reached = hop.reached or hop.status == "blocked"
            status = f"{_MARK[hop.status]} {hop.status}" if reached else "not reached"
            lines.append(
                f"| {hop.seq} | {_cell(hop.label)} | {status} | {hop.rule} | "
                f"{', '.join(hop.claims)} |"
            )
        lines.append("")
    for i, c in enumerate(v.causes, start=1):
        tag = c.severity if c.certain else "possible"
        lines.append(f"{i}. **{c.title}** ({tag}, `{c.rule}`, claims {', '.join(c.claims)})")
        for fix in c.fixes:
            lines += ["   " + line for line in _fix(fix)]
    if v.causes:
        lines.append("")
    if v.questions:
        lines.append("**To settle what is unknown:**")
        for q in v.questions:
            lines.append(f"- {q.text} _(why: {q.why})_")
        lines.append("")
    return lines


def render(report: Report) -> str:
    """The whole report: verdicts, then findings."""
    lines: list[str] = []
    if report.verdicts:
        lines += ["## Verdicts", ""]
        for v in report.verdicts:
            lines += verdict(v)
    lines += ["## Findings", ""]
    if not report.findings:
        lines.append("No findings.")
    for f in report.findings:
        lines += [f"#### {f.severity}: {f.title} (`{f.rule}`)", "", f.explanation, ""]
        for fix in f.fixes:
            lines += _fix(fix)
        lines += ["", f"Claims: {', '.join(f.claims)}", ""]
    return "\n".join(lines).rstrip() + "\n"
