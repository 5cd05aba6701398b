"""The `netwhy` command: parses options and calls the API; no diagnosis happens here."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

# pydantic scans every installed package's entry points for plugins on first use (about
# 12 ms of each run); the command uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from diagnose.errors import EngineError, InputError, RuleError
from diagnose.exitcodes import ExitCode
from diagnose.languages import LANGUAGES

if TYPE_CHECKING:
    from diagnose.config import Config
    from diagnose.report import Report

app = typer.Typer(
    name="netwhy",
    help="Why can't A reach B? Diagnosis of VM and Docker networking, with the path and the fix.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


SetupArg = Annotated[str, typer.Argument(help="setup file (YAML or JSON), or - for stdin")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="output format")]
RulesOpt = Annotated[
    list[str] | None, typer.Option("--rules", help="a folder of extra rules (*.yaml); repeatable")
]
LangOpt = Annotated[
    str, typer.Option("--lang", help="language of the texts", callback=lambda v: _lang(v))
]
RedactOpt = Annotated[
    bool,
    typer.Option(
        "--redact", help="replace addresses and names by stable placeholders, to share the output"
    ),
]


def _fail(message: str) -> NoReturn:
    from diagnose.render.safe import visible  # a file name may hold ESC or undecodable bytes

    typer.echo(f"netwhy: error: {visible(message)}", err=True)
    raise typer.Exit(ExitCode.BAD_INPUT)


def _fancy() -> bool:
    return (
        sys.stdout.isatty()
        and os.environ.get("NO_COLOR") is None
        and os.environ.get("TERM") != "dumb"
    )


def _guard(func: typer.models.CommandFunctionType) -> typer.models.CommandFunctionType:
    """Turn every expected error into one line on stderr and exit code 2."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            _fail(str(exc))
        except RuleError as exc:
            _fail(f"bad rule file: {exc}")
        except EngineError as exc:
            _fail(f"rule engine: {exc}")
        except (BrokenPipeError, KeyboardInterrupt):
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        except OSError as exc:  # e.g. writing the report to a full disk
            _fail(f"cannot write the output: {exc.strerror or exc}")
        except (typer.Exit, typer.Abort, typer.BadParameter):  # typer reports a usage error
            raise
        except Exception as exc:  # a bug: still one line, the traceback on request
            if os.environ.get("NETWHY_DEBUG"):
                raise
            _fail(f"internal error ({type(exc).__name__}: {exc}); NETWHY_DEBUG=1 shows where")

    return wrapper  # type: ignore[return-value]


def _setup_source(setup: str) -> Path | str:
    """The SETUP argument is a path (or - for standard input), never inline text."""
    return setup if setup == "-" else Path(setup)


def _lang(value: str) -> str:
    if value not in LANGUAGES:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(LANGUAGES)}")
    return value


def _env(values: list[str] | None) -> list[str] | None:
    for item in values or []:
        name, sep, _ = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE")
    return values


def _rule_ids(values: list[str] | None) -> list[str] | None:
    """Ids or prefixes, in upper case; a comma-separated list in one value is split."""
    from diagnose.config import rule_prefix

    out = []
    for value in values or []:
        for part in value.split(","):
            try:
                out.append(rule_prefix(part.strip()))
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None
    return out if values is not None else None


def _emit(text: str) -> None:
    from diagnose.render.safe import utf8  # a file name that is not UTF-8 must not end the run

    text = utf8(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _emit_report(report: Report, format: Format, text: Callable[..., str]) -> None:
    """Print a report as JSON, markdown, or with the given text renderer."""
    if format is Format.json:
        from diagnose.render.safe import scrub, shown

        _emit(scrub(report, shown).model_dump_json(indent=2))
    elif format is Format.markdown:
        from diagnose.render.markdown import render

        _emit(render(report))
    else:
        _emit(text(report, fancy=_fancy()))


@app.command()
@_guard
def why(
    setup: SetupArg,
    format: FormatOpt = Format.text,
    rules: RulesOpt = None,
    lang: LangOpt = "en",
    redact: RedactOpt = False,
) -> None:
    """Answer each symptom: reachable, blocked or unknown, hop by hop, with causes and fixes.

    Exit code 0 when every symptom is reachable, 1 when one is blocked or unknown, 2 on bad input.
    """
    from diagnose.api import why as api_why
    from diagnose.render.text import render_why

    report = api_why(_setup_source(setup), rules=rules or (), lang=lang)
    if redact:
        from diagnose.diagnosis import engine_for
        from diagnose.redact import redact_report

        report = redact_report(report, catalogue=engine_for(tuple(rules or ())).catalogue)
    _emit_report(report, format, render_why)
    if any(v.status != "reachable" for v in report.verdicts):
        raise typer.Exit(ExitCode.FINDINGS)


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"
    junit = "junit"


@app.command()
@_guard
def ask(
    question: Annotated[str, typer.Argument(help="the question, in English or Chinese")],
    fact: Annotated[
        list[str] | None,
        typer.Option("--fact", help="KEY=VALUE known beforehand, e.g. vms[vm].hypervisor=vmware"),
    ] = None,
    answers: Annotated[
        str | None, typer.Option("--answers", help="a YAML/JSON file of answers to replay")
    ] = None,
    record: Annotated[
        str | None, typer.Option("--record", help="write the answers given here to this file")
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="never prompt: print the turn as JSON")
    ] = False,
    format: Annotated[
        Format | None, typer.Option("--format", "-f", help="output format of the answer")
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="language of the texts (default: the question's)",
            callback=lambda v: v if v is None else _lang(v),
        ),
    ] = None,
    redact: RedactOpt = False,
) -> None:
    """Ask in plain words; netwhy asks back what it needs, then answers with the path and fix.

    At a terminal it prompts for each question (why? how? skip); with --no-input, or when
    input is not a terminal, it prints one turn as JSON: the pending questions, best first.
    Exit code 0 when the connection should work, 1 when blocked, unknown or still asking.
    """
    from diagnose.dialogue import converse, finish, load_answers, parse_facts
    from diagnose.render.text import render_why

    facts = parse_facts(fact or [])
    given = load_answers(answers) if answers else {}
    interactive = not no_input and sys.stdin.isatty() and format is not Format.json
    if interactive:
        result = converse(
            question, facts=facts, answers=given, lang=lang, read=input, say=typer.echo
        )
    else:
        from diagnose.conversation import ask as api_ask

        result = api_ask(question, facts=facts, answers=given, lang=lang)
    if record:
        # The answers so far (replayed ones too), for --answers next time.
        import yaml

        Path(record).write_text(
            yaml.safe_dump(given, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    if redact:
        from diagnose.redact import redact_turn

        result = redact_turn(result)
    if format is Format.json or (format is None and not interactive):
        _emit(result.model_dump_json(indent=2))
    elif format is Format.markdown:
        from diagnose.render.markdown import render

        # The report opens with its own short answer; a pending question follows it.
        more = f"\n**{result.questions[0].text}**\n" if result.questions else ""
        _emit(render(result.report) + more)
    else:
        _emit("\n" + result.answer + "\n")
        if result.report.verdicts:
            _emit(render_why(result.report, fancy=_fancy()))
        if interactive and result.status == "answer":
            finish(result, read=input, say=typer.echo)
    statuses = {v.status for v in result.report.verdicts}
    if result.status == "question" or statuses != {"reachable"}:
        raise typer.Exit(ExitCode.FINDINGS)


@app.command()
@_guard
def check(
    paths: Annotated[
        list[str], typer.Argument(help="files or folders (walked), or - for standard input")
    ],
    format: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="output format")
    ] = CheckFormat.text,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="lowest severity that makes the exit code 1"),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            help="report only these rule ids or prefixes (repeatable, or comma-separated)",
            callback=lambda v: _rule_ids(v),
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="never report these ids or prefixes (repeatable, or comma-separated)",
            callback=lambda v: _rule_ids(v),
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="read every input as this format")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env", help="NAME=VALUE for ${NAME} in compose files", callback=lambda v: _env(v)
        ),
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="in folders, read only these globs")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="never read these globs")
    ] = None,
    one_setup: Annotated[
        bool, typer.Option("--setup", help="the files describe ONE setup together")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="parallel processes")] = 1,
    config: Annotated[
        str | None, typer.Option("--config", help="pyproject.toml or .netwhy.toml to use")
    ] = None,
    full: Annotated[
        bool | None, typer.Option("--full/--short", help="explanations and fixes in text")
    ] = None,
    rules: RulesOpt = None,
    lang: LangOpt = "en",
    redact: RedactOpt = False,
) -> None:
    """Check config files (compose, docker inspect, docker run, .vmx, VirtualBox, libvirt,
    Vagrantfiles, host facts, netwhy setups) and report findings like a linter."""
    from diagnose.batch import INPUT_RULES, CheckOptions, check_many, collect, failing
    from diagnose.config import find_config

    cfg = found = find_config(explicit=config)
    update: dict[str, object] = {}
    # --select and --ignore were checked and put in upper case as they were parsed (_rule_ids).
    if select:
        update["select"] = select
    if ignore:
        update["ignore"] = [*cfg.ignore, *ignore]
    if exclude:
        update["exclude_here"] = exclude
    if fail_on is not None:
        update["fail_on"] = fail_on.value
    cfg = cfg.model_copy(update=update)
    pairs = [(name, value) for name, _, value in (item.partition("=") for item in env or [])]
    options = CheckOptions(
        config=cfg,
        kind=kind,
        env=tuple(pairs),
        rules=tuple(rules or ()),
        lang=lang,
        jobs=jobs,
        include=tuple(include or ()),
        one_setup=one_setup,
        how=True if redact else None,  # redaction reads the names in every report's facts
    )
    if rules:  # a bad rule folder is a usage error, before any file is read
        from diagnose.diagnosis import engine_for

        engine_for(tuple(rules))
    _refuse_unknown_ids(found, select, ignore, tuple(rules or ()))
    files = collect(paths, options)
    if not files:
        _fail("no files to check (folders are searched for config files; see --include)")
    progress = _progress if sys.stderr.isatty() and len(files) > 1 else None
    results = check_many(files, options, progress)
    if progress:
        sys.stderr.write("\r\x1b[K")
    if redact:
        from diagnose.diagnosis import engine_for
        from diagnose.redact import redact_results

        results = redact_results(results, catalogue=engine_for(tuple(rules or ())).catalogue)
    # Unusable inputs: one line each on stderr (and as IN001/IN002 findings in JSON/SARIF).
    from diagnose.render.safe import visible

    for result in results:
        for finding in result.findings:
            if finding.rule in INPUT_RULES:
                loc = finding.location
                where = result.file
                if loc is not None:
                    where = loc.file + "".join(f":{n}" for n in (loc.line, loc.column) if n)
                typer.echo(f"netwhy: error: {visible(f'{where}: {finding.title}')}", err=True)
    if format is CheckFormat.json:
        from diagnose.render.lint import render_json

        _emit(render_json(results))
    elif format is CheckFormat.sarif:
        from diagnose.diagnosis import engine_for
        from diagnose.render.sarif import render as render_sarif

        _emit(render_sarif(results, engine_for(tuple(rules or ())).catalogue, lang))
    elif format is CheckFormat.junit:
        from diagnose.render.junit import render as render_junit

        _emit(render_junit(results, cfg.fail_on))
    elif format is CheckFormat.markdown:
        from diagnose.render.lint import render_markdown

        _emit(render_markdown(results, lang=lang))
    else:
        from diagnose.render.lint import render_text

        show_all = len(files) == 1 if full is None else full
        _emit(render_text(results, fancy=_fancy(), full=show_all, lang=lang))
    if any(r.input_error for r in results):
        raise typer.Exit(ExitCode.BAD_INPUT)
    if failing(results, cfg.fail_on):
        raise typer.Exit(ExitCode.FINDINGS)


def _refuse_unknown_ids(
    found: Config, select: list[str] | None, ignore: list[str] | None, rules: tuple[str, ...]
) -> None:
    """An id or prefix that names no rule is a mistake, not a no-op: it would select, ignore
    or set the severity of nothing, silently. Raises InputError naming where it was given."""
    from diagnose.batch import INPUT_RULES, filterable_rules

    named = [
        *((rule, found.source, f"severity.{rule}", True) for rule in found.severity),
        *((rule, found.source, "select", False) for rule in found.select),
        *((rule, found.source, "ignore", False) for rule in found.ignore),
        *(
            (rule, found.source, f"per-path-ignores.{pattern}", False)
            for pattern, ids in found.per_path_ignores.items()
            for rule in ids
        ),
        *((rule, None, "--select", False) for rule in select or []),
        *((rule, None, "--ignore", False) for rule in ignore or []),
    ]
    if not named:
        return
    # A severity may be set for input errors too; they are never selected or ignored.
    filterable = filterable_rules(rules)
    for rule, source, field, whole in named:
        if rule in filterable or (whole and rule in INPUT_RULES):
            continue
        if not whole and any(k.startswith(rule) for k in filterable):
            continue  # a prefix: DP, DM00
        if any(k.startswith(rule) for k in INPUT_RULES):
            what = "input errors are always reported: they cannot be selected or ignored"
        elif whole or len(rule) == 5:
            what = "no such rule (see `netwhy rules`)"
        else:
            what = "no rule id starts with it (see `netwhy rules`)"
        raise InputError(f"{rule}: {what}", file=source, field=field)


def _progress(done: int, total: int, name: str) -> None:
    from diagnose.render.safe import visible

    width = 30
    filled = width * done // total
    shown = visible(name[-40:])
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {shown}\x1b[K")
    sys.stderr.flush()


@app.command()
@_guard
def explain(
    topic: Annotated[str, typer.Argument(help="docker:host, vmware:nat, a rule id, a claim id")],
    format: FormatOpt = Format.text,
    lang: LangOpt = "en",
) -> None:
    """Explain a network mode, a rule, a claim of the source document, or a device."""
    from diagnose.explain import explain as do_explain
    from diagnose.explain import render_text

    result = do_explain(topic, lang=lang)
    if format is Format.json:
        _emit(result.model_dump_json(indent=2))
    else:
        _emit(render_text(result))


@app.command(name="rules")
@_guard
def list_rules(
    format: FormatOpt = Format.text,
    rules: RulesOpt = None,
    lang: LangOpt = "en",
) -> None:
    """List every rule: id, kind, severity, name and the claims it relies on."""
    from diagnose.diagnosis import engine_for

    cat = engine_for(tuple(rules or ())).catalogue
    ordered = sorted(cat.rules.values(), key=lambda r: r.id)
    if format is Format.json:
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "effect": r.effect,
                "severity": r.severity,
                "claims": list(r.claims),
                "title": cat.text(r.id, lang).title,
                "file": r.file,
            }
            for r in ordered
        ]
        _emit(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in ordered:
        kind = r.severity or r.effect
        _emit(f"{r.id}  {kind:<8} {r.name:<44} {' '.join(r.claims)}")


@app.command()
@_guard
def scan(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the Setup (YAML) here instead")
    ] = None,
    docker_url: Annotated[
        str, typer.Option("--docker", help="the Docker daemon's address")
    ] = "unix:///var/run/docker.sock",
    no_docker: Annotated[bool, typer.Option("--no-docker", help="do not ask Docker")] = False,
    format: FormatOpt = Format.text,
    lang: LangOpt = "en",
) -> None:
    """Read this host (interfaces, routes, forwarding, firewall, Docker) and check it.

    Only reads: ip, nft or iptables-save, /proc/sys, daemon.json and Docker's API. With -o the
    Setup is written out for editing (add symptoms, then `netwhy why`).
    """
    import yaml

    from diagnose.api import check as api_check
    from diagnose.scan import scan as do_scan

    result = do_scan(docker_url=None if no_docker else docker_url)
    for note in result.notes:
        typer.echo(f"netwhy: note: {note}", err=True)
    setup = result.loaded.setup
    if output is not None:
        data = setup.model_dump(by_alias=True, exclude_none=True)
        output.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
        typer.echo(f"netwhy: wrote {output}", err=True)
        return
    from diagnose.render.text import render_check

    report = api_check(setup, lang=lang)
    _emit_report(report, format, render_check)
    if report.findings:
        raise typer.Exit(ExitCode.FINDINGS)


@app.command()
@_guard
def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free")] = 8000,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1, help="largest request body in bytes (413 past it)")
    ] = 1 << 20,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="seconds per request (503 past it)")
    ] = 10.0,
) -> None:
    """Serve the API over HTTP: POST /v1/why, /v1/check, /v1/ask; GET /v1/rules,
    /v1/explain/TOPIC, /healthz; the OpenAPI document at /openapi.json (and /docs)."""
    from diagnose.server import serve as run

    run(host=host, port=port, max_body=max_body, timeout=timeout)


lab_app = typer.Typer(
    help="Check netwhy's knowledge against a real Linux kernel, in network namespaces.",
    no_args_is_help=True,
)
app.add_typer(lab_app, name="lab")


@lab_app.command("verify")
@_guard
def lab_verify(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="setup or rule case files (default: the bundled lab scenarios)"),
    ] = None,
    format: FormatOpt = Format.text,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="labs built at once")] = 4,
) -> None:
    """Build each setup in namespaces, probe every symptom, compare with netwhy's verdict.

    Exit 0 when the kernel agrees with every verdict, 1 on any disagreement, 2 when no lab
    can be built here (the reason is printed).
    """
    from diagnose.lab import verify as lab

    reason = lab.lab_unavailable_reason()
    if reason:
        _fail(f"lab unavailable: {reason}")
    summary = lab.verify(lab.load_scenarios(list(paths or [])), jobs=jobs)
    render = {
        Format.json: lab.render_json,
        Format.markdown: lab.render_markdown,
        Format.text: lab.render_text,
    }[format]
    _emit(render(summary))
    if summary.disagreements:
        raise typer.Exit(ExitCode.FINDINGS)


@app.command(name="mcp")
@_guard
def mcp_server(rules: RulesOpt = None) -> None:
    """Serve netwhy's tools (why, check_config, ask, explain) to an MCP client over stdio."""
    from diagnose.mcp_server import serve

    serve(rules=tuple(rules or ()))


@app.command()
@_guard
def schema() -> None:
    """Print the JSON Schema of the setup format."""
    from diagnose.model import Setup

    _emit(json.dumps(Setup.model_json_schema(by_alias=True), indent=2))


def main() -> NoReturn:
    """Entry point of the `netwhy` command."""
    try:
        app()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    # Leave without the interpreter's teardown: freeing every module and the rule engine's
    # compiled networks took about 0.1 s, a third of a short `netwhy check`. What is left is
    # to flush what was written, and to say so when that fails, as _guard does.
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left early (`netwhy ... | head`)
        code = ExitCode.BAD_INPUT
    except OSError as exc:  # a full disk, say: the output is lost
        code = ExitCode.BAD_INPUT
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"netwhy: error: cannot write the output: {exc.strerror or exc}\n")
    except ValueError:  # stdout closed by the caller: nothing was to be written
        pass
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
