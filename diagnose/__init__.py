"""netwhy: rule-based diagnosis of virtual-machine and Docker networking.

import diagnose
report = diagnose.why("setup.yaml")        # verdicts with paths, causes, fixes, questions
report = diagnose.check({"docker": {...}})  # findings on a whole setup
turn = diagnose.ask("why can't my VM reach the LAN?")  # the next question, or the answer
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AskResult", "InputError", "Report", "Setup", "ask", "check", "redact_report", "why"]

if TYPE_CHECKING:
    from diagnose.api import check, why
    from diagnose.conversation import AskResult, ask
    from diagnose.errors import InputError
    from diagnose.model import Setup
    from diagnose.redact import redact_report
    from diagnose.report import Report

_LAZY = {
    "ask": "diagnose.conversation",
    "AskResult": "diagnose.conversation",
    "check": "diagnose.api",
    "why": "diagnose.api",
    "InputError": "diagnose.errors",
    "Setup": "diagnose.model",
    "Report": "diagnose.report",
    "redact_report": "diagnose.redact",
}


def __getattr__(name: str) -> Any:
    # Imported on first use, so `netwhy --help` does not load the rule engine.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'diagnose' has no attribute {name!r}")
