"""Batch results as SARIF 2.1.0, with the rule metadata and help code-scanning UIs show."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from diagnose import __version__
from diagnose.batch import INVALID, MALFORMED, NO_REASON, UNKNOWN_RULE, UNREADABLE, FileResult
from diagnose.catalogue import Catalogue
from diagnose.render.safe import scrub, shown
from diagnose.report import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
META = {
    UNREADABLE: ("input-unreadable", "The input could not be read (binary, empty, missing, huge)"),
    INVALID: ("input-invalid", "The input is malformed or holds an invalid value"),
    NO_REASON: ("suppression-without-reason", "A suppression gives no reason"),
    UNKNOWN_RULE: ("suppression-names-no-rule", "A suppression names no rule"),
    MALFORMED: ("suppression-not-read", "A comment meant as a suppression is not one"),
}


def _uri(path: str) -> str:
    """The file as a URI reference: a relative path percent-encodes its bytes (`my file#1`
    is `my%20file%231`, a name that is not UTF-8 keeps its bytes); an absolute one is a
    file: URI."""
    p = Path(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(os.fsencode(p.as_posix()), safe="/")


def _rule(cat: Catalogue, rid: str, lang: str) -> dict[str, Any]:
    if rid in META:
        name, text = META[rid]
        return {
            "id": rid,
            "name": name,
            "shortDescription": {"text": text},
            "defaultConfiguration": {"level": "error" if rid.startswith("IN") else "warning"},
        }
    rule = cat.rules[rid]
    words = cat.text(rid, lang)
    fixes_text = "\n".join(
        f"- {f.text}" + (f" `{f.command}`" if f.command else "") for f in words.fixes
    )
    help_md = f"{words.explanation or ''}\n\n{fixes_text}".strip()
    claims = "; ".join(f"{c}: {cat.texts[lang].claims[c]}" for c in rule.claims)
    return {
        "id": rid,
        "name": rule.name,
        "shortDescription": {"text": words.title},
        "fullDescription": {"text": words.explanation or words.title},
        "help": {
            "text": help_md + (f"\n\nRelies on: {claims}" if claims else ""),
            "markdown": help_md,
        },
        "defaultConfiguration": {"level": LEVEL[rule.severity or "info"]},
        "properties": {"tags": ["networking", *rule.claims]},
    }


def _result(f: Finding, rule_index: dict[str, int], fallback: str) -> dict[str, Any]:
    loc = f.location
    region: dict[str, int] = {}
    if loc and loc.line:
        region["startLine"] = loc.line
        if loc.column:
            region["startColumn"] = loc.column
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(loc.file if loc else fallback)}}
    if region:
        physical["region"] = region
    message = f.title if not f.fixes else f"{f.title}. Fix: {f.fixes[0].text}"
    return {
        "ruleId": f.rule,
        "ruleIndex": rule_index[f.rule],
        "level": LEVEL[f.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": physical}],
        "properties": {"claims": f.claims, "source": f.source}
        if f.source
        else {"claims": f.claims},
    }


def render(results: list[FileResult], cat: Catalogue, lang: str = "en") -> str:
    """A SARIF log with one run."""
    used = sorted(
        {f.rule for r in results for f in r.findings}
        | {f.rule for r in results for f, _ in r.suppressed}
    )
    ids = sorted(cat.rules) + [m for m in META if m not in cat.rules]
    ids = sorted(set(ids) | set(used))
    rules = [_rule(cat, rid, lang) for rid in ids]
    index = {rid: i for i, rid in enumerate(ids)}
    out: list[dict[str, Any]] = []
    for r in results:
        for f in r.findings:
            out.append(_result(f, index, r.file))
        for f, s in r.suppressed:
            item = _result(f, index, r.file)
            item["suppressions"] = [
                {"kind": "inSource", "justification": s.reason or "(no reason given)"}
            ]
            out.append(item)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "netwhy",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "results": out,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    # Texts naming a file that is not UTF-8 spell its bytes out (the uris carry them encoded).
    return json.dumps(scrub(log, shown), indent=2, ensure_ascii=False)
