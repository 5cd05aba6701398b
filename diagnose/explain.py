"""`netwhy explain TOPIC`: a mode (docker:host, vmware:nat), a rule id, a claim id or a device."""

from __future__ import annotations

import difflib

from pydantic import BaseModel

from diagnose.catalogue import Catalogue, default_catalogue
from diagnose.errors import InputError


class ClaimOut(BaseModel):
    """A claim with its statement and where it comes from."""

    id: str
    statement: str
    section: str | None
    source: str | None
    refs: list[str]
    lab: bool


class Explanation(BaseModel):
    """What netwhy knows about one topic."""

    topic: str
    kind: str
    title: str
    text: str
    severity: str | None = None
    claims: list[ClaimOut]
    rules: list[str]
    fixes: list[str] = []
    lang: str = "en"


def _claim(cat: Catalogue, cid: str, lang: str) -> ClaimOut:
    c = cat.claims[cid]
    return ClaimOut(
        id=cid,
        statement=cat.texts[lang].claims[cid],
        section=c.section,
        source=c.source,
        refs=list(c.refs),
        lab=c.lab,
    )


def topics(cat: Catalogue) -> list[str]:
    """Everything `explain` accepts."""
    return sorted([*cat.topics, *cat.rules, *cat.claims, *cat.devices])


def explain(topic: str, *, lang: str = "en", cat: Catalogue | None = None) -> Explanation:
    """Explain a topic, or raise InputError with the nearest topics."""
    cat = cat or default_catalogue()
    pack = cat.texts[lang]
    key = topic.strip()
    upper = key.upper()
    if upper in cat.rules:
        rule = cat.rules[upper]
        text = pack.rules[upper]
        fixes = [f.text + (f" `{f.command}`" if f.command else "") for f in text.fixes]
        return Explanation(
            lang=lang,
            topic=upper,
            kind=f"rule ({rule.effect})",
            title=f"{rule.id} {rule.name}: {text.title}",
            text=text.explanation or "",
            severity=rule.severity,
            claims=[_claim(cat, c, lang) for c in rule.claims],
            rules=[upper],
            fixes=fixes,
        )
    if upper in cat.claims:
        citing = sorted(r.id for r in cat.rules.values() if upper in r.claims)
        claim = _claim(cat, upper, lang)
        return Explanation(
            lang=lang,
            topic=upper,
            kind="claim",
            title=f"{upper}: {claim.statement}",
            text=claim.source or "",
            claims=[claim],
            rules=citing,
        )
    lowered = key.lower()
    if lowered in cat.topics:
        t = cat.topics[lowered]
        return Explanation(
            lang=lang,
            topic=lowered,
            kind="mode",
            title=lowered,
            text=pack.topics[lowered],
            claims=[_claim(cat, c, lang) for c in t.claims],
            rules=list(t.rules),
        )
    if lowered in cat.devices:
        dev = cat.devices[lowered]
        return Explanation(
            lang=lang,
            topic=lowered,
            kind="device",
            title=lowered,
            text=pack.devices[lowered],
            claims=[_claim(cat, c, lang) for c in dev.claims],
            rules=[],
        )
    near = difflib.get_close_matches(key, topics(cat), n=4, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; `netwhy rules` lists rule ids"
    raise InputError(f"unknown topic {topic!r}{hint}", field="topic")


def _w(key: str, lang: str) -> str:
    """A word of the `explain` layout, in the explanation's language (knowledge/<lang>/report.yaml)."""
    from diagnose.diagnosis import report_phrase

    return report_phrase(f"explain_{key}", lang)


def render_text(e: Explanation) -> str:
    """An explanation for the terminal, laid out in its own language."""
    lang = e.lang
    kind, _, effect = e.kind.partition(" (")  # "rule (block)", "claim", "mode", "device"
    kind = _w(kind, lang) + (f" ({effect}" if effect else "")
    lines = [e.title, f"({kind}{', ' + e.severity if e.severity else ''})", ""]
    if e.text:
        lines += [e.text, ""]
    for fix in e.fixes:
        lines.append(f"{_w('fix', lang)}: {fix}")
    if e.fixes:
        lines.append("")
    for c in e.claims:
        lines.append(f"[{c.id}] {c.statement}")
        if c.section:
            lines.append(f"      {_w('section', lang)}: {c.section}")
        if c.source and e.kind != "claim":
            lines.append(f"      {_w('source', lang)}: {c.source}")
        for ref in c.refs:
            lines.append(f"      {_w('see', lang)}: {ref}")
    if e.rules and not e.kind.startswith("rule"):
        lines += ["", f"{_w('rules', lang)}: {', '.join(e.rules)}"]
    return "\n".join(lines).rstrip() + "\n"
