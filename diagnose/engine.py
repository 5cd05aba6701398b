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
# Retracting a fact costs a few us, opening a session 0.2-0.8 ms: past this many facts a
# new session is cheaper than cleaning the old one.
RETRACT_AT_MOST = 2000
_SINK = "__sink"
_OPEN = "__open"
Fact = dict[str, Any]


# One encoder for all: json.dumps with options builds a new encoder at every call.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical(fact: Fact) -> str:
    """Stable text of a fact, the key for de-duplication and ordering."""
    text: str = _ENCODE(fact)
    return text


def fact_id(fact: Fact, key: str | None = None) -> str:
    """A short id that depends on the fact's content only (so reports are reproducible)."""
    key = canonical(fact) if key is None else key
    # 64 bits: ids key the facts of a run, so they must not collide (32 bits did, at a
    # chance of about n^2 / 2^33).
    return f"{fact['kind']}:{hashlib.sha1(key.encode()).hexdigest()[:16]}"


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


def _unused(c: Any) -> None:
    """Placeholder action for durable's Host (actions run in Engine._dispatch)."""


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
        self._acts = {rid: self._action(rule) for rid, rule in catalogue.rules.items()}
        # durable wants a callable per rule to build the ruleset; the engine runs actions
        # through self._dispatch instead, so these are never called.
        actions: dict[str, Callable[[Any], None]] = {
            name: _unused for name in [*catalogue.rules, _SINK, _OPEN]
        }
        # durable pops each rule's "run" key: a shallow copy per rule keeps the catalogue whole.
        definition: dict[str, Any] = {
            rid: dict(catalogue.compiled.get(rid) or compile_rule(rule, catalogue.levels[rid]))
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
            self._host.set_rulesets({RULESET: definition})
        except Exception as exc:  # durable reports a bare error code
            raise EngineError(f"the rule engine refused the ruleset: {exc}") from exc
        self._ruleset = self._host.get_ruleset(RULESET)
        self._sid = uuid.uuid4().hex
        self._runs_in_session = 0

    def _action(self, rule: Rule) -> Callable[[Run, dict[str, Any]], None]:
        def act(run: Run, message: dict[str, Any]) -> None:
            try:
                # Each fact reaches the engine with its id; hand the rule the stored original.
                ids = {
                    alias: fact["_fid"]
                    for alias, fact in message.items()
                    if alias != "phase" and isinstance(fact, dict)
                }
                matched = {alias: run.by_id[fid] for alias, fid in ids.items()}
                produced = self._effect(rule, matched, ids)
                run.firings.append(Firing(rule.id, matched, produced))
                run.pending.extend(produced)
            except Exception as exc:  # recorded, and raised once the run ends
                run.errors.append(f"rule {rule.id}: {type(exc).__name__}: {exc}")

        return act

    def _dispatch(self, run: Run, state: int) -> None:
        """Run every action the last assertions made ready, on this thread.

        durable's own dispatcher (Ruleset.do_actions) would also serialise and store the
        session state after each action; ours never changes it, so only the actions run.
        """
        handle = self._ruleset._handle
        try:
            ready = native.start_action_for_state(handle, state)
            message = ready[1] if ready else None
            while message:
                for name, matched in json.loads(message).items():
                    act = self._acts.get(name)
                    if act is not None:
                        act(run, matched)
                message = native.complete_and_start_action(handle, state)
        except Exception as exc:  # durable reports a bare error code
            raise EngineError(f"the rule engine failed while running actions: {exc}") from exc

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
        state = None
        for key, fact in fresh:
            fid = fact_id(fact, key)
            if fid in run.by_id:
                raise EngineError(f"two facts share the id {fid}: {key} and another")
            run.by_id[fid] = fact
            run.ids[id(fact)] = fid
            state = self._assert_one(sid, run, fact, key, fid)
        # The actions of the whole batch run once it is in: the matches do not depend on
        # when actions run, and their derived facts wait in `pending` anyway.
        if state is not None:
            self._dispatch(run, state)

    def _assert_one(
        self, sid: str, run: Run, fact: Fact, key: str | None = None, fid: str = ""
    ) -> int | None:
        """Hand one fact to the C engine; return the session's state handle."""
        # The canonical text is already JSON: hand it to the C engine with the sid and the
        # fact's id appended, rather than letting durable's Python layer dump the dict again.
        body = (canonical(fact) if key is None else key)[:-1] + f',"_fid":"{fid}"'
        if body.startswith("{,"):
            body = "{" + body[2:]
        # Distinct facts can share durable's 32-bit identity hash (its issue #376) and be
        # refused as duplicates; a salt field no pattern reads gives them another hash.
        for salt in range(4):
            text = f'{body},"sid":"{sid}"' + (f',"_salt":{salt}}}' if salt else "}")
            try:
                state: int = self._ruleset._handle_result(
                    native.assert_fact(self._ruleset._handle, text), fact
                )
            except durable_engine.MessageObservedException:
                continue
            except Exception as exc:
                raise EngineError(f"the rule engine failed on {fact_id(fact)}: {exc}") from exc
            run.asserted.append(text)
            return state
        run.errors.append(f"the engine refused fact {fact_id(fact)} as a duplicate")
        return None

    def _clear(self, run: Run) -> bool:
        """Retract everything the run asserted, so the session can serve the next run.

        Phase facts go first: every negation waits on one, so none can fire while the facts
        it negates disappear. Returns False if anything became ready to fire or failed, or
        if retracting would cost more than opening a new session (then the caller does so).
        """
        if len(run.asserted) > RETRACT_AT_MOST:
            return False
        guards = [t for t in run.asserted if f'"kind":"{PHASE_KIND}"' in t]
        others = [t for t in reversed(run.asserted) if f'"kind":"{PHASE_KIND}"' not in t]
        handle = self._ruleset._handle
        state = None
        try:
            for text in guards + others:
                state = self._ruleset._handle_result(native.retract_fact(handle, text), text)
            return state is None or not native.start_action_for_state(handle, state)
        except Exception:
            return False

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
            clean = False
            try:
                opened = self._assert_one(sid, run, {"kind": _OPEN})
                if opened is not None:
                    self._dispatch(run, opened)
                self._assert(sid, run, facts)
                self._drain(sid, run)
                for level in range(1, self.catalogue.max_level + 1):
                    self._assert(sid, run, [{"kind": PHASE_KIND, "level": level}])
                    self._drain(sid, run)
                clean = not run.errors and self._clear(run)
            finally:
                self._runs_in_session += 1
                if not clean or self._runs_in_session >= RENEW_AFTER:
                    self._renew()
        if run.errors:
            raise EngineError("; ".join(sorted(set(run.errors))))
        return run
