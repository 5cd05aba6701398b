"""`netwhy serve`: the HTTP API, its limits, its errors, and hundreds of requests at once."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from diagnose import server
from diagnose.server import create_app, listen
from tests.conftest import ROOT

LOOPBACK = """\
docker:
  containers:
    - {name: web, ports: ["8080:3000"], listens: ["127.0.0.1:3000"]}
symptoms:
  - {from: lan, to: container:web, port: 8080}
"""
COMPOSE = """\
services:
  proxy:
    image: nginx
    network_mode: host
    ports: ["80:80"]
"""


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """uvicorn serving `app` on an ephemeral port, in a thread."""
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def serving(app: FastAPI) -> Iterator[httpx.Client]:
    """A client of `app` served by a real uvicorn."""
    with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with serving(app) as http:
        yield http


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    assert err["status"] == status
    assert "Traceback" not in err["message"] and "\n" not in err["message"]
    return err


# --------------------------------------------------------------------------------- why


def test_why_takes_yaml_text_and_answers_with_the_report(client: httpx.Client) -> None:
    response = client.post(
        "/v1/why", content=LOOPBACK, headers={"content-type": "application/yaml"}
    )
    assert response.status_code == 200
    verdict = response.json()["verdicts"][0]
    assert verdict["status"] == "blocked"
    assert verdict["causes"][0]["rule"] == "DP001"
    assert "127.0.0.1:3000" in verdict["causes"][0]["title"]


def test_why_takes_a_json_setup(client: httpx.Client) -> None:
    setup = {
        "docker": {
            "containers": [{"name": "api", "ports": ["9000:80"], "listens": ["0.0.0.0:80"]}]
        },
        "symptoms": [{"from": "lan", "to": "container:api", "port": 9000}],
    }
    response = client.post("/v1/why", json=setup)
    assert response.status_code == 200
    report = response.json()
    assert report["schema_version"] == "1.0"
    assert report["verdicts"][0]["status"] == "reachable"
    assert report["verdicts"][0]["question"] == "lan -> container:api port 9000/tcp"


def test_why_bad_input_names_the_line_and_field(client: httpx.Client) -> None:
    text = 'docker:\n  containers:\n    - {name: web, ports: ["99999:80"]}\n'
    err = _error(client.post("/v1/why", content=text), 400)
    assert err["code"] == "bad_input"
    assert err["file"] == "<body>" and err["line"] == 3
    assert err["field"] == "docker.containers[0].ports[0]"
    assert err["message"].startswith("<body>:3:")
    assert "99999" in err["message"]


def test_why_without_symptoms_says_what_it_needs(client: httpx.Client) -> None:
    err = _error(client.post("/v1/why", json={"docker": {"containers": [{"name": "w"}]}}), 400)
    assert err["field"] == "symptoms"


@pytest.mark.parametrize("body", ["{not json", '{"docker": [1,\n  }'])
def test_why_malformed_json_names_the_line(client: httpx.Client, body: str) -> None:
    err = _error(client.post("/v1/why", content=body), 400)
    assert err["message"].startswith("<body>:") and "malformed JSON" in err["message"]
    assert err["line"] is not None


def test_check_malformed_json_body_names_the_line(client: httpx.Client) -> None:
    response = client.post(
        "/v1/check", content=b'{"text":\n  oops}', headers={"content-type": "application/json"}
    )
    err = _error(response, 400)
    assert err["line"] == 2 and "malformed JSON" in err["message"]


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"text": "\xff"}'])
def test_a_body_that_cannot_be_decoded_is_bad_input(client: httpx.Client, body: bytes) -> None:
    # The framework refuses these itself (HTTP 400): its code and words were its own.
    response = client.post("/v1/check", content=body, headers={"content-type": "application/json"})
    err = _error(response, 400)
    assert err["code"] == "bad_input" and "malformed JSON" in err["message"]


def test_a_body_of_another_content_type_is_told_to_send_json(client: httpx.Client) -> None:
    response = client.post(
        "/v1/check", content=b'{"text": "a"}', headers={"content-type": "text/plain"}
    )
    err = _error(response, 422)
    assert err["message"] == "body: send JSON with Content-Type: application/json, not text/plain"


# ------------------------------------------------------------------ no file is ever read


class _FileSpy:
    """Records every file the process opens or stats while armed (audit hook + os.stat)."""

    installed = False
    armed = False
    opened: ClassVar[list[str]] = []

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if cls.armed and event == "open" and args and isinstance(args[0], str | bytes):
            cls.opened.append(os.fsdecode(args[0]))


@pytest.fixture
def file_spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    if not _FileSpy.installed:
        sys.addaudithook(_FileSpy.hook)  # hooks cannot be removed: armed only in these tests
        _FileSpy.installed = True
    seen: list[str] = []
    real_stat = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        seen.append(os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else "")
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    _FileSpy.opened = seen
    _FileSpy.armed = True
    try:
        yield seen
    finally:
        _FileSpy.armed = False


def test_check_name_without_text_reads_nothing(client: httpx.Client, file_spy: list[str]) -> None:
    err = _error(client.post("/v1/check", json={"name": "/etc/passwd"}), 422)
    assert err["field"] == "text" and "missing" in err["message"]
    assert not [p for p in file_spy if "passwd" in p]


def test_check_name_is_only_a_label(client: httpx.Client, file_spy: list[str]) -> None:
    response = client.post(
        "/v1/check", json={"name": "/etc/passwd", "text": COMPOSE, "kind": "compose"}
    )
    assert response.status_code == 200
    result = response.json()
    assert result["name"] == "/etc/passwd"
    assert result["findings"][0]["location"] == {"file": "/etc/passwd", "line": 5, "column": 13}
    assert not [p for p in file_spy if "passwd" in p]


def test_check_reads_nothing_beside_the_name(
    client: httpx.Client, tmp_path: Path, file_spy: list[str]
) -> None:
    # A real compose file with a .env beside it, on the server: naming it reads neither.
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / ".env").write_text("PORT=9999\n")
    (tmp_path / "base.yaml").write_text("services:\n  db:\n    ports: ['5432:5432']\n")
    text = (
        "services:\n"
        "  web:\n    image: nginx\n    ports: ['${PORT:-8080}:80']\n"
        "  db:\n    extends: {file: base.yaml, service: db}\n"
    )
    name = str(tmp_path / "compose.yaml")
    file_spy.clear()  # what the test itself wrote
    response = client.post("/v1/check", json={"name": name, "text": text})
    assert response.status_code == 200, response.text
    assert not [p for p in file_spy if p.startswith(str(tmp_path))]
    result = response.json()
    assert any("base.yaml" in note and "not read" in note for note in result["notes"])


@pytest.mark.parametrize("body", ["/etc/passwd", "examples/vmware-nat-from-lan.yaml"])
def test_why_never_takes_its_body_for_a_path(
    client: httpx.Client, file_spy: list[str], body: str
) -> None:
    err = _error(client.post("/v1/why", content=body), 400)
    assert "a setup is a mapping" in err["message"]
    assert not [p for p in file_spy if p.endswith(("passwd", "vmware-nat-from-lan.yaml"))]


# ------------------------------------------------------------------------------- check


def test_check_detects_the_kind_from_name_and_text(client: httpx.Client) -> None:
    response = client.post("/v1/check", json={"name": "docker-compose.yml", "text": COMPOSE})
    assert response.status_code == 200
    result = response.json()
    assert result["kind"] == "compose"
    [finding] = result["findings"]
    assert finding["rule"] == "DM006"
    assert finding["title"] == "proxy runs in host mode, so its port mapping 80:80 is discarded"
    assert finding["location"] == {"file": "docker-compose.yml", "line": 5, "column": 13}
    assert result["by_severity"] == {"warning": 1}


def test_check_honours_inline_suppressions(client: httpx.Client) -> None:
    text = COMPOSE.replace(
        "    ports:", "    # netwhy: ignore[DM006] the proxy is ours\n    ports:"
    )
    result = client.post("/v1/check", json={"name": "compose.yaml", "text": text}).json()
    assert result["findings"] == []
    [suppressed] = result["suppressed"]
    assert suppressed["finding"]["rule"] == "DM006"
    assert suppressed["reason"] == "the proxy is ours"


def test_check_other_kinds(client: httpx.Client) -> None:
    run = "docker run -d --name api --network host -p 8080:80 nginx\n"
    result = client.post("/v1/check", json={"name": "start.sh", "text": run}).json()
    assert result["kind"] == "docker-run"
    assert [f["rule"] for f in result["findings"]] == ["DM006"]
    given = client.post("/v1/check", json={"text": run, "kind": "docker-run"}).json()
    assert given["kind"] == "docker-run" and given["name"] == "<text>"


def test_check_bad_kind_and_bad_text(client: httpx.Client) -> None:
    err = _error(client.post("/v1/check", json={"text": "a: 1", "kind": "nope"}), 400)
    assert err["field"] == "kind" and "compose" in err["message"]
    bad = "services:\n  web:\n    ports: ['99999:80']\n"
    err = _error(client.post("/v1/check", json={"text": bad, "name": "compose.yaml"}), 400)
    assert err["file"] == "compose.yaml" and err["line"] == 3
    assert err["field"] == "services.web.ports[0]"
    err = _error(client.post("/v1/check", json={"text": COMPOSE, "nmae": "x"}), 422)
    assert err["field"] == "nmae" and "unknown field" in err["message"]


def test_redact_hides_addresses_and_names(client: httpx.Client) -> None:
    setup = LOOPBACK.replace("web", "payroll-db")
    setup += "host: {interfaces: [{name: eth0, address: 10.20.30.40/24}]}\n"
    plain = client.post("/v1/why", content=setup).text
    assert "payroll-db" in plain and "10.20.30.40" in plain
    response = client.post("/v1/why", content=setup, params={"redact": "true"})
    assert response.status_code == 200
    assert "payroll-db" not in response.text and "10.20.30.40" not in response.text
    verdict = response.json()["verdicts"][0]
    assert verdict["status"] == "blocked" and verdict["causes"][0]["rule"] == "DP001"
    text = COMPOSE.replace("proxy", "payroll-proxy")
    body = {"name": "/home/alice/payroll/compose.yaml", "text": text}
    response = client.post("/v1/check", json=body, params={"redact": "true"})
    assert response.status_code == 200
    assert "payroll" not in response.text and "alice" not in response.text
    result = response.json()
    assert result["name"] == "compose.yaml"
    assert [f["rule"] for f in result["findings"]] == ["DM006"]


# --------------------------------------------------------------------------------- ask


def test_ask_answers_as_the_python_api_does(client: httpx.Client) -> None:
    from diagnose.conversation import ask

    text = "nobody on the LAN can open port 8080 of my docker container web"
    answers = {"intake.direction": "lan -> container:container"}
    for body in ({"text": text}, {"text": text, "answers": answers, "lang": "zh"}):
        response = client.post("/v1/ask", json=body)
        assert response.status_code == 200, response.text
        expected = ask(text, answers=body.get("answers"), lang=body.get("lang"))
        assert response.json() == expected.model_dump(mode="json")
    assert response.json()["lang"] == "zh" and response.json()["asked"] == ["intake.direction"]


def test_ask_redacted(client: httpx.Client) -> None:
    text = "my docker container `shop17` at 10.7.0.5 can't reach the internet"
    plain = client.post("/v1/ask", json={"text": text})
    assert "shop17" in plain.text
    shared = client.post("/v1/ask", params={"redact": "true"}, json={"text": text})
    assert shared.status_code == 200, shared.text
    assert "shop17" not in shared.text and "10.7.0.5" not in shared.text


def test_ask_bad_answer_names_the_key(client: httpx.Client) -> None:
    body = {"text": "my vm cannot ping", "answers": {"intake.technology": "banana"}}
    err = _error(client.post("/v1/ask", json=body), 400)
    assert err["field"] == "intake.technology"
    err = _error(client.post("/v1/ask", json={"text": "x", "lang": "fr"}), 422)
    assert err["field"] == "lang"


# --------------------------------------------------------------- rules, explain, health


def test_rules_explain_and_health(client: httpx.Client) -> None:
    rules = client.get("/v1/rules").json()
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids) and "DP001" in ids
    dp001 = next(r for r in rules if r["id"] == "DP001")
    assert dp001["severity"] == "error" and dp001["effect"] == "finding"
    explained = client.get("/v1/explain/vmware:nat").json()
    assert explained["kind"] == "mode" and any(c["id"] == "N3" for c in explained["claims"])
    assert client.get("/v1/explain/dp001").json()["topic"] == "DP001"
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["rules"] == len(rules)


def test_unknown_topic_is_404_with_suggestions(client: httpx.Client) -> None:
    err = _error(client.get("/v1/explain/D77"), 404)
    assert err["field"] == "topic" and "did you mean" in err["message"]


def test_languages(client: httpx.Client) -> None:
    err = _error(client.get("/v1/rules", params={"lang": "fr"}), 422)
    assert err["field"] == "lang" and "'en' or 'zh'" in err["message"]
    response = client.get("/v1/explain/D7", params={"lang": "zh"})
    assert response.status_code == 200 and response.json()["lang"] == "zh"


def test_unknown_endpoint_and_method(client: httpx.Client) -> None:
    assert "GET /v1/nothing" in _error(client.get("/v1/nothing"), 404)["message"]
    assert _error(client.get("/v1/why"), 405)["code"] == "method_not_allowed"


# ------------------------------------------------------------------------------ limits


def test_body_over_the_limit_is_413() -> None:
    with serving(create_app(max_body=1000)) as small:
        err = _error(small.post("/v1/why", content="#" * 1001), 413)
        assert err["code"] == "too_large" and "1,000 bytes" in err["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(5):
                yield b"#" * 300

        assert _error(small.post("/v1/why", content=chunks()), 413)["code"] == "too_large"
        big = {"text": "x" * 2000}
        assert _error(small.post("/v1/check", json=big), 413)["code"] == "too_large"
        assert small.post("/v1/why", content=LOOPBACK).status_code == 200


def test_slow_request_gets_503_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(raw: bytes, lang: str, **_: object) -> bytes:
        time.sleep(1.5)
        return b"{}"

    monkeypatch.setattr(server, "_why", slow)
    with serving(create_app(timeout=0.2, warm=False)) as fast:
        start = time.perf_counter()
        response = fast.post("/v1/why", content=LOOPBACK)
        elapsed = time.perf_counter() - start
    err = _error(response, 503)
    assert err["code"] == "timeout" and "0.2 s" in err["message"]
    assert response.headers["retry-after"] == "1"
    assert elapsed < 1.2  # the worker thread is left behind, the client is not kept waiting


def test_a_bug_is_one_line_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: bytes, lang: str, **_: object) -> bytes:
        raise KeyError("oops")

    monkeypatch.setattr(server, "_why", broken)
    with serving(create_app(warm=False)) as c:
        err = _error(c.post("/v1/why", content=LOOPBACK), 500)
    assert err["code"] == "internal" and "KeyError" in err["message"]


# ------------------------------------------------------------------------------ OpenAPI


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_openapi_describes_requests_and_responses(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for ref in set(_refs(doc)):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    paths = doc["paths"]
    assert set(paths) == {
        "/v1/why",
        "/v1/check",
        "/v1/ask",
        "/v1/rules",
        "/v1/explain/{topic}",
        "/healthz",
    }

    def ok(path: str, method: str) -> str:
        schema = paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        return json.dumps(schema)

    assert "/Report" in ok("/v1/why", "post")
    assert "/CheckResult" in ok("/v1/check", "post")
    assert "/AskResult" in ok("/v1/ask", "post")
    assert "/RuleOut" in ok("/v1/rules", "get")
    assert "/Explanation" in ok("/v1/explain/{topic}", "get")
    why_body = paths["/v1/why"]["post"]["requestBody"]["content"]
    assert why_body["application/json"]["schema"] == {"$ref": "#/components/schemas/Setup"}
    assert "symptoms" in schemas["Setup"]["properties"]
    assert "from" in schemas["Symptom"]["properties"]
    assert "/ErrorBody" in json.dumps(paths["/v1/why"]["post"]["responses"]["400"])
    check_kind = schemas["CheckRequest"]["properties"]["kind"]
    assert "compose" in json.dumps(check_kind)


# ------------------------------------------------------------------ a real server, busy


def _request(i: int) -> tuple[str, dict[str, Any]]:
    """The i-th request: three kinds, each with its own names, ports and addresses."""
    if i % 3 == 0:  # a container whose app binds loopback (blocked) or every address
        loopback = i % 2 == 0
        listen_on = f"{'127.0.0.1' if loopback else '0.0.0.0'}:{3000 + i}"
        setup = {
            "docker": {
                "containers": [
                    {
                        "name": f"web{i}",
                        "ports": [f"{20000 + i}:{3000 + i}"],
                        "listens": [listen_on],
                    }
                ]
            },
            "symptoms": [{"from": "lan", "to": f"container:web{i}", "port": 20000 + i}],
        }
        return "/v1/why", {"json": setup}
    if i % 3 == 1:  # a VMware NAT guest, asked about from the LAN
        text = (
            "vms:\n"
            f"  - name: vm{i}\n"
            "    hypervisor: vmware\n"
            "    adapters:\n"
            f"      - {{mode: nat, network: VMnet8, address: 192.168.80.{3 + i % 250}/24}}\n"
            f"symptoms:\n  - {{from: lan, to: vm:vm{i}, port: {1000 + i}}}\n"
        )
        return "/v1/why", {"content": text}
    text = f"services:\n  svc{i}:\n    image: nginx\n    network_mode: host\n"
    text += f"    ports: ['{30000 + i}:80']\n"
    return "/v1/check", {"json": {"name": f"compose-{i}.yaml", "text": text}}


def _expect(i: int, status: int, body: dict[str, Any]) -> None:
    """The answer to request i is about request i's own input."""
    assert status == 200, (i, body)
    if i % 3 == 0:
        [verdict] = body["verdicts"]
        assert verdict["question"] == f"lan -> container:web{i} port {20000 + i}/tcp"
        if i % 2 == 0:
            assert verdict["status"] == "blocked", i
            cause = verdict["causes"][0]
            assert cause["rule"] == "DP001"
            assert cause["title"] == (
                f"The app in web{i} listens on 127.0.0.1:{3000 + i}, "
                "so the published port gets no answer"
            )
        else:
            assert verdict["status"] == "reachable", i
    elif i % 3 == 1:
        [verdict] = body["verdicts"]
        assert verdict["question"] == f"lan -> vm:vm{i} port {1000 + i}/tcp"
        assert verdict["status"] == "blocked"
        assert verdict["causes"][0]["rule"] == "VW008"
        assert f"vm{i} is behind VMware NAT" in verdict["causes"][0]["title"]
        assert f"port {1000 + i} " in verdict["causes"][0]["title"]
    else:
        assert body["name"] == f"compose-{i}.yaml"
        [finding] = body["findings"]
        assert finding["title"] == (
            f"svc{i} runs in host mode, so its port mapping {30000 + i}:80 is discarded"
        )
        assert finding["location"]["file"] == f"compose-{i}.yaml"


def test_hundreds_of_different_requests_at_once(app: FastAPI) -> None:
    count = 300

    async def fire(base: str) -> list[tuple[int, int, dict[str, Any]]]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:

            async def one(i: int) -> tuple[int, int, dict[str, Any]]:
                path, kwargs = _request(i)
                response = await http.post(path, **kwargs)
                return i, response.status_code, response.json()

            return await asyncio.gather(*(one(i) for i in range(count)))

    with live_server(app) as base:
        answers = asyncio.run(fire(base))
    assert len(answers) == count
    for i, status, body in answers:
        _expect(i, status, body)


# ----------------------------------------------------------------------- the command


def test_kept_alive_connections_do_not_wait_for_delayed_acks(client: httpx.Client) -> None:
    # asyncio sets TCP_NODELAY only on connections accepted from a socket whose protocol is
    # TCP; without it every answer after the first on a connection took ~40 ms more.
    sock = listen("127.0.0.1", 0)
    with sock:
        assert sock.proto == socket.IPPROTO_TCP
    times = []
    for _ in range(5):
        start = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        times.append(time.perf_counter() - start)
    assert min(times[1:]) < 0.035, times  # generous: the stall was >= 40 ms every time


def test_serve_command_answers_and_refuses_a_taken_port() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "diagnose.cli", "serve", "--port", "0"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stderr is not None
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "the server stopped before it listened"
            found = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        assert port, "no port announced"
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).json()
        assert health["status"] == "ok"
        taken = subprocess.run(
            [*argv[:-1], str(port)], capture_output=True, text=True, env=env, timeout=120
        )
        assert taken.returncode == 2
        assert taken.stderr.startswith("netwhy: error: ")
        assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # and closes the pipe


# ----------------------------------------------------------------------- the README


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index("## Serving over HTTP")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _blocks(section: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


_JQ = re.compile(r"^\.(\w+)\[\] \| \{(.*)\}$")
_LIST_OF = re.compile(r"^(\w+): \[\.(\w+)\[\]\.(\w+)\]$")


def _jq(program: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The README's jq programs: `.LIST[] | {field, ..., name: [.list[].field]}`."""
    match = _JQ.match(program)
    assert match, f"the README uses a jq program this test cannot replay: {program}"
    out = []
    for item in data[match.group(1)]:
        row = {}
        for part in match.group(2).split(", "):
            listed = _LIST_OF.match(part)
            if listed:
                name, items, field = listed.groups()
                row[name] = [x[field] for x in item[items]]
            else:
                row[part] = item[part]
        out.append(row)
    return out


def _documents(text: str) -> list[Any]:
    """The JSON documents of a README block, one after the other (as jq prints them)."""
    decoder, out, pos = json.JSONDecoder(), [], 0
    while text[pos:].strip():
        pos += len(text[pos:]) - len(text[pos:].lstrip())
        value, pos = decoder.raw_decode(text, pos)
        out.append(value)
    return out


def test_readme_http_examples_show_real_answers(client: httpx.Client) -> None:
    """Each `curl` of the README is replayed here, and its answer must be the one shown."""
    blocks = _blocks(_readme_section())
    shown = 0
    for (lang, code), (next_lang, answer) in itertools.pairwise(blocks):
        if lang != "sh" or "curl " not in code or next_lang != "json":
            continue
        command = code.replace("\\\n", " ")
        curl, _, jq = command.partition("| jq ")
        argv = shlex.split(curl)
        url = next(a for a in argv if a.startswith("http"))
        path = "/" + url.split("/", 3)[3]
        data = argv[argv.index("-d") + 1] if "-d" in argv else None
        if "--data-binary" in argv:
            data = (ROOT / argv[argv.index("--data-binary") + 1].lstrip("@")).read_text()
        headers: dict[str, str] = {}
        for k, a in enumerate(argv):
            if a == "-H":
                key, _, value = argv[k + 1].partition(":")
                headers[key.strip()] = value.strip()
        if data is None:
            response = client.get(path, headers=headers)
        else:
            response = client.post(path, content=data, headers=headers)
        got = _jq(shlex.split(jq)[0], response.json()) if jq else [response.json()]
        assert got == _documents(answer), f"README answer of {path} is stale"
        shown += 1
    assert shown >= 3
