"""Project configuration for `netwhy check`: `[tool.netwhy]` in pyproject.toml, or .netwhy.toml.

    [tool.netwhy]
    select = ["DP", "DM006"]          # rule ids or id prefixes to report (default: all)
    ignore = ["DP012"]                # ids or prefixes never reported
    fail-on = "error"                 # error | warning | info | never
    exclude = ["tests/fixtures/**"]   # paths never read
    severity = { DP005 = "warning" }  # per-rule severity overrides
    [tool.netwhy.per-path-ignores]
    "legacy/*.yml" = ["DM006"]

The nearest pyproject.toml with a [tool.netwhy] table, or .netwhy.toml, from the current
folder upwards is used; `--config FILE` names one. Command-line options win. Patterns are
relative to the folder holding the config file (see `_matches`).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from diagnose.errors import InputError

Level = Literal["error", "warning", "info"]
FailOn = Literal["error", "warning", "info", "never"]
_RULE_ID = re.compile(r"[A-Z]{2}[0-9]{3}")
_PREFIX = re.compile(r"[A-Z]{1,2}|[A-Z]{2}[0-9]{1,3}")
_TOML_AT = re.compile(r" \(at (?:line (\d+), column (\d+)|end of document)\)$")


def rule_prefix(value: str) -> str:
    """A rule id or id prefix (DP, DP0, DP005) in upper case; ValueError when it is neither."""
    upper = value.upper()
    if not _PREFIX.fullmatch(upper):
        raise ValueError(f"{value!r} is not a rule id or prefix such as DP or DP001")
    return upper


class Config(BaseModel):
    """What a project says about checking its files."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    fail_on: FailOn = Field("warning", alias="fail-on")
    exclude: list[str] = Field(default_factory=list)
    severity: dict[str, Level] = Field(default_factory=dict)
    per_path_ignores: dict[str, list[str]] = Field(default_factory=dict, alias="per-path-ignores")
    source: str | None = Field(None, exclude=True)
    # The folder `exclude` and `per-path-ignores` patterns are relative to: the config file's.
    root: Path | None = Field(None, exclude=True)
    # --exclude patterns, relative to the current folder.
    exclude_here: list[str] = Field(default_factory=list, exclude=True)

    @field_validator("select", "ignore")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        return [rule_prefix(v) for v in values]

    @field_validator("severity")
    @classmethod
    def _severity_ids(cls, values: dict[str, Level]) -> dict[str, Level]:
        out: dict[str, Level] = {}
        for key, level in values.items():
            rule = key.upper()
            if not _RULE_ID.fullmatch(rule):
                raise ValueError(f"{key!r} is not a rule id such as DP005")
            if rule in out and out[rule] != level:  # DP005 and dp005: which one is meant?
                raise ValueError(f"{rule} is given two severities, {out[rule]} and {level}")
            out[rule] = level
        return out

    @field_validator("per_path_ignores")
    @classmethod
    def _path_ids(cls, values: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {}
        for pattern, ids in values.items():
            try:
                out[pattern] = [rule_prefix(i) for i in ids]
            except ValueError as exc:
                raise ValueError(f"{pattern!r}: {exc}") from None
        return out

    def wants(self, rule: str, path: str) -> bool:
        """Whether a finding of `rule` in file `path` is reported."""
        if self.select and not any(rule.startswith(s) for s in self.select):
            return False
        if any(rule.startswith(i) for i in self.ignore):
            return False
        for pattern, ids in self.per_path_ignores.items():
            if _matches(path, pattern, self.root) and any(rule.startswith(i) for i in ids):
                return False
        return True

    def excluded(self, path: str) -> bool:
        """Whether a file is never read."""
        if any(_matches(path, pattern, self.root) for pattern in self.exclude):
            return True
        here = Path.cwd() if self.exclude_here else None
        return any(_matches(path, pattern, here) for pattern in self.exclude_here)


def _matches(path: str, pattern: str, root: Path | None) -> bool:
    """Whether `pattern` matches the file `path`. For a file under `root`, as ruff does: a
    pattern with a slash matches the path relative to `root`, one without matches it or the
    file's name. Elsewhere (or with no root) the pattern matches the path as given, or its end."""
    relative = _relative(path, root) if root is not None else None
    if relative is not None:
        return fnmatch.fnmatch(relative, pattern) or (
            "/" not in pattern and fnmatch.fnmatch(relative.rpartition("/")[2], pattern)
        )
    posix = Path(path).as_posix()
    return fnmatch.fnmatch(posix, pattern) or fnmatch.fnmatch(posix, f"*/{pattern}")


def _relative(path: str, root: Path) -> str | None:
    """`path` relative to `root` (both resolved), or None when it is not under it."""
    if path == "-" or path.startswith("<"):  # standard input, text with a label
        return None
    return _relative_absolute(os.path.abspath(path), root)


@functools.lru_cache(maxsize=4096)
def _relative_absolute(path: str, root: Path) -> str | None:
    # The folder is resolved as the root is, the file itself not: a pattern names the file
    # where the user keeps it (deploy/compose.yaml), even if it links to another one.
    file = Path(path)
    try:
        return (file.parent.resolve() / file.name).relative_to(root).as_posix()
    except (ValueError, OSError, RuntimeError):
        return None


def _read(path: Path, table: bool) -> Config | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"malformed config: not UTF-8 (byte 0x{raw[exc.start]:02x})",
            file=str(path),
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's tomllib gives the place only in the message: "... (at line 2, column 9)".
        message, at = str(exc), _TOML_AT.search(str(exc))
        line: int | None = None
        column: int | None = None
        if at is not None:
            message = message[: at.start()]
            if at.group(1):
                line, column = int(at.group(1)), int(at.group(2))
            else:  # at the end of the document: its last line
                line = text.count("\n") + (not text.endswith("\n"))
        raise InputError(
            f"malformed config: {message}", file=str(path), line=line, column=column
        ) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise InputError("malformed config: tool is not a table", file=str(path))
    section: Any = tool.get("netwhy") if table else tool.get("netwhy", data)
    if section is None:
        return None
    if not isinstance(section, dict):
        raise InputError("malformed config: tool.netwhy is not a table", file=str(path))
    try:
        config = Config.model_validate(section)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InputError(
            str(err["msg"]).removeprefix("Value error, "), file=str(path), field=field
        ) from None
    config.source = str(path)
    config.root = path.resolve().parent
    return config


def find_config(start: Path | None = None, explicit: str | None = None) -> Config:
    """The configuration in effect (an empty one when none is found)."""
    if explicit:
        path = Path(explicit)
        found = _read(path, table=path.name == "pyproject.toml")
        if found is None:
            raise InputError("no [tool.netwhy] table", file=explicit)
        return found
    folder = (start or Path.cwd()).resolve()
    for here in (folder, *folder.parents):
        dot = here / ".netwhy.toml"
        if dot.is_file():
            found = _read(dot, table=False)
            if found is not None:
                return found
        pyproject = here / "pyproject.toml"
        if pyproject.is_file():
            found = _read(pyproject, table=True)
            if found is not None:
                return found
    return Config()
