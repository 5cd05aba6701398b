"""Meta-tests: the rules and knowledge hold together."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.catalogue import RULE_ID, Catalogue, build, placeholders, stratify
from diagnose.errors import RuleError
from tests.conftest import CASES
from tests.rulecases import load_case_file

SEED_CLAIMS = "V1 V2 V3 V4 V5 B1 B2 B3 N1 N2 N3 N4 H1 H2 D1 D2 D3 D4 D5 D6 D7 M1 M2 M3 C1 C2 C3 Z1"


def test_ids_well_formed_and_names_unique(catalogue: Catalogue) -> None:
    names = [r.name for r in catalogue.rules.values()]
    assert len(names) == len(set(names)), "rule names must be unique"
    for rid in catalogue.rules:
        assert RULE_ID.match(rid)


def test_every_seed_claim_is_in_the_knowledge(catalogue: Catalogue) -> None:
    for cid in SEED_CLAIMS.split():
        claim = catalogue.claims[cid]
        assert claim.section and claim.source, f"{cid} keeps its Chinese source section"


def test_every_claim_is_cited_by_a_rule(catalogue: Catalogue) -> None:
    cited = {c for r in catalogue.rules.values() for c in r.claims}
    assert sorted(set(catalogue.claims) - cited) == []


def test_documentation_claims_name_their_reference(catalogue: Catalogue) -> None:
    for cid, claim in catalogue.claims.items():
        if cid.startswith("X"):
            assert claim.refs, f"{cid} needs the documentation that states it"


def test_every_rule_has_fires_and_silent_cases(catalogue: Catalogue) -> None:
    missing = []
    for rid in sorted(catalogue.rules):
        path = CASES / f"{rid}.yaml"
        if not path.exists():
            missing.append(f"{rid}: no case file")
            continue
        names = list(load_case_file(path).cases)
        if not any(n.startswith("fires_") for n in names):
            missing.append(f"{rid}: no fires_ case")
        if not any(n.startswith("silent_") for n in names):
            missing.append(f"{rid}: no silent_ case")
    assert missing == []


def test_every_rule_has_text_with_declared_placeholders(catalogue: Catalogue) -> None:
    for lang, pack in catalogue.texts.items():
        for rid, rule in catalogue.rules.items():
            text = pack.rules[rid]
            assert text.title
            used = placeholders(text.title) | placeholders(text.explanation or "")
            assert used <= set(rule.params), f"{lang} {rid}"


def test_every_question_is_asked_and_every_device_used(catalogue: Catalogue) -> None:
    asked = {r.ask.question for r in catalogue.rules.values() if r.ask}
    for lang, pack in catalogue.texts.items():
        # intake-* questions are the conversation's own (diagnose/conversation.py asks them).
        unasked = {q for q in pack.questions if not q.startswith("intake-")} - asked
        assert sorted(unasked) == [], f"{lang}: questions no rule asks"
    used = {t["device"] for r in catalogue.rules.values() for t in r.derive if t["kind"] == "hop"}
    assert sorted(set(catalogue.devices) - used) == [], "devices no route crosses"


def _write(tmp: Path, text: str) -> str:
    folder = tmp / "myrules"
    folder.mkdir(exist_ok=True)
    (folder / "mine.yaml").write_text(text)
    return str(folder)


BAD_RULES = {
    "bad id": (
        "rules:\n  - {id: dp1, name: x, when: [{a: {kind: container}}], derive: [{kind: y}]}\n",
        "two capitals and three digits",
    ),
    "two effects": (
        "rules:\n  - {id: ZZ001, name: x, severity: info, when: [{a: {kind: c}}], "
        "derive: [{kind: y}], finding: {}}\n",
        "exactly one of",
    ),
    "unknown alias": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {kind: c, n: $b.n}}], derive: [{kind: y}]}\n",
        "not an earlier alias",
    ),
    "no kind": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {n: 1}}], derive: [{kind: y}]}\n",
        "literal kind",
    ),
    "join with >": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {kind: c}}, {b: {kind: c, "
        "n: {gt: $a.n}}}], derive: [{kind: y}]}\n",
        "number constant",
    ),
    "unknown claim": (
        "rules:\n  - {id: ZZ001, name: x, claims: [Q9], when: [{a: {kind: c}}], "
        "derive: [{kind: y}]}\n",
        "claim",
    ),
    "no text": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {kind: c}}], derive: [{kind: y}]}\n",
        "no en text",
    ),
    "duplicate id": (
        "rules:\n  - {id: DM001, name: x, when: [{a: {kind: c}}], derive: [{kind: y}]}\n",
        "duplicate rule id",
    ),
    "malformed": ("rules: [\n", "malformed YAML"),
    "reserved field": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {kind: c}}], derive: [{kind: y, id: 1}]}\n",
        "cannot have the fields",
    ),
    "engine's own field": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {kind: c}}], derive: [{kind: y, _n: 0}]}\n",
        "cannot have the fields",
    ),
    "reserved pattern field": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {kind: c, sid: 1}}], derive: [{kind: y}]}\n",
        "reserved",
    ),
    "anchored regex": (
        "rules:\n  - {id: ZZ001, name: x, when: [{a: {kind: c, image: "
        "{matches: '^nginx'}}}], derive: [{kind: y}]}\n",
        "whole value",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_bad_rule_files_are_refused_with_file_and_rule(case: str, tmp_path: Path) -> None:
    text, message = BAD_RULES[case]
    folder = _write(tmp_path, text)
    with pytest.raises(RuleError) as info:
        build((folder,))
    assert message in str(info.value)
    assert "mine.yaml" in str(info.value)


def test_negation_cycles_are_refused() -> None:
    from diagnose.catalogue import Rule

    a = Rule(
        id="ZZ001",
        name="a",
        when=({"x": {"kind": "p"}},),
        unless=({"kind": "q"},),
        derive=({"kind": "p2"},),
    )
    b = Rule(id="ZZ002", name="b", when=({"x": {"kind": "p2"}},), derive=({"kind": "q"},))
    with pytest.raises(ValueError, match="negation cycle"):
        stratify([a, b])


def test_levels_put_negations_after_what_they_negate(catalogue: Catalogue) -> None:
    derived_at: dict[str, int] = {}
    for rid, rule in catalogue.rules.items():
        for kind in rule.derived_kinds():
            derived_at[kind] = max(derived_at.get(kind, 0), catalogue.levels[rid])
    for rid, rule in catalogue.rules.items():
        for kind in rule.negated_kinds():
            if rule.last:  # runs after all the others, whatever it negates
                assert catalogue.levels[rid] == catalogue.max_level, rid
                continue
            assert catalogue.levels[rid] > derived_at.get(kind, 0), rid


def test_negating_questions_waits_for_them() -> None:
    from diagnose.catalogue import Rule

    asker = Rule(id="ZZ001", name="a", when=({"x": {"kind": "p"}},), ask={"question": "q-x"})  # type: ignore[arg-type]
    waiter = Rule(
        id="ZZ002",
        name="b",
        when=({"x": {"kind": "p"}},),
        unless=({"kind": "ask"},),
        derive=({"kind": "z"},),
    )
    levels = stratify([asker, waiter])
    assert levels["ZZ002"] > levels["ZZ001"]


def test_the_built_catalogue_is_cached_and_a_damaged_cache_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diagnose.catalogue import _cache_file

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NETWHY_NO_CACHE", raising=False)
    first = build()
    cache = _cache_file(())
    assert cache is not None and cache.is_file() and cache.parent.parent == tmp_path
    assert build().rules.keys() == first.rules.keys()
    cache.write_bytes(b"not a pickle")
    assert build().rules.keys() == first.rules.keys()
    monkeypatch.setenv("NETWHY_NO_CACHE", "1")
    assert _cache_file(()) is None


def test_a_rule_folder_that_is_not_a_folder_is_refused_with_a_cache_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NETWHY_NO_CACHE", raising=False)
    build()  # the bundled catalogue is cached
    a_file = tmp_path / "rules.yaml"
    a_file.write_text("rules: []\n")
    for folder in (str(tmp_path / "nonexistent"), str(a_file)):
        with pytest.raises(RuleError, match="not a directory of rule files") as caught:
            build((folder,))
        assert caught.value.file == folder
