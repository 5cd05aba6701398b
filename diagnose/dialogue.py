"""`netwhy ask` at a terminal: prompt for each question, answer WHY and HOW, replay answers.

The conversation itself is diagnose.conversation.ask (stateless); this module only holds the
answers between turns and talks to the person.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from diagnose.conversation import AskQuestion, AskResult, ask, how, replied
from diagnose.errors import InputError
from diagnose.yamltext import read_text, value_problem


def _word(key: str, lang: str) -> str:
    """A phrase of the prompt (knowledge/<lang>/intake.yaml, report section)."""
    from diagnose.diagnosis import report_phrase

    return report_phrase(f"prompt_{key}", lang)


def load_answers(path: str) -> dict[str, Any]:
    """An answers file: a mapping of question keys to values (YAML or JSON)."""
    text = read_text(Path(path))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"not valid YAML/JSON: {getattr(exc, 'problem', exc)}",
            file=path,
            line=mark.line + 1 if mark else None,
        ) from None
    except RecursionError:
        raise InputError("not valid YAML/JSON: nested too deeply", file=path) from None
    except ValueError as exc:  # e.g. an int of more digits than Python reads (4,300)
        raise InputError(f"not valid YAML/JSON: {value_problem(exc)}", file=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("expected a mapping of question keys to answers", file=path)
    return {str(k): v for k, v in data.items()}


def parse_facts(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="--fact")
        out[key.strip()] = value.strip()
    return out


def _how_lines(result: AskResult, lang: str) -> list[str]:
    steps = how(result.report, lang=lang)
    if not steps:
        return ["  " + _word("no_how", lang)]
    return [f"  {'  ' * s.depth}{s.rule} {s.title}  <- {', '.join(s.facts)}" for s in steps]


def _why_lines(q: AskQuestion, lang: str) -> list[str]:
    lines = [f"  {q.why}"]
    if q.settles:
        lines.append(f"  {_word('decides', lang)}: {', '.join(q.settles)}")
    return lines


def _reply(read: Callable[[str], str], prompt: str) -> str | None:
    """The person's reply, or None at the end of input (Ctrl-D): they are done."""
    try:
        return read(prompt).strip()
    except EOFError:
        return None


def converse(
    text: str,
    *,
    facts: Mapping[str, Any],
    answers: dict[str, Any],
    lang: str | None,
    read: Callable[[str], str],
    say: Callable[[str], None],
) -> AskResult:
    """Ask until an answer (or quit, or the end of input); `answers` is filled in place, for
    --record."""
    result = ask(text, facts=facts, answers=answers, lang=lang)
    say(
        f"{_word('read', result.lang)}: "
        + "; ".join(f"{r.kind} {r.value}" for r in result.understood)
    )
    while result.status == "question":
        q = result.questions[0]
        say("")
        say(q.text)
        for i, label in enumerate(q.labels, start=1):
            say(f"  {i}. {label}")
        while True:
            reply = _reply(read, f"[{_word('choose', result.lang)}] > ")
            if reply is None:
                return result
            low = reply.lower()
            if low == "why":
                for line in _why_lines(q, result.lang):
                    say(line)
                continue
            if low == "how":
                for line in _how_lines(result, result.lang):
                    say(line)
                continue
            if replied("quit", low):
                return result
            if replied("unknown", low):
                value: Any = "unknown"
            elif reply.isascii() and reply.isdigit() and 1 <= int(reply) <= len(q.choices):
                value = q.choices[int(reply) - 1]
            else:
                value = reply
            answers[q.key] = value
            try:
                result = ask(text, facts=facts, answers=answers, lang=lang)
            except InputError as exc:
                del answers[q.key]
                say(f"  {_word('bad', result.lang)}: {exc}")
                continue
            break
    return result


def finish(result: AskResult, read: Callable[[str], str], say: Callable[[str], None]) -> None:
    """After the answer: the derivation on request."""
    while (_reply(read, f"[{_word('finish', result.lang)}] > ") or "").lower() == "how":
        for line in _how_lines(result, result.lang):
            say(line)
