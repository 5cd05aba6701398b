"""`netwhy mcp`: the MCP server, driven end to end through the SDK's own stdio client.

Each test starts `python -m diagnose mcp` as a subprocess, speaks MCP to it over its standard
input and output, and is bounded in time (anyio.fail_after): a hung server fails the test.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIMEOUT = 90  # seconds for a whole session: start, handshake, every call, shutdown
TOOLS = {"why", "check_config", "ask", "explain"}

Body = Callable[[ClientSession], Awaitable[None]]


def in_session(body: Body, *extra: str, errlog: Path | None = None) -> None:
    """Start the server, initialize a session and run `body` in it, all within TIMEOUT."""

    async def main() -> None:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "diagnose", "mcp", *extra], cwd=ROOT
        )
        with anyio.fail_after(TIMEOUT):
            if errlog is None:
                async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                    await s.initialize()
                    await body(s)
            else:
                with errlog.open("w") as log:
                    async with (
                        stdio_client(params, errlog=log) as (read, write),
                        ClientSession(read, write) as s,
                    ):
                        await s.initialize()
                        await body(s)

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:  # the task groups wrap a failed assert: show it alone
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        raise leaf from None


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1
    item = result.content[0]
    assert isinstance(item, TextContent)
    return item.text


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    out: dict[str, Any] | None = result.structured_content
    assert out is not None
    return out


def error(result: CallToolResult) -> str:
    """The tool error's message: one line, no traceback."""
    assert result.is_error
    assert result.structured_content is None
    message = text_of(result)
    assert "\n" not in message and "Traceback" not in message, message
    return message


def test_lists_the_four_tools_with_typed_schemas() -> None:
    async def body(s: ClientSession) -> None:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and len(tool.description) > 80
            assert tool.annotations is not None and tool.annotations.read_only_hint
            assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        why = tools["why"]
        assert why.input_schema["required"] == ["setup"]
        setup_types = {a["type"] for a in why.input_schema["properties"]["setup"]["anyOf"]}
        assert setup_types == {"string", "object"}
        assert "en" in why.input_schema["properties"]["lang"]["enum"]
        assert {"verdicts", "findings", "questions"} <= set(why.output_schema["properties"])  # type: ignore[index]
        check = tools["check_config"]
        assert check.input_schema["required"] == ["config"]
        kinds = check.input_schema["properties"]["kind"]["anyOf"][0]["enum"]
        assert {"compose", "vmx", "vagrant", "docker-run", "setup"} <= set(kinds)
        assert {"findings", "suppressed", "kind"} <= set(check.output_schema["properties"])  # type: ignore[index]
        ask = tools["ask"]
        assert ask.input_schema["required"] == ["text"]
        assert {"facts", "answers", "lang"} <= set(ask.input_schema["properties"])
        assert {"status", "questions", "report"} <= set(ask.output_schema["properties"])  # type: ignore[index]
        assert tools["explain"].input_schema["required"] == ["topic"]

    in_session(body)


def test_why_answers_a_bundled_example_as_the_python_api_does() -> None:
    import diagnose

    path = EXAMPLES / "docker-published-port-loopback.yaml"
    expected = diagnose.why(path).model_dump(mode="json")
    text = path.read_text("utf-8")

    async def body(s: ClientSession) -> None:
        as_text = await s.call_tool("why", {"setup": text})
        report = ok(as_text)
        assert report["verdicts"] == expected["verdicts"]
        assert report["findings"] == expected["findings"]
        verdict = report["verdicts"][0]
        assert verdict["status"] == "blocked" and verdict["causes"][0]["rule"] == "DP001"
        summary = text_of(as_text)
        assert "BLOCKED" in summary and "DP001" in summary and "0.0.0.0" in summary
        # The same setup as an object gives the same report.
        as_object = ok(await s.call_tool("why", {"setup": yaml.safe_load(text)}))
        assert as_object["verdicts"] == expected["verdicts"]

    in_session(body)


def test_check_config_reads_a_compose_file_as_netwhy_check_does() -> None:
    from diagnose.batch import CheckOptions, check_file

    path = EXAMPLES / "configs" / "compose.yaml"
    expected = check_file(str(path), CheckOptions())
    want = [(f.rule, f.location.line if f.location else None) for f in expected.findings]
    assert want and expected.suppressed
    text = path.read_text("utf-8")

    async def body(s: ClientSession) -> None:
        named = await s.call_tool("check_config", {"config": text, "name": "compose.yaml"})
        out = ok(named)
        assert out["kind"] == "compose" and out["file"] == "compose.yaml"
        got = [(f["rule"], f["location"]["line"]) for f in out["findings"]]
        assert got == want
        assert all(f["location"]["file"] == "compose.yaml" for f in out["findings"])
        assert [x["finding"]["rule"] for x in out["suppressed"]] == ["DP005"]
        suppression = out["suppressed"][0]["suppression"]
        assert suppression == {
            "file": "compose.yaml",
            "line": 20,
            "reason": "the control server is for this host only",
        }
        summary = text_of(named)
        assert "compose.yaml:7:9: warning DM006" in summary and "read as compose" in summary
        # Without a file name, the kind says how to read it.
        by_kind = ok(await s.call_tool("check_config", {"config": text, "kind": "compose"}))
        assert [(f["rule"], f["location"]["line"]) for f in by_kind["findings"]] == want

    in_session(body)


def test_explain_a_mode_and_a_rule() -> None:
    async def body(s: ClientSession) -> None:
        mode = await s.call_tool("explain", {"topic": "docker:host"})
        out = ok(mode)
        assert out["kind"] == "mode" and out["topic"] == "docker:host"
        assert "namespace" in out["text"] and out["claims"]
        assert text_of(mode).startswith("docker:host")
        rule = ok(await s.call_tool("explain", {"topic": "dp001"}))
        assert rule["topic"] == "DP001" and rule["kind"].startswith("rule") and rule["fixes"]

    in_session(body)


def test_ask_leads_a_conversation_the_client_carries() -> None:
    from diagnose import conversation
    from diagnose.errors import InputError

    if not hasattr(conversation, "ask"):
        pytest.skip("diagnose.conversation.ask is not written yet")
    text = "From another PC on the LAN I can't reach my docker container web on port 8080"
    first_expected = conversation.ask(text).model_dump(mode="json")

    async def body(s: ClientSession) -> None:
        first = await s.call_tool("ask", {"text": text})
        out = ok(first)
        assert out == first_expected
        assert out["lang"] == "en" and out["status"] in ("question", "answer")
        assert out["answer"] in text_of(first)
        if out["status"] == "answer":
            return
        # The client carries the answer back; the server gives what the Python API gives.
        question = next((q for q in out["questions"] if q["choices"]), out["questions"][0])
        assert question["key"] in text_of(first)
        answers = {question["key"]: (question["choices"] or ["8080:80"])[0]}
        second = await s.call_tool("ask", {"text": text, "answers": answers})
        try:
            expected = conversation.ask(text, answers=answers).model_dump(mode="json")
        except InputError as exc:  # an answer ask refuses is a one-line tool error
            assert error(second) == str(exc)
        else:
            assert ok(second) == expected and expected["asked"] == [question["key"]]

    in_session(body)


def test_bad_input_is_a_one_line_tool_error_and_the_server_keeps_serving(
    tmp_path: Path,
) -> None:
    errlog = tmp_path / "stderr.txt"
    good = (EXAMPLES / "docker-published-port-loopback.yaml").read_text("utf-8")

    async def body(s: ClientSession) -> None:
        bad_port = 'docker:\n  containers:\n    - name: web\n      ports: ["99999:80"]\n'
        message = error(await s.call_tool("why", {"setup": bad_port}))
        assert message.startswith("<setup>:4:15: field docker.containers[0].ports[0]:")
        assert "99999" in message
        message = error(await s.call_tool("why", {"setup": {"docker": {"containerz": []}}}))
        assert "docker.containerz" in message and "unknown field" in message
        message = error(await s.call_tool("why", {"setup": "host: {os: linux}\n"}))
        assert "no symptoms" in message
        message = error(await s.call_tool("why", {"setup": 5}))
        assert message == (
            "why: field setup: Input should be a valid string; Input should be a valid dictionary"
        )
        message = error(await s.call_tool("check_config", {"config": ["a"], "kind": 3}))
        assert message == (
            "check_config: field config: Input should be a valid string (and 1 more argument)"
        )
        message = error(await s.call_tool("why", {}))
        assert message == "why: field setup: required argument is missing"
        message = error(await s.call_tool("why", {"setup": good, "lang": "xx"}))
        assert "field lang" in message and "unknown language 'xx'" in message
        broken = "services:\n  web:\n    ports: [\n"
        message = error(
            await s.call_tool("check_config", {"config": broken, "name": "compose.yaml"})
        )
        assert message.startswith("compose.yaml:") and "malformed YAML" in message
        message = error(await s.call_tool("check_config", {"config": "x", "kind": "nope"}))
        assert "field kind" in message and "compose" in message
        message = error(await s.call_tool("explain", {"topic": "docker:hots"}))
        assert "unknown topic" in message and "docker:host" in message
        message = error(await s.call_tool("no_such_tool", {}))
        assert "no_such_tool" in message
        # Still serving, and still right.
        report = ok(await s.call_tool("why", {"setup": good}))
        assert report["verdicts"][0]["status"] == "blocked"

    in_session(body, errlog=errlog)
    assert "Traceback" not in errlog.read_text()


def test_extra_rules_reach_every_tool() -> None:
    async def body(s: ClientSession) -> None:
        rule = ok(await s.call_tool("explain", {"topic": "ZZ001"}))
        assert rule["topic"] == "ZZ001"

    in_session(body, "--rules", str(ROOT / "tests" / "data" / "extra_rules"))


def test_a_bad_rule_folder_is_refused_before_serving(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("rules: [{id: bad}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "diagnose", "mcp", "--rules", str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("netwhy: error: bad rule file:")
    assert len(result.stderr.splitlines()) == 1
