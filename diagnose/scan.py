"""`netwhy scan`: collect the facts of the running host into a Setup.

What it reads, each through the loader that reads the same text from a file (so a scan and
`netwhy check` of saved outputs agree): `ip -j -d addr`, `ip -j route`, the forwarding and
bridge-netfilter sysctls, `nft -j list ruleset` (or `iptables-save`), /etc/docker/daemon.json,
and Docker's containers and networks through the Docker SDK when a daemon socket answers.
Nothing is changed on the host: every command only reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders import host_facts
from diagnose.loaders.base import Loaded, LoadOptions
from diagnose.loaders.docker_inspect import load as load_inspect
from diagnose.loading import load_setup
from diagnose.merge import merge

Runner = Callable[[list[str]], str | None]
DEFAULT_DOCKER = "unix:///var/run/docker.sock"


def local_runner(argv: list[str]) -> str | None:
    """Run a read-only command on this machine; None when it is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


@dataclass
class Scan:
    loaded: Loaded
    notes: list[str] = field(default_factory=list)  # what could not be read, and why


def _docker(base_url: str) -> tuple[str | None, str | None]:
    """`docker inspect`-like JSON of every container and network, or why not."""
    try:
        import docker  # the SDK, only when a scan asks for Docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - a dependency of netwhy
        return None, "the Docker SDK (python package docker) is not installed"
    if base_url.startswith("unix://") and not Path(base_url[len("unix://") :]).exists():
        return None, f"no Docker daemon answers at {base_url} (no such socket)"
    client = None
    try:
        client = docker.APIClient(base_url=base_url, timeout=10)
        client.ping()
        containers = [client.inspect_container(c["Id"]) for c in client.containers(all=True)]
        networks = [client.inspect_network(n["Id"]) for n in client.networks()]
    except (DockerException, OSError) as exc:
        return None, f"no Docker daemon answers at {base_url} ({type(exc).__name__})"
    finally:
        if client is not None:
            client.close()
    return json.dumps(networks + containers), None


def scan(
    run: Runner = local_runner,
    *,
    docker_url: str | None = DEFAULT_DOCKER,
    daemon_json: Path | None = Path("/etc/docker/daemon.json"),
) -> Scan:
    """Read the host through `run` (a command runner) and Docker's API; merge into one Setup."""
    loads: list[Loaded] = []
    notes: list[str] = []
    options = LoadOptions()

    def read(argv: list[str], kind: str, label: str) -> None:
        text = run(argv)
        if text is None or not text.strip():
            notes.append(f"{label}: not available")
            return
        try:
            loads.append(host_facts.load(text, label, kind, options))
        except InputError as exc:
            notes.append(f"{label}: {exc}")

    read(["ip", "-j", "-d", "addr"], "ip-json", "ip -j addr")
    read(["ip", "-j", "route"], "ip-json", "ip -j route")
    ruleset = run(["nft", "-j", "list", "ruleset"])
    if ruleset and '"rule"' in ruleset:
        try:
            loads.append(host_facts.load(ruleset, "nft -j list ruleset", "nft-json", options))
        except InputError as exc:
            notes.append(f"nft -j list ruleset: {exc}")
    elif ruleset is None:  # no nft here: iptables may still be
        read(["iptables-save"], "iptables", "iptables-save")
    host: dict[str, Any] = {"os": "linux"}
    forward = run(["cat", "/proc/sys/net/ipv4/ip_forward"])
    if forward and forward.strip() in ("0", "1"):
        host["ip_forward"] = forward.strip() == "1"
    bridge_nf = run(["cat", "/proc/sys/net/bridge/bridge-nf-call-iptables"])
    if bridge_nf and bridge_nf.strip() in ("0", "1"):
        host["bridge_netfilter"] = bridge_nf.strip() == "1"
    if daemon_json is not None and daemon_json.is_file():
        try:
            text = daemon_json.read_text("utf-8")
            loads.append(host_facts.load(text, str(daemon_json), "daemon-json", options))
        except (OSError, UnicodeDecodeError, InputError) as exc:
            notes.append(f"{daemon_json}: {exc}")
    if docker_url:
        inspected, why_not = _docker(docker_url)
        if inspected is None:
            notes.append(f"docker: {why_not}")
            host["docker"] = "none" if why_not and "no Docker daemon" in why_not else None
        else:
            host["docker"] = "engine"
            loads.append(load_inspect(inspected, "docker API", "docker-inspect", options))
    host = {k: v for k, v in host.items() if v is not None}
    loads.append(Loaded(load_setup({"host": host}, name="sysctl"), "scan", ("sysctl",)))
    merged = merge(loads, strict=False)
    return Scan(merged, notes + merged.notes)
