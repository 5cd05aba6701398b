"""Which rules can fire for a set of facts: a static reading of the rules' constant tests.

Most of the catalogue cannot fire for a given setup: a setup without VMs never lays a VM
route, a question about the LAN reaching a container never needs the rules for containers
dialling the internet. The rule engine pays for every rule a fact reaches (durable-rules keeps
each fact in the memory of every pattern whose constant tests it passes), so the engine runs
a setup with the rules this module finds live, compiled once per distinct set.

The reading is conservative: a rule is dropped only when one of its patterns can match no fact
that exists or that a live rule could derive. Joins (`$alias.field`) are taken to match, and so
are operators it does not evaluate (numbers, regexes, list membership); a derived field filled
from a reference may hold any value or be missing. Negations (`unless`) are ignored: they can
only stop a rule. So the live rules fire exactly as the whole catalogue would.

Given goals (the kinds of facts a report is made of), it also leaves out the rules whose
products lead to none of them: a rule is kept when it derives a goal kind or a kind that a
kept rule reads, in a pattern or in a negation (a derived fact that blocks a negation
matters). Findings, verdicts and questions stay the same; the trace lacks the dead ends.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from diagnose.catalogue import PHASE_KIND, Catalogue, Rule, ref_of

Fact = dict[str, Any]


class _Unknown:
    """A value the reading does not know; `maybe_absent` if the field may be missing too."""

    def __init__(self, name: str, *, maybe_absent: bool) -> None:
        self.name = name
        self.maybe_absent = maybe_absent

    def __repr__(self) -> str:
        return self.name


ANY = _Unknown("ANY", maybe_absent=True)  # filled from a reference: any value, or none
PRESENT = _Unknown("PRESENT", maybe_absent=False)  # there, with a value not worth keeping
# There, and equal to none of the constants the rules compare this field with: so setups that
# differ only in such values (ports, names) share their shapes and their live rules.
OTHER = _Unknown("OTHER", maybe_absent=False)
_ABSENT = _Unknown("ABSENT", maybe_absent=False)

Shape = tuple[str, tuple[Any, ...]]  # kind, the tested fields' values in a fixed order
Known = tuple[frozenset[Shape], frozenset[str] | None]  # the facts' shapes, the goals
Test = tuple[int, str, Any]  # field's index in its kind's field list, operator, argument


def _same(value: Any, constant: Any) -> bool:
    """durable-rules equality: 80 matches 80.0, but not "80" or true."""
    if isinstance(value, bool) or isinstance(constant, bool):
        return isinstance(value, bool) and isinstance(constant, bool) and value == constant
    if isinstance(value, int | float) and isinstance(constant, int | float):
        return bool(value == constant)
    return type(value) is type(constant) and bool(value == constant)


def _may_pass(value: Any, op: str, arg: Any) -> bool:
    """False only when the test surely fails on this value (_ABSENT: the field is missing)."""
    if isinstance(value, _Unknown) and value.maybe_absent:
        return True
    if op == "exists":
        return (value is not _ABSENT) is bool(arg)
    if value is _ABSENT:
        return False
    if value is OTHER and op in ("eq", "in", "not", "not_in"):
        return op in ("not", "not_in")
    if isinstance(value, _Unknown):
        return True
    if op == "eq":
        return _same(value, arg)
    if op == "in":
        return any(_same(value, a) for a in arg)
    if op == "not":
        return not _same(value, arg)
    if op == "not_in":
        return not any(_same(value, a) for a in arg)
    return True  # numbers, regexes and list membership are not read here


def _tests(pattern: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """The constant tests of a pattern as (field, operator, argument); joins are left out."""
    out = []
    for name, cond in pattern.items():
        if name == "kind":
            continue
        if isinstance(cond, dict):
            op, arg = next(iter(cond.items()))
            if op in ("in", "not_in") and any(ref_of(a) for a in arg):
                continue
            if op == "not" and ref_of(arg):
                continue
            out.append((name, op, arg))
        elif not ref_of(cond):
            out.append((name, "eq", cond))
    return out


def _template_value(value: Any) -> Any:
    """What a derive template puts in a field, as far as it is known before the rule fires."""
    if isinstance(value, str) and ref_of(value):
        return ANY
    if isinstance(value, dict | list):
        return PRESENT if not _has_ref(value) else ANY
    return value


def _has_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    return bool(isinstance(value, str) and ref_of(value))


def derived_facts(rule: Rule) -> list[Fact]:
    """The facts a rule's firing adds, with the values known before it fires.

    This restates diagnosis.effect; tests/test_relevance.py checks every firing of the rule
    cases against it.
    """
    if rule.finding is not None:
        return [{"kind": "finding", "rule": rule.id, "params": PRESENT, "at": ANY, "symptom": ANY}]
    if rule.ask is not None:
        ask = {"question": rule.ask.question, "assume": rule.ask.assume}
        return [
            {"kind": "ask", "rule": rule.id, **ask, "params": PRESENT, "at": ANY, "symptom": ANY}
        ]
    out = []
    for template in rule.derive:
        fact = {k: _template_value(v) for k, v in template.items() if v is not None}
        if fact["kind"] == "hop":
            fact.setdefault("route", rule.id)
            fact.setdefault("via", PRESENT)
        out.append(fact)
    return out


class Relevance:
    """The live rules of a catalogue for a set of facts, remembered per shape of the facts."""

    def __init__(self, catalogue: Catalogue, *, remember: int = 512) -> None:
        self.catalogue = catalogue
        self._remember = remember
        self._lock = threading.Lock()
        self._known: OrderedDict[Known, frozenset[str]] = OrderedDict()
        # The same, per set of patterns the facts match: setups of different shapes often
        # match the same patterns, and so have the same live rules.
        self._reached: OrderedDict[tuple[int, frozenset[str] | None], frozenset[str]] = (
            OrderedDict()
        )
        self._matches: dict[Shape, tuple[int, tuple[str, ...]]] = {}
        # Per kind, the fields some pattern tests with a constant: a fact's shape keeps those.
        tested: dict[str, set[str]] = {}
        patterns: list[tuple[str, str, list[tuple[str, str, Any]]]] = []
        for rule in catalogue.rules.values():
            for item in rule.when:
                body = next(iter(item.values()))
                tests = _tests(body)
                patterns.append((rule.id, str(body["kind"]), tests))
                tested.setdefault(str(body["kind"]), set()).update(t[0] for t in tests)
        self.fields: dict[str, tuple[str, ...]] = {k: tuple(sorted(v)) for k, v in tested.items()}
        # Per kind, each tested field with the constants it is compared with (booleans apart):
        # a value among them is kept, any other becomes OTHER.
        constants: dict[tuple[str, str], set[Any]] = {}
        for _, kind, tests in patterns:
            for name, op, arg in tests:
                if op in ("eq", "not", "in", "not_in"):
                    args = arg if op in ("in", "not_in") else [arg]
                    constants.setdefault((kind, name), set()).update(args)
        self._tested: dict[str, tuple[tuple[str, frozenset[Any], frozenset[bool]], ...]] = {
            kind: tuple(
                (
                    name,
                    frozenset(c for c in constants.get((kind, name), ()) if type(c) is not bool),
                    frozenset(c for c in constants.get((kind, name), ()) if type(c) is bool),
                )
                for name in names
            )
            for kind, names in self.fields.items()
        }
        # Per kind, each pattern as (rule, position in the rule, tests on the shape's values).
        self._patterns: dict[str, list[tuple[str, int, list[Test]]]] = {}
        position: dict[str, int] = {}
        indexes = {k: {name: i for i, name in enumerate(v)} for k, v in self.fields.items()}
        for rule_id, kind, tests in patterns:
            index = indexes[kind]
            n = position.get(rule_id, 0)
            position[rule_id] = n + 1
            compiled = [(index[name], op, arg) for name, op, arg in tests]
            self._patterns.setdefault(kind, []).append((rule_id, n, compiled))
        # Each pattern is a bit (sets of them are ints); a rule is live once all of its are set.
        self._bit: dict[tuple[str, int], int] = {}
        self._need = dict.fromkeys(catalogue.rules, 0)
        for kind_patterns in self._patterns.values():
            for rule_id, n, _ in kind_patterns:
                bit = self._bit[(rule_id, n)] = 1 << len(self._bit)
                self._need[rule_id] |= bit
        self._derived = {
            rid: [self.shape(f) for f in derived_facts(r)] for rid, r in catalogue.rules.items()
        }
        self._makes = {
            rid: frozenset(shape[0] for shape in derived) for rid, derived in self._derived.items()
        }
        self._reads = {
            rid: frozenset(r.positive_kinds() | r.negated_kinds())
            for rid, r in catalogue.rules.items()
        }
        levels = range(1, catalogue.max_level + 1)
        self._always = [self.shape({"kind": PHASE_KIND, "level": n}) for n in levels]

    def shape(self, fact: Mapping[str, Any]) -> Shape:
        """What of a fact the reading looks at: its kind and the values of its tested fields."""
        kind = str(fact["kind"])
        tested = self._tested.get(kind)
        if not tested:
            return kind, ()
        get = fact.get
        values = []
        for name, plain, flags in tested:
            value = get(name, _ABSENT)
            cls = type(value)
            if cls is str or cls is int or cls is float:
                values.append(value if value in plain else OTHER)  # 80 and 80.0 are one to both
            elif cls is bool:  # true is not 1 to durable-rules, though it is to Python's sets
                values.append(value if value in flags else OTHER)
            else:
                values.append(value if cls is _Unknown else PRESENT)
        return kind, tuple(values)

    def live(
        self, facts: Iterable[Mapping[str, Any]], goals: frozenset[str] | None = None
    ) -> frozenset[str]:
        """The rules that can fire, given these facts and everything the rules derive; with
        `goals`, only those whose products lead to a fact of one of those kinds."""
        shapes = frozenset(map(self.shape, facts))
        key = (shapes, goals)
        with self._lock:
            found = self._known.get(key)
            if found is not None:
                self._known.move_to_end(key)
                return found
        # The live rules depend only on the patterns the facts match.
        reached = 0
        for shape in shapes:
            reached |= self._matching(shape)[0]
        by_patterns = (reached, goals)
        with self._lock:
            found = self._reached.get(by_patterns)
            if found is not None:
                self._reached.move_to_end(by_patterns)
        if found is None:
            found = self._closure(shapes)
            if goals is not None:
                found = self._leading_to(found, goals)
        with self._lock:
            for cache, k in ((self._known, key), (self._reached, by_patterns)):
                cache[k] = found  # type: ignore[index]
                if len(cache) > self._remember:
                    cache.popitem(last=False)
        return found

    def _matching(self, shape: Shape) -> tuple[int, tuple[str, ...]]:
        """The patterns a fact of this shape may match (as bits) and their rules; remembered."""
        found = self._matches.get(shape)
        if found is None:
            kind, values = shape
            keys = [
                (rule_id, n)
                for rule_id, n, tests in self._patterns.get(kind, ())
                if all(_may_pass(values[i], op, arg) for i, op, arg in tests)
            ]
            bits = 0
            for k in keys:
                bits |= self._bit[k]
            found = (bits, tuple(dict.fromkeys(rule_id for rule_id, _ in keys)))
            if len(self._matches) >= 50 * self._remember:
                self._matches.clear()
            self._matches[shape] = found
        return found

    def _leading_to(self, live: frozenset[str], goals: frozenset[str]) -> frozenset[str]:
        """The live rules whose products are goals or read by a rule kept (a fixpoint)."""
        needed = set(goals)
        kept: set[str] = set()
        grew = True
        while grew:
            grew = False
            for rule_id in live:
                if rule_id not in kept and not self._makes[rule_id].isdisjoint(needed):
                    kept.add(rule_id)
                    needed |= self._reads[rule_id]
                    grew = True
        return frozenset(kept)

    def _closure(self, shapes: Iterable[Shape]) -> frozenset[str]:
        satisfied = 0  # the patterns some fact (given or derived) may match, as bits
        live: set[str] = set()
        seen: set[Shape] = set()
        todo = [*shapes, *self._always]
        need = self._need
        while todo:
            shape = todo.pop()
            if shape in seen:
                continue
            seen.add(shape)
            bits, rules = self._matching(shape)
            if not bits & ~satisfied:
                continue
            satisfied |= bits
            for rule_id in rules:
                if rule_id not in live and not need[rule_id] & ~satisfied:
                    live.add(rule_id)
                    todo.extend(self._derived[rule_id])
        return frozenset(live)
