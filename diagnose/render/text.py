"""Reports as terminal text: the path as a tree with the broken hop marked.

With `fancy` (a TTY) it uses box-drawing characters and colour; otherwise plain ASCII.
"""

from __future__ import annotations

from collections.abc import Iterable

from diagnose.render.safe import shown_report, visible
from diagnose.report import Cause, FixOut, Hop, Question, Report, Verdict

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2", "cyan": "36"}


class _Style:
    def __init__(self, fancy: bool, lang: str = "en") -> None:
        self.fancy = fancy
        self.lang = lang

    def w(self, key: str, **params: object) -> str:
        """A word of the text layout, in the report's language (knowledge/<lang>/report.yaml)."""
        from diagnose.diagnosis import report_phrase

        return report_phrase(f"text_{key}", self.lang, **params)

    def __call__(self, text: str, colour: str) -> str:
        if not self.fancy:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"

    def mark(self, status: str) -> str:
        if self.fancy:
            return {
                "pass": self("✓", "green"),
                "blocked": self("✗", "red"),
                "unknown": self("?", "yellow"),
            }[status]
        return {"pass": "[ok]", "blocked": "[BLOCKED]", "unknown": "[?]"}[status]

    def branch(self, last: bool) -> str:
        if self.fancy:
            return "└─" if last else "├─"
        return "`-" if last else "|-"

    def status(self, status: str) -> str:
        colour = {"reachable": "green", "blocked": "red", "unknown": "yellow"}[status]
        return self(status.upper(), colour)

    def severity(self, severity: str | None) -> str:
        if severity is None:
            return self.w("candidate")
        colour = {"error": "red", "warning": "yellow", "info": "cyan"}[severity]
        return self(severity, colour)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _fixes(fixes: Iterable[FixOut], prefix: str, st: _Style) -> list[str]:
    out = []
    for fix in fixes:
        tags = [st.w("changes_config") if fix.persistent else st.w("no_lasting_change")]
        if fix.risky:
            tags.append(st.w("risky"))
        out.append(f"{prefix}{st.w('fix')}: {fix.text} ({', '.join(tags)})")
        if fix.command:
            out.append(_indent(fix.command, prefix + "  $ "))
        if fix.config:
            out.append(_indent(fix.config, prefix + "  | "))
    return out


def _hop(hop: Hop, last: bool, st: _Style) -> str:
    cite = f" [{' '.join(hop.claims)}]" if hop.claims else ""
    mark = st.mark(hop.status) if hop.reached or hop.status == "blocked" else st("[--]", "dim")
    line = f"    {st.branch(last)} {mark} {hop.label}"
    if hop.status == "blocked":
        line += st(f"  <- {st.w('breaks_here')} ({hop.rule})", "red")
    return line + st(cite, "dim")


def _question(q: Question, st: _Style, prefix: str = "    ") -> list[str]:
    lines = [f"{prefix}{st('?', 'yellow')} {q.text}  ({q.id} -> {q.fills})"]
    if q.choices:
        shown = [
            c if c == lab else f"{c} ({lab})" for c, lab in zip(q.choices, q.labels, strict=True)
        ]
        lines.append(f"{prefix}  {st.w('choices')}: {', '.join(shown)}")
    if q.why:
        lines.append(f"{prefix}  {st.w('why_i_ask')}: {q.why}")
    if q.assumed:
        lines.append(f"{prefix}  {st.w('meanwhile_assumed')}")
    return lines


def _cause(i: int, c: Cause, st: _Style) -> list[str]:
    kind = st.severity(c.severity) if c.certain else st(st.w("possible"), "yellow")
    where = f" ({st.w('hop', hop=c.hop)})" if c.hop is not None else ""
    lines = [f"    {i}. [{kind}] {c.rule} {c.title}{where} [{' '.join(c.claims)}]"]
    lines += _fixes(c.fixes, "       ", st)
    return lines


def verdict(v: Verdict, st: _Style) -> list[str]:
    """One verdict: the question, the answer, the path, causes, fixes and questions."""
    lines = [st(f"{v.symptom}: {v.question}", "bold"), f"  {st.status(v.status)} {v.summary}"]
    if v.path:
        lines.append(f"  {st.w('path')} ({v.route}):")
        for i, hop in enumerate(v.path):
            lines.append(_hop(hop, i == len(v.path) - 1, st))
            for text in hop.assumptions:
                lines.append(st(f"          {st.w('assumed')}: {text}", "dim"))
    if v.causes:
        lines.append(f"  {st.w('causes')}:")
        for i, cause in enumerate(v.causes, start=1):
            lines += _cause(i, cause, st)
    if v.questions:
        lines.append(f"  {st.w('to_settle')}:")
        for q in v.questions:
            lines += _question(q, st)
    if v.alternatives:
        lines.append(st(f"  ({st.w('other_routes', count=len(v.alternatives))})", "dim"))
    return lines


def render_why(report: Report, *, fancy: bool = False) -> str:
    """The verdicts of a report, then its other findings in short."""
    report = shown_report(report, visible)  # no raw control characters from the input
    st = _Style(fancy, report.lang)
    lines: list[str] = []
    for v in report.verdicts:
        lines += verdict(v, st)
        lines.append("")
    cited = {c.rule for v in report.verdicts for c in v.causes}
    others = [f for f in report.findings if f.rule not in cited]
    if others:
        lines.append(st(f"{st.w('also_found')}:", "bold"))
        for f in others:
            lines.append(f"  {st.severity(f.severity)} {f.rule} {f.title}")
    return "\n".join(lines).rstrip() + "\n"


def render_check(report: Report, *, fancy: bool = False) -> str:
    """Findings, most severe first, each with its explanation and fixes."""
    report = shown_report(report, visible)
    st = _Style(fancy, report.lang)
    where = report.source or "<setup>"
    lines: list[str] = []
    for f in report.findings:
        lines.append(
            f"{where}: {st.severity(f.severity)} {f.rule} {f.title} [{' '.join(f.claims)}]"
        )
        lines.append(_indent(f.explanation, "    "))
        lines += _fixes(f.fixes, "    ", st)
    for q in report.questions:
        if not q.assumed:
            lines += _question(q, st, prefix="  ")
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    summary = ", ".join(f"{counts[s]} {s}" for s in ("error", "warning", "info") if s in counts)
    lines.append(f"{where}: {summary or st.w('no_findings')}")
    if report.verdicts:
        lines.append("")
        for v in report.verdicts:
            lines.append(f"{v.symptom}: {v.question}: {st.status(v.status)} {v.summary}")
    return "\n".join(lines).rstrip() + "\n"
