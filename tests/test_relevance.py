"""The engine runs only the rules that can fire (diagnose.relevance): same reports, fewer rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from diagnose.catalogue import Catalogue, Rule
from diagnose.diagnosis import assemble, engine_for
from diagnose.engine import Fact
from diagnose.facts import build_facts
from diagnose.loading import load_path, load_setup
from diagnose.relevance import ANY, Relevance
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


def test_a_live_set_met_once_borrows_a_ruleset_and_gets_its_own_when_met_again(
    catalogue: Catalogue,
) -> None:
    from diagnose.diagnosis import effect
    from diagnose.engine import Engine

    first, second = (
        build_facts(load_path(EXAMPLES / name))
        for name in ("docker-host-mode.yaml", "vmware-nat-from-lan.yaml")
    )
    want = assemble(catalogue, engine_for(()).run(second)).model_dump_json()
    eng = Engine(catalogue, effect)
    eng.run(first)  # the first run of a process compiles its own: a command runs once
    assert list(eng._compiled) == [eng.relevance.live(first)]
    got = assemble(catalogue, eng.run(second)).model_dump_json()  # met once: borrowed
    assert eng.relevance.live(second) not in eng._compiled and eng._whole is not None
    assert got == want
    assert assemble(catalogue, eng.run(second)).model_dump_json() == want  # met again
    assert eng.relevance.live(second) in eng._compiled


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
