"""README examples: every ```console block's commands are run and their output compared.

    python -m tests.readme_blocks --update   # rewrite the outputs in README.md

A block holds `$ command` lines, each followed by its exact output; a last output line `...`
means "the output goes on" (only the lines shown are compared).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


@dataclass
class Example:
    command: str
    output: list[str]
    truncated: bool


def examples(text: str) -> list[Example]:
    """The commands of every console block with their recorded output."""
    out: list[Example] = []
    for block in BLOCK.findall(text):
        current: Example | None = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = Example(line[2:], [], False)
                out.append(current)
            elif current is not None:
                if line == "...":
                    current.truncated = True
                else:
                    current.output.append(line)
    return out


def run(command: str) -> tuple[list[str], int]:
    """Run a README command in the repository root, as a user without a TTY would."""
    argv = shlex.split(command)
    if argv[0] == "netwhy":
        argv = [sys.executable, "-m", "diagnose.cli", *argv[1:]]
    elif argv[0] == "python":
        argv[0] = sys.executable
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    lines = (result.stdout + result.stderr).rstrip("\n").splitlines()
    return lines, result.returncode


def update() -> None:
    """Rewrite each block's outputs with what the commands print now."""
    text = README.read_text("utf-8")

    def redo(match: re.Match[str]) -> str:
        lines: list[str] = []
        for ex in examples(match.group(0)):
            got, _ = run(ex.command)
            lines.append(f"$ {ex.command}")
            if ex.truncated:
                lines += [*got[: max(len(ex.output), 1)], "..."]
            else:
                lines += got
        return "```console\n" + "\n".join(lines) + "\n```"

    README.write_text(BLOCK.sub(redo, text), "utf-8")


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
