"""`netwhy scan`: a live host read into a Setup.

The host is a lab namespace (its interfaces, routes, sysctls and nftables are real kernel
state); Docker is a stand-in daemon answering Docker's HTTP API on a unix socket with the
JSON a real daemon returns, read through the Docker SDK like a real one.
"""

from __future__ import annotations

import json
import re
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from diagnose.cli import app
from diagnose.lab.plan import plan_setup
from diagnose.lab.sandbox import LabError, Sandbox
from diagnose.lab.verify import bundled
from diagnose.loading import load_path
from diagnose.scan import scan

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "docker-inspect"


@pytest.fixture(scope="module")
def lab_host(lab: None) -> Iterator[Sandbox]:
    scenario = next(s for s in bundled() if s.name == "docker-bridge-publish")
    with Sandbox() as box:
        box.build(plan_setup(scenario.setup))
        yield box


def _runner(box: Sandbox) -> Any:
    def run(argv: list[str]) -> str | None:
        try:
            return box.run("host", argv)
        except LabError:
            return None

    return run


def test_scan_reads_the_hosts_kernel_state(lab_host: Sandbox) -> None:
    result = scan(_runner(lab_host), docker_url=None, daemon_json=None)
    host = result.loaded.setup.host
    assert host is not None
    by_name = {i.name: i for i in host.interfaces or []}
    assert by_name["eth0"].address == "192.168.1.10/24"
    assert by_name["eth0"].gateway == "192.168.1.1"
    assert by_name["docker0"].address == "172.17.0.1/16"
    assert host.ip_forward is True  # the lab's host forwards, as dockerd makes it
    assert host.os == "linux"


class _FakeDocker(BaseHTTPRequestHandler):
    """Docker's API, the few calls a scan makes, answered from real inspect output."""

    containers = json.loads((FIXTURES / "web-container.json").read_text())
    networks = json.loads((FIXTURES / "networks.json").read_text())

    def do_GET(self) -> None:
        path = re.sub(r"^/v[\d.]+", "", self.path.split("?")[0])
        body: Any
        if path == "/_ping":
            body = "OK"
        elif path == "/version":
            body = {"ApiVersion": "1.44", "Version": "26.1.0", "MinAPIVersion": "1.24"}
        elif path == "/containers/json":
            body = [{"Id": c["Id"]} for c in self.containers]
        elif path.startswith("/containers/") and path.endswith("/json"):
            body = next(c for c in self.containers if c["Id"] == path.split("/")[2])
        elif path == "/networks":
            body = [{"Id": n["Id"]} for n in self.networks]
        elif path.startswith("/networks/"):
            body = next(n for n in self.networks if n["Id"] == path.split("/")[2])
        else:
            self.send_error(404)
            return
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(200)
        self.send_header(
            "Content-Type", "text/plain" if isinstance(body, str) else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> Any:
        request, _ = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler wants a (host, port)


@pytest.fixture
def docker_socket(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "docker.sock"
    server = _UnixServer(str(path), _FakeDocker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"unix://{path}"
    server.shutdown()
    server.server_close()


def test_scan_reads_containers_and_networks_through_the_docker_api(docker_socket: str) -> None:
    result = scan(lambda argv: None, docker_url=docker_socket, daemon_json=None)
    setup = result.loaded.setup
    assert setup.host is not None and setup.host.docker == "engine"
    assert setup.docker is not None
    (web,) = [c for c in setup.docker.containers or [] if c.name == "web"]
    assert {(p.host_ip, p.published, p.target) for p in web.ports or []} >= {
        ("0.0.0.0", "8080", "80"),
        ("127.0.0.1", "8443", "443"),
    }
    assert "backend" in {n.name for n in setup.docker.networks or []}


def test_scan_says_when_no_docker_daemon_answers(tmp_path: Path) -> None:
    result = scan(lambda argv: None, docker_url=f"unix://{tmp_path}/none.sock", daemon_json=None)
    assert any("no Docker daemon answers" in note for note in result.notes)
    assert result.loaded.setup.host is not None
    assert result.loaded.setup.host.docker == "none"


def test_cli_scan_writes_a_setup_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "setup.yaml"
    result = CliRunner().invoke(app, ["scan", "--no-docker", "-o", str(out)])
    assert result.exit_code == 0, result.output
    setup = load_path(out)
    assert setup.host is not None and setup.host.os == "linux"
