"""The engine runs only the rules that can fire (diagnose.relevance): same reports, fewer rules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from diagnose.catalogue import Catalogue, Rule
from diagnose.diagnosis import REPORT_KINDS, assemble, diagnose, engine_for
from diagnose.diagnosis import goals as diagnosis_goals
from diagnose.engine import Fact
from diagnose.facts import build_facts
from diagnose.loading import load_path, load_setup
from diagnose.model import Setup
from diagnose.relevance import ANY, Relevance
from diagnose.render import mermaid
from diagnose.report import DIAGRAM_KINDS, Report, TraceEntry
from tests.conftest import CASES
from tests.rulecases import load_case_file
from tests.test_properties import setups

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _both(facts: list[Fact]) -> tuple[str, str, frozenset[str]]:
    """The report from the live rules and from the whole catalogue, and the live rules."""
    eng = engine_for(())
    live = eng.relevance.live(facts)
    pruned = assemble(eng.catalogue, eng.run(facts)).model_dump_json()
    whole = assemble(eng.catalogue, eng.run(facts, rules=eng.catalogue.rules)).model_dump_json()
    return pruned, whole, live


def _case_setups() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        for name, case in load_case_file(path).cases.items():
            out.append((f"{path.stem}-{name}", case.setup))
    return out


CASE_SETUPS = _case_setups()


@pytest.mark.parametrize(("name", "setup"), CASE_SETUPS, ids=[n for n, _ in CASE_SETUPS])
def test_every_rule_case_gives_the_same_report_with_the_live_rules(
    name: str, setup: dict[str, Any]
) -> None:
    # The case files make every rule fire somewhere: a rule the reading wrongly drops shows
    # here as a report that differs from the whole catalogue's.
    pruned, whole, _ = _both(build_facts(load_setup(setup, name=name)))
    assert pruned == whole


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_give_the_same_report_with_far_fewer_rules(path: Path) -> None:
    pruned, whole, live = _both(build_facts(load_path(path)))
    assert pruned == whole
    assert len(live) < len(engine_for(()).catalogue.rules) / 2, sorted(live)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_random_setups_give_the_same_report_with_the_live_rules(setup: dict[str, Any]) -> None:
    pruned, whole, _ = _both(build_facts(load_setup(setup)))
    assert pruned == whole


def _leading_to(report: Report, goals: frozenset[str]) -> set[tuple[str, str, str]]:
    """The firings of a trace that a fact of a goal kind rests on, read back from the facts
    they produced and matched (firing by firing, independently of diagnose.relevance)."""
    made: dict[str, list[TraceEntry]] = {}
    for entry in report.trace:
        for fid in entry.produced:
            made.setdefault(fid, []).append(entry)
    todo = [e for e in report.trace if any(report.facts[f]["kind"] in goals for f in e.produced)]
    needed: set[tuple[str, str, str]] = set()
    while todo:
        entry = todo.pop()
        key = (entry.rule, repr(sorted(entry.matched.items())), repr(entry.produced))
        if key not in needed:
            needed.add(key)
            for fid in entry.matched.values():
                todo += made.get(fid, [])
    return needed


def _compare_with_goals(setup: Setup) -> None:
    """A diagnosis that runs only what leads to its report (`diagnose`, with and without the
    trace) against the whole catalogue run with every derivation."""
    eng = engine_for(())
    whole = assemble(eng.catalogue, eng.run(build_facts(setup), rules=eng.catalogue.rules))
    for how in (True, False):
        got = diagnose(setup, how=how)
        for part in ("verdicts", "findings", "questions"):
            assert getattr(got, part) == getattr(whole, part), part
        if not how:
            assert got.trace == [] and got.facts == {}
            continue
        trace = {(e.rule, repr(sorted(e.matched.items())), repr(e.produced)) for e in got.trace}
        every = {(e.rule, repr(sorted(e.matched.items())), repr(e.produced)) for e in whole.trace}
        assert _leading_to(whole, diagnosis_goals(how)) <= trace <= every
        assert got.facts.items() <= whole.facts.items()
        assert mermaid.render(got) == mermaid.render(whole)


@pytest.mark.parametrize(("name", "setup"), CASE_SETUPS, ids=[n for n, _ in CASE_SETUPS])
def test_every_rule_case_reports_the_same_without_dead_end_derivations(
    name: str, setup: dict[str, Any]
) -> None:
    _compare_with_goals(load_setup(setup, name=name))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_report_the_same_without_dead_end_derivations(path: Path) -> None:
    _compare_with_goals(load_path(path))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_random_setups_report_the_same_without_dead_end_derivations(
    setup: dict[str, Any],
) -> None:
    _compare_with_goals(load_setup(setup))


def test_derivations_that_lead_nowhere_are_not_run(catalogue: Catalogue) -> None:
    # DN042 derives `way_out` for each attached container; only questions about the way out
    # read it. Without such a symptom, a batch check does not derive it at all, but a rule
    # that reads it (here in a negation) keeps it.
    facts = build_facts(
        load_setup({"docker": {"containers": [{"name": "web", "networks": ["front"]}]}})
    )
    rel = Relevance(catalogue)
    assert "DN042" in rel.live(facts)
    assert "DN042" not in rel.live(facts, REPORT_KINDS)
    blocker = _rule(
        "ZZ010",
        [{"c": {"kind": "container"}}],
        unless=[{"kind": "way_out", "container": "$c.name"}],
        finding={"at": {"container": "$c.name"}},
        severity="info",
    )
    rel = Relevance(_catalogue_of(catalogue, catalogue.rules["DN042"], blocker))
    assert rel.live(facts, REPORT_KINDS) == {"DN042", "ZZ010"}
    assert rel.live(facts, frozenset({"hop"})) == frozenset()


def test_a_setup_without_vms_needs_no_vm_rule(catalogue: Catalogue) -> None:
    facts = build_facts(
        load_setup(
            {
                "docker": {"containers": [{"name": "web", "ports": ["8080:80"]}]},
                "symptoms": [{"from": "lan", "to": "container:web", "port": 8080}],
            }
        )
    )
    live = Relevance(catalogue).live(facts)
    vm_rules = {rid for rid, r in catalogue.rules.items() if "vm" in r.positive_kinds()}
    assert vm_rules and not live & vm_rules
    assert "PD003" in live  # the LAN dialling a container's published port is classified


def _rule(rule_id: str, when: list[dict[str, Any]], **more: Any) -> Rule:
    return Rule.model_validate(
        {"id": rule_id, "name": rule_id.lower(), "when": when, "params": {}, **more}
    )


def _catalogue_of(catalogue: Catalogue, *rules: Rule) -> Catalogue:
    from dataclasses import replace

    return replace(catalogue, rules={r.id: r for r in rules}, levels={r.id: 0 for r in rules})


def test_the_reading_follows_durable_equality_and_missing_fields(catalogue: Catalogue) -> None:
    rules = [
        _rule("ZZ001", [{"a": {"kind": "thing", "port": 80}}], derive=[{"kind": "one"}]),
        _rule("ZZ002", [{"a": {"kind": "thing", "flag": True}}], derive=[{"kind": "two"}]),
        _rule("ZZ003", [{"a": {"kind": "thing", "note": {"exists": False}}}], derive=[]),
        _rule("ZZ004", [{"a": {"kind": "thing", "mode": {"in": ["x", "y"]}}}], derive=[]),
        _rule("ZZ005", [{"a": {"kind": "thing", "mode": {"not": "x"}}}], derive=[]),
    ]
    rel = Relevance(_catalogue_of(catalogue, *rules))
    assert rel.live([{"kind": "thing", "port": 80.0, "flag": 1, "mode": "x"}]) == {
        "ZZ001",  # 80 matches 80.0 in durable-rules
        "ZZ003",  # no note at all
        "ZZ004",
    }  # ZZ002: 1 is not true; ZZ005: the mode is x
    assert rel.live([{"kind": "thing", "port": "80", "note": "n", "mode": "z"}]) == {"ZZ005"}
    assert rel.live([{"kind": "other"}]) == frozenset()


def test_derived_facts_chain_and_references_may_hold_anything(catalogue: Catalogue) -> None:
    rules = [
        _rule(
            "ZZ001",
            [{"a": {"kind": "thing"}}],
            derive=[{"kind": "made", "fixed": "k", "copied": "$a.mode"}],
        ),
        _rule("ZZ002", [{"m": {"kind": "made", "fixed": "k"}}], derive=[]),
        _rule("ZZ003", [{"m": {"kind": "made", "fixed": "other"}}], derive=[]),
        _rule("ZZ004", [{"m": {"kind": "made", "copied": "anything"}}], derive=[]),
        _rule("ZZ005", [{"m": {"kind": "made", "copied": {"exists": False}}}], derive=[]),
        _rule("ZZ006", [{"m": {"kind": "made", "extra": {"exists": True}}}], derive=[]),
        _rule(
            "ZZ007",
            [{"a": {"kind": "thing"}}, {"m": {"kind": "made", "copied": "$a.mode"}}],
            derive=[],
        ),
    ]
    rel = Relevance(_catalogue_of(catalogue, *rules))
    assert rel.live([{"kind": "thing", "mode": "x"}]) == {
        "ZZ001",
        "ZZ002",
        "ZZ004",  # a copied value may be anything
        "ZZ005",  # ... or missing (an unknown value is left out)
        "ZZ007",  # joins are taken to match
    }
    assert rel.live([{"kind": "nothing"}]) == frozenset()
    assert ANY.maybe_absent


def test_compiled_rulesets_beyond_those_kept_are_deleted_safely() -> None:
    # Each set of live rules met twice gets its own durable ruleset; past `keep` the least
    # recently used is deleted (its session first). Thousands of deletions, with extra rules
    # drawn at random so that every run needs a new ruleset, in a child: a mistake there
    # would crash the process rather than fail an assertion.
    code = """
import random
from pathlib import Path
from diagnose.catalogue import default_catalogue
from diagnose.diagnosis import assemble, effect
from diagnose.engine import Engine
from diagnose.facts import build_facts
from diagnose.loading import load_path
cat = default_catalogue()
setups = [build_facts(load_path(p)) for p in sorted(Path('examples').glob('*.yaml'))]
whole = Engine(cat, effect)
want = [assemble(cat, whole.run(f, rules=cat.rules)).model_dump_json() for f in setups]
small = Engine(cat, effect, keep=2)
rng = random.Random(7)
names = sorted(cat.rules)
for i in range(600):
    k = i % len(setups)
    extra = frozenset(rng.sample(names, rng.randrange(0, 20)))
    rules = small.relevance.live(setups[k]) | extra
    assert assemble(cat, small.run(setups[k], rules=rules)).model_dump_json() == want[k], i
    assert assemble(cat, small.run(setups[k])).model_dump_json() == want[k], i
assert len(small._compiled) == 2
print('ok')
"""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_live_sets_met_once_get_their_own_rulesets_until_half_the_catalogue_is_spent(
    catalogue: Catalogue,
) -> None:
    # A new batch meets a few small live sets: compiled one by one they cost a fraction of
    # the whole catalogue (25 ms, in every worker of a fresh `check --jobs 2`).
    from diagnose.diagnosis import effect
    from diagnose.engine import Engine

    first, second, third = (
        build_facts(load_path(EXAMPLES / name))
        for name in (
            "docker-host-mode.yaml",
            "vmware-nat-from-lan.yaml",
            "subnet-conflict-vpn.yaml",
        )
    )
    live = [engine_for(()).relevance.live(f) for f in (first, second, third)]
    assert len(set(live)) == 3 and not live[1] <= live[0]
    want = [assemble(catalogue, engine_for(()).run(f)).model_dump_json() for f in (second, third)]
    eng = Engine(catalogue, effect)
    eng.run(first)  # the first run of a process compiles its own: a command runs once
    assert list(eng._compiled) == [live[0]]
    assert assemble(catalogue, eng.run(second)).model_dump_json() == want[0]  # met once
    assert list(eng._compiled) == live[:2] and eng._whole is None
    # Once the rules so compiled would reach half the catalogue, a set met once borrows
    # the whole catalogue, and gets its own when met again.
    eng._once = len(catalogue.rules) // 2 - len(live[2]) + 1
    assert assemble(catalogue, eng.run(third)).model_dump_json() == want[1]
    assert live[2] not in eng._compiled and eng._whole is not None
    assert assemble(catalogue, eng.run(third)).model_dump_json() == want[1]  # met again
    assert live[2] in eng._compiled


def test_values_no_rule_names_share_one_shape(catalogue: Catalogue) -> None:
    # A batch of compose files differs in ports and names the rules never compare with a
    # constant: the reading keeps only the values it compares, so they share their live rules.
    rules = [
        _rule("ZZ001", [{"a": {"kind": "thing", "port": 80}}], derive=[]),
        _rule("ZZ002", [{"a": {"kind": "thing", "port": {"not": 80}}}], derive=[]),
        _rule("ZZ003", [{"a": {"kind": "thing", "port": {"in": [22, 443]}}}], derive=[]),
    ]
    rel = Relevance(_catalogue_of(catalogue, *rules))
    one, two = ({"kind": "thing", "port": p, "name": n} for p, n in ((8080, "a"), (9090, "b")))
    assert rel.shape(one) == rel.shape(two)
    assert rel.live([one]) == rel.live([two]) == {"ZZ002"}
    assert rel.shape({"kind": "thing", "port": 80.0}) != rel.shape(one)
    assert rel.live([{"kind": "thing", "port": 80.0}]) == {"ZZ001"}
    assert rel.live([{"kind": "thing", "port": 443}]) == {"ZZ002", "ZZ003"}
    assert rel.live([{"kind": "thing", "port": "80"}]) == {"ZZ002"}  # a string is not 80


def test_what_rules_really_derive_is_what_the_reading_expects(catalogue: Catalogue) -> None:
    # relevance.derived_facts restates what diagnosis.effect adds: every fact a firing in the
    # rule cases produced must fit the reading's picture of it (same fields; a constant there
    # is the value produced), or the reading could drop a rule that fires.
    from diagnose.diagnosis import evaluate
    from diagnose.relevance import PRESENT, derived_facts

    checked = 0
    for name, setup in CASE_SETUPS:
        _, run = evaluate(load_setup(setup, name=name))
        for firing in run.firings:
            expected = derived_facts(catalogue.rules[firing.rule])
            for fact in firing.produced:
                fits = [
                    e
                    for e in expected
                    if e["kind"] == fact["kind"]
                    and set(fact) <= set(e)
                    and all(e[k] is ANY or e[k] is PRESENT or e[k] == v for k, v in fact.items())
                    and all(k in fact for k, v in e.items() if v is not ANY)
                ]
                assert fits, f"{name}: {firing.rule} produced {fact}, read as {expected}"
                checked += 1
    assert checked > 1000


def test_setups_taken_in_turn_do_not_make_a_ruleset_per_run(catalogue: Catalogue) -> None:
    # More setups in turn than rulesets kept: evicting the least recently used would compile
    # one ruleset per run (a server answering a few kinds of request in turn did); the ones
    # without a place run on the whole catalogue instead.
    from diagnose.diagnosis import effect
    from diagnose.engine import Engine

    setups = [build_facts(load_path(p)) for p in sorted(EXAMPLES.glob("*.yaml"))[:5]]
    assert len({engine_for(()).relevance.live(f) for f in setups}) == 5
    want = [assemble(catalogue, engine_for(()).run(f)).model_dump_json() for f in setups]
    eng = Engine(catalogue, effect, keep=2)
    for _ in range(10):
        for facts, expected in zip(setups, want, strict=True):
            assert assemble(catalogue, eng.run(facts)).model_dump_json() == expected
    compiled = next(eng._names)  # rulesets built so far, the whole catalogue included
    assert compiled <= 4, compiled


def test_kept_rulesets_are_bounded_by_count_and_by_rules(catalogue: Catalogue) -> None:
    # Memory goes with the rules compiled: many small rulesets are kept (a batch of compose
    # files meets some twenty of about ten rules), few big ones.
    from diagnose.diagnosis import effect
    from diagnose.engine import KEEP, KEEP_RULES, Engine

    ids = sorted(catalogue.rules)
    eng = Engine(catalogue, effect)
    small = [frozenset(ids[k * 10 : k * 10 + 10]) for k in range(20)]
    for rule_ids in small:
        eng._exactly(rule_ids)
    assert list(eng._compiled) == small  # all twenty kept: none compiled twice
    big = [frozenset(ids[k * 20 : k * 20 + 150]) for k in range(6)]
    for rule_ids in big:
        eng._exactly(rule_ids)
    assert sum(len(s) for s in eng._compiled) <= KEEP_RULES
    assert len(eng._compiled) <= KEEP
    assert list(eng._compiled)[-KEEP_RULES // 150 :] == big[-(KEEP_RULES // 150) :]


def test_the_diagram_reads_only_the_kinds_a_diagnosis_keeps() -> None:
    # A kind the diagram draws but DIAGRAM_KINDS lacks could go underived, and vanish from it.
    source = Path(mermaid.__file__).read_text("utf-8")
    drawn = set(re.findall(r'by_kind\["(\w+)"\]', source))
    assert drawn and drawn <= DIAGRAM_KINDS, drawn - DIAGRAM_KINDS


def test_a_run_on_a_borrowed_ruleset_counts_only_its_own_rules(catalogue: Catalogue) -> None:
    # A live set met once borrows a kept ruleset that holds it; rules of that ruleset left
    # out as leading nowhere can still fire in it, and must not show in the run.
    from diagnose.diagnosis import effect
    from diagnose.engine import Engine

    web = {"name": "web", "networks": ["front"], "ports": ["127.0.0.1:8080:80"]}
    facts = build_facts(load_setup({"docker": {"containers": [web]}}))
    eng = Engine(catalogue, effect)
    everything = eng.run(facts)  # the first run of a process compiles its own
    assert "DN042" in {f.rule for f in everything.firings}
    borrowed = eng.run(facts, goals=REPORT_KINDS)
    assert eng.relevance.live(facts, REPORT_KINDS) not in eng._compiled
    own = eng.run(facts, goals=REPORT_KINDS)
    assert eng.relevance.live(facts, REPORT_KINDS) in eng._compiled
    assert "DN042" not in {f.rule for f in borrowed.firings}
    assert sorted(borrowed.firings) == sorted(own.firings)
    assert borrowed.facts == own.facts


def test_a_run_no_rule_can_fire_in_opens_no_session(catalogue: Catalogue) -> None:
    from diagnose.diagnosis import effect
    from diagnose.engine import Engine

    facts = build_facts(
        load_setup({"docker": {"containers": [{"name": "web", "networks": ["front"]}]}})
    )
    eng = Engine(catalogue, effect)
    assert eng.relevance.live(facts, REPORT_KINDS) == frozenset()
    run = eng.run(facts, goals=REPORT_KINDS)
    assert not eng._compiled and eng._whole is None and not run.firings
    whole = eng.run(facts, rules=catalogue.rules)
    assert run.stored == whole.stored[: len(run.stored)]  # the given facts come first
    assert run.facts == {key: whole.facts[key] for key in run.facts}
