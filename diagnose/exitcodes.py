"""Process exit codes, kept in one place."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What `netwhy` returns to the shell."""

    OK = 0  # nothing at or above --fail-on
    FINDINGS = 1  # a finding (or a blocked verdict) at or above --fail-on
    BAD_INPUT = 2  # usage error or input that cannot be read
