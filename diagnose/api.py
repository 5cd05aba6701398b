"""The Python API: every interface (CLI, later HTTP and MCP) is a thin layer over these."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from diagnose.diagnosis import diagnose
from diagnose.errors import InputError
from diagnose.languages import LANGUAGES
from diagnose.loading import SetupSource, load_setup
from diagnose.report import Report


def _source_name(source: SetupSource) -> str | None:
    if isinstance(source, Path):
        return str(source)
    if isinstance(source, str) and "\n" not in source and len(source) < 4096:
        return source
    return None


def _known_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}; one of: {', '.join(LANGUAGES)}", field="lang")


def check(setup: SetupSource, *, rules: Sequence[str] = (), lang: str = "en") -> Report:
    """Findings on a whole setup: what is wrong or risky. Symptoms, if any, get verdicts too.

    `setup` is a Setup, a dict, a path, or YAML/JSON text; `rules` adds folders of rules.
    """
    _known_lang(lang)
    model = load_setup(setup)
    return diagnose(model, rule_dirs=tuple(rules), lang=lang, source=_source_name(setup))


def why(setup: SetupSource, *, rules: Sequence[str] = (), lang: str = "en") -> Report:
    """Verdicts for each symptom of a setup: reachable, blocked or unknown, with the path."""
    _known_lang(lang)
    model = load_setup(setup)
    if not model.symptoms:
        raise InputError(
            "no symptoms: `why` needs at least one, e.g. symptoms: [{from: lan, to: "
            "container:web, port: 8080}]",
            file=_source_name(setup),
            field="symptoms",
        )
    return diagnose(model, rule_dirs=tuple(rules), lang=lang, source=_source_name(setup))
