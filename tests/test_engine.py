"""The durable-rules wrapper: isolation, determinism, threads, surfaced errors, user rules."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from diagnose import check, why
from diagnose.catalogue import default_catalogue
from diagnose.engine import Engine
from diagnose.errors import EngineError
from diagnose.facts import build_facts
from diagnose.loading import load_setup

EXTRA = str(Path(__file__).parent / "data" / "extra_rules")

WEB = {
    "docker": {"containers": [{"name": "web", "ports": ["8080:80"], "listens": ["127.0.0.1:80"]}]},
    "symptoms": [{"from": "lan", "to": "container:web", "port": 8080}],
}
API = {
    "docker": {
        "containers": [{"name": "api", "ports": ["9000:9000"], "listens": ["0.0.0.0:9000"]}]
    },
    "symptoms": [{"from": "lan", "to": "container:api", "port": 9000}],
}


def _json(setup: dict[str, Any]) -> str:
    return why(setup).model_dump_json()


def test_same_input_gives_byte_identical_reports() -> None:
    assert _json(WEB) == _json(WEB)


def test_reports_do_not_leak_between_diagnoses() -> None:
    alone = _json(WEB)
    _json(API)
    assert _json(WEB) == alone
    assert "api" not in alone


def test_reports_are_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    path = tmp_path / "web.json"
    path.write_text(json.dumps(WEB))
    code = "import sys, diagnose; print(diagnose.why(sys.argv[1]).model_dump_json())"
    outs = set()
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        )
        outs.add(out.stdout)
    assert len(outs) == 1


def test_threads_get_their_own_answers() -> None:
    setups = [
        {
            "docker": {
                "containers": [
                    {"name": f"c{i}", "ports": [f"{8000 + i}:80"], "listens": ["127.0.0.1:80"]}
                ]
            },
            "symptoms": [{"from": "lan", "to": f"container:c{i}", "port": 8000 + i}],
        }
        for i in range(12)
    ]
    expected = [_json(s) for s in setups]
    got: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                got[i] = _json(setups[i])
                assert got[i] == expected[i]
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # make the threads interleave as much as possible
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(setups))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    assert [got[i] for i in range(len(setups))] == expected


def test_an_exception_inside_an_action_is_raised_not_swallowed() -> None:
    def broken(rule: Any, matched: Any, ids: Any) -> list[dict[str, Any]]:
        raise RuntimeError("boom in " + rule.id)

    engine = Engine(default_catalogue(), broken)
    with pytest.raises(EngineError, match="boom in"):
        engine.run(build_facts(load_setup(WEB)))


def test_no_background_threads_are_started() -> None:
    from diagnose.diagnosis import effect

    before = threading.active_count()
    engine = Engine(default_catalogue(), effect)  # a host of its own, built here
    engine.run(build_facts(load_setup(WEB)))
    engine.run(build_facts(load_setup(API)))
    assert threading.active_count() == before


def test_facts_no_rule_matches_are_kept() -> None:
    # A fact kind no rule mentions must not make the engine raise or drop the others.
    engine = Engine(default_catalogue(), lambda rule, matched, ids: [])
    facts = [*build_facts(load_setup(WEB)), {"kind": "something_new", "x": 1}]
    run = engine.run(facts)
    assert any(f["kind"] == "something_new" for f in run.facts.values())


def test_many_sessions_are_opened_and_deleted() -> None:
    # durable-rules holds at most 1024 live sessions: the engine opens one for every run, so
    # each must be deleted when its run ends.
    for i in range(1100):
        assert why(WEB).verdicts[0].status == "blocked", i


def test_no_fact_is_ever_retracted(monkeypatch: pytest.MonkeyPatch) -> None:
    # Retracting a fact whose rule has fired makes durable-rules 2.0.28 scan a dead action
    # frame past its end and zero words that are not its own (it hung and crashed runs);
    # the engine deletes whole sessions instead. Runs on one engine must still not see
    # each other's facts.
    import durable_rules_engine as native

    retracted: list[Any] = []
    retract = native.retract_fact

    def record(*args: Any) -> Any:
        retracted.append(args)
        return retract(*args)

    setups = [WEB, API, WEB, API]
    alone = [_json(s) for s in setups]
    monkeypatch.setattr(native, "retract_fact", record)
    assert [_json(s) for s in setups] == alone
    assert retracted == []


def test_user_rules_chain_and_negate() -> None:
    setup = {
        "docker": {
            "containers": [
                {"name": "a", "image": "registry.example/web:1", "ports": ["80:80"]},
                {"name": "b", "image": "registry.example/web:2", "ports": ["8081:8081"]},
                {"name": "c", "image": "nginx", "ports": []},
            ]
        }
    }
    report = check(setup, rules=[EXTRA])
    mine = [f for f in report.findings if f.rule == "ZZ002"]
    assert [f.title for f in mine] == ["a does not publish the health-check port 8081"]
    fired = {t.rule for t in report.trace}
    assert "ZZ001" in fired
    assert "ZZ002" not in {f.rule for f in check(setup).findings}


def test_sessions_where_nothing_fires_close_cleanly() -> None:
    # durable-rules segfaults in delete_state for a session in which no action ever fired;
    # the engine's open rule guarantees one. Run in a child so a crash cannot take pytest down.
    code = (
        "from diagnose.diagnosis import engine_for\n"
        "e = engine_for(())\n"
        "for facts in ([], [{'kind': 'unrelated'}], [{'kind': 'symptom', 'symptom': 's1'}]):\n"
        "    for _ in range(3):\n"
        "        e.run(facts)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_every_run_deletes_its_session_even_when_it_fails() -> None:
    import durable_rules_engine as native

    from diagnose.diagnosis import effect

    def gone(handle: int, sid: str) -> bool:
        try:
            native.delete_state(handle, sid)
        except Exception as exc:  # durable: "error code: 309", no such session
            return "309" in str(exc)
        return False

    facts = build_facts(load_setup(WEB))
    engine = Engine(default_catalogue(), effect)
    live = engine.relevance.live(facts)
    sids = set()
    for _ in range(3):
        engine.run(facts)
        compiled = engine._compiled[live]
        sids.add(compiled.sid)
    assert len(sids) == 3, "each run has a session of its own"
    broken = Engine(default_catalogue(), lambda rule, matched, ids: [{"kind": "x", "bad": {1}}])
    compiled = broken._exactly(live)
    handle, before = compiled.handle, compiled.sid
    with pytest.raises(EngineError):
        broken.run(facts, rules=live)
    assert compiled.sid != before
    assert gone(handle, before)


def test_a_fact_the_run_did_not_give_is_refused() -> None:
    from diagnose.engine import Run

    run = Run()
    run.stored = [{"kind": "container", "name": "web"}]
    assert run.original({"kind": "container", "name": "web", "id": 0}) is run.stored[0]
    assert run.original({"kind": "container", "id": "0~2"}) is run.stored[0]  # salted
    for seen in (
        {"kind": "publish", "id": 0},  # another kind under that number: not this run's
        {"kind": "container", "id": 1},
        {"kind": "container", "id": -1},
        {"kind": "container", "id": "0"},
        {"kind": "container", "id": "1~1"},
        {"kind": "container", "id": True},
        {"kind": "container"},
    ):
        with pytest.raises(EngineError, match="did not give it"):
            run.original(seen)


def test_a_firing_is_read_without_parsing_only_when_it_is_made_of_the_runs_texts() -> None:
    from diagnose.engine import Run, _matched

    run = Run()
    run.stored = [{"kind": "container", "name": "web"}, {"kind": "__phase", "level": 1}]
    run.texts = [
        '{"id":0,"kind":"container","name":"web","sid":"s1"}',
        '{"id":1,"kind":"__phase","level":1,"sid":"s1"}',
    ]
    ct, phase = run.texts

    def read(message: str) -> dict[str, Any] | None:
        pieces = message.split('":{"id":')
        return _matched(run, pieces, pieces[0].partition('":{"')[2])

    assert read(f'{{"R":{{"ct":{ct},"phase":{phase}}}}}') == {"ct": run.stored[0]}
    assert read(f'{{"R":{{"phase":{phase},"ct":{ct}}}}}') == {"ct": run.stored[0]}
    for message in (
        f'{{"R":{{"ct":{ct}}}}}x',  # anything after it
        f'{{"R":{{"ct":{ct[:-1]},"x":1}}}}}}',  # a text the run did not send
        f'{{"R":{{"ct":{ct.replace("web", "api")}}}}}',
        f'{{"R":{{"ct":{ct.replace(":0,", ":1,")}}}}}',  # another number
        f'{{"R":{{"ct":{ct.replace(":0,", ":2,")}}}}}',  # no such number
        f'{{"R":{{"c t":{ct}}}}}',  # not an alias a rule can have
        '{"R":{"ct":{"kind":"container","name":"web","sid":"s1"}}}',  # no number
    ):
        assert read(message) is None, message


def test_two_facts_with_one_id_are_never_merged_in_a_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import diagnose.engine as engine

    # Ids are 64-bit content hashes; were two ever equal, the report's facts would lose one.
    monkeypatch.setattr(engine, "fact_id", lambda fact, key=None: f"{fact['kind']}:0")
    with pytest.raises(EngineError, match="share an id"):
        why(WEB)


@pytest.mark.parametrize("setting", [None, "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"])
def test_malloc_thresholds_are_raised_unless_the_user_set_them(
    setting: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import diagnose.engine as engine_module

    calls: list[tuple[int, int]] = []

    class FakeLibc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return 1

    monkeypatch.setattr("ctypes.CDLL", lambda name: FakeLibc())
    monkeypatch.setattr("sys.platform", "linux")
    for name in engine_module._MALLOC_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    if setting:
        monkeypatch.setenv(setting, "65536")
    engine_module._keep_freed_memory.__wrapped__()
    # M_MMAP_THRESHOLD (-3) and M_TRIM_THRESHOLD (-1) of glibc's malloc.h
    assert calls == ([] if setting else [(-3, 32 << 20), (-1, 64 << 20)])


@pytest.mark.parametrize("refusals", [1, 3])
def test_a_fact_refused_as_a_duplicate_is_salted_until_it_is_taken(
    monkeypatch: pytest.MonkeyPatch, refusals: int
) -> None:
    # Distinct facts can share durable's 32-bit identity hash and be refused as already
    # seen; the engine retries under a salted id, and the diagnosis is unchanged.
    import durable_rules_engine as native

    alone = _json(WEB)
    assert_fact = native.assert_fact
    sent: list[str] = []

    def collide(handle: int, text: str) -> Any:
        if '"kind":"publish"' in text:
            sent.append(text)
            if len(sent) <= refusals:
                return (2, 0)  # durable's "already observed"
        return assert_fact(handle, text)

    monkeypatch.setattr(native, "assert_fact", collide)
    assert _json(WEB) == alone
    assert [re.findall(r'^\{"id":"?[0-9]+(~[0-9]+)?"?,', t) for t in sent] == [[""]] + [
        [f"~{n}"] for n in range(1, refusals + 1)
    ]


def test_a_fact_refused_every_time_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import durable_rules_engine as native

    assert_fact = native.assert_fact

    def collide(handle: int, text: str) -> Any:
        return (2, 0) if '"kind":"publish"' in text else assert_fact(handle, text)

    monkeypatch.setattr(native, "assert_fact", collide)
    with pytest.raises(EngineError, match=r"refused fact publish:.* as a duplicate"):
        why(WEB)
