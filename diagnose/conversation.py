"""`ask`: a plain-English or Chinese question in, the next question or a diagnosis out.

Stateless: each turn rebuilds the setup from the text, the caller's facts and the answers given
so far, diagnoses it, and either answers or asks the pending question whose answer best splits
the outcomes still possible (found by diagnosing the setup once per choice).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

import yaml
from pydantic import Field

from diagnose import intake
from diagnose.errors import InputError
from diagnose.intake import Recognised
from diagnose.report import Out, Question, Report, TraceEntry
from diagnose.yamltext import refuse_surrogates, value_problem


class AskQuestion(Out):
    """A question for the person; answer it by sending `answers: {key: value}`."""

    key: str = Field(description="the setup field the answer fills; the key of the answer")
    id: str
    text: str
    choices: list[str]
    labels: list[str] = Field(description="each choice in the conversation's language")
    why: str = Field(description="why it is asked: the causes the answer separates")
    settles: list[str] = Field(description="the rules the answer decides between")
    outcomes: int = Field(description="distinct diagnoses its choices lead to (0: free answer)")


class AskResult(Out):
    """One turn of a conversation."""

    status: Literal["question", "answer"]
    lang: str
    answer: str = Field(description="the short answer so far, in the conversation's language")
    understood: list[Recognised]
    setup: dict[str, Any] = Field(description="the setup built from the text, facts and answers")
    questions: list[AskQuestion] = Field(description="best first; empty when status is answer")
    asked: list[str] = Field(description="keys already answered, in the order given")
    report: Report = Field(description="the diagnosis of the setup as it stands")


# ----------------------------------------------------------------------------- answers


# Setup fields that hold lists: a single answer becomes a one-item list.
LIST_FIELDS = {"listens", "ports", "dns", "expose", "networks", "interfaces", "routes", "resolver"}
_SEGMENT = re.compile(r"([A-Za-z_][\w]*)(?:\[([^\]]*)\])?")
INTAKE_KEYS = ("intake.technology", "intake.direction")


def replied(kind: str, text: str) -> bool:
    """Whether a reply says "I don't know" (`unknown`) or "stop" (`quit`): knowledge/intake.yaml."""
    return any(p.match(text.strip()) for p in intake.lexicon()["reply"][kind])


def is_unknown(value: Any) -> bool:
    return value is None or (isinstance(value, str) and replied("unknown", value))


def settable(key: str) -> bool:
    """Whether a question's key names a setup field an answer can fill."""
    return "(" not in key and " " not in key and bool(_SEGMENT.match(key))


def key_path(key: str) -> list[tuple[str, str]]:
    """The steps of a question's key: `vms[vm].adapters[0].mode` -> (vms, vm), (adapters, 0),
    (mode, ""); `symptoms[]` is the first symptom, s1."""
    return [(name, selector) for name, selector in _SEGMENT.findall(key.replace("[]", "[s1]"))]


def _scalar(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith(("{", "[")) or ": " in text:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text
        except RecursionError:
            raise ValueError("nested too deeply") from None
        except ValueError as exc:  # an int of more digits than Python reads, a date that is none
            raise ValueError(value_problem(exc)) from None
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    return text


MAX_INDEX_GAP = 16


def _item(items: list[Any], selector: str, keyed: str) -> dict[str, Any]:
    """The list entry a `[selector]` names: by name (id for symptoms), else by index."""
    for entry in items:
        if (
            isinstance(entry, dict)
            and selector
            and selector in (entry.get("name"), entry.get("id"))
        ):
            return entry
    if (
        selector.isascii()
        and selector.isdigit()
        and not any(isinstance(e, dict) and "name" in e for e in items)
    ):
        # Past the end, an index makes empty entries up to it (the second adapter of a VM
        # told of before the first); a far one would make millions.
        if len(selector) > 4 or int(selector) > len(items) + MAX_INDEX_GAP:
            raise ValueError(
                f"[{selector[:20]}] is far past the end of a list of {len(items)} entries"
            )
        index = int(selector)
        while len(items) <= index:
            items.append({})
        entry = items[index]
        return entry if isinstance(entry, dict) else {}
    entry = {keyed: selector or "s1"}
    items.append(entry)
    return entry


def _merged(old: Any, new: Any) -> Any:
    """An answer laid over what the question said: the answer wins; named lists merge by name."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        if "name" in new and "network_mode_unknown" not in new:
            # The person described the container: a mode left out now means bridge.
            out.pop("network_mode_unknown", None)
        for key, value in new.items():
            out[key] = _merged(old[key], value) if key in old else value
        return out
    if isinstance(old, list) and isinstance(new, list):

        def name(v: Any) -> Any:
            return v.get("name") if isinstance(v, dict) else None

        if all(name(v) is not None for v in old + new):
            names = {name(v) for v in new}
            kept = [v for v in old if name(v) not in names and not _default_name(name(v))]
            olds = {name(v): v for v in old}
            return kept + [_merged(olds[name(v)], v) if name(v) in olds else v for v in new]
        return new
    return new


def _default_name(name: Any) -> bool:
    """A name the intake made up ("container", "vm2"): the person's own entries replace it."""
    return name in intake.DEFAULT_NAMES


def set_field(setup: dict[str, Any], key: str, value: Any) -> None:
    """Put an answer where its key points: `vms[vm].adapters[0].mode`, `host.ip_forward`..."""
    parts = key_path(key)
    node: dict[str, Any] = setup
    for i, (name, selector) in enumerate(parts):
        last = i == len(parts) - 1
        if selector or (name in ("symptoms",) and not last):
            items = node.setdefault(name, [])
            if not isinstance(items, list):
                raise ValueError(f"{name} is not a list")
            node = _item(items, selector, "id" if name == "symptoms" else "name")
            if last:
                data = _scalar(value)
                if not isinstance(data, dict):
                    raise ValueError("expected a mapping of its fields, e.g. {mode: nat}")
                node.update(_merged(node, data))
            continue
        if not last:
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise ValueError(f"{name} is not a mapping")
            node = child
            continue
        data = _scalar(value)
        if isinstance(data, dict) and isinstance(node.get(name), dict):
            node[name] = _merged(node[name], data)
            return
        if name == "port" and isinstance(data, str) and data.isascii() and data.isdigit():
            data = int(data)
        if name == "adapters" and isinstance(data, str):
            data = [{"mode": m.strip()} for m in data.split(",") if m.strip()]
        elif name in LIST_FIELDS and not isinstance(data, list):
            data = [d.strip() for d in str(data).split(",")] if isinstance(data, str) else [data]
        node[name] = data


def _follow_renames(setup: dict[str, Any]) -> None:
    """A made-up entry the person's description replaced ("container" -> their "web"): the
    symptoms that named it now name the one entry of that kind they described."""
    entries = {
        "container": [c.get("name") for c in setup.get("docker", {}).get("containers", [])],
        "vm": [v.get("name") for v in setup.get("vms", [])],
    }
    for symptom in setup.get("symptoms", []):
        for end in ("from", "to"):
            kind, _, name = str(symptom.get(end, "")).partition(":")
            names = entries.get(kind)
            if names is None or name in names or name not in intake.DEFAULT_NAMES:
                continue
            real = [n for n in names if n not in intake.DEFAULT_NAMES]
            if len(real) == 1:
                symptom[end] = f"{kind}:{real[0]}"


def _apply(setup: dict[str, Any], key: str, value: Any, where: str) -> None:
    from diagnose.loading import load_setup

    trial = copy.deepcopy(setup)
    try:
        refuse_surrogates(json.dumps(value, ensure_ascii=False, default=str), where)
        set_field(trial, key, value)
        load_setup(trial)  # first: the renames below read the entries as the schema has them
        _follow_renames(trial)
    except ValueError as exc:
        raise InputError(f"{_shown(value)} does not fit: {exc}", file=where, field=key) from None
    except InputError as exc:
        raise InputError(
            f"{_shown(value)} does not fit: {exc.message}", file=where, field=key
        ) from None
    setup.clear()
    setup.update(trial)


def _shown(value: Any) -> str:
    """A value as an error quotes it: its start, if long."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


# ----------------------------------------------------------------------------- the turn


Signature = tuple[str, str | None, int | None, tuple[str, ...]]


def _signature(report: Report) -> Signature:
    """What a diagnosis concludes and what it would ask next, for telling apart the outcomes
    of a question's choices: an answer that changes neither is not worth asking for."""
    if not report.verdicts:
        return ("none", report.findings[0].rule if report.findings else None, None, ())
    v = report.verdicts[0]
    top = v.causes[0].rule if v.causes and v.causes[0].certain else None
    return (v.status, top, v.broken_at, tuple(sorted(q.id for q in v.questions)))


def _diagnose(setup: dict[str, Any], lang: str) -> Report:
    from diagnose.diagnosis import diagnose
    from diagnose.loading import load_setup

    return diagnose(load_setup(setup), lang=lang, source="<question>")


def _decided(report: Report) -> bool:
    """A verdict with a cause that blocks its path needs no more questions."""
    return any(v.status == "blocked" and any(c.certain for c in v.causes) for v in report.verdicts)


def _candidates(report: Report, done: set[str]) -> list[Question]:
    """Pending questions, the path's first, each field once."""
    out: dict[str, Question] = {}
    for q in [q for v in report.verdicts for q in v.questions] + report.questions:
        if q.fills not in done and q.fills not in out:
            out[q.fills] = q
    return list(out.values())


def _outcomes(setup: dict[str, Any], q: Question, lang: str) -> int:
    """How many different diagnoses the choices of `q` lead to (0: it has no choices to try)."""
    if not settable(q.fills) or not q.choices:
        return 0
    seen = set()
    for choice in q.choices:
        trial = copy.deepcopy(setup)
        try:
            set_field(trial, q.fills, choice)
            seen.add(_signature(_diagnose(trial, lang)))
        except (ValueError, InputError):
            continue
    return len(seen)


def _ask_question(q: Question, outcomes: int) -> AskQuestion:
    return AskQuestion(
        key=q.fills,
        id=q.id,
        text=q.text,
        choices=q.choices,
        labels=q.labels,
        why=q.why,
        settles=q.settles,
        outcomes=outcomes,
    )


def _intake_question(qid: str, lang: str, choices: list[str] | None = None) -> AskQuestion:
    from diagnose.catalogue import default_catalogue

    q = default_catalogue().question(qid, lang)
    values = list(choices if choices is not None else q.choices)
    return AskQuestion(
        key=q.fills,
        id=qid,
        text=q.text,
        choices=values,
        labels=[q.labels.get(c, c) for c in values],
        why=q.why or "",
        settles=[],
        outcomes=len(values),
    )


def _any_described(done: set[str]) -> bool:
    """Whether the VM or the containers the question is about were described already."""
    return any(k == "docker" or k.startswith(("vms[", "docker.containers[")) for k in done)


def _covered(key: str, done: set[str]) -> bool:
    return any(key.startswith((d + ".", d + "[")) for d in done if d != key)


def _describe(
    setup: dict[str, Any], done: set[str], lang: str, entity: str | None = None
) -> list[AskQuestion]:
    """Questions asking for a whole entry (paste `docker inspect`, describe the host...), for
    the entries the failing connection runs through, nearest first."""
    from diagnose.catalogue import default_catalogue
    from diagnose.diagnosis import fill

    cat = default_catalogue()
    ends = [e for sy in setup.get("symptoms", [])[:1] for e in (sy.get("from"), sy.get("to")) if e]
    containers = [c["name"] for c in setup.get("docker", {}).get("containers", [])]
    vms = [v["name"] for v in setup.get("vms", [])]
    named = [e.split(":", 1)[1] for e in ends if ":" in e]
    wanted: list[tuple[str, dict[str, str]]] = []
    for name in sorted(vms, key=lambda n: (n not in named, vms.index(n))):
        wanted.append(("intake-vm", {"vm": name}))
    if vms:
        wanted += [("intake-lan", {}), ("intake-vm-networks", {}), ("intake-host", {})]
    if containers or entity == "docker":
        wanted = [("intake-docker", {}), ("intake-host", {})]
        if "lan" in ends:
            wanted.append(("intake-lan", {}))
    out: list[AskQuestion] = []
    for qid, params in dict.fromkeys((q, tuple(p.items())) for q, p in wanted):
        q = cat.question(qid, lang)
        key = fill(q.fills, dict(params))
        if key in done:
            continue
        out.append(
            AskQuestion(
                key=key,
                id=qid,
                text=fill(q.text, dict(params)),
                choices=[],
                labels=[],
                why=fill(q.why or "", dict(params)),
                settles=[],
                outcomes=0,
            )
        )
    return out


def _direction_choices(endpoints: list[str]) -> list[str]:
    out = []
    for a in endpoints:
        for b in endpoints:
            if a != b:
                out.append(f"{a} -> {b}")
    return out


def _short_answer(report: Report, lang: str, pending: list[AskQuestion]) -> str:
    from diagnose.diagnosis import report_phrase

    lines: list[str] = []
    for v in report.verdicts[:1]:
        lines.append(v.summary)
        certain = [c for c in v.causes if c.certain] or v.causes
        if certain:
            c = certain[0]
            lines.append(report_phrase("ask_cause", lang, title=c.title, rule=c.rule))
            if c.fixes:
                lines.append(report_phrase("ask_fix", lang, fix=c.fixes[0].text))
        elif v.status == "reachable" and not pending:
            lines.append(report_phrase("ask_reachable", lang))
    if not report.verdicts:
        lines.append(report_phrase("ask_nothing", lang))
    if pending:
        lines.append(report_phrase("ask_next", lang, question=pending[0].text))
    return "\n".join(lines)


def ask(
    text: str,
    *,
    facts: Mapping[str, Any] | None = None,
    answers: Mapping[str, Any] | None = None,
    lang: str | None = None,
) -> AskResult:
    """One turn: the question, what the caller knows (`facts`) and the answers given so far
    (both map a question's `key` to a value; "unknown" skips it) -> the next questions, best
    first, or the answer. Stateless: send everything again on the next turn."""
    from diagnose.languages import LANGUAGES

    given = {**(facts or {}), **(answers or {})}
    technology = given.get("intake.technology")
    direction = given.get("intake.direction")
    if technology is not None and not is_unknown(technology) and technology not in ("vm", "docker"):
        raise InputError("expected vm or docker", file="<answers>", field="intake.technology")
    if not is_unknown(direction) and not isinstance(direction, str):
        raise InputError(
            "expected FROM -> TO, e.g. lan -> vm:vm", file="<answers>", field="intake.direction"
        )
    reading = intake.read(
        text,
        entity=None if is_unknown(technology) else technology,
        direction=None if is_unknown(direction) else direction,
    )
    lang = lang or reading.lang
    if lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}: {', '.join(LANGUAGES)}", field="lang")
    setup = copy.deepcopy(reading.setup)
    done = set(given)
    for key, value in given.items():
        if key in INTAKE_KEYS or is_unknown(value):
            continue
        where = "<answers>" if answers and key in answers else "<facts>"  # answers win
        _apply(setup, key, value, where)
    intake_q: AskQuestion | None = None
    if reading.entity is None and "intake.technology" not in done:
        intake_q = _intake_question("intake-technology", lang)
    elif "intake.direction" not in done and not (setup.get("symptoms") and reading.sure):
        # No direction, or one guessed rather than read: ask, the guess first.
        guess = [
            f"{sy['from']} -> {sy['to']}"
            for sy in setup.get("symptoms", [])[:1]
            if sy.get("from") and sy.get("to")
        ]
        choices = _direction_choices([*reading.endpoints, "lan", "host", "internet"])
        intake_q = _intake_question(
            "intake-direction", lang, list(dict.fromkeys(guess + choices))[:12]
        )
    report = _diagnose(setup, lang)
    questions: list[AskQuestion] = []
    if intake_q is not None:
        questions = [intake_q]
    else:
        decided = _decided(report)
        splitting: list[tuple[int, int, AskQuestion]] = []
        free: list[AskQuestion] = []
        for order, q in enumerate(_candidates(report, done)):
            if _covered(q.fills, done):
                continue  # the person already described the whole entry
            n = _outcomes(setup, q, lang)
            if n >= 2:
                splitting.append((-n, order, _ask_question(q, n)))
            elif n == 0:
                free.append(_ask_question(q, n))
            # n == 1: every answer leads to the same diagnosis: not worth asking
        # The choices that split the outcomes most first, then descriptions of the entries
        # the path runs through, then the rule's own free questions. A blocked verdict is
        # final unless a choice could still overturn it.
        questions = [q for *_, q in sorted(splitting, key=lambda s: (s[0], s[1]))]
        described = _describe(setup, done, lang, reading.entity)
        if not decided:
            questions += described + free
        elif not questions and described and not _any_described(done):
            # Blocked on what the question alone says: what it left out reads as absent (no
            # port forward, no network) to the rules. Have the entry described once first.
            questions = described[:1]
    return AskResult(
        status="question" if questions else "answer",
        lang=lang,
        answer=_short_answer(report, lang, questions),
        understood=reading.recognised,
        setup=setup,
        questions=questions,
        asked=list(given),
        report=report,
    )


# ----------------------------------------------------------------------------- how


class HowStep(Out):
    """One link of a derivation: a rule, and the facts it matched (input or derived)."""

    depth: int
    rule: str
    title: str
    facts: list[str] = Field(
        description="each matched fact: its kind and the setup entry or rule behind it"
    )


def how(
    report: Report, rule: str | None = None, *, lang: str = "en", depth: int = 4
) -> list[HowStep]:
    """MYCIN's HOW: the rules that led to a conclusion (by default the first verdict's first
    cause), each with the facts it matched and, for derived facts, how they were derived."""
    from diagnose.catalogue import default_catalogue
    from diagnose.diagnosis import fill

    cat = default_catalogue()
    if rule is None:
        causes = [c for v in report.verdicts for c in v.causes]
        if not causes:
            return []
        rule = causes[0].rule
    by_output = {fid: t for t in report.trace for fid in t.produced}
    firing = next((t for t in report.trace if t.rule == rule), None)
    steps: list[HowStep] = []
    seen: set[str] = set()

    def describe(fid: str) -> str:
        fact = report.facts.get(fid, {})
        kind = fact.get("kind", fid.split(":")[0])
        origin = fact.get("src") or (f"by {by_output[fid].rule}" if fid in by_output else "")
        return f"{kind} ({origin})" if origin else str(kind)

    def walk(entry: TraceEntry | None, level: int) -> None:
        if entry is None or level > depth:
            return
        key = entry.rule + "|" + ",".join(sorted(entry.matched.values()))
        if key in seen:
            return
        seen.add(key)
        fids = sorted(entry.matched.values())
        # A derived rule's title speaks of the facts it matched: fill it from them.
        params: dict[str, Any] = {}
        for fid in fids:
            params.update({k: v for k, v in report.facts.get(fid, {}).items() if k != "kind"})
        template = cat.text(entry.rule, lang).title if entry.rule in cat.rules else entry.rule
        title = fill(template, params)
        steps.append(
            HowStep(depth=level, rule=entry.rule, title=title, facts=[describe(f) for f in fids])
        )
        for fid in fids:
            walk(by_output.get(fid), level + 1)

    walk(firing, 0)
    return steps
