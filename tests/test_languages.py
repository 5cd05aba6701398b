"""Every knowledge text exists in every language, saying the same things with the same slots.

A translation may reword anything a person reads; it may not change what a program reads:
placeholders, optional `[...]` segments, commands, config lines, the field a question fills,
its choices, or the flags of a fix. Files are compared pairwise, knowledge/en/X.yaml with
knowledge/<lang>/X.yaml, so a missing or extra entry is named with its file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from diagnose.catalogue import placeholders
from diagnose.languages import LANGUAGES

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
OTHERS = sorted(
    p.name for p in KNOWLEDGE.iterdir() if p.is_dir() and p.name not in ("en", "__pycache__")
)
# What a program reads: kept byte for byte in every language.
VERBATIM = {"command", "config", "fills", "choices", "persistent", "risky"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _files(lang: str) -> list[str]:
    return sorted(p.name for p in (KNOWLEDGE / lang).glob("*.yaml"))


def _walk(en: Any, other: Any, where: str) -> Iterator[str]:
    """Differences a program would notice between an English entry and its translation."""
    if isinstance(en, dict):
        if not isinstance(other, dict):
            yield f"{where}: a mapping in English"
            return
        extra = set(other) - set(en) - {"labels"}
        missing = set(en) - set(other)
        for key in sorted(missing):
            yield f"{where}.{key}: missing"
        for key in sorted(extra):
            yield f"{where}.{key}: not in English"
        for key in sorted(set(en) & set(other)):
            sub = f"{where}.{key}" if where else str(key)
            if key in VERBATIM:
                if en[key] != other[key]:
                    yield f"{sub}: must stay as in English ({en[key]!r})"
            else:
                yield from _walk(en[key], other[key], sub)
    elif isinstance(en, list):
        if not isinstance(other, list) or len(en) != len(other):
            yield f"{where}: {len(en)} items in English"
            return
        for i, (a, b) in enumerate(zip(en, other, strict=True)):
            yield from _walk(a, b, f"{where}[{i}]")
    elif isinstance(en, str):
        if not isinstance(other, str):
            yield f"{where}: text in English"
        elif placeholders(en) != placeholders(other):
            yield f"{where}: placeholders {sorted(placeholders(en))} in English, {sorted(placeholders(other))} here"
        elif en.count("[") != other.count("[") or en.count("]") != other.count("]"):
            yield f"{where}: optional [...] segments differ from English"
    elif en != other:
        yield f"{where}: {en!r} in English"


def _texts(node: Any, key: str = "") -> Iterator[str]:
    """The strings a person reads."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k not in VERBATIM:
                yield from _texts(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _texts(v, key)
    elif isinstance(node, str):
        yield node


def test_every_language_folder_is_loaded() -> None:
    assert set(LANGUAGES) == {"en", *OTHERS}


@pytest.mark.parametrize("lang", OTHERS)
def test_same_files_in_every_language(lang: str) -> None:
    assert _files(lang) == _files("en")


@pytest.mark.parametrize(
    ("lang", "name"), [(lang, name) for lang in OTHERS for name in _files("en")]
)
def test_translation_keeps_what_programs_read(lang: str, name: str) -> None:
    path = KNOWLEDGE / lang / name
    if not path.exists():
        pytest.fail(f"knowledge/{lang}/{name} is missing")
    en = yaml.safe_load((KNOWLEDGE / "en" / name).read_text(encoding="utf-8"))
    other = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = list(_walk(en, other, ""))
    assert not problems, f"knowledge/{lang}/{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("lang", "name"), [(lang, name) for lang in OTHERS if lang == "zh" for name in _files("en")]
)
def test_chinese_is_chinese(lang: str, name: str) -> None:
    """A sentence left in English is a translation not done (names and codes may stay)."""
    other = yaml.safe_load((KNOWLEDGE / lang / name).read_text(encoding="utf-8"))
    untranslated = [t for t in _texts(other) if len(t.split()) >= 4 and not CJK.search(t)]
    assert not untranslated, f"knowledge/{lang}/{name}: still English:\n" + "\n".join(untranslated)
