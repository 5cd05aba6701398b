"""`netwhy mcp`: netwhy's tools for chat clients, over the Model Context Protocol (stdio).

Four tools, each a thin layer over the Python API: `why` (a setup in, verdicts out),
`check_config` (a config file's text in, findings out, as `netwhy check` reads it), `ask` (a
question in plain words in, the next question or the answer out) and `explain` (a topic in, what
netwhy knows about it out). Each result carries the JSON of the API's own model as structured
content, plus a few lines of text for clients that only read text. Bad input comes back as a
tool error whose one line names the file, line and field; the server keeps serving.

Stateless, like the rest of netwhy: a client carries the facts and answers from call to call.
The module is not called `mcp.py`: that would shadow the SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError, WithJsonSchema

from diagnose.batch import INPUT_RULES, CheckOptions, FileResult, check_text
from diagnose.conversation import AskResult
from diagnose.errors import EngineError, InputError, RuleError
from diagnose.explain import Explanation
from diagnose.languages import LANGUAGES
from diagnose.loaders import KINDS
from diagnose.report import SCHEMA_VERSION, Finding, Report, Verdict
from diagnose.yamltext import MAX_BYTES

if TYPE_CHECKING:
    from mcp.server.mcpserver.context import Context

log = logging.getLogger("diagnose.mcp")

INSTRUCTIONS = """\
netwhy diagnoses virtual-machine and Docker networking: why can't A reach B?
- `why`: give a setup (YAML/JSON text or an object: host, lan, vms, docker, symptoms) with at
  least one symptom {from, to, port}; get a verdict per symptom (reachable / blocked / unknown),
  the path hop by hop, ranked causes with fixes, and questions that would settle what is unknown.
- `check_config`: give the text of a config file (docker compose, `docker inspect` JSON,
  `docker run` lines, .vmx, .vbox, libvirt XML, Vagrantfile, daemon.json, ip/iptables output, a
  netwhy setup); get lint-like findings with line numbers.
- `ask`: give the user's own words; netwhy answers or asks the next question. Send back every
  answer so far in `answers` (key -> value) with the same text: the server keeps no state.
- `explain`: a network mode (docker:host, vmware:nat), a rule id (DP001) or a claim id (D7).
"""

# --------------------------------------------------------------------------- input types

Lang = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "enum": list(LANGUAGES), "description": "language of the texts"}
    ),
]
SetupIn = Annotated[
    str | dict[str, Any],
    Field(
        description=(
            "the setup: YAML or JSON text, or an object (host, lan, vms, docker, symptoms); "
            "`why` needs at least one symptom, e.g. "
            "{from: lan, to: container:web, port: 8080}"
        )
    ),
]
ConfigIn = Annotated[
    str,
    Field(description="the text of one config file, e.g. a compose file or a .vmx"),
]
KindIn = Annotated[
    Annotated[str, WithJsonSchema({"type": "string", "enum": list(KINDS)})] | None,
    Field(description="the file's format; detected from `name` and the text when left out"),
]
NameIn = Annotated[
    str | None,
    Field(
        description=(
            "the file's name (e.g. compose.yaml, Vagrantfile): helps to detect the format and "
            "names the file in findings"
        )
    ),
]
FieldValues = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            'setup field path -> value, e.g. {"vms[vm].hypervisor": "vmware"}; a question\'s '
            "`key` is such a path"
        )
    ),
]
AskLang = Annotated[
    Annotated[str, WithJsonSchema({"type": "string", "enum": list(LANGUAGES)})] | None,
    Field(description="language of the conversation; detected from the text when left out"),
]

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


# -------------------------------------------------------------------------- output types


class Suppression(BaseModel):
    """An inline `# netwhy: ignore[ID] reason` comment."""

    file: str
    line: int
    reason: str | None


class Suppressed(BaseModel):
    """A finding a suppression comment silenced."""

    finding: Finding
    suppression: Suppression


class ConfigCheck(BaseModel):
    """What `netwhy check` says about one config file (one entry of its JSON `files`)."""

    schema_version: str = SCHEMA_VERSION
    file: str
    kind: str | None = Field(description="the format the file was read as")
    findings: list[Finding]
    suppressed: list[Suppressed]
    notes: list[str] = Field(description="what the loader could not read")
    verdicts: list[Verdict] = Field(description="verdicts of the symptoms a setup file holds")


# ------------------------------------------------------------------------------- helpers


def _bounded(text: str, what: str) -> str:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise InputError(f"the text is {size:,} bytes; the limit is {MAX_BYTES:,}", field=what)
    return text


def _language(lang: str | None, field: str = "lang") -> None:
    if lang is not None and lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}; one of: {', '.join(LANGUAGES)}", field=field)


def _error(message: str) -> CallToolResult:
    """A tool error: one line, whatever the exception's text held."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    return CallToolResult(content=[TextContent(type="text", text=line)], is_error=True)


def _result(compute: Callable[[], tuple[BaseModel, str]]) -> CallToolResult:
    """Run a tool body: its model as structured content plus a text summary, or a tool error."""
    try:
        model, summary = compute()
    except InputError as exc:
        return _error(str(exc))
    except RuleError as exc:
        return _error(f"bad rule file: {exc}")
    except EngineError as exc:
        return _error(f"rule engine: {exc}")
    except Exception as exc:  # a bug: still one line for the client, the traceback on stderr
        log.exception("netwhy tool failed")
        return _error(f"internal error ({type(exc).__name__}: {exc})")
    return CallToolResult(
        content=[TextContent(type="text", text=summary)],
        structured_content=model.model_dump(mode="json"),
    )


def _one_line(exc: ValidationError) -> str:
    """The first argument with a problem, as `field x: message` (the arguments are flat, so
    a deeper location is a union member, e.g. `setup.str`: its messages are joined)."""
    errors = exc.errors(include_url=False)
    name = str(errors[0]["loc"][0]) if errors[0]["loc"] else "arguments"
    messages: list[str] = []
    for err in errors:
        if (str(err["loc"][0]) if err["loc"] else "arguments") != name:
            continue
        if err["type"] == "missing":
            msg = "required argument is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown argument"
        else:
            msg = str(err["msg"])
        if msg not in messages:
            messages.append(msg)
    others = len({str(e["loc"][0]) if e["loc"] else "arguments" for e in errors}) - 1
    more = f" (and {others} more argument{'s' if others > 1 else ''})" if others else ""
    return f"field {name}: {'; '.join(messages)}{more}"


# ------------------------------------------------------------------------------ summaries


def _count(findings: list[Finding]) -> str:
    by: dict[str, int] = {}
    for f in findings:
        by[f.severity] = by.get(f.severity, 0) + 1
    parts = [f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in by.items()]
    return "findings: " + (", ".join(parts) if parts else "none")


def _why_summary(report: Report) -> str:
    lines: list[str] = []
    for v in report.verdicts:
        lines.append(f"{v.symptom}: {v.question}: {v.status.upper()} {v.summary}")
        if v.causes:
            cause = v.causes[0]
            lines.append(f"  cause {cause.rule}: {cause.title}")
            for fix in cause.fixes[:1]:
                command = f" `{'; '.join(fix.command.splitlines())}`" if fix.command else ""
                lines.append(f"  fix: {fix.text}{command}")
        for q in v.questions[:1]:
            lines.append(f"  to settle it, answer {q.fills}: {q.text}")
    lines.append(_count(report.findings))
    return "\n".join(lines)


def _check_summary(result: FileResult) -> str:
    from diagnose.render.lint import render_text

    lines = [line for line in render_text([result], full=False).splitlines() if line]
    lines[-1] += f"; read as {result.kind}"
    return "\n".join(lines)


def _ask_summary(result: AskResult) -> str:
    lines = [result.answer]
    for q in result.questions[:1]:
        if q.text not in result.answer:
            lines.append(q.text)
        choices = f", one of: {', '.join(q.choices)}" if q.choices else ""
        lines.append(f"(to answer, call ask again with answers {{{q.key!r}: ...}}{choices})")
    return "\n".join(lines)


def _explain_summary(e: Explanation) -> str:
    from diagnose.explain import render_text

    return render_text(e).rstrip("\n")


# -------------------------------------------------------------------------------- server


class NetwhyServer(MCPServer[Any]):
    """MCPServer whose argument errors are one line (pydantic's are a multi-line listing)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return _error(f"{name}: {_one_line(exc.__cause__)}")
            raise


def build_server(rules: tuple[str, ...] = ()) -> NetwhyServer:
    """The MCP server with its four tools; `rules` adds folders of rules to the diagnoses of
    `why`, `check_config` and `explain` (`ask`, like `netwhy ask`, uses the bundled rules)."""
    from diagnose import __version__

    server = NetwhyServer(
        "netwhy",
        title="netwhy",
        description="Why can't A reach B? Diagnosis of VM and Docker networking.",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    @server.tool(title="Why can't A reach B?", annotations=_READ_ONLY)
    def why(setup: SetupIn, lang: Lang = "en") -> Annotated[CallToolResult, Report]:
        """Answer each symptom of a setup: reachable, blocked or unknown, with the path hop by
        hop (the hop that breaks marked), ranked causes with fixes (exact commands), the
        questions whose answers would settle what is unknown, and findings on the whole setup.
        """

        def run() -> tuple[BaseModel, str]:
            from diagnose.api import why as api_why
            from diagnose.loading import load_setup, load_text

            _language(lang)
            if isinstance(setup, str):
                model = load_text(_bounded(setup, "setup"), "<setup>")
            else:
                model = load_setup(setup)
            report = api_why(model, rules=rules, lang=lang)
            return report, _why_summary(report)

        return _result(run)

    @server.tool(title="Check a config file", annotations=_READ_ONLY)
    def check_config(
        config: ConfigIn, kind: KindIn = None, name: NameIn = None, lang: Lang = "en"
    ) -> Annotated[CallToolResult, ConfigCheck]:
        """Check one config file like a linter, as `netwhy check` does: Docker Compose,
        `docker inspect` JSON, `docker run` lines (also in scripts and READMEs), VMware .vmx and
        vmnet conf, VirtualBox .vbox or `VBoxManage showvminfo`, libvirt XML, Vagrantfiles,
        daemon.json, `ip -j`, iptables-save or nft output, or a netwhy setup. Findings carry
        the line and column they are about; `# netwhy: ignore[ID] reason` comments apply.
        """

        def run() -> tuple[BaseModel, str]:
            _language(lang)
            if kind is not None and kind not in KINDS:
                raise InputError(f"unknown kind {kind!r}; one of: {', '.join(KINDS)}", field="kind")
            options = CheckOptions(kind=kind, rules=rules, lang=lang)
            result = check_text(_bounded(config, "config"), name or "<config>", options)
            if result.input_error:
                bad = next(f for f in result.findings if f.rule in INPUT_RULES)
                where = result.file
                if bad.location is not None:
                    loc = bad.location
                    where = loc.file + "".join(f":{n}" for n in (loc.line, loc.column) if n)
                raise InputError(f"{where}: {bad.title}")
            out = ConfigCheck(
                file=result.file,
                kind=result.kind,
                findings=result.findings,
                suppressed=[
                    Suppressed(
                        finding=f,
                        suppression=Suppression(file=s.file, line=s.line, reason=s.reason),
                    )
                    for f, s in result.suppressed
                ],
                notes=result.notes,
                verdicts=result.report.verdicts if result.report else [],
            )
            return out, _check_summary(result)

        return _result(run)

    @server.tool(title="Ask in plain words", annotations=_READ_ONLY)
    def ask(
        text: Annotated[
            str, Field(description="the user's description or question, in English or Chinese")
        ],
        facts: FieldValues = None,
        answers: FieldValues = None,
        lang: AskLang = None,
    ) -> Annotated[CallToolResult, AskResult]:
        """One turn of a diagnostic conversation: read what the user wrote, then either answer
        (status "answer", with the diagnosis) or ask the question whose answer best narrows the
        causes (status "question"). Stateless: send the same text again with every answer so
        far in `answers`, keyed by each question's `key`; `facts` are values known up front.
        """

        def run() -> tuple[BaseModel, str]:
            from diagnose.conversation import ask as do_ask

            _language(lang)
            result = do_ask(_bounded(text, "text"), facts=facts, answers=answers, lang=lang)
            return result, _ask_summary(result)

        return _result(run)

    @server.tool(title="Explain a mode, rule or claim", annotations=_READ_ONLY)
    def explain(
        topic: Annotated[
            str,
            Field(
                description=(
                    "a network mode (docker:host, docker:bridge, vmware:nat, virtualbox:nat...), "
                    "a rule id (DP001), a claim id (D7) or a device"
                )
            ),
        ],
        lang: Lang = "en",
    ) -> Annotated[CallToolResult, Explanation]:
        """Explain what netwhy knows about a topic: how a network mode behaves, what a rule
        checks and how to fix what it finds, or a claim of the source document and the rules
        that rely on it. An unknown topic is an error that suggests the nearest topics."""

        def run() -> tuple[BaseModel, str]:
            from diagnose.diagnosis import engine_for
            from diagnose.explain import explain as do_explain

            _language(lang)
            cat = engine_for(rules).catalogue if rules else None
            result = do_explain(topic, lang=lang, cat=cat)
            return result, _explain_summary(result)

        return _result(run)

    return server


def serve(rules: tuple[str, ...] = ()) -> None:
    """Run the MCP server on standard input and output until the client closes it."""
    # Plain one-line log records on stderr (stdout carries the protocol).
    logging.basicConfig(
        level=logging.WARNING, format="netwhy mcp: %(levelname)s %(name)s: %(message)s"
    )
    if rules:  # a bad rule folder is refused before serving (the CLI prints one line)
        from diagnose.diagnosis import engine_for

        engine_for(rules)
    build_server(rules).run("stdio")
