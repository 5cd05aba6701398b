"""Facts in, Report out: runs the engine and assembles verdicts, paths, causes and questions.

Rule effects are facts: a route rule derives `hop` facts, a finding rule a `finding` fact, an
ask rule an `ask` fact. This module reads them back and puts the report together:
- a finding located `at` a device blocks every hop on that device whose keys include its keys;
- an ask located on a hop makes it unknown (unless it `assume`s a stated default);
- a hop with neither passes, citing the claims of its device;
- a route is blocked by any blocked hop; a symptom is reachable if one of its routes is.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from diagnose.catalogue import SEVERITY_ORDER, Catalogue, Rule, build, default_catalogue
from diagnose.engine import Engine, Fact, Firing, Run
from diagnose.errors import EngineError
from diagnose.facts import build_facts
from diagnose.model import Setup
from diagnose.report import (
    DIAGRAM_KINDS,
    SCHEMA_VERSION,
    Cause,
    Finding,
    FixOut,
    Hop,
    Question,
    Report,
    TraceEntry,
    Verdict,
    trusted,
)

UNKNOWN = "(unknown)"
# The fields given when the models below are built (see diagnose.report.trusted).
_FIX_FIELDS = frozenset(FixOut.model_fields)
_FINDING_GIVEN = frozenset(Finding.model_fields) - {"location"}
_REPORT_GIVEN = frozenset(Report.model_fields) - {"schema_version"}
# The kinds of facts a report is made of (assemble reads no other): its findings, its
# questions, and each symptom's path of hops. A run need not derive what leads to none.
REPORT_KINDS = frozenset({"finding", "ask", "hop", "symptom"})


class _Params(dict[str, Any]):
    unknown = UNKNOWN

    def __missing__(self, key: str) -> str:
        return self.unknown


def _known(params: Mapping[str, Any], unknown: str = UNKNOWN) -> _Params:
    """The values of `params` someone knows, ready for format_map."""
    values = _Params({k: v for k, v in params.items() if v is not None})
    values.unknown = unknown
    return values


def fill(template: str, params: Mapping[str, Any], *, unknown: str = UNKNOWN) -> str:
    """Fill `{placeholders}`; a value nobody knows reads as (unknown)."""
    return template.format_map(_known(params, unknown))


_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


@lru_cache(maxsize=1024)
def _label_parts(template: str) -> tuple[tuple[str, bool], ...]:
    """A label template as its parts, each marked whether it is an optional `[...]` one."""
    out, pos = [], 0
    for match in _OPTIONAL.finditer(template):
        out += [(template[pos : match.start()], False), (match.group(1), True)]
        pos = match.end()
    out.append((template[pos:], False))
    return tuple(out)


def fill_label(template: str, params: Mapping[str, Any]) -> str:
    """Fill a hop label; a `[...]` part is dropped when a value in it is unknown."""
    values = _known(params)
    out = []
    for text, optional in _label_parts(template):
        part = text.format_map(values)
        out.append("" if optional and UNKNOWN in part else part)
    return "".join(out)


Getter = Callable[[Mapping[str, Fact]], Any]


def _compile(value: Any) -> Getter:
    """A template (`$alias.field` references, literals, dicts, lists) as a fast getter."""
    if isinstance(value, dict):
        items = [(k, _compile(v)) for k, v in value.items()]

        def mapping(matched: Mapping[str, Fact]) -> dict[str, Any]:
            out = {}
            for key, get in items:
                got = get(matched)
                if got is not None:  # an unknown value is left out, never null
                    out[key] = got
            return out

        return mapping
    if isinstance(value, list | tuple):
        parts = [_compile(v) for v in value]
        return lambda matched: [get(matched) for get in parts]
    if isinstance(value, str) and value.startswith("$") and "." in value:
        alias, _, field_name = value[1:].partition(".")
        return lambda matched: (matched.get(alias) or {}).get(field_name)
    return lambda matched: value


@dataclass(frozen=True)
class _Plan:
    """A rule's effect, with its templates compiled once."""

    params: Getter
    at: Getter | None
    derive: tuple[Getter, ...]


_plans: dict[int, tuple[Rule, _Plan]] = {}


def _plan(rule: Rule) -> _Plan:
    found = _plans.get(id(rule))
    if found is None or found[0] is not rule:
        at = rule.finding.at if rule.finding else (rule.ask.at if rule.ask else None)
        plan = _Plan(
            params=_compile(rule.params),
            at=_compile(at) if at else None,
            derive=tuple(_compile(dict(t)) for t in rule.derive),
        )
        found = _plans[id(rule)] = (rule, plan)
    return found[1]


def effect(rule: Rule, matched: dict[str, Fact], ident: Callable[[Fact], str]) -> list[Fact]:
    """What a rule firing adds to the facts; `ident` gives a matched fact's id.

    diagnose.relevance.derived_facts restates it for the rules not yet fired: change both.
    """
    plan = _plan(rule)
    if rule.finding is not None:
        fact: Fact = {"kind": "finding", "rule": rule.id, "params": plan.params(matched)}
        if plan.at:
            fact["at"] = plan.at(matched)
            _lift_symptom(fact)
        return [fact]
    if rule.ask is not None:
        fact = {
            "kind": "ask",
            "rule": rule.id,
            "question": rule.ask.question,
            "params": plan.params(matched),
            "assume": rule.ask.assume,
        }
        if plan.at:
            fact["at"] = plan.at(matched)
            _lift_symptom(fact)
        return [fact]
    out = []
    via = None
    for derive in plan.derive:
        fact = derive(matched)
        if fact["kind"] == "hop":
            # Hops laid by one firing form one route; a rule may add a hop to an existing
            # route by copying its `route` and `via`.
            if via is None:
                via = _via({alias: ident(f) for alias, f in matched.items()})
            fact.setdefault("route", rule.id)
            fact.setdefault("via", via)
        out.append(fact)
    return out


def _lift_symptom(fact: Fact) -> None:
    """A finding or question about a symptom as a whole carries its id at the top, so rules
    can match it (patterns do not reach into `at`)."""
    at = fact["at"]
    if "symptom" in at and "device" not in at:
        fact["symptom"] = at["symptom"]


def _via(ids: Mapping[str, str]) -> str:
    text = "|".join(f"{alias}={fid}" for alias, fid in sorted(ids.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:8]


_engines: dict[tuple[str, ...], Engine] = {}
_engines_lock = threading.Lock()


@cache
def _catalogue(rule_dirs: tuple[str, ...]) -> Catalogue:
    return default_catalogue() if not rule_dirs else build(rule_dirs)


def _resolved(rule_dirs: tuple[str, ...]) -> tuple[str, ...]:
    """`./x` and `x` are one rule set: catalogues and engines are kept by resolved folders."""
    return tuple(str(Path(d).resolve()) for d in rule_dirs)


def catalogue_for(rule_dirs: tuple[str, ...] = ()) -> Catalogue:
    """The catalogue of the bundled rules and those in `rule_dirs`, built once per process."""
    return _catalogue(_resolved(rule_dirs))


def engine_for(rule_dirs: tuple[str, ...] = ()) -> Engine:
    """One engine per process and rule set (durable-rules hosts are costly and never freed)."""
    rule_dirs = _resolved(rule_dirs)
    with _engines_lock:
        eng = _engines.get(rule_dirs)
        if eng is None:
            eng = Engine(_catalogue(rule_dirs), effect)
            _engines[rule_dirs] = eng
        return eng


def _covers(at: Mapping[str, Any], hop: Mapping[str, Any]) -> bool:
    """A location covers a hop when every key it names has the hop's value."""
    return all(hop.get(k) == v for k, v in at.items())


class _Assembler:
    def __init__(self, cat: Catalogue, run: Run, lang: str):
        self.cat = cat
        self.lang = lang
        # What a placeholder nobody knows reads as, in the report's language.
        self.unknown = cat.texts[lang].report.get("unknown_value", UNKNOWN)
        self.run = run
        self.by_kind: dict[str, list[Fact]] = defaultdict(list)
        for fact in run.facts.values():
            self.by_kind[fact["kind"]].append(fact)
        self.origin: dict[str, Firing] = {}
        self._values: dict[int, tuple[Mapping[str, Any], _Params]] = {}
        for firing in run.firings:
            for produced in firing.produced:
                self.origin.setdefault(run.key(produced), firing)

    # ------------------------------------------------------------------------------ findings

    def _fixes(self, rule: Rule, params: Mapping[str, Any]) -> list[FixOut]:
        return [
            trusted(
                FixOut,
                {
                    "text": self.fill(fix.text, params),
                    "command": self.fill(fix.command, params) if fix.command else None,
                    "config": self.fill(fix.config, params) if fix.config else None,
                    "persistent": fix.persistent,
                    "risky": fix.risky,
                },
                _FIX_FIELDS,
            )
            for fix in self.cat.text(rule.id, self.lang).fixes
        ]

    def finding(self, fact: Fact) -> Finding:
        rule = self.cat.rules[fact["rule"]]
        text = self.cat.text(rule.id, self.lang)
        params = fact.get("params", {})
        firing = self.origin.get(self.run.key(fact))
        matched = sorted(self._id(f) for f in firing.matched.values()) if firing else []
        assert rule.severity is not None and rule.finding is not None
        at = fact.get("at")
        values = {
            "rule": rule.id,
            "name": rule.name,
            "severity": rule.severity,
            "title": self.fill(text.title, params),
            "explanation": self.fill(text.explanation or "", params),
            "fixes": self._fixes(rule, params),
            "claims": list(rule.claims),
            "at": None if at is None else dict(at),  # a copy, as validation makes
            "facts": matched,
            "source": self._source(rule, firing),
            "location": None,  # not given: the caller locates findings in its input
        }
        return trusted(Finding, values, _FINDING_GIVEN)

    def fill(self, template: str, params: Mapping[str, Any]) -> str:
        # A finding fills its title, explanation and fixes from one params mapping: its
        # known values are gathered once (the mapping is kept, so its id stays its own).
        if "{" not in template and "}" not in template:
            # The catalogue's own string: a batch pickles it once per chunk of results.
            return template
        found = self._values.get(id(params))
        if found is None or found[0] is not params:
            found = self._values[id(params)] = (params, _known(params, self.unknown))
        return template.format_map(found[1])

    def question(self, fact: Fact) -> Question:
        rule = self.cat.rules[fact["rule"]]
        assert rule.ask is not None
        q = self.cat.question(rule.ask.question, self.lang)
        params = fact.get("params", {})
        settles = sorted(rule.ask.settles)
        titles = [self.fill(self.cat.text(r, self.lang).title, params) for r in settles]
        why = self.fill(q.why, params) if q.why else ""
        if titles:
            decides = self._word("answer_decides", titles="; ".join(titles))
            why = (why + " " if why else "") + decides
        return Question(
            id=rule.ask.question,
            text=self.fill(q.text, params),
            fills=fill(q.fills, params),  # a key, read by programs: not translated
            choices=[self.fill(c, params) for c in q.choices],
            labels=[self.fill(q.labels.get(c, c), params) for c in q.choices],
            why=why,
            settles=settles,
            rule=rule.id,
            assumed=bool(fact.get("assume")),
        )

    def _source(self, rule: Rule, firing: Firing | None) -> str | None:
        """The setup entry a finding is about: the fact its rule names with `locate`, else
        the most specific entry among the facts it matched; a derived fact stands for the
        facts it was derived from."""
        if firing is None:
            return None
        assert rule.finding is not None
        if rule.finding.locate:
            facts = [firing.matched.get(rule.finding.locate, {})]
        else:
            facts = [firing.matched[a] for a in rule.aliases if a in firing.matched]
        for _ in range(8):  # derivation chains are short
            found = _best_src(facts)
            if found is not None or not facts:
                return found
            parents: list[Fact] = []
            for fact in facts:
                origin = self.origin.get(self.run.key(fact))
                if origin is not None:
                    parents += [origin.matched[a] for a in sorted(origin.matched)]
            facts = parents
        return None

    def _id(self, fact: Fact) -> str:
        return self.run.fact_id(fact)

    # ------------------------------------------------------------------------------ verdicts

    def _hop(
        self, hop: Fact, findings: list[tuple[Fact, Finding]], asks: list[tuple[Fact, Question]]
    ) -> tuple[Hop, list[Finding], list[Question]]:
        blockers = [
            f
            for fact, f in findings
            if fact.get("at") and "device" in fact["at"] and _covers(fact["at"], hop)
        ]
        pending = [q for fact, q in asks if fact.get("at") and _covers(fact["at"], hop)]
        device = hop["device"]
        label = fill_label(self.cat.texts[self.lang].devices[device], hop)
        if blockers:
            blockers.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.rule))
            status, rule, claims = "blocked", blockers[0].rule, blockers[0].claims
        else:
            unsure = [q for q in pending if not q.assumed]
            status = "unknown" if unsure else "pass"
            rule = hop["route"]
            # A hop may cite its own claims (a VirtualBox twin of a VMware device, say).
            claims = sorted(set(hop.get("claims") or self.cat.devices[device].claims))
        out = Hop(
            seq=hop["seq"],
            device=device,
            label=label,
            status=status,
            rule=rule,
            claims=list(claims),
            questions=sorted({q.id for q in pending if not q.assumed}),
            assumptions=sorted({q.text for q in pending if q.assumed}),
        )
        return out, blockers, pending

    def verdict(
        self, sym: Fact, findings: list[tuple[Fact, Finding]], asks: list[tuple[Fact, Question]]
    ) -> Verdict:
        sid = sym["symptom"]
        routes: dict[tuple[str, str], list[Fact]] = defaultdict(list)
        for hop_fact in self.by_kind["hop"]:
            if hop_fact.get("symptom") == sid:
                routes[(hop_fact["route"], hop_fact.get("via", ""))].append(hop_fact)
        general = [
            (fact, f)
            for fact, f in findings
            if fact.get("at", {}).get("symptom") == sid and "device" not in fact["at"]
        ]
        symptom_asks = [
            (fact, q)
            for fact, q in asks
            if fact.get("at", {}).get("symptom") == sid and "device" not in fact["at"]
        ]
        candidates = []
        for (route_id, _via), hops in sorted(routes.items()):
            hops.sort(key=lambda h: h["seq"])
            laid = [self._hop(h, findings, asks) for h in hops]
            if "says" in sym and not general and not any(b[1] for b in laid):
                # The user reports a failure and nothing explains it yet: what the path
                # only assumed becomes a question. A path already blocked needs no doubt.
                laid = [_doubt(b) for b in laid]
            route_path = _mark_unreached([b[0] for b in laid])
            if general or any(h.status == "blocked" for h in route_path):
                route_status = "blocked"
            elif symptom_asks or any(h.status == "unknown" for h in route_path):
                route_status = "unknown"
            elif "says" in sym:
                # Every hop passes, yet the user reports an error: not "reachable" but
                # unexplained (a fact given is wrong, or something undescribed interferes).
                route_status = "unknown"
            else:
                route_status = "reachable"
            rank = {"reachable": 0, "unknown": 1, "blocked": 2}[route_status]
            candidates.append((rank, route_id, route_status, route_path, laid))
        candidates.sort(key=lambda c: (c[0], c[1]))
        causes: list[Cause] = []
        questions: dict[tuple[str, str], Question] = {}
        params_of = {(q.rule, q.text): fact.get("params", {}) for fact, q in asks}
        for _, q in symptom_asks:
            questions[(q.id, q.text)] = q
        for _fact, f in general:
            causes.append(self._cause(f, None, certain=True))
        route: str | None = None
        path: list[Hop] = []
        alternatives: list[list[Hop]] = []
        if candidates:
            _, route, status, path, built = candidates[0]
            for hop, blockers, pending in built:
                for f in blockers:
                    causes.append(self._cause(f, hop.seq, certain=True))
                for q in pending:
                    questions.setdefault((q.id, q.text), q)
                    if not q.assumed:
                        for rid in q.settles:
                            causes.append(
                                self._candidate(rid, q, hop.seq, params_of[(q.rule, q.text)])
                            )
            alternatives = [c[3] for c in candidates[1:]]
        else:
            status = "blocked" if general else "unknown"
        if not candidates and not general and not symptom_asks:
            status = "unknown"
        broken = next((h.seq for h in path if h.status == "blocked"), None)
        causes = _dedupe_causes(causes, self.cat)
        return Verdict(
            symptom=sid,
            question=self._restate(sym),
            status=status,
            summary=self._summary(status, path, broken, causes, sym.get("says")),
            route=route,
            path=path,
            broken_at=broken,
            causes=causes,
            questions=sorted(questions.values(), key=lambda q: (q.id, q.text)),
            alternatives=alternatives,
        )

    def _cause(self, f: Finding, hop: int | None, *, certain: bool) -> Cause:
        return Cause(
            rule=f.rule,
            title=f.title,
            severity=f.severity,
            certain=certain,
            hop=hop,
            claims=f.claims,
            fixes=f.fixes,
        )

    def _candidate(self, rule_id: str, q: Question, hop: int, params: Mapping[str, Any]) -> Cause:
        rule = self.cat.rules[rule_id]
        text = self.cat.text(rule_id, self.lang)
        return Cause(
            rule=rule_id,
            title=fill(text.title, params, unknown="?"),
            severity=rule.severity,
            certain=False,
            hop=hop,
            claims=list(rule.claims),
            fixes=[],
        )

    def _restate(self, sym: Fact) -> str:
        def end(prefix: str) -> str:
            kind = sym.get(f"{prefix}_kind", "?")
            name = sym.get(f"{prefix}_name")
            address = sym.get(f"{prefix}_address")
            text = f"{kind}:{name}" if name and kind in ("vm", "container") else kind
            return f"{text} ({address})" if address else text

        text = f"{end('from')} -> {end('to')}" if "to_kind" in sym else end("from")
        if "port" in sym:
            text += self._word("restate_port", port=sym["port"], proto=sym["proto"])
        if "dial" in sym:
            text += self._word("restate_dial", dial=sym["dial"])
        if sym.get("type") != "connect":
            text += f" ({sym.get('type')})"
        return text

    def _word(self, key: str, **params: Any) -> str:
        """A phrase of the report itself, from knowledge/<lang>/report.yaml."""
        return self.fill(self.cat.texts[self.lang].report[key], params)

    def _summary(
        self,
        status: str,
        path: list[Hop],
        broken: int | None,
        causes: list[Cause],
        says: str | None,
    ) -> str:
        if status == "blocked":
            hop = next((h for h in path if h.seq == broken), None)
            first = next((c for c in causes if c.certain), None)
            if hop and first:
                return self._word("blocked_at", hop=hop.label, cause=first.title)
            return (
                self._word("blocked_cause", cause=first.title) if first else self._word("blocked")
            )
        if status == "reachable":
            return self._word("reachable")
        if not path:
            return self._word("unknown_no_path")
        unknown = [h for h in path if h.status == "unknown"]
        if unknown:
            return self._word("unknown_hops", count=len(unknown), hop=unknown[0].label)
        if says:
            return self._word("unexplained", says=says)
        return self._word("unknown_no_path")


# Facts relating two entries (computed by facts.py): their `src` is one of the two, so they
# only locate a finding when no entry fact of its own does.
RELATIONS = frozenset({"overlap", "port_clash", "addr_in", "on_link"})


def _best_src(facts: list[Fact]) -> str | None:
    """The most specific setup entry among facts (the first one on a tie)."""
    entries = [f for f in facts if f.get("kind") not in RELATIONS and f.get("src")]
    best: str | None = None
    for fact in entries or facts:
        src = fact.get("src")
        if src and (best is None or _depth(src) > _depth(best)):
            best = str(src)
    return best


def _depth(path: str) -> int:
    return path.count(".") + path.count("[")


def _mark_unreached(path: list[Hop]) -> list[Hop]:
    """Hops after the first blocked one are never reached by the packet."""
    out, broken = [], False
    for hop in path:
        out.append(hop.model_copy(update={"reached": False}) if broken else hop)
        broken = broken or hop.status == "blocked"
    return out


def _doubt(
    built: tuple[Hop, list[Finding], list[Question]],
) -> tuple[Hop, list[Finding], list[Question]]:
    """The user reports a failure: what a hop only assumed becomes a real question."""
    hop, blockers, pending = built
    if hop.status != "pass" or not any(q.assumed for q in pending):
        return built
    pending = [q.model_copy(update={"assumed": False}) for q in pending]
    hop = hop.model_copy(
        update={
            "status": "unknown",
            "questions": sorted({q.id for q in pending}),
            "assumptions": [],
        }
    )
    return hop, blockers, pending


def _dedupe_causes(causes: list[Cause], cat: Catalogue) -> list[Cause]:
    seen: set[tuple[str, str]] = set()
    certain = [c for c in causes if c.certain]
    maybe = [c for c in causes if not c.certain]
    certain.sort(
        key=lambda c: (
            c.hop if c.hop is not None else -1,
            SEVERITY_ORDER.get(c.severity or "info", 3),
            c.rule,
            c.title,
        )
    )
    maybe.sort(key=lambda c: (-cat.rules[c.rule].prior, c.hop or 0, c.rule))
    out: list[Cause] = []
    for c in certain + maybe:
        key = (c.rule, c.title)
        if key not in seen and not (not c.certain and any(x.rule == c.rule for x in out)):
            seen.add(key)
            out.append(c)
    return out


def assemble(
    cat: Catalogue, run: Run, *, lang: str = "en", source: str | None = None, how: bool = True
) -> Report:
    """Put the report together from a finished run; without `how`, leave out the trace and
    the facts it cites (a batch of files reports findings and verdicts only)."""
    asm = _Assembler(cat, run, lang)
    findings = [(fact, asm.finding(fact)) for fact in asm.by_kind["finding"]]
    findings.sort(
        key=lambda p: (SEVERITY_ORDER[p[1].severity], p[1].rule, p[1].title, run.key(p[0]))
    )
    asks = [(fact, asm.question(fact)) for fact in asm.by_kind["ask"]]
    asks.sort(key=lambda p: (p[1].id, p[1].text, run.key(p[0])))
    verdicts = [
        asm.verdict(sym, findings, asks)
        for sym in sorted(asm.by_kind["symptom"], key=lambda s: s["symptom"])
    ]
    questions: dict[tuple[str, str], Question] = {}
    for _, q in asks:
        questions.setdefault((q.id, q.text), q)
    # A finding scoped to a symptom belongs to the report only if it decides that verdict
    # (a route the verdict did not take may be blocked for reasons that do not matter).
    deciding = {(v.symptom, c.rule, c.title) for v in verdicts for c in v.causes if c.certain}
    unique_findings: dict[tuple[str, str], Finding] = {}
    for fact, f in findings:
        symptom = (fact.get("at") or {}).get("symptom")
        if symptom is not None and (symptom, f.rule, f.title) not in deciding:
            continue
        unique_findings.setdefault((f.rule, f.title), f)
    trace: list[TraceEntry] = []
    facts: dict[str, Fact] = {}
    if how:
        ids = run.fact_ids()
        kept = [f for _, f in sorted(run.facts.items()) if not f["kind"].startswith("__")]
        fact_id = run.fact_id
        firings = []
        for firing in run.firings:
            matched = [(alias, fact_id(f)) for alias, f in sorted(firing.matched.items())]
            firings.append((firing.rule, matched, sorted(fact_id(p) for p in firing.produced)))
        firings.sort()
        trace = [TraceEntry(rule=r, matched=dict(m), produced=p) for r, m, p in firings]
        facts = {ids[id(fact)]: fact for fact in kept}
        if len(facts) != len(kept):  # 64-bit content hashes: not expected, but never hidden
            raise EngineError("two facts of this run share an id")
    # Every part is a model built above or plain data of this run's own: validating the
    # report again would copy every fact (a tenth of the time of a report).
    values = {
        "schema_version": SCHEMA_VERSION,  # not given: the default
        "lang": lang,
        "source": source,
        "verdicts": verdicts,
        "findings": list(unique_findings.values()),
        "questions": sorted(questions.values(), key=lambda q: (q.id, q.text)),
        "trace": trace,
        "facts": facts,
    }
    return trusted(Report, values, _REPORT_GIVEN)


def report_phrase(key: str, lang: str = "en", **params: Any) -> str:
    """A phrase of the report itself (knowledge/<lang>/report.yaml), filled."""
    return fill(default_catalogue().texts[lang].report[key], params)


def evaluate(
    setup: Setup, *, rule_dirs: tuple[str, ...] = (), goals: frozenset[str] | None = None
) -> tuple[Catalogue, Run]:
    """Run the rules over a setup; the raw firings and facts (for tests and tools). Without
    `goals`, every derivation is run, those that lead nowhere too."""
    eng = engine_for(rule_dirs)
    return eng.catalogue, eng.run(build_facts(setup), goals=goals)


def firing_params(rule: Rule, firing: Firing) -> dict[str, Any]:
    """The parameters a firing fills into its rule's texts."""
    params: dict[str, Any] = _plan(rule).params(firing.matched)
    return params


def goals(how: bool) -> frozenset[str]:
    """The kinds of facts a diagnosis derives toward: what its report is made of, and with
    the trace (`how`), what the diagram of its facts draws."""
    return REPORT_KINDS | DIAGRAM_KINDS if how else REPORT_KINDS


def diagnose(
    setup: Setup,
    *,
    rule_dirs: tuple[str, ...] = (),
    lang: str = "en",
    source: str | None = None,
    how: bool = True,
) -> Report:
    """Run every rule over a setup and return the whole report (without the trace and its
    facts when `how` is false)."""
    cat, run = evaluate(setup, rule_dirs=rule_dirs, goals=goals(how))
    return assemble(cat, run, lang=lang, source=source, how=how)
