"""The only module that imports durable-rules.

It works around the engine's traps (see the project notes on durable-rules 2.0.28):
- no background dispatcher threads (`_run` is disabled), one host per process and catalogue;
- one session (sid) reused from diagnosis to diagnosis: opening a session costs 0.2-0.4 ms
  (durable allocates its state), so after each run every fact is retracted, the phase facts
  first so that no negation can fire meanwhile; on any error the session is deleted and a
  new one opened, and it is renewed every RENEW_AFTER runs;
- negations guarded by phase facts, asserted level by level (stratified negation);
- a catch-all rule, so no fact is ever "not handled" and dropped;
- duplicate facts removed before they reach the engine;
- exceptions inside actions recorded and raised, never swallowed;
- an "open" rule that fires once per session: `delete_state` on a session in which no action
  ever fired crashes the process (segfault, measured on 2.0.28 with an empty or unmatched
  session), so every session gets one firing;
- one lock: calls from several threads are serialized (the C code holds the GIL anyway).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import durable_rules_engine as native
from durable import engine as durable_engine

from diagnose.catalogue import PHASE_KIND, Catalogue, Rule, compile_rule
from diagnose.errors import EngineError

RULESET = "netwhy"
RENEW_AFTER = 5000
_SINK = "__sink"
_OPEN = "__open"
Fact = dict[str, Any]


def canonical(fact: Fact) -> str:
    """Stable text of a fact, the key for de-duplication and ordering."""
    return json.dumps(fact, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fact_id(fact: Fact, key: str | None = None) -> str:
    """A short id that depends on the fact's content only (so reports are reproducible)."""
    key = canonical(fact) if key is None else key
    return f"{fact['kind']}:{hashlib.sha1(key.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Firing:
    """One rule firing: the rule and the facts each of its patterns matched."""

    rule: str
    matched: dict[str, Fact]
    produced: list[Fact]


@dataclass
class Run:
    """Everything one diagnosis collects; engine actions append to it."""

    facts: dict[str, Fact] = field(default_factory=dict)  # canonical text -> fact
    firings: list[Firing] = field(default_factory=list)
    pending: list[Fact] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    keys: dict[int, str] = field(default_factory=dict)  # id(fact) -> canonical text
    by_id: dict[str, Fact] = field(default_factory=dict)  # fact id -> the stored fact
    ids: dict[int, str] = field(default_factory=dict)  # id(stored fact) -> fact id
    asserted: list[str] = field(default_factory=list)  # the JSON texts the engine holds

    def key(self, fact: Fact) -> str:
        """The canonical text of a fact this run has seen (computed once)."""
        key = self.keys.get(id(fact))
        return key if key is not None else canonical(fact)

    def fact_id(self, fact: Fact) -> str:
        """The id of a fact this run has seen (computed once)."""
        found = self.ids.get(id(fact))
        return found if found is not None else fact_id(fact, self.key(fact))


Effect = Callable[[Rule, dict[str, Fact], dict[str, str]], list[Fact]]


class _Host(durable_engine.Host):  # type: ignore[misc]
    """A durable host without the timer threads that race with the caller."""

    def __init__(self, actions: dict[str, Callable[[Any], None]]) -> None:
        self._actions = actions
        super().__init__()

    def _run(self) -> None:  # the stock version starts two self-rescheduling timer threads
        pass

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self._actions[action_name]


class Engine:
    """A compiled catalogue, ready to run diagnoses."""

    def __init__(self, catalogue: Catalogue, effect: Effect) -> None:
        self.catalogue = catalogue
        self._effect = effect
        self._lock = threading.RLock()
        self._runs: dict[str, Run] = {}
        actions: dict[str, Callable[[Any], None]] = {
            rid: self._action(rule) for rid, rule in catalogue.rules.items()
        }
        actions[_SINK] = lambda c: None
        actions[_OPEN] = lambda c: None
        definition: dict[str, Any] = {
            rid: compile_rule(rule, catalogue.levels.get(rid, 1))
            for rid, rule in catalogue.rules.items()
        }
        # Every fact matches the first pattern, no fact ever matches the second: so every
        # fact counts as handled and is stored, and this rule never fires.
        definition[_SINK] = {
            "all": [{"a": {"$ex": {"kind": 1}}}, {"b": {"$ex": {"__never__": 1}}}],
            "run": _SINK,
        }
        definition[_OPEN] = {"all": [{"o": {"kind": _OPEN}}], "run": _OPEN}
        self._host = _Host(actions)
        try:
            self._host.set_rulesets({RULESET: copy.deepcopy(definition)})
        except Exception as exc:  # durable reports a bare error code
            raise EngineError(f"the rule engine refused the ruleset: {exc}") from exc
        self._ruleset = self._host.get_ruleset(RULESET)
        self._sid = uuid.uuid4().hex
        self._runs_in_session = 0

    def _action(self, rule: Rule) -> Callable[[Any], None]:
        def act(c: Any) -> None:
            run = self._runs.get(c.s.sid)
            if run is None:
                return
            try:
                # Each fact reaches the engine with its id; hand the rule the stored original.
                ids = {
                    alias: fact["_fid"]
                    for alias, fact in c._m.items()
                    if alias != "phase" and isinstance(fact, dict)
                }
                matched = {alias: run.by_id[fid] for alias, fid in ids.items()}
                produced = self._effect(rule, matched, ids)
                run.firings.append(Firing(rule.id, matched, produced))
                run.pending.extend(produced)
            except Exception as exc:  # durable would swallow it
                run.errors.append(f"rule {rule.id}: {type(exc).__name__}: {exc}")

        return act

    def _assert(self, sid: str, run: Run, facts: Iterable[Fact]) -> None:
        fresh = []
        for fact in facts:
            try:
                key = canonical(fact)
            except (TypeError, ValueError) as exc:
                raise EngineError(f"a fact is not plain JSON data ({exc}): {fact!r}") from exc
            run.keys[id(fact)] = key
            if key not in run.facts:
                run.facts[key] = fact
                fresh.append((key, fact))
        fresh.sort(key=lambda kv: kv[0])
        for key, fact in fresh:
            fid = fact_id(fact, key)
            run.by_id[fid] = fact
            run.ids[id(fact)] = fid
            self._assert_one(sid, run, fact, key, fid)

    def _assert_one(
        self, sid: str, run: Run, fact: Fact, key: str | None = None, fid: str = ""
    ) -> None:
        # The canonical text is already JSON: hand it to the C engine with the sid and the
        # fact's id appended, rather than letting durable's Python layer dump the dict again.
        body = (canonical(fact) if key is None else key)[:-1] + f',"_fid":"{fid}"'
        if body.startswith("{,"):
            body = "{" + body[2:]
        failures: list[BaseException] = []

        def done(error: BaseException | None, _state: object) -> None:
            if error:
                failures.append(error)

        # Distinct facts can share durable's 32-bit identity hash (its issue #376) and be
        # refused as duplicates; a salt field no pattern reads gives them another hash.
        for salt in range(4):
            text = f'{body},"sid":"{sid}"' + (f',"_salt":{salt}}}' if salt else "}")
            try:
                state = self._ruleset._handle_result(
                    native.assert_fact(self._ruleset._handle, text), fact
                )
            except durable_engine.MessageObservedException:
                continue
            except Exception as exc:
                raise EngineError(f"the rule engine failed on {fact_id(fact)}: {exc}") from exc
            run.asserted.append(text)
            self._ruleset.do_actions(state, done)
            if failures:
                raise EngineError(f"the rule engine failed on {fact_id(fact)}: {failures[0]}")
            return
        run.errors.append(f"the engine refused fact {fact_id(fact)} as a duplicate")

    def _clear(self, sid: str, run: Run) -> bool:
        """Retract everything the run asserted, so the session can serve the next run.

        Phase facts go first: every negation waits on one, so none can fire while the facts
        it negates disappear. Returns False if anything fired or failed (then the caller
        opens a fresh session instead).
        """
        guards = [t for t in run.asserted if f'"kind":"{PHASE_KIND}"' in t]
        others = [t for t in reversed(run.asserted) if f'"kind":"{PHASE_KIND}"' not in t]
        fired: list[object] = []
        for text in guards + others:
            try:
                state = self._ruleset._handle_result(
                    native.retract_fact(self._ruleset._handle, text), text
                )
                self._ruleset.do_actions(state, lambda e, s: fired.append(s) if s else None)
            except Exception:
                return False
        return not fired and not self._runs

    def _renew(self) -> None:
        """Drop the session and open a new one."""
        with contextlib.suppress(Exception):  # a session that never got a fact has no state
            self._ruleset.delete_state(self._sid)
        self._sid = uuid.uuid4().hex
        self._runs_in_session = 0

    def _drain(self, sid: str, run: Run) -> None:
        rounds = 0
        while run.pending:
            rounds += 1
            if rounds > 1000:
                raise EngineError("derivations did not settle after 1000 rounds (a rule loop?)")
            batch, run.pending = run.pending, []
            self._assert(sid, run, batch)

    def run(self, facts: list[Fact]) -> Run:
        """Assert the facts, let every rule fire to a fixpoint, and return what happened."""
        with self._lock:
            sid = self._sid
            run = Run()
            self._runs[sid] = run
            clean = False
            try:
                self._assert_one(sid, run, {"kind": _OPEN})
                self._assert(sid, run, facts)
                self._drain(sid, run)
                for level in range(1, self.catalogue.max_level + 1):
                    self._assert(sid, run, [{"kind": PHASE_KIND, "level": level}])
                    self._drain(sid, run)
                state = self._ruleset.get_state(sid)
                if state and state.get("exception"):
                    run.errors.append(str(state["exception"]))
                del self._runs[sid]
                clean = not run.errors and self._clear(sid, run)
            finally:
                self._runs.pop(sid, None)
                self._runs_in_session += 1
                if not clean or self._runs_in_session >= RENEW_AFTER:
                    self._renew()
        if run.errors:
            raise EngineError("; ".join(sorted(set(run.errors))))
        return run
