"""The whole ruleset over the bundled examples, in a child process, against reviewed answers."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.conftest import EXAMPLES, ROOT


def test_examples_give_the_reviewed_answers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.examples_golden"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout)
    expected = yaml.safe_load((ROOT / "tests" / "examples_expected.yaml").read_text())
    assert got == expected, "review, then refresh: python -m tests.examples_golden --yaml"


def test_there_are_examples_of_every_situation() -> None:
    names = {p.stem for p in EXAMPLES.glob("*.yaml")}
    assert len(names) >= 12
    for needed in (
        "vmware-bridged",
        "vmware-nat",
        "vmware-hostonly",
        "virtualbox-nat",
        "libvirt-default-nat",
        "docker-host-mode",
        "docker-none-mode",
        "docker-container-mode",
        "docker-user-defined-network",
        "docker-desktop",
        "subnet-conflict",
        "vm-and-containers",
        "docker-published-port",
    ):
        assert any(n.startswith(needed) for n in names), needed
