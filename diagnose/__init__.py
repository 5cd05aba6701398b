"""netwhy: rule-based diagnosis of virtual-machine and Docker networking."""

from __future__ import annotations

from diagnose.api import check, why
from diagnose.errors import InputError
from diagnose.model import Setup
from diagnose.report import Report

__all__ = ["InputError", "Report", "Setup", "check", "why"]
__version__ = "0.1.0"
