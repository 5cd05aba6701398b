"""The only module that imports durable-rules.

A run compiles only the rules that can fire for its facts and, given goals, lead to a fact of
a goal kind (diagnose.relevance): durable-rules pays for every pattern a fact reaches, and a
setup typically needs a tenth of the catalogue.
Each distinct set of live rules is compiled once and kept (the KEEP most recently used, and
no more than KEEP_RULES rules in all; the others are deleted).

It works around the engine's traps (see the project notes on durable-rules 2.0.28):
- no background dispatcher threads (`_run` is disabled), one host per process and catalogue;
- a new session (sid) for every run, deleted when the run ends, and never a retraction:
  a completed action leaves its frame dead but marked "dispatching", with the facts it
  matched still pointing at it; retracting such a fact makes durable scan the frame for
  message slots past its end and zero any word that equals the fact's offset (memory of
  its own or of Python: a corrupted dict hung one run, a segfault ended another). Deleting
  the session frees the facts without walking their frames, and costs no more than
  retracting them (measured on a batch of compose files);
- negations guarded by phase facts, asserted level by level (stratified negation);
- a fact that matches no pattern is refused by durable ("not handled") and not stored: it is
  kept in the run all the same, and facts of kinds no compiled rule reads never reach the C
  engine at all;
- duplicate facts removed before they reach the engine;
- exceptions inside actions recorded and raised, never swallowed;
- an "open" rule that fires once per session: `delete_state` on a session in which no action
  ever fired crashes the process (segfault, measured on 2.0.28 with an empty or unmatched
  session), so every new session gets one firing (its fact stays until the session goes);
- one lock: calls from several threads are serialized (the C code holds the GIL anyway).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import itertools
import json
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, overload

import durable_rules_engine as native
import orjson
from durable import engine as durable_engine

from diagnose.catalogue import PHASE_KIND, Catalogue, Rule, compile_rule
from diagnose.errors import EngineError
from diagnose.relevance import Relevance

RULESET = "netwhy"
# Compiled rulesets kept: compiling one costs 1-30 ms; one takes about 1.4 MB and its
# session as much again for some 35 rules (measured; 20 MB for the whole catalogue). Memory goes with
# the rules, so many small rulesets are kept (a batch of compose files meets some twenty, of
# about ten rules each: kept 12 at a time, they were compiled again and again).
KEEP = 32
KEEP_RULES = 600
# A run of this many facts compiles its own ruleset at once (see Engine._ruleset_for).
COMPILE_AT = 200
MET = 4096
_OPEN = "__open"
_OPEN_ID = "open"  # the id of the opening fact (the others are numbered from 0)
_SALTED = re.compile(r"[0-9]+~[0-9]+")  # the id of a fact sent again (see Engine._assert_one)
# The first item of what durable's assert returns (see durable.engine.Ruleset._handle_result).
_NOT_HANDLED, _OBSERVED, _DEFERRED = 1, 2, 3
Fact = dict[str, Any]


# The same text as json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False),
# for what orjson cannot encode (an int beyond 64 bits); orjson is several times faster, and
# every fact of a run is encoded once.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical(fact: Fact) -> str:
    """Stable text of a fact, the key for de-duplication and ordering."""
    try:
        return orjson.dumps(fact, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        text: str = _ENCODE(fact)
        return text


def fact_id(fact: Fact, key: str | None = None) -> str:
    """A short id that depends on the fact's content only (so reports are reproducible)."""
    key = canonical(fact) if key is None else key
    # 64 bits: ids key the facts of a run, so they must not collide (32 bits did, at a
    # chance of about n^2 / 2^33).
    return f"{fact['kind']}:{hashlib.sha1(key.encode()).hexdigest()[:16]}"


class Firing(NamedTuple):  # a tuple: a run makes one per firing, and a frozen dataclass is slow
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
    # The stored facts in the order they reached the run: the C engine knows each by its
    # number here (ids are content hashes, computed only for the facts a report cites).
    stored: list[Fact] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # the text each stored fact was sent as
    ids: dict[int, str] = field(default_factory=dict)  # id(stored fact) -> fact id, once asked
    # The rules whose firings count (None: all the ruleset's). A run may borrow a ruleset
    # holding more rules than it needs; those can fire too, if their products lead nowhere.
    rules: frozenset[str] | None = None

    def original(self, seen: Fact) -> Fact:
        """The stored fact the C engine handed back (as parsed from its JSON)."""
        number = seen.get("id")
        if isinstance(number, str) and _SALTED.fullmatch(number):  # sent again, salted
            number = int(number.partition("~")[0])
        stored = None
        if type(number) is int and 0 <= number < len(self.stored):
            stored = self.stored[number]
        if stored is None or stored["kind"] != seen["kind"]:  # not one of this run's facts
            raise EngineError(f"the rule engine matched a fact this run did not give it: {seen}")
        return stored

    def key(self, fact: Fact) -> str:
        """The canonical text of a fact this run has seen (computed once)."""
        key = self.keys.get(id(fact))
        return key if key is not None else canonical(fact)

    def fact_ids(self) -> dict[int, str]:
        """id(stored fact) -> fact id for every fact of the run, each hashed once from the
        canonical text the run already has (a report with its trace cites them all)."""
        ids = self.ids
        for key, fact in self.facts.items():
            if id(fact) not in ids:
                ids[id(fact)] = fact_id(fact, key)
        return ids

    def fact_id(self, fact: Fact) -> str:
        """The id of a fact this run has seen (computed once)."""
        found = self.ids.get(id(fact))
        if found is None:
            key = self.key(fact)
            # A copy of a stored fact (a firing produced it again) has the stored one's id;
            # ids are kept for stored facts only (the run holds them, so their id() stays).
            stored = self.facts.get(key)
            if stored is not None:
                found = self.ids.get(id(stored))
            if found is None:
                found = fact_id(fact, key)
                if stored is not None:
                    self.ids[id(stored)] = found
        return found


def _matched(run: Run, pieces: list[str], alias: str) -> dict[str, Fact] | None:
    """The facts of a firing by alias, read from durable's message without parsing it.

    The message is '{"<rule>":{"<alias>":<text>,"<alias>":<text>}}', each text exactly as
    this run sent it, its id (its number) first; `pieces` is the message split before each number,
    `alias` the first alias. The facts of "phase" aliases (negation guards) are left out.
    None if the message is not so (it is then parsed whole): every text is compared in full.
    """
    matched: dict[str, Fact] = {}
    texts = run.texts
    last = len(pieces) - 1
    following = ""
    for i in range(1, last + 1):
        digits, _, rest = pieces[i].partition(",")
        if i < last:
            body, _, following = rest.rpartition(',"')
        else:
            body, following = rest[:-2], rest[-2:]
        number = int(digits) if digits.isdecimal() else len(texts)
        if number >= len(texts) or texts[number] != f'{{"id":{digits},{body}':
            return None
        if not alias.isidentifier():
            return None
        if alias != "phase":
            matched[alias] = run.stored[number]
        alias = following
    return matched if following == "}}" else None


# What a firing adds: (rule, the facts its patterns matched, the id of a matched fact).
Effect = Callable[[Rule, dict[str, Fact], Callable[[Fact], str]], list[Fact]]


# Session ids: short (every fact's text carries one to the C engine), unique in the process.
_SIDS = itertools.count(1)


def _new_sid() -> str:
    return f"s{next(_SIDS)}"


def _tail(sid: str) -> str:
    return f',"sid":"{sid}"}}'


def _unused(c: Any) -> None:
    """Placeholder action for durable's Host (actions run in Engine._dispatch)."""


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@functools.cache
def _keep_freed_memory() -> None:
    """Let freed session memory stay in the heap for the next run.

    Every run allocates a session (frame indexes of 8 KB per join: a few hundred KB for a
    small ruleset) and frees it when it ends. glibc hands blocks that size back to the
    kernel (mmap, or trimming the heap top), so a run faulted their pages in again about
    half the time: a 20-entity diagnosis took 2.4 ms instead of 1.8. Large thresholds keep
    them, unless whoever runs netwhy set malloc's own through the environment.
    """
    if not sys.platform.startswith("linux") or any(k in os.environ for k in _MALLOC_SETTINGS):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not a C library with mallopt
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


class _Host(durable_engine.Host):  # type: ignore[misc]
    """A durable host without the timer threads that race with the caller."""

    def __init__(self, actions: dict[str, Callable[[Any], None]]) -> None:
        self._actions = actions
        super().__init__()

    def _run(self) -> None:  # the stock version starts two self-rescheduling timer threads
        pass

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self._actions[action_name]


@dataclass
class _Compiled:
    """One set of rules compiled into a durable ruleset, with the session of its run."""

    ruleset: Any  # durable.engine.Ruleset
    kinds: frozenset[str]  # the kinds its patterns read: other facts stay out of the C engine
    levels: tuple[int, ...]  # the phase levels its negations wait for
    sid: str = field(default_factory=_new_sid)
    used: int = 0  # the engine's clock when it last served a run
    handle: int = field(init=False)  # durable's number for the ruleset (read per fact)
    tail: str = field(init=False)  # what ends each fact's text in this session: its sid

    def __post_init__(self) -> None:
        self.handle = self.ruleset._handle
        self.tail = _tail(self.sid)

    def renew(self) -> None:
        """Delete the session (with every fact in it); the next run opens a new one."""
        with contextlib.suppress(Exception):  # a session that never got a fact has no state
            native.delete_state(self.handle, self.sid)
        self.sid = _new_sid()
        self.tail = _tail(self.sid)

    def delete(self) -> None:
        """Free the ruleset (after this, the handle is invalid; its run deleted the session)."""
        with contextlib.suppress(Exception):
            native.delete_ruleset(self.handle)


class Engine:
    """A catalogue ready to run diagnoses, compiling the rules each run needs."""

    def __init__(self, catalogue: Catalogue, effect: Effect, *, keep: int = KEEP) -> None:
        _keep_freed_memory()
        self.catalogue = catalogue
        self.relevance = Relevance(catalogue)
        self._effect = effect
        self._keep = keep
        self._lock = threading.RLock()
        self._acts = {rid: self._action(rule) for rid, rule in catalogue.rules.items()}
        # durable wants a callable per rule to build a ruleset; the engine runs actions
        # through self._dispatch instead, so these are never called.
        actions: dict[str, Callable[[Any], None]] = {
            name: _unused for name in [*catalogue.rules, _OPEN]
        }
        self._host = _Host(actions)
        self._compiled: OrderedDict[frozenset[str], _Compiled] = OrderedDict()
        self._kept_rules = 0  # the rules of all rulesets in _compiled
        self._met: OrderedDict[frozenset[str], None] = OrderedDict()  # live sets run once
        self._whole: _Compiled | None = None  # the whole catalogue, kept apart from the others
        self._once = 0  # rules compiled for live sets when first met (see _ruleset_for)
        self._clock = 0  # runs asked for (by their live rules)
        self._names = itertools.count()

    def _use(self, rule_ids: frozenset[str]) -> _Compiled:
        c = self._compiled[rule_ids]
        self._compiled.move_to_end(rule_ids)
        c.used = self._clock
        return c

    def _exactly(self, rule_ids: frozenset[str]) -> _Compiled:
        """The compiled ruleset of exactly these rules."""
        if rule_ids in self._compiled:
            return self._use(rule_ids)
        return self._compile(rule_ids, evict=True)

    def _ruleset_for(self, live: frozenset[str], size: int) -> _Compiled:
        """A compiled ruleset holding every live rule: rules that cannot fire change nothing.

        A set of live rules met for the first time runs on the smallest kept ruleset that
        holds it. Else it gets its own while the rules so compiled for sets met once stay
        at most half the catalogue (compiling costs about 0.07 ms a rule: the few rules of
        each file in a new batch cost less than the whole catalogue's 25 ms), and then runs
        on the whole catalogue, compiled once and kept: many setups (each choice `ask`
        weighs, say) are met once. Met again, big enough for one run to repay it, or the
        first of the process (a command run once), it gets a ruleset of its own. Never at
        the price of evicting one used lately: setups taken in turn, more of them than are
        kept, would otherwise compile one ruleset per run.
        """
        self._clock += 1
        if live in self._compiled:
            return self._use(live)
        first = not self._compiled and self._whole is None
        if live in self._met or size >= COMPILE_AT or first:
            compiled = self._compile(live, evict=False)
            if compiled is not None:
                return compiled
        self._met[live] = None
        if len(self._met) > MET:
            self._met.popitem(last=False)
        holders = [ids for ids in self._compiled if ids >= live]
        if holders:
            return self._use(min(holders, key=len))
        if self._whole is None and 2 * (self._once + len(live)) <= len(self.catalogue.rules):
            compiled = self._compile(live, evict=False)
            if compiled is not None:
                self._once += len(live)
                return compiled
        if self._whole is None:
            self._whole = self._build(frozenset(self.catalogue.rules))
        return self._whole

    @overload
    def _compile(self, rule_ids: frozenset[str], *, evict: Literal[True]) -> _Compiled: ...
    @overload
    def _compile(self, rule_ids: frozenset[str], *, evict: bool) -> _Compiled | None: ...
    def _compile(self, rule_ids: frozenset[str], *, evict: bool) -> _Compiled | None:
        """Compile a set of rules and keep it, deleting the least recently used beyond KEEP
        rulesets or KEEP_RULES rules; unless `evict`, refuse (None) when that one was used in
        the last 4 * KEEP runs."""
        if self._compiled and self._full(len(rule_ids)):
            oldest = next(iter(self._compiled.values()))
            if not evict and self._clock - oldest.used < 4 * self._keep:
                return None
        compiled = self._build(rule_ids)
        compiled.used = self._clock
        self._compiled[rule_ids] = compiled
        self._kept_rules += len(rule_ids)
        while len(self._compiled) > 1 and self._full(0):
            ids, old = self._compiled.popitem(last=False)
            self._kept_rules -= len(ids)
            old.delete()
        return compiled

    def _full(self, more: int) -> bool:
        """Whether what is kept, plus a ruleset of `more` rules if any, is beyond the limits."""
        count = len(self._compiled) + (1 if more else 0)
        return count > self._keep or self._kept_rules + more > KEEP_RULES

    def _build(self, rule_ids: frozenset[str]) -> _Compiled:
        cat = self.catalogue
        rules = [cat.rules[rid] for rid in sorted(rule_ids)]
        # durable pops each rule's "run" key: a shallow copy per rule keeps the catalogue whole.
        definition: dict[str, Any] = {
            r.id: dict(cat.compiled.get(r.id) or compile_rule(r, cat.levels[r.id])) for r in rules
        }
        definition[_OPEN] = {"all": [{"o": {"kind": _OPEN}}], "run": _OPEN}
        name = f"{RULESET}{next(self._names)}"
        try:
            ruleset = durable_engine.Ruleset(name, self._host, definition)
        except Exception as exc:  # durable reports a bare error code
            raise EngineError(f"the rule engine refused the ruleset: {exc}") from exc
        kinds = {_OPEN, PHASE_KIND}
        for r in rules:
            kinds |= r.positive_kinds() | r.negated_kinds()
        levels = sorted({cat.levels[r.id] for r in rules if r.unless})
        return _Compiled(ruleset, frozenset(kinds), tuple(levels))

    def _action(self, rule: Rule) -> Callable[[Run, dict[str, Fact]], None]:
        effect = self._effect

        def act(run: Run, matched: dict[str, Fact]) -> None:
            try:
                produced = effect(rule, matched, run.fact_id)
                run.firings.append(Firing(rule.id, matched, produced))
                run.pending.extend(produced)
            except Exception as exc:  # recorded, and raised once the run ends
                run.errors.append(f"rule {rule.id}: {type(exc).__name__}: {exc}")

        return act

    def _dispatch(self, run: Run, c: _Compiled, state: int) -> None:
        """Run every action the last assertions made ready, on this thread.

        durable's own dispatcher (Ruleset.do_actions) would also serialise and store the
        session state after each action; ours never changes it, so only the actions run.
        """
        handle = c.handle
        acts = self._acts
        try:
            ready = native.start_action_for_state(handle, state)
            message = ready[1] if ready else None
            wanted = run.rules
            while message:
                # Split before each fact's number; the first piece is '{"<rule>":{"<alias>'.
                pieces = message.split('":{"id":')
                head, _, alias = pieces[0].partition('":{"')
                name = head[2:] if head.startswith('{"') else ""
                act = acts.get(name)
                if act is None and name != _OPEN:
                    self._act_parsed(run, message)  # not as expected: parsed whole
                elif act is not None and (wanted is None or name in wanted):
                    matched = _matched(run, pieces, alias)
                    if matched is not None:
                        act(run, matched)
                    else:
                        self._act_parsed(run, message)
                message = native.complete_and_start_action(handle, state)
        except Exception as exc:  # durable reports a bare error code
            raise EngineError(f"the rule engine failed while running actions: {exc}") from exc

    def _act_parsed(self, run: Run, message: str) -> None:
        """Run the actions of a message that _matched could not read, parsing it whole."""
        wanted = run.rules
        for name, seen in orjson.loads(message).items():
            act = self._acts.get(name)
            if act is None or (wanted is not None and name not in wanted):
                continue
            try:
                # Each fact reaches the engine with its number; hand the rule the original.
                matched = {
                    alias: run.original(fact)
                    for alias, fact in seen.items()
                    if alias != "phase" and type(fact) is dict
                }
            except Exception as exc:  # recorded, and raised once the run ends
                run.errors.append(f"rule {name}: {type(exc).__name__}: {exc}")
                continue
            act(run, matched)

    def _assert(self, run: Run, c: _Compiled | None, facts: Iterable[Fact]) -> None:
        """Keep the facts new to the run, and send those of kinds its rules read to the C
        engine (none without a compiled ruleset `c`); then run the actions they made ready."""
        known, keys = run.facts, run.keys
        fresh = []
        for fact in facts:
            try:
                key = canonical(fact)
            except (TypeError, ValueError) as exc:
                raise EngineError(f"a fact is not plain JSON data ({exc}): {fact!r}") from exc
            keys[id(fact)] = key
            if key not in known:
                known[key] = fact
                fresh.append((key, fact))
        fresh.sort()  # by key: each key is there once, so the facts are never compared
        state = None
        stored, texts = run.stored, run.texts
        kinds = c.kinds if c is not None else frozenset()
        for key, fact in fresh:
            number = len(stored)
            stored.append(fact)
            texts.append("")
            if fact["kind"] in kinds:
                assert c is not None
                got = self._assert_one(run, c, fact, key, number)
                if got is not None:
                    state = got
        # The actions of the whole batch run once it is in: the matches do not depend on
        # when actions run, and their derived facts wait in `pending` anyway.
        if state is not None:
            assert c is not None
            self._dispatch(run, c, state)

    def _assert_one(
        self, run: Run, c: _Compiled, fact: Fact, key: str | None = None, number: int | None = None
    ) -> int | None:
        """Hand one fact to the C engine (with its number in the run, if it has one); return
        the session's state handle."""
        # The canonical text is already JSON: hand it to the C engine with an id and the sid
        # added, rather than letting durable's Python layer dump the dict again.
        # The id is the fact's number in the run, and comes first: firings hand back each
        # fact's text as sent (see _matched). Given an id, durable does not hash the whole
        # text to make one (7% of the engine's instructions went to that).
        plain = canonical(fact) if key is None else key
        name = _OPEN_ID if number is None else number
        ident = f'"{name}"' if number is None else name
        fields = plain[1:-1]
        text = f'{{"id":{ident},{fields}{c.tail}'
        # Ids differ in a session, but durable tells facts apart by a 32-bit hash of the id
        # (the ids of numbers below 797,186 never share one): a fact refused as a duplicate
        # is sent again under a salted id.
        salt = 0
        while True:
            try:
                result = native.assert_fact(c.handle, text)
            except Exception as exc:
                raise EngineError(f"the rule engine failed on {fact_id(fact)}: {exc}") from exc
            if result[0] != _OBSERVED:
                break
            salt += 1
            if salt > 3:
                run.errors.append(f"the engine refused fact {fact_id(fact)} as a duplicate")
                return None
            text = f'{{"id":"{name}~{salt}",{fields}{c.tail}'
        code = result[0]
        if code == _NOT_HANDLED:  # no pattern can ever match it: durable keeps nothing
            return None
        if number is not None:
            run.texts[number] = text
        state: int = 0 if code == _DEFERRED else result[1]
        return state

    def _drain(self, run: Run, c: _Compiled) -> None:
        rounds = 0
        while run.pending:
            rounds += 1
            if rounds > 1000:
                raise EngineError("derivations did not settle after 1000 rounds (a rule loop?)")
            batch, run.pending = run.pending, []
            self._assert(run, c, batch)

    def run(
        self,
        facts: list[Fact],
        rules: Collection[str] | None = None,
        goals: frozenset[str] | None = None,
    ) -> Run:
        """Assert the facts, let the rules fire to a fixpoint, and return what happened.

        `rules` defaults to the rules that can fire for these facts (diagnose.relevance);
        the result is the same as with the whole catalogue, only cheaper. With `goals` (fact
        kinds), derivations that lead to none of them are not run.
        """
        with self._lock:
            if rules is None:
                live = self.relevance.live(facts, goals)
                run = Run(rules=live)
                if not live:  # no rule can fire: the run is its facts, and needs no session
                    self._assert(run, None, facts)  # (a tenth of generated compose files)
                    return run
                c = self._ruleset_for(live, len(facts))
            else:
                c = self._exactly(frozenset(rules))
                run = Run()
            try:
                # A new session: the one firing it needs before it may be deleted (see above).
                opened = self._assert_one(run, c, {"kind": _OPEN})
                if opened is not None:
                    self._dispatch(run, c, opened)
                self._assert(run, c, facts)
                self._drain(run, c)
                for level in c.levels:
                    self._assert(run, c, [{"kind": PHASE_KIND, "level": level}])
                    self._drain(run, c)
            finally:
                c.renew()
        if run.errors:
            raise EngineError("; ".join(sorted(set(run.errors))))
        return run
