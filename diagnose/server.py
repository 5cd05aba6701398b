"""`netwhy serve`: the Python API over HTTP (FastAPI on uvicorn).

    POST /v1/why              a setup (JSON, or YAML/JSON text) -> Report
    POST /v1/check            {"text", "kind"?, "name"?} -> CheckResult (as `netwhy check`)
    POST /v1/ask              {"text", "facts"?, "answers"?, "lang"?} -> AskResult
    GET  /v1/rules            -> [RuleOut]
    GET  /v1/explain/{topic}  -> Explanation
    GET  /healthz             -> Health
    GET  /openapi.json        the OpenAPI document (GET /docs renders it)

`why`, `check` and `ask` take `?redact=true` (addresses and names replaced by stable
placeholders, as `--redact` does); `why`, `check`, `rules` and `explain` take `?lang=en|zh`
(`ask` takes `lang` in its body).

Stateless: every request carries all it needs, and the server keeps nothing between requests.
No endpoint reads the server's files: a config's `name` is only a label (it names the input in
locations and helps to detect its kind), and nothing beside it (.env, extends) is read.

Limits: a body larger than `max_body` gets 413 without being read further; a request that takes
longer than `timeout` seconds gets 503 (408 while its body is still arriving). Bad input gets
400 (the input: file, line and field as InputError names them) or 422 (the request: the field).
Every error is one JSON object, {"error": {"status", "code", "message", ...}}, never a traceback.

The diagnoses run in two worker threads, first come first served; the rule engine serializes
them with its one lock (durable-rules holds the GIL anyway), and everything else a request
touches is its own.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from diagnose import __version__
from diagnose.batch import SEVERITY_ORDER, CheckOptions, check_loaded
from diagnose.conversation import AskResult
from diagnose.errors import EngineError, InputError, RuleError
from diagnose.explain import Explanation
from diagnose.languages import LANGUAGES
from diagnose.loaders import KINDS
from diagnose.loading import field_path
from diagnose.report import SCHEMA_VERSION, Finding, Out, Report, Verdict

log = logging.getLogger("diagnose.server")

MAX_BODY = 1 << 20  # bytes
TIMEOUT = 10.0  # seconds per request
THREADS = 2  # worker threads for the diagnoses (see _Workers)
HOST, PORT = "127.0.0.1", 8000
BODY_NAME = "<body>"  # how errors name a setup sent as the body of /v1/why

Lang = Literal["en", "zh"]
LangQuery = Annotated[Lang, Query(description="language of the texts in the answer")]
RedactQuery = Annotated[
    bool,
    Query(
        description="replace addresses and the names of VMs, containers, networks and hosts by "
        "stable placeholders (net2.128, vm-1, container-2), to share the answer"
    ),
]
T = TypeVar("T")


# ------------------------------------------------------------------------------- models


class ErrorOut(BaseModel):
    """What went wrong, in one line, and where when the input is at fault."""

    status: int
    code: str = Field(
        description="bad_input, invalid_request, not_found, method_not_allowed, too_large, "
        "request_timeout, timeout, not_available, internal"
    )
    message: str = Field(description="one line, as `netwhy` prints it")
    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = Field(None, description="the setup or request field at fault")


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorOut


class CheckRequest(BaseModel):
    """A config file's text, as `netwhy check` would read it from a file."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="the content of the config file")
    kind: str | None = Field(
        None,
        description="its format; omitted: detected from `name` and the text, as `netwhy check` "
        "does",
        json_schema_extra={"enum": [*KINDS, None]},
    )
    name: str = Field(
        "<text>",
        max_length=1024,
        description="a label: it names the input in locations and helps to detect its kind "
        "(e.g. docker-compose.yml); the server never opens it",
    )


class SuppressedOut(Out):
    """A finding an inline `# netwhy: ignore[ID] reason` suppressed."""

    finding: Finding
    line: int
    reason: str | None


class CheckResult(Out):
    """The findings on one config, as `netwhy check --format json` reports a file."""

    schema_version: str = SCHEMA_VERSION
    name: str
    kind: str = Field(description="the format it was read as")
    findings: list[Finding]
    suppressed: list[SuppressedOut]
    notes: list[str] = Field(description="what the loader could not read")
    by_severity: dict[str, int]
    verdicts: list[Verdict] = Field(description="answers to the symptoms a setup states")


class AskRequest(BaseModel):
    """One turn of a conversation; send everything again on the next turn."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="the question in the person's own words (English or Chinese)")
    facts: dict[str, Any] | None = Field(
        None, description="what the caller knows: a question's key -> value"
    )
    answers: dict[str, Any] | None = Field(
        None, description="the answers given so far: a question's key -> value"
    )
    lang: Lang | None = Field(None, description="omitted: the language of the text")


class RuleOut(Out):
    """One rule, as `netwhy rules --format json` lists it."""

    id: str
    name: str
    effect: Literal["derive", "finding", "ask"]
    severity: Literal["error", "warning", "info"] | None
    claims: list[str]
    title: str
    file: str


class Health(Out):
    """The server is up, with what it serves."""

    status: Literal["ok"]
    version: str
    rules: int
    languages: list[str]


# ------------------------------------------------------------------------------- errors


def _error(
    status: int,
    code: str,
    message: str,
    exc: InputError | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    where: dict[str, Any] = {}
    if exc is not None:
        where = {"file": exc.file, "line": exc.line, "column": exc.column, "field": exc.field}
    body = ErrorBody(error=ErrorOut(status=status, code=code, message=message, **where))
    return JSONResponse(body.model_dump(exclude_none=True), status, headers=dict(headers or {}))


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "unusable input: the file, line and field"},
    413: {"model": ErrorBody, "description": "the body is larger than the server accepts"},
    422: {"model": ErrorBody, "description": "the request does not validate: the field"},
    503: {"model": ErrorBody, "description": "the request took longer than the time limit"},
}


class _TooLarge(HTTPException):
    """Raised from the body stream once it passes the limit. An HTTPException, so that
    FastAPI's own body parsing passes it on rather than calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes (the limit)")


# 400: the framework's own refusal of a body it cannot decode (not UTF-8, nested too deeply).
_HTTP_CODES = {400: "bad_input", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """The first problem of a request as one line, and the field it is about."""
    errors = exc.errors()
    if not errors:
        return "the request does not validate", None
    err = errors[0]
    loc = tuple(err.get("loc") or ())
    place = str(loc[0]) if loc else "body"
    rest = tuple(p for p in loc[1:] if isinstance(p, int | str))
    field = field_path(rest) or None
    kind = err.get("type")
    if kind == "missing":
        msg = "required field is missing"
    elif kind == "extra_forbidden":
        msg = "unknown field (a typo?)"
    elif kind in ("literal_error", "enum"):
        msg = f"unknown value {err.get('input')!r}: " + str(err["msg"]).replace(
            "Input should be", "expected"
        )
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    if field is None and place == "body":
        return f"body: {msg}", None
    return f"{place} field {field}: {msg}" if field else f"{place}: {msg}", field


def _malformed_json(exc: RequestValidationError) -> InputError | None:
    """A body that is not JSON, as InputError says it of a file: with its line and column."""
    errors = exc.errors()
    if not errors or errors[0].get("type") != "json_invalid":
        return None
    err = errors[0]
    detail = (err.get("ctx") or {}).get("error", "not JSON")
    loc = tuple(err.get("loc") or ())
    doc = exc.body if isinstance(exc.body, str) else None
    line = column = None
    if doc is not None and len(loc) > 1 and isinstance(loc[1], int):
        pos = loc[1]
        line = doc.count("\n", 0, pos) + 1
        column = pos - (doc.rfind("\n", 0, pos) + 1) + 1
    return InputError(f"malformed JSON: {detail}", file=BODY_NAME, line=line, column=column)


def _install_error_handlers(app: FastAPI) -> None:
    async def input_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        return _error(400, "bad_input", str(exc), exc)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        bad_json = _malformed_json(exc)
        if bad_json is not None:
            return _error(400, "bad_input", str(bad_json), bad_json)
        message, field = _validation_message(exc)
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if field is None and kind and "json" not in kind and "yaml" not in kind:
            # The framework read a body of another type as a string: say what to send.
            message = f"body: send JSON with Content-Type: application/json, not {kind}"
        response = _error(422, "invalid_request", message)
        if field is not None:
            response = _error(422, "invalid_request", message, InputError(message, field=field))
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            what = "no such endpoint" if exc.status_code == 404 else "method not allowed"
            message = f"{what}: {request.method} {request.url.path} (see /openapi.json)"
        elif exc.status_code == 400 and message == "There was an error parsing the body":
            message = f"{BODY_NAME}: malformed JSON: not UTF-8, or nested too deeply"
        return _error(exc.status_code, code, message, headers=exc.headers)

    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)


# --------------------------------------------------------------------------- the limits


class _Limits:
    """Body size and time per request, for every request; and no traceback ever leaves.

    A pure ASGI middleware: it sees the body stream itself, so a body without a length
    (chunked) is cut off at the limit too, and it can answer when the app was cancelled.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers") or ():
            if key == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await _error(413, "too_large", _TooLarge(self.max_body).detail)(
                    scope, receive, send
                )
                return
        received = 0
        body_done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge(self.max_body)
                body_done = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        failure: Response | None = None
        try:
            with anyio.move_on_after(self.timeout) as scope_limit:
                await self.app(scope, limited_receive, tracked_send)
            if scope_limit.cancelled_caught:
                if body_done:
                    failure = _error(
                        503,
                        "timeout",
                        f"the request took longer than {self.timeout:g} s (the server's limit);"
                        " try a smaller input, or later",
                        headers={"Retry-After": "1"},
                    )
                else:
                    failure = _error(
                        408,
                        "request_timeout",
                        f"the request body did not arrive within {self.timeout:g} s",
                    )
        except _TooLarge as exc:
            failure = _error(413, "too_large", exc.detail)
        except (EngineError, RuleError) as exc:
            log.exception("the rule engine failed")
            failure = _error(500, "internal", f"rule engine: {exc}")
        except Exception as exc:  # a bug: the log has the traceback, the client one line
            log.exception("internal error")
            failure = _error(
                500, "internal", f"internal error ({type(exc).__name__}); the server log has more"
            )
        if failure is not None and not started:
            await failure(scope, limited_receive, send)


# ---------------------------------------------------------------------------- the work


class _Workers:
    """Worker threads for the CPU work of requests, at most `threads` at a time, first come
    first served. The rule engine takes one diagnosis at a time and the rest holds Python's
    GIL, so more threads would only share the CPU: every request would finish late, and
    unevenly (the GIL and locks are not fair)."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in a worker thread. If the request times out meanwhile, the thread is
        left to finish on its own (a thread cannot be stopped) and the client answered now."""
        if self._limiter is None:  # made in the event loop that serves
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=self._limiter)


def _lang(lang: str, field: str = "lang") -> str:
    if lang not in LANGUAGES:
        raise InputError(
            f"language {lang!r} is not available here; one of: {', '.join(LANGUAGES)}",
            field=field,
        )
    return lang


def _json(data: bytes | str, status: int = 200) -> Response:
    return Response(data, status, media_type="application/json")


def _why(raw: bytes, lang: str, redact: bool = False) -> bytes:
    from diagnose.api import why
    from diagnose.loading import load_text
    from diagnose.yamltext import decode

    # Always parsed as text, never passed to the API as a string: the API would take a
    # one-line string such as "setup.yaml" for a path and read it.
    setup = load_text(decode(raw, BODY_NAME), BODY_NAME)
    report = why(setup, lang=_lang(lang))
    if redact:
        from diagnose.redact import redact_report

        report = redact_report(report, setup)
    return report.model_dump_json().encode()


def _check(request: CheckRequest, lang: str, redact: bool = False) -> bytes:
    from diagnose.loaders import load_text
    from diagnose.loaders.base import LoadOptions

    options = CheckOptions(kind=request.kind, lang=_lang(lang))
    # The name is a label: nothing is read beside it (no .env, no extends: file:).
    loaded = load_text(request.text, request.name, request.kind, LoadOptions(read_siblings=False))
    result = check_loaded(loaded, request.name, options)
    if redact:
        from diagnose.redact import redact_results

        [result] = redact_results([result])
    by_severity: dict[str, int] = {}
    for f in sorted(result.findings, key=lambda f: SEVERITY_ORDER[f.severity]):
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    out = CheckResult(
        name=result.file,
        kind=loaded.kind,
        findings=result.findings,
        suppressed=[
            SuppressedOut(finding=f, line=s.line, reason=s.reason) for f, s in result.suppressed
        ],
        notes=result.notes,
        by_severity=by_severity,
        verdicts=result.report.verdicts if result.report else [],
    )
    return out.model_dump_json().encode()


def _ask(request: AskRequest, redact: bool = False) -> bytes:
    from diagnose.conversation import ask

    result = ask(request.text, facts=request.facts, answers=request.answers, lang=request.lang)
    if redact:
        from diagnose.redact import redact_turn

        result = redact_turn(result)
    return result.model_dump_json().encode()


@cache
def _rules(lang: str) -> bytes:
    """The rule list never changes while the server runs: built once per language."""
    from diagnose.diagnosis import engine_for

    cat = engine_for().catalogue
    rows = [
        RuleOut(
            id=r.id,
            name=r.name,
            effect=r.effect,
            severity=r.severity,
            claims=list(r.claims),
            title=cat.text(r.id, lang).title,
            file=r.file,
        ).model_dump(mode="json")
        for r in sorted(cat.rules.values(), key=lambda r: r.id)
    ]
    return json.dumps(rows, ensure_ascii=False).encode()


def _explain(topic: str, lang: str) -> bytes:
    from diagnose.explain import explain

    return explain(topic, lang=lang).model_dump_json().encode()


# ------------------------------------------------------------------------------ the app

WHY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A setup with at least one symptom: JSON, or YAML/JSON text "
        "(any content type; the body is always read as YAML, which JSON is part of).",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Setup"},
                "example": {
                    "docker": {
                        "containers": [
                            {"name": "web", "ports": ["8080:3000"], "listens": ["127.0.0.1:3000"]}
                        ]
                    },
                    "symptoms": [{"from": "lan", "to": "container:web", "port": 8080}],
                },
            },
            "application/yaml": {
                "schema": {"type": "string"},
                "example": "docker:\n  containers:\n    - {name: web, ports: ['8080:3000']}\n"
                "symptoms:\n  - {from: lan, to: container:web, port: 8080}\n",
            },
        },
    }
}

DESCRIPTION = """\
Why can't A reach B? Rule-based diagnosis of virtual-machine and Docker networking: verdicts
with the path hop by hop, the hop that breaks, causes with fixes, and the questions that would
settle what is unknown. Stateless: each request carries everything.

Errors are `{"error": {"status", "code", "message", "file", "line", "column", "field"}}`:
400 unusable input (naming the file, line and field), 422 a request that does not validate,
413 a body over the size limit, 503 (408 while the body is arriving) past the time limit.
"""


def create_app(
    *, max_body: int = MAX_BODY, timeout: float = TIMEOUT, threads: int = THREADS, warm: bool = True
) -> FastAPI:
    """The HTTP API. `max_body` in bytes, `timeout` in seconds per request, `threads` worker
    threads for the diagnoses; `warm` builds the rule engine now, so that the first requests
    do not wait for it."""
    if warm:
        from diagnose.catalogue import default_catalogue
        from diagnose.diagnosis import engine_for

        engine_for()
        default_catalogue()
    app = FastAPI(title="netwhy", version=__version__, description=DESCRIPTION)
    app.add_middleware(_Limits, max_body=max_body, timeout=timeout)
    workers = _Workers(threads)
    _install_error_handlers(app)

    @app.post(
        "/v1/why",
        response_model=Report,
        responses=ERRORS,
        openapi_extra=WHY_BODY,
        summary="Why can't A reach B: a verdict per symptom, with the path",
    )
    async def why(
        request: Request, lang: LangQuery = "en", redact: RedactQuery = False
    ) -> Response:
        raw = await request.body()
        return _json(await workers.run(lambda: _why(raw, lang, redact=redact)))

    @app.post(
        "/v1/check",
        response_model=CheckResult,
        responses=ERRORS,
        summary="Check a config file's text (compose, docker inspect, .vmx ...)",
    )
    async def check(
        body: CheckRequest, lang: LangQuery = "en", redact: RedactQuery = False
    ) -> Response:
        return _json(await workers.run(lambda: _check(body, lang, redact=redact)))

    @app.post(
        "/v1/ask",
        response_model=AskResult,
        responses=ERRORS,
        summary="A question in plain words: the next question, or the answer",
    )
    async def ask(body: AskRequest, redact: RedactQuery = False) -> Response:
        return _json(await workers.run(lambda: _ask(body, redact=redact)))

    @app.get("/v1/rules", response_model=list[RuleOut], summary="Every rule")
    async def rules(lang: LangQuery = "en") -> Response:
        _lang(lang)
        return _json(await workers.run(lambda: _rules(lang)))

    @app.get(
        "/v1/explain/{topic}",
        response_model=Explanation,
        responses={404: {"model": ErrorBody, "description": "no such topic"}, **ERRORS},
        summary="Explain a network mode, a rule, a claim or a device",
    )
    async def explain(
        topic: Annotated[
            str, Path(description="docker:host, vmware:nat, a rule id (DP001), a claim id (D7)")
        ],
        lang: LangQuery = "en",
    ) -> Response:
        _lang(lang)
        try:
            return _json(await workers.run(lambda: _explain(topic, lang)))
        except InputError as exc:
            return _error(404, "not_found", str(exc), exc)

    @app.get("/healthz", response_model=Health, summary="Liveness")
    async def healthz() -> Health:
        from diagnose.diagnosis import engine_for

        rules = len(engine_for().catalogue.rules)
        return Health(status="ok", version=__version__, rules=rules, languages=list(LANGUAGES))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the Setup schema the body of /v1/why refers to."""
    from diagnose.model import Setup

    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    setup = Setup.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in {**setup.pop("$defs", {}), "Setup": setup}.items():
        if schemas.get(name, schema) != schema:
            raise RuntimeError(f"two schemas named {name} in the OpenAPI document")
        schemas[name] = schema
    return doc


# ------------------------------------------------------------------------------ serving


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or an InputError naming the address (taken, not ours...).

    Made with the protocol set to TCP: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    on connections accepted from such a socket. Without it (socket.create_server leaves the
    protocol 0), each answer on a kept-alive connection waits ~40 ms for a delayed ACK.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(2048)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--host/--port"
        ) from None
    return sock


def serve(
    *,
    host: str = HOST,
    port: int = PORT,
    max_body: int = MAX_BODY,
    timeout: float = TIMEOUT,
    access_log: bool = True,
) -> None:
    """Run the server until interrupted (Ctrl-C)."""
    import uvicorn

    sock = listen(host, port)
    app = create_app(max_body=max_body, timeout=timeout)
    config = uvicorn.Config(app, access_log=access_log, log_level="info")
    bound = sock.getsockname()[1]
    where = f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}"
    # uvicorn says nothing of a socket handed to it: the real port matters with --port 0.
    print(f"netwhy: serving on http://{where} (API: /openapi.json, /docs)", file=sys.stderr)
    sys.stderr.flush()
    uvicorn.Server(config).run(sockets=[sock])
