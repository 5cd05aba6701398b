"""Batch results (`netwhy check PATH...`) as text, JSON and Markdown, the way linters print."""

from __future__ import annotations

import json
from typing import Any

from diagnose.batch import INPUT_RULES, FileResult, Summary, summarize
from diagnose.render.markdown import _w as _md_w
from diagnose.render.markdown import answer, diagram
from diagnose.render.safe import scrub, shown, shown_results, visible
from diagnose.render.text import _fixes, _indent, _Style
from diagnose.report import SCHEMA_VERSION, Finding


def _w(key: str, lang: str, **params: object) -> str:
    """A word of the `netwhy check` layout, in the run's language (knowledge/<lang>/report.yaml)."""
    from diagnose.diagnosis import report_phrase

    return report_phrase(f"lint_{key}", lang, **params)


def _lang(results: list[FileResult], lang: str | None) -> str:
    """The language to lay the batch out in: the one asked for, else its reports' own."""
    if lang is not None:
        return lang
    return next((r.report.lang for r in results if r.report is not None), "en")


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


def _summary_line(s: Summary, lang: str = "en") -> str:
    found = ", ".join(f"{n} {sev}" for sev, n in s.by_severity.items()) or _w("no_findings", lang)
    checked = _w("checked_one" if s.files == 1 else "checked_many", lang, files=s.files)
    parts = [f"{checked}: {found}"]
    if s.input_errors:
        parts.append(_w("input_errors", lang, count=s.input_errors))
    if s.suppressed:
        parts.append(_w("suppressed", lang, count=s.suppressed))
    return "; ".join(parts)


def render_text(
    results: list[FileResult], *, fancy: bool = False, full: bool = False, lang: str | None = None
) -> str:
    """One line per finding (`file:line:col: severity ID title`); with `full` the explanation
    and fixes follow each; then a summary with the counts by rule. The layout speaks `lang`
    (default: the language of the reports)."""
    lang = _lang(results, lang)
    results = shown_results(results, visible)  # no raw control characters from the input
    st = _Style(fancy, lang)
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
            lines.append(st(f"{result.file}: {_w('note', lang)}: {note}", "dim"))
        if full and result.report is not None:
            for v in result.report.verdicts:
                lines.append(
                    f"{result.file}: {v.symptom}: {v.question}: {st.status(v.status)} {v.summary}"
                )
    summary = summarize(results)
    if lines:
        lines.append("")
    lines.append(_summary_line(summary, lang))
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
    return json.dumps(scrub(as_data(results), shown), indent=2, ensure_ascii=False)


def render_markdown(results: list[FileResult], *, lang: str | None = None) -> str:
    """A table of findings, then their explanations (for PR comments and chat); the layout
    speaks `lang` (default: the language of the reports)."""
    lang = _lang(results, lang)
    results = shown_results(results, visible)
    s = summarize(results)
    lines = ["## netwhy check", "", _summary_line(s, lang), ""]
    verdicts = [(r.file, v) for r in results if r.report for v in r.report.verdicts]
    for file, v in verdicts:  # the short answers of the symptoms the setups describe
        lines += [("" if len(results) == 1 else f"`{file}`: ") + line for line in answer(v, lang)]
    if verdicts:
        lines.append("")
    rows = [(r, f) for r in results for f in r.findings]
    if rows:
        head = " | ".join(_w(f"col_{c}", lang) for c in ("where", "severity", "rule", "finding"))
        lines += [f"| {head} |", "|---|---|---|---|"]
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
    if len(results) == 1 and reports:  # one setup: its topology (a batch would be a wall)
        chart = diagram(reports[0])
        if chart:
            lines += [f"### {_md_w('topology', lang)}", "", *chart, ""]
    return "\n".join(lines).rstrip() + "\n"
