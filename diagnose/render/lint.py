"""Batch results (`netwhy check PATH...`) as text, JSON and Markdown, the way linters print."""

from __future__ import annotations

import json
from typing import Any

from diagnose.batch import INPUT_RULES, FileResult, Summary, summarize
from diagnose.render.markdown import answer, diagram
from diagnose.render.text import _fixes, _indent, _Style
from diagnose.report import SCHEMA_VERSION, Finding


def _where(result: FileResult, f: Finding) -> str:
    loc = f.location
    if loc is None:
        return result.file
    text = loc.file
    if loc.line is not None:
        text += f":{loc.line}"
        if loc.column is not None:
            text += f":{loc.column}"
    return text


def _summary_line(s: Summary) -> str:
    found = ", ".join(f"{n} {sev}" for sev, n in s.by_severity.items()) or "no findings"
    parts = [f"{s.files} file{'s' if s.files != 1 else ''} checked: {found}"]
    if s.input_errors:
        parts.append(f"{s.input_errors} unreadable or invalid")
    if s.suppressed:
        parts.append(f"{s.suppressed} suppressed")
    return "; ".join(parts)


def render_text(results: list[FileResult], *, fancy: bool = False, full: bool = False) -> str:
    """One line per finding (`file:line:col: severity ID title`); with `full` the explanation
    and fixes follow each; then a summary with the counts by rule."""
    st = _Style(fancy)
    lines: list[str] = []
    for result in results:
        for f in result.findings:
            if f.rule in INPUT_RULES:  # the CLI prints these on stderr
                continue
            lines.append(
                f"{_where(result, f)}: {st.severity(f.severity)} {f.rule} {f.title}"
                + (f" [{' '.join(f.claims)}]" if f.claims else "")
            )
            if full:
                lines.append(_indent(f.explanation, "    "))
                lines += _fixes(f.fixes, "    ", st)
        for note in result.notes:
            lines.append(st(f"{result.file}: note: {note}", "dim"))
        if full and result.report is not None:
            for v in result.report.verdicts:
                lines.append(
                    f"{result.file}: {v.symptom}: {v.question}: {st.status(v.status)} {v.summary}"
                )
    summary = summarize(results)
    if lines:
        lines.append("")
    lines.append(_summary_line(summary))
    if summary.by_rule and len(results) > 1:
        lines.append("  " + ", ".join(f"{rule} ×{n}" for rule, n in summary.by_rule.items()))
    return "\n".join(lines) + "\n"


def as_data(results: list[FileResult]) -> dict[str, Any]:
    """The batch as JSON-ready data (schema_version, files, summary)."""
    files = []
    for r in results:
        files.append(
            {
                "file": r.file,
                "kind": r.kind,
                "input_error": r.input_error,
                "findings": [f.model_dump(mode="json") for f in r.findings],
                "suppressed": [
                    {
                        "finding": f.model_dump(mode="json"),
                        "suppression": {"file": s.file, "line": s.line, "reason": s.reason},
                    }
                    for f, s in r.suppressed
                ],
                "notes": r.notes,
                "verdicts": [v.model_dump(mode="json") for v in r.report.verdicts]
                if r.report
                else [],
            }
        )
    s = summarize(results)
    return {
        "schema_version": SCHEMA_VERSION,
        "files": files,
        "summary": {
            "files": s.files,
            "files_with_findings": s.with_findings,
            "input_errors": s.input_errors,
            "by_severity": s.by_severity,
            "by_rule": s.by_rule,
            "suppressed": s.suppressed,
        },
    }


def render_json(results: list[FileResult]) -> str:
    """The batch as JSON."""
    return json.dumps(as_data(results), indent=2, ensure_ascii=False)


def render_markdown(results: list[FileResult]) -> str:
    """A table of findings, then their explanations (for PR comments and chat)."""
    s = summarize(results)
    lines = ["## netwhy check", "", _summary_line(s), ""]
    verdicts = [(r.file, v) for r in results if r.report for v in r.report.verdicts]
    for file, v in verdicts:  # the short answers of the symptoms the setups describe
        lines += [("" if len(results) == 1 else f"`{file}`: ") + line for line in answer(v)]
    if verdicts:
        lines.append("")
    rows = [(r, f) for r in results for f in r.findings]
    if rows:
        lines += ["| where | severity | rule | finding |", "|---|---|---|---|"]
        for r, f in rows:
            title = f.title.replace("|", "\\|")
            lines.append(f"| `{_where(r, f)}` | {f.severity} | {f.rule} | {title} |")
        lines.append("")
        seen: set[tuple[str, str]] = set()
        for _, f in rows:
            if (f.rule, f.title) in seen:
                continue
            seen.add((f.rule, f.title))
            lines += [f"#### {f.rule}: {f.title}", "", f.explanation, ""]
            for fix in f.fixes:
                lines.append(f"- {fix.text}")
                if fix.command:
                    lines += ["  ```sh", *("  " + x for x in fix.command.splitlines()), "  ```"]
                if fix.config:
                    lines += ["  ```", *("  " + x for x in fix.config.splitlines()), "  ```"]
            lines.append("")
    reports = [r.report for r in results if r.report is not None]
    if len(reports) == 1:  # one setup: its topology (a batch of many would be a wall)
        chart = diagram(reports[0])
        if chart:
            lines += ["### Topology", "", *chart, ""]
    return "\n".join(lines).rstrip() + "\n"
