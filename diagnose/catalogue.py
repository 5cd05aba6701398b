"""Rules (rules/*.yaml) and knowledge (knowledge/...): loaded, validated, cross-checked, compiled.

A rule is data:

    - id: DP003
      name: published-port-loopback-listener
      severity: error            # findings only
      claims: [D7, X03]
      when:                      # fact patterns; a list item is one fact (several = a join)
        - ct: {kind: container}
        - pub: {kind: publish, container: $ct.name}
      unless:                    # negation: no fact matches (checked once all facts are in)
        - {kind: listen, container: $ct.name, scope: any}
      params: {container: $ct.name, port: $pub.container_port}
      finding: {at: {device: listener, container: $ct.name}}   # or derive: [...] or ask: {...}

Values in a pattern: a scalar is equality, `$alias.field` joins an earlier pattern, and a
one-key mapping is an operator: not, in, not_in, gt, gte, lt, lte, exists, matches, has.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import string
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from diagnose.errors import RuleError
from diagnose.languages import LANGUAGES
from diagnose.yamltext import parse

RULE_ID = re.compile(r"^[A-Z]{2}\d{3}$")
CLAIM_ID = re.compile(r"^(?:[VBNHDMCZ]\d|X\d{2})$")
QUESTION_ID = re.compile(r"^[a-z][a-z0-9-]{2,40}$")
ALIAS = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
REF = re.compile(r"^\$([a-z][a-z0-9_]{0,15})\.([a-z][a-z0-9_]*)$")
FIELD = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_ALIASES = frozenset({"s", "m", "c", "host", "post", "sid", "phase"})
OPERATORS = frozenset({"not", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "matches", "has"})
PHASE_KIND = "__phase"

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

Scalar = str | int | float | bool


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingEffect(Frozen):
    """The rule reports a finding; `at` locates it on a device of a path (it blocks that hop)."""

    at: dict[str, Any] | None = None
    locate: str | None = Field(
        None, description="alias of the fact whose place in the input the finding points to"
    )


class AskEffect(Frozen):
    """The rule asks a question; with `assume` the hop passes on a stated default meanwhile."""

    question: str
    at: dict[str, Any] | None = None
    assume: bool = False
    settles: tuple[str, ...] = Field((), description="the candidate causes the answer decides")


class Rule(Frozen):
    """One rule, as written in rules/*.yaml."""

    id: str
    name: str = Field(pattern=r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
    severity: Severity | None = None
    claims: tuple[str, ...] = ()
    prior: float = Field(0.5, ge=0, le=1, description="how common this cause is, for ranking")
    when: tuple[dict[str, dict[str, Any]], ...]
    unless: tuple[dict[str, Any], ...] = ()
    params: dict[str, Any] = Field(default_factory=dict)
    derive: tuple[dict[str, Any], ...] = ()
    finding: FindingEffect | None = None
    ask: AskEffect | None = None
    last: bool = Field(
        False,
        description="runs after every other rule (a fallback: e.g. ask when nothing else did)",
    )
    file: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError(f"rule id {value!r} must be two capitals and three digits, e.g. DP003")
        return value

    @property
    def effect(self) -> Literal["derive", "finding", "ask"]:
        if self.finding is not None:
            return "finding"
        if self.ask is not None:
            return "ask"
        return "derive"

    @property
    def aliases(self) -> list[str]:
        return [next(iter(p)) for p in self.when]

    def derived_kinds(self) -> set[str]:
        kinds = {str(t["kind"]) for t in self.derive}
        if self.finding is not None:
            kinds.add("finding")
        if self.ask is not None:
            kinds.add("ask")
        return kinds

    def positive_kinds(self) -> set[str]:
        return {str(next(iter(p.values()))["kind"]) for p in self.when}

    def negated_kinds(self) -> set[str]:
        return {str(p["kind"]) for p in self.unless}


class Fix(Frozen):
    """A concrete remedy: prose plus the command or config line, and what applying it changes."""

    text: str
    command: str | None = None
    config: str | None = None
    persistent: bool = Field(description="changes configuration that survives a restart")
    risky: bool = False


class RuleText(Frozen):
    """A rule's words in one language."""

    title: str
    explanation: str | None = None
    fixes: tuple[Fix, ...] = ()


class Question(Frozen):
    """A question the system can ask; `fills` names the setup field the answer goes to."""

    text: str
    fills: str
    choices: tuple[str, ...] = ()
    labels: dict[str, str] = Field(
        default_factory=dict, description="a choice's words in this language, where they differ"
    )
    why: str | None = None


class Claim(Frozen):
    """A behaviour netwhy relies on, from the source document (V1...Z1) or documentation (X..)."""

    id: str
    lab: bool = False
    section: str | None = Field(None, description="section of source-zh.md it comes from")
    source: str | None = Field(None, description="the Chinese source text, for seed claims")
    refs: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not CLAIM_ID.match(value):
            raise ValueError(f"claim id {value!r} must be like D4 (seed) or X12 (documentation)")
        return value


class Device(Frozen):
    """A device a path crosses (docker0, the DNAT rule, VMnet8...), with the claims behind it."""

    claims: tuple[str, ...] = ()


class Topic(Frozen):
    """An explainable topic such as `docker:host` or `vmware:nat`."""

    claims: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


class LanguagePack(Frozen):
    """All the words of one language."""

    rules: dict[str, RuleText]
    questions: dict[str, Question]
    claims: dict[str, str]
    devices: dict[str, str]
    topics: dict[str, str]
    report: dict[str, str]


@dataclass
class Catalogue:
    """Every rule, claim, device, question and text, cross-checked, ready to compile."""

    rules: dict[str, Rule]
    claims: dict[str, Claim]
    devices: dict[str, Device]
    topics: dict[str, Topic]
    texts: dict[str, LanguagePack]
    levels: dict[str, int] = field(default_factory=dict)
    compiled: dict[str, dict[str, Any]] = field(default_factory=dict)  # durable-rules JSON

    def text(self, rule_id: str, lang: str = "en") -> RuleText:
        return self.texts[lang].rules[rule_id]

    def question(self, question_id: str, lang: str = "en") -> Question:
        return self.texts[lang].questions[question_id]

    @property
    def max_level(self) -> int:
        return max(self.levels.values(), default=0)


# ----------------------------------------------------------------------------- compilation


def ref_of(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str):
        m = REF.match(value)
        if m:
            return m.group(1), m.group(2)
    return None


def _compare(field_name: str, op: str, value: Any) -> dict[str, Any]:
    ref = ref_of(value)
    operand: Any = {ref[0]: ref[1]} if ref else value
    if op == "eq":
        return {field_name: operand}
    return {op: {field_name: operand}}


# Fields the engine gives a meaning of its own: `id` is durable's fact identity (netwhy's
# engine sets it to a fact's number in its run), `sid` its session. `_n` and `_salt` carried
# the number and a hash salt in earlier versions of the engine; they stay reserved, so a rule
# catalogue accepted once is refused or accepted as it was.
RESERVED_FIELDS = frozenset({"id", "sid", "_n", "_salt"})


def _condition(field_name: str, value: Any, where: str) -> dict[str, Any]:
    if not FIELD.match(field_name) or field_name in RESERVED_FIELDS:
        raise ValueError(f"{where}: field name {field_name!r} is reserved or not snake_case")
    if isinstance(value, dict):
        if len(value) != 1:
            raise ValueError(f"{where}: {field_name}: an operator mapping has exactly one key")
        op, arg = next(iter(value.items()))
        if op not in OPERATORS:
            raise ValueError(f"{where}: {field_name}: unknown operator {op!r}")
        if op == "not":
            return _compare(field_name, "$neq", arg)
        if op in ("in", "not_in"):
            if not isinstance(arg, list) or not arg:
                raise ValueError(f"{where}: {field_name}: {op} takes a non-empty list")
            parts = [_compare(field_name, "eq" if op == "in" else "$neq", a) for a in arg]
            return {"$or" if op == "in" else "$and": parts}
        if op in ("gt", "gte", "lt", "lte"):
            # Joins on < and > can crash durable-rules (issue #381): constants only.
            if isinstance(arg, bool) or not isinstance(arg, int | float):
                raise ValueError(f"{where}: {field_name}: {op} compares with a number constant")
            return {f"${op}": {field_name: arg}}
        if op == "exists":
            if not isinstance(arg, bool):
                raise ValueError(f"{where}: {field_name}: exists takes true or false")
            return {"$ex" if arg else "$nex": {field_name: 1}}
        if op == "matches":
            if not isinstance(arg, str):
                raise ValueError(f"{where}: {field_name}: matches takes a pattern")
            # durable-rules has its own regex engine: it matches the whole value and knows no
            # anchors or backslash escapes (measured: `^a.*` and `a\\.b` never match).
            if any(ch in arg for ch in "^$\\"):
                raise ValueError(
                    f"{where}: {field_name}: the pattern matches the whole value; drop ^ and $ "
                    "and write a literal dot as [.] (no backslash escapes)"
                )
            re.compile(arg)
            return {"$mt": {field_name: arg}}
        # has: the list field contains a constant
        if isinstance(arg, dict | list) or ref_of(arg):
            raise ValueError(f"{where}: {field_name}: has takes a constant")
        return {"$iany": {field_name: {"$i": arg}}}
    if isinstance(value, list):
        raise ValueError(f"{where}: {field_name}: use {{in: [...]}} for a choice of values")
    if value is None:
        raise ValueError(f"{where}: {field_name}: use {{exists: false}} for a missing value")
    if isinstance(value, str) and value.startswith("$") and not ref_of(value):
        raise ValueError(f"{where}: {field_name}: {value!r} is not a reference like $ct.name")
    return _compare(field_name, "eq", value)


def _order(field_name: str, value: Any) -> int:
    """Where a condition goes in its pattern (see compile_pattern)."""
    if field_name == "kind":
        return 0
    refs = list(_refs_in(value))
    grouped = isinstance(value, dict) and next(iter(value), None) in ("in", "not_in")
    if grouped:
        return 4
    if refs:
        return 3 if isinstance(value, dict) else 2
    return 1


def compile_pattern(
    pattern: Mapping[str, Any], where: str, guards: Iterable[str] = ()
) -> dict[str, Any]:
    """One fact pattern as durable-rules JSON; refuses what would misbehave at run time.

    Conditions are put in a fixed order: kind, constants, joins, then `in`/`not_in` groups
    (measured on durable-rules 2.0.28: an `$or` placed before a join makes the join match
    any fact, and many join-first patterns on one kind overflow its node stack, error 303).
    `guards` are fields later positive patterns join on: they must exist, so that an unknown
    value matches nothing (a join on a missing field may otherwise fail with error 311).
    """
    if "kind" not in pattern or not isinstance(pattern["kind"], str) or ref_of(pattern["kind"]):
        raise ValueError(f"{where}: every pattern needs a literal kind")
    items = sorted(pattern.items(), key=lambda kv: _order(kv[0], kv[1]))
    parts = [_condition(k, v, where) for k, v in items]
    position = sum(1 for k, v in items if _order(k, v) <= 1)
    for name in sorted(set(guards)):
        if name not in pattern or pattern[name] == {"exists": True}:
            parts.insert(position, {"$ex": {name: 1}})
            position += 1
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _refs_in(value: Any) -> Iterable[tuple[str, str]]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _refs_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _refs_in(v)
    else:
        ref = ref_of(value)
        if ref:
            yield ref


def compile_rule(rule: Rule, level: int) -> dict[str, Any]:
    """The rule as durable-rules JSON, with the phase guard when it has negations."""
    where = f"rule {rule.id}"
    seen: list[str] = []
    parts: list[dict[str, Any]] = []
    # Fields that later positive patterns join on, per alias: they must exist (an unknown
    # value matches nothing). Negations keep durable's reading: nothing matches an unknown
    # value, so `unless` holds; add {exists: true} where that is not what a rule means.
    joined: dict[str, set[str]] = {}
    for item in (next(iter(p.values())) for p in rule.when if len(p) == 1):
        for ref_alias, ref_field in _refs_in(item):
            joined.setdefault(ref_alias, set()).add(ref_field)
    for pattern in rule.when:
        if len(pattern) != 1:
            raise ValueError(f"{where}: each when item is one mapping alias: pattern")
        alias, body = next(iter(pattern.items()))
        if not ALIAS.match(alias) or alias in RESERVED_ALIASES:
            raise ValueError(f"{where}: alias {alias!r} is reserved or not snake_case")
        if alias in seen:
            raise ValueError(f"{where}: alias {alias!r} used twice")
        for ref_alias, _ in _refs_in(body):
            if ref_alias not in seen:
                raise ValueError(f"{where}: ${ref_alias} is not an earlier alias of this rule")
        parts.append({alias: compile_pattern(body, where, joined.get(alias, ()))})
        seen.append(alias)
    for i, pattern in enumerate(rule.unless):
        for ref_alias, _ in _refs_in(pattern):
            if ref_alias not in seen:
                raise ValueError(f"{where}: unless refers to unknown alias ${ref_alias}")
        parts.append({f"n_{i}$not": compile_pattern(pattern, where)})
    if rule.unless:
        # The guard goes FIRST: durable-rules evaluates a `$not` when the facts before it in
        # the list are matched, and does not take that back when a negated fact arrives
        # later (measured: `[sy, not ct, phase]` fires when the symptom is asserted before
        # the container it negates). With the phase first, every negation is evaluated only
        # once the phase, hence every fact it negates, is in.
        parts.insert(0, {"phase": {"$and": [{"kind": PHASE_KIND}, {"level": level}]}})
    return {"all": parts, "run": rule.id}


def stratify(rules: Iterable[Rule]) -> dict[str, int]:
    """Give each rule the level at which it can run so that negation sees complete facts.

    A rule's level is at least the level of every kind it matches, and one more than the
    level of every kind it negates; a kind's level is the highest level of a rule deriving it.
    Rules marked `last` come after all the others (they may negate what they derive).
    """
    rules = list(rules)
    ordinary = [r for r in rules if not r.last]
    kind_level: dict[str, int] = {}
    rule_level = {r.id: 0 for r in ordinary}
    changed: set[str] = set()
    for _ in range(len(ordinary) + 2):
        changed = set()
        for r in ordinary:
            level = max(
                [kind_level.get(k, 0) for k in r.positive_kinds()]
                + [kind_level.get(k, 0) + 1 for k in r.negated_kinds()]
            )
            if level != rule_level[r.id]:
                rule_level[r.id] = level
                changed.add(r.id)
            for k in r.derived_kinds():
                if kind_level.get(k, 0) < level:
                    kind_level[k] = level
                    changed.add(r.id)
        if not changed:
            final = max(rule_level.values(), default=0) + 1
            rule_level.update({r.id: final for r in rules if r.last})
            return rule_level
    raise ValueError(
        f"negation cycle: these rules negate kinds they (indirectly) derive: {sorted(changed)}"
    )


# ---------------------------------------------------------------------------------- loading

FORMATTER = string.Formatter()


def placeholders(text: str) -> set[str]:
    """The `{names}` a knowledge text uses."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in FORMATTER.parse(text) if name}


def _yaml(file: Traversable | Path, label: str) -> Any:
    try:
        return parse(file.read_text(encoding="utf-8"), label).data
    except Exception as exc:  # InputError carries the line
        raise RuleError(str(exc), file=label) from None


def _load_rules(files: Iterable[tuple[Traversable | Path, str]]) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for file, label in files:
        data = _yaml(file, label)
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise RuleError("a rules file is a mapping with a `rules:` list", file=label)
        for item in data["rules"]:
            rid = item.get("id") if isinstance(item, dict) else None
            try:
                rule = Rule.model_validate({**item, "file": label})
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                loc = ".".join(str(p) for p in err["loc"])
                msg = str(err["msg"]).removeprefix("Value error, ")
                raise RuleError(f"{loc}: {msg}", file=label, rule=rid) from None
            except TypeError:
                raise RuleError("each rule is a mapping", file=label, rule=rid) from None
            if rule.id in rules:
                raise RuleError(
                    f"duplicate rule id (also in {rules[rule.id].file})", file=label, rule=rule.id
                )
            effects = sum([bool(rule.derive), rule.finding is not None, rule.ask is not None])
            if effects != 1:
                raise RuleError(
                    "a rule has exactly one of derive, finding, ask", file=label, rule=rule.id
                )
            if (rule.finding is not None) != (rule.severity is not None):
                raise RuleError(
                    "findings have a severity; other rules do not", file=label, rule=rule.id
                )
            for tmpl in rule.derive:
                if RESERVED_FIELDS & set(tmpl):
                    raise RuleError(
                        f"derived facts cannot have the fields {sorted(RESERVED_FIELDS)}",
                        file=label,
                        rule=rule.id,
                    )
                if not isinstance(tmpl.get("kind"), str) or tmpl["kind"] in (
                    "finding",
                    "ask",
                    PHASE_KIND,
                ):
                    raise RuleError(
                        "each derived fact needs its own literal kind", file=label, rule=rule.id
                    )
            try:
                compile_rule(rule, 1)
                aliases = set(rule.aliases)
                for ref_alias, _ in _refs_in(
                    [
                        rule.params,
                        list(rule.derive),
                        rule.finding and rule.finding.at,
                        rule.ask and rule.ask.at,
                    ]
                ):
                    if ref_alias not in aliases:
                        raise ValueError(f"${ref_alias} is not an alias of this rule")
            except ValueError as exc:
                raise RuleError(str(exc), file=label, rule=rule.id) from None
            if rule.finding and rule.finding.locate and rule.finding.locate not in rule.aliases:
                raise RuleError(
                    f"locate names {rule.finding.locate!r}, not an alias of this rule",
                    file=label,
                    rule=rule.id,
                )
            rules[rule.id] = rule
    return rules


def _pack(bases: list[tuple[Traversable | Path, str]], lang: str) -> LanguagePack:
    merged: dict[str, dict[str, Any]] = {
        "rules": {},
        "questions": {},
        "claims": {},
        "devices": {},
        "topics": {},
        "report": {},
    }
    files = []
    for base, prefix in bases:
        folder = base / lang
        if folder.is_dir():
            files += [
                (f, f"{prefix}/{lang}/{f.name}")
                for f in sorted(folder.iterdir(), key=lambda f: f.name)
            ]
    for file, label in files:
        if not file.name.endswith(".yaml"):
            continue
        data = _yaml(file, label)
        if not isinstance(data, dict):
            raise RuleError("a knowledge file is a mapping", file=label)
        for section, entries in data.items():
            if section not in merged or not isinstance(entries, dict):
                raise RuleError(f"unknown section {section!r}", file=label)
            for key, value in entries.items():
                if key in merged[section]:
                    raise RuleError(f"{section} {key!r} defined twice", file=label)
                merged[section][key] = value
    try:
        return LanguagePack.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise RuleError(f"{loc}: {err['msg']}", file=f"knowledge/{lang}") from None


def _check(cat: Catalogue) -> None:
    """Cross-references: every rule has text, every cited id exists, placeholders are declared."""
    for rid, rule in cat.rules.items():
        for cid in rule.claims:
            if cid not in cat.claims:
                raise RuleError(f"cites unknown claim {cid}", file=rule.file, rule=rid)
    for lang, pack in cat.texts.items():
        for rid, rule in cat.rules.items():
            label = rule.file
            if rid not in pack.rules:
                raise RuleError(f"no {lang} text for this rule", file=label, rule=rid)
            text = pack.rules[rid]
            if rule.finding is not None and (not text.explanation or not text.fixes):
                raise RuleError(
                    f"a finding needs an explanation and fixes ({lang})", file=label, rule=rid
                )
            used = placeholders(text.title) | placeholders(text.explanation or "")
            for fix in text.fixes:
                for part in (fix.text, fix.command or "", fix.config or ""):
                    used |= placeholders(part)
            missing = used - set(rule.params)
            if missing:
                raise RuleError(
                    f"{lang} text uses undeclared placeholders {sorted(missing)}",
                    file=label,
                    rule=rid,
                )
        for qid, question in pack.questions.items():
            if not QUESTION_ID.match(qid):
                raise RuleError(f"question id {qid!r} must be kebab-case", file=f"knowledge/{lang}")
            stray = set(question.labels) - set(question.choices)
            if stray:
                raise RuleError(
                    f"question {qid} labels {sorted(stray)}, which are not among its choices",
                    file=f"knowledge/{lang}",
                )
        for cid in cat.claims:
            if cid not in pack.claims:
                raise RuleError(f"claim {cid} has no {lang} statement", file=f"knowledge/{lang}")
        for dev in cat.devices:
            if dev not in pack.devices:
                raise RuleError(f"device {dev} has no {lang} label", file=f"knowledge/{lang}")
        for topic in cat.topics:
            if topic not in pack.topics:
                raise RuleError(f"topic {topic} has no {lang} text", file=f"knowledge/{lang}")
    for rid, rule in cat.rules.items():
        effects = [rule.finding.at if rule.finding else None, rule.ask.at if rule.ask else None]
        # A location may name no device: `at: {symptom: ...}` concerns the whole symptom.
        locations = [at for at in effects if at is not None and "device" in at]
        locations += [t for t in rule.derive if t.get("kind") == "hop"]
        for at in locations:
            if at.get("device") not in cat.devices:
                raise RuleError(f"unknown device {at.get('device')!r}", file=rule.file, rule=rid)
        if rule.ask is not None:
            for rid2 in rule.ask.settles:
                if rid2 not in cat.rules or cat.rules[rid2].finding is None:
                    raise RuleError(
                        f"settles {rid2}, which is not a finding rule", file=rule.file, rule=rid
                    )
            for lang, pack in cat.texts.items():
                q = pack.questions.get(rule.ask.question)
                if q is None:
                    raise RuleError(
                        f"asks unknown question {rule.ask.question!r}", file=rule.file, rule=rid
                    )
                missing = (placeholders(q.text) | placeholders(q.fills)) - set(rule.params)
                if missing:
                    raise RuleError(
                        f"question {rule.ask.question} ({lang}) uses undeclared "
                        f"placeholders {sorted(missing)}",
                        file=rule.file,
                        rule=rid,
                    )
    for name, device in cat.devices.items():
        for cid in device.claims:
            if cid not in cat.claims:
                raise RuleError(
                    f"device {name} cites unknown claim {cid}", file="knowledge/devices.yaml"
                )
    for name, topic_entry in cat.topics.items():
        for cid in topic_entry.claims:
            if cid not in cat.claims:
                raise RuleError(
                    f"topic {name} cites unknown claim {cid}", file="knowledge/topics.yaml"
                )
        for rid in topic_entry.rules:
            if rid not in cat.rules:
                raise RuleError(
                    f"topic {name} names unknown rule {rid}", file="knowledge/topics.yaml"
                )


def _mapping_of(model: type[Frozen], data: Any, label: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RuleError("expected a mapping", file=label)
    out = {}
    for key, value in data.items():
        try:
            out[key] = model.model_validate(value or {})
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            raise RuleError(
                f"{key}: {'.'.join(map(str, err['loc']))}: {err['msg']}", file=label
            ) from None
    return out


def _inputs(extra_rule_dirs: tuple[str, ...]) -> list[Traversable | Path]:
    """Every file a catalogue is built from."""
    out: list[Traversable | Path] = []

    def walk(folder: Traversable | Path) -> None:
        for item in sorted(folder.iterdir(), key=lambda f: f.name):
            if item.is_dir():
                walk(item)
            elif item.name.endswith(".yaml"):
                out.append(item)

    walk(resources.files("diagnose.rules"))
    walk(resources.files("diagnose.knowledge"))
    for folder in extra_rule_dirs:  # build() has checked that each is a folder
        walk(Path(folder))
    return out


def _cache_file(extra_rule_dirs: tuple[str, ...]) -> Path | None:
    """Where a built catalogue is kept, named by a digest of everything it is built from."""
    if os.environ.get("NETWHY_NO_CACHE"):
        return None
    from diagnose import __version__

    digest = hashlib.sha256(f"{__version__} {sys.version}".encode())
    # The code that builds a catalogue is part of what it is built from.
    for code in ("catalogue.py", "languages.py"):
        digest.update(resources.files("diagnose").joinpath(code).read_bytes())
    for file in _inputs(extra_rule_dirs):
        digest.update(str(file).encode())
        digest.update(file.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "netwhy"
    return base / f"catalogue-{digest.hexdigest()[:32]}.pickle"


def build(extra_rule_dirs: tuple[str, ...] = ()) -> Catalogue:
    """The checked catalogue: from the cache when the same files were built before (reading
    ~40 YAML files and validating 300+ rules is most of a cold start), else built anew."""
    # Checked before the cache is looked up: a missing folder adds nothing to the digest, so
    # the bundled catalogue's cache would answer for it.
    for folder in extra_rule_dirs:
        if not Path(folder).is_dir():
            raise RuleError("not a directory of rule files", file=folder)
    cache = _cache_file(extra_rule_dirs)
    if cache is not None and cache.is_file():
        try:
            with cache.open("rb") as handle:
                found = pickle.load(handle)
            if isinstance(found, Catalogue):
                return found
        except Exception:  # a stale or damaged cache is rebuilt
            pass
    cat = _build(extra_rule_dirs)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temp = cache.with_suffix(f".{os.getpid()}.tmp")
            with temp.open("wb") as handle:
                pickle.dump(cat, handle, protocol=pickle.HIGHEST_PROTOCOL)
            temp.chmod(0o600)
            temp.replace(cache)
        except OSError:  # a read-only home: no cache, no harm
            pass
    return cat


def _build(extra_rule_dirs: tuple[str, ...] = ()) -> Catalogue:
    """Load and check the bundled rules and knowledge, plus rules from `extra_rule_dirs`."""
    rule_root = resources.files("diagnose.rules")
    files: list[tuple[Traversable | Path, str]] = [
        (f, f"rules/{f.name}")
        for f in sorted(rule_root.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    ]
    for folder in extra_rule_dirs:
        path = Path(folder)
        if not path.is_dir():
            raise RuleError("not a directory of rule files", file=folder)
        files += [(f, str(f)) for f in sorted(path.glob("*.yaml"))]
    rules = _load_rules(files)
    know = resources.files("diagnose.knowledge")
    # A user's rule folder may carry its own knowledge/: claims.yaml and <lang>/*.yaml texts.
    bases: list[tuple[Traversable | Path, str]] = [(know, "knowledge")]
    bases += [
        (Path(d) / "knowledge", f"{d}/knowledge")
        for d in extra_rule_dirs
        if (Path(d) / "knowledge").is_dir()
    ]
    claims: dict[str, Claim] = {}
    for _, prefix, file in _topic_files(bases, "claims"):
        label = f"{prefix}/{file.name}"
        claims_data = _yaml(file, label)
        for item in claims_data.get("claims", []) if isinstance(claims_data, dict) else []:
            try:
                claim = Claim.model_validate(item)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                raise RuleError(
                    f"{'.'.join(map(str, err['loc']))}: {err['msg']}", file=label
                ) from None
            if claim.id in claims:
                raise RuleError(f"claim {claim.id} defined twice", file=label)
            claims[claim.id] = claim
    devices: dict[str, Device] = _merged(bases, "devices", Device)
    topics: dict[str, Topic] = _merged(bases, "topics", Topic)
    texts = {lang: _pack(bases, lang) for lang in LANGUAGES}
    # A user's rules may come with English text only: other languages fall back to it (the
    # bundled knowledge is complete in every language; tests/test_languages.py sees to it).
    english = texts["en"]
    for lang, pack in texts.items():
        if lang != "en":
            texts[lang] = pack.model_copy(
                update={
                    section: {**getattr(english, section), **getattr(pack, section)}
                    for section in LanguagePack.model_fields
                }
            )
    cat = Catalogue(rules, claims, devices, topics, texts)
    _check(cat)
    try:
        cat.levels = stratify(rules.values())
    except ValueError as exc:
        raise RuleError(str(exc), file="rules/") from None
    cat.compiled = {rid: compile_rule(rule, cat.levels[rid]) for rid, rule in rules.items()}
    return cat


def _merged(
    bases: list[tuple[Traversable | Path, str]], stem: str, model: type[Frozen]
) -> dict[str, Any]:
    """The entries of every `stem*.yaml`, validated; a key defined twice is an error."""
    merged: dict[str, Any] = {}
    for _, prefix, file in _topic_files(bases, stem):
        label = f"{prefix}/{file.name}"
        for key, value in _mapping_of(model, _yaml(file, label), label).items():
            if key in merged:
                raise RuleError(f"{stem} entry {key!r} defined twice", file=label)
            merged[key] = value
    return merged


def _topic_files(
    bases: list[tuple[Traversable | Path, str]], stem: str
) -> list[tuple[Traversable | Path, str, Traversable | Path]]:
    """`stem.yaml` and `stem-<topic>.yaml` of each knowledge folder, in name order."""
    out: list[tuple[Traversable | Path, str, Traversable | Path]] = []
    for base, prefix in bases:
        if not base.is_dir():
            continue
        for file in sorted(base.iterdir(), key=lambda f: f.name):
            if file.name == f"{stem}.yaml" or (
                file.name.startswith(f"{stem}-") and file.name.endswith(".yaml")
            ):
                out.append((base, prefix, file))
    return out


@cache
def default_catalogue() -> Catalogue:
    """The bundled catalogue, built once per process."""
    return build()
