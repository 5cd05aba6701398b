"""`pip install .` into a fresh venv, then `netwhy` from another folder: the wheel is whole."""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_install_runs_outside_the_repo(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    setup = tmp_path / "elsewhere" / "setup.yaml"
    setup.parent.mkdir()
    setup.write_text(
        "docker:\n  containers:\n    - {name: web, ports: ['8080:80'], listens: ['127.0.0.1:80']}\n"
        "symptoms:\n  - {from: lan, to: container:web, port: 8080}\n"
    )
    result = subprocess.run(
        [str(bin_dir / "netwhy"), "why", "setup.yaml", "--format", "json"],
        cwd=setup.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert '"DP001"' in result.stdout
    # `netwhy mcp` works from a plain install too: it answers an MCP client's handshake.
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    served = subprocess.run(
        [str(bin_dir / "netwhy"), "mcp"],
        input=json.dumps(hello) + "\n",
        cwd=setup.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout.splitlines()[0])["result"]["serverInfo"]["name"] == "netwhy"
    # The installed package reads its rules and knowledge from the wheel, not from the repo.
    where = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.resources as r; print(r.files('diagnose.rules'))",
        ],
        cwd=setup.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(env_dir) in where.stdout
