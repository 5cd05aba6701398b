"""Docker Compose files of every era (v1, v2/v3 with `version:`, the compose spec) -> Setup.

Each service becomes a container named after the service (so symptoms say `container:web`),
whatever `container_name` says; compose itself names it <project>-<service>-1. What the
file says about networking is read; what it does not say (where apps bind, the image's
EXPOSE, the Docker platform) stays unknown. The names Docker gives what the file describes,
as far as the file says (the project, container_name, a network's name:), are kept beside
the setup: `--setup` ties `docker inspect` output to the file by them (compose_ties.py).

Eras (https://docs.docker.com/reference/compose-file/legacy-versions/):
- v1 (no `services:` key; read only by docker-compose 1.x): services are top-level keys,
  `net:` is the network mode, and every container sits on the default bridge docker0 ("Networking
  features are not supported for version 1 (legacy) Compose files",
  https://docs.docker.com/v1.11/compose/networking/).
- v2/v3 and the compose spec (a `services:` key; `version:` is ignored): a service that names
  no `networks` and no `network_mode` joins the project's `default` network, a user-defined
  bridge network ("This network uses the bridge driver",
  https://docs.docker.com/compose/how-tos/networking/), not docker0.

Also read: `extends` (same file, or `file:` beside the input when options.read_siblings),
YAML merge keys, the `!reset` / `!override` tags
(https://docs.docker.com/reference/compose-file/merge/), `${VAR}` interpolation from a `.env`
beside the file and options.env (https://docs.docker.com/compose/how-tos/environment-variables/
variable-interpolation/). A value with a variable that has no value here is unknown: it is left
out and a note says so. What `docker compose` refuses (an undefined network, `network_mode`
with `networks`, `net:` outside v1, an extends cycle or missing base) raises one InputError,
as compose does.

Overlays: a file meant for `docker compose -f base.yaml -f this.yaml` (a service without image,
build or extends; or one naming a service the file does not define) states only changes. Its
references to the base file are kept (a note says so; `--setup` checks both together), and
what its partial services do not state (ports, networks) stays unknown.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from diagnose.errors import InputError
from diagnose.loaders.base import (
    AtLineStart,
    Builder,
    ComposeNames,
    Loaded,
    LoadOptions,
    Places,
    split_path,
)
from diagnose.loaders.base import type_name as _type
from diagnose.loading import field_path
from diagnose.report import Location
from diagnose.yamltext import Document, PathKey, Tagged, parse, read_text

# --------------------------------------------------------------------------------- detection

_SERVICES_LINE = AtLineStart(r"services[ \t]*:[ \t]*(?:#.*)?$")
_SERVICE_KEY = (
    r"(?:image|build|ports|expose|network_mode|networks|extends|container_name|command|"
    r"environment|volumes|depends_on|restart|hostname|links|dns|extra_hosts|profiles|deploy|"
    r"healthcheck|entrypoint|env_file|labels|logging|user|working_dir|cap_add|privileged|"
    r"stdin_open|tty|platform|secrets|configs|ulimits|sysctls|devices|<<)"
)
_ENTRY = re.compile(r"^([ \t]+)([\w.-]+|\"[^\"]*\"|'[^']*')[ \t]*:[ \t]*(?:&\S+[ \t]*)?(?:#.*)?$")
_CHILD = re.compile(r"^([ \t]+)" + _SERVICE_KEY + r"[ \t]*:")
# The key's trailing blanks are stripped in Python: `([^:]*?)[ \t]*:` retried the blanks
# after every character, and a top-level line of spaces took seconds (content detection).
_TOP = re.compile(r"([^\s#][^:]*):")
# Top-level keys of other YAML formats that also have `services:` or `image:` (CI pipelines,
# Kubernetes manifests); a compose file never has them.
_FOREIGN_TOP = frozenset(
    {"steps", "pipeline", "stages", "jobs", "apiversion", "kind", "workflow", "clone", "spec"}
)
_JSON_SERVICES = re.compile(r'"services"\s*:\s*\{')
_JSON_SERVICE = re.compile(r'"(?:image|build)"\s*:')
_V1_CHILD = re.compile(r"^([ \t]+)(image[ \t]*:[ \t]*[^\s#{\[|>]|build[ \t]*:|extends[ \t]*:)")


def detect(name: str, text: str, kind: str) -> bool:
    """A top-level `services:` mapping of service-like entries, or (v1) top-level mappings
    with `image:` / `build:` children. Line regexes only: no parse."""
    head = text.lstrip()[:1]
    if head == "[":
        return False
    if head == "{":
        return bool(_JSON_SERVICES.search(text) and _JSON_SERVICE.search(text))
    lines = text.splitlines()
    m = _SERVICES_LINE.search(text)
    if m is None and not _looks_v1(lines):
        return False
    # Another format's top-level keys, looked for last: most texts that are not compose files
    # (command files, scripts) are ruled out above.
    if _top_keys(lines) & _FOREIGN_TOP:
        return False
    return m is None or _services_block_is_mapping(text[m.end() :].splitlines())


def _top_keys(lines: list[str]) -> set[str]:
    out = set()
    for line in lines:
        if line[:1] not in ("", " ", "\t", "#", "-") and not line.startswith("---"):
            m = _TOP.match(line)
            if m:
                out.add(m.group(1).rstrip(" \t").strip("'\"").lower())
    return out


def _services_block_is_mapping(rest: list[str]) -> bool:
    """The lines after `services:`: an indented `name:` then a service key below it."""
    entry_indent: int | None = None
    for line in rest:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[:1] not in (" ", "\t"):
            return False  # the block ended without a service
        if entry_indent is None:
            m = _ENTRY.match(line)
            if m is None:
                return False  # a list (GitLab CI's services:) or a scalar
            entry_indent = len(m.group(1))
            continue
        m2 = _CHILD.match(line)
        if m2 is not None and len(m2.group(1)) > entry_indent:
            return True
        m = _ENTRY.match(line)
        if m is not None and len(m.group(1)) <= entry_indent:
            entry_indent = len(m.group(1))  # the next service
    return False


_SCALAR_TOP = re.compile(r"^[^\s#][^:]*:[ \t]*[^\s#&]")


def _looks_v1(lines: list[str]) -> bool:
    """v1: most top-level keys are services, with `image: <name>`, `build:` or `extends:`,
    and few are scalars (a Helm values file has `image:` children too, and many scalars)."""
    tops = 0
    scalars = 0
    services = 0
    current_is_service = False
    child_indent: int | None = None
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or line.startswith("---"):
            continue
        if line[:1] not in (" ", "\t"):
            if line.startswith("-") or line.startswith("image:"):
                return False  # a top-level list; Helm's top-level image
            tops += 1
            scalars += bool(_SCALAR_TOP.match(line))
            current_is_service = False
            child_indent = None
            continue
        if current_is_service:
            continue
        indent = len(line) - len(line.lstrip())
        if child_indent is None:
            child_indent = indent
        if indent == child_indent and _V1_CHILD.match(line):
            current_is_service = True
            services += 1
    return services > 0 and services * 2 >= tops and scalars <= services


# ------------------------------------------------------------------------------ interpolation


class _Unresolved(Exception):
    """A value depends on a variable that has no value here."""

    def __init__(self, name: str, required: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.required = required


class _Malformed(Exception):
    """Interpolation syntax compose itself refuses."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BLANK_HASH = re.compile(r"\s#")
_OPS = (":-", ":?", ":+", "-", "?", "+")


def interpolate(text: str, env: Mapping[str, str], defaults: set[str] | None = None) -> str:
    """Substitute `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
    `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` the way compose does.

    A variable without a value raises _Unresolved; `defaults` collects the names whose
    default was taken."""
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        nxt = text[j + 1 : j + 2]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            end = _closing(text, j + 2)
            out.append(_braced(text[j + 2 : end], env, defaults))
            i = end + 1
        else:
            m = _NAME.match(text, j + 1)
            if m is None:
                raise _Malformed(f"invalid interpolation in {text!r}: write $$ for a literal $")
            if m.group() not in env:
                raise _Unresolved(m.group())
            out.append(env[m.group()])
            i = m.end()
    return "".join(out)


def _closing(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Malformed(f"invalid interpolation in {text!r}: '${{' is never closed")


def _braced(body: str, env: Mapping[str, str], defaults: set[str] | None) -> str:
    m = _NAME.match(body)
    if m is None:
        raise _Malformed(f"invalid interpolation ${{{body}}}: no variable name")
    name, rest = m.group(), body[m.end() :]
    if not rest:
        if name not in env:
            raise _Unresolved(name)
        return env[name]
    op = next((o for o in _OPS if rest.startswith(o)), None)
    if op is None:
        raise _Malformed(f"invalid interpolation ${{{body}}}")
    arg = rest[len(op) :]
    value = env.get(name)
    if op in (":-", "-"):
        if value if op == ":-" else value is not None:
            return value or ""
        if defaults is not None:
            defaults.add(name)
        return interpolate(arg, env, defaults)
    if op in (":?", "?"):
        if value if op == ":?" else value is not None:
            return value or ""
        raise _Unresolved(name, required=True)
    # :+ and +: the alternative when set; we cannot know the shell leaves it unset.
    if value if op == ":+" else value is not None:
        return interpolate(arg, env, defaults)
    if value == "" and op == ":+":
        return ""
    raise _Unresolved(name)


def read_dotenv(text: str, env: Mapping[str, str], notes: list[str], name: str) -> dict[str, str]:
    """KEY=VALUE lines of a `.env` file (compose's dialect: `export`, quotes, ` #` comments,
    `${VAR}` in unquoted and double-quoted values). A line it cannot read is noted, not fatal."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            notes.append(f"{name}:{number}: not a KEY=VALUE line; skipped")
            continue
        value = value.strip()
        literal = False
        if value[:1] in ("'", '"'):
            quote = value[0]
            end = value.find(quote, 1)
            while quote == '"' and end > 0 and value[end - 1] == "\\":
                end = value.find(quote, end + 1)
            if end < 0:
                notes.append(f"{name}:{number}: {key}'s quote is not closed on its line; skipped")
                continue
            literal = quote == "'"
            value = value[1:end]
            if quote == '"':
                value = value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        else:
            # A comment from the first ` #` on (`\s+#` was tried from every blank of a run).
            comment = _BLANK_HASH.search(value)
            value = (value[: comment.start()] if comment else value).strip()
        if not literal:
            try:
                value = interpolate(value, {**out, **env})  # the shell wins, as in compose
            except (_Unresolved, _Malformed):
                notes.append(f"{name}:{number}: {key} refers to a variable without a value")
                continue
        out[key] = value
    return out


# ------------------------------------------------------------------------------- the model


class Src(NamedTuple):
    """Where a value stands: a document and a path in it."""

    doc: Document
    path: PathKey


class Val(NamedTuple):
    """A raw (not yet interpolated) value and where it stands."""

    value: Any
    src: Src


# Src and Val as tuple.__new__ makes them: a NamedTuple's own constructor is a Python function,
# and a compose file makes some fifty of each (_src((doc, path)) is Src(doc, path)).
_src = functools.partial(tuple.__new__, Src)
_val = functools.partial(tuple.__new__, Val)


class _UnknownType:
    """A setting that comes from a file not read (an extends base): unknown."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _UnknownType()

SCALARS = ("image", "container_name", "hostname", "network_mode", "net")
LISTS = ("ports", "expose", "dns", "extra_hosts", "links", "external_links", "profiles")
NETWORKS = "networks"
KEYS = (*SCALARS, *LISTS, NETWORKS)
_KEY_ORDER = {key: i for i, key in enumerate(KEYS)}
_DEFINING = frozenset({"image", "build", "extends"})  # a service without them is a fragment
_REFERRING = frozenset({"network_mode", "links", "depends_on"})  # keys naming other services
# The lists of a container whose own place is recorded, in this order.
_LIST_ORDER = {
    key: i for i, key in enumerate(("ports", "expose", "dns", "profiles", "extra_hosts", "links"))
}

# Compose spec top-level keys (https://docs.docker.com/reference/compose-file/); x-* too.
TOP_KEYS = frozenset(
    {
        "version",
        "name",
        "include",
        "services",
        "networks",
        "volumes",
        "secrets",
        "configs",
        "models",
    }
)
DRIVERS = frozenset({"bridge", "host", "none", "macvlan", "ipvlan", "overlay", "nat"})
_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


class _File(NamedTuple):
    """One compose file: its document, services and era."""

    doc: Document
    services: dict[str, Any]
    prefix: PathKey  # ("services",) or () for v1
    v1: bool
    # The file's name when the files beside it may be read (.env, extends: file:). A str: a
    # Path costs more than reading a compose file, and most never need one.
    path: str | None

    @property
    def directory(self) -> Path | None:
        """The folder whose files may be read, if any."""
        return None if self.path is None else Path(self.path).parent


class _Loader:
    """Reading services across files: values, places, extends."""

    def __init__(self, file: str, options: LoadOptions, builder: Builder) -> None:
        self.file = file
        self.options = options
        self.builder = builder
        self._env: dict[str, str] | None = None
        self.defaults: set[str] = set()  # variables whose default was taken
        self.files: dict[str, _File] = {}  # resolved path -> extends file read
        self.resolved: dict[tuple[str, str], dict[str, Any]] = {}
        self.partial = False  # some settings come from files not read: references may dangle
        self.origins: dict[str, Src] = {}  # setup path -> compose place
        self.anchors: dict[int, dict[int, PathKey]] = {}  # per document: object -> path
        self.main: _File | None = None  # the input, when it is a file beside others

    @property
    def directory(self) -> Path | None:
        """The input's folder, when the files beside it may be read."""
        return None if self.main is None else self.main.directory

    @property
    def env(self) -> dict[str, str]:
        """Variables for interpolation, read when a value first has a `$` (most files have
        none, and then a `.env` beside them changes nothing netwhy reads)."""
        if self._env is None:
            notes: list[str] = []
            self._env = _environment(self.directory, self.options, notes)
            self.builder.notes[:0] = notes  # first, as when it was read before anything else
        return self._env

    def interpolate(self, text: str) -> str:
        """`interpolate` with this file's variables, which are read only for a text that
        has a `$` (the argument would read them before interpolate could look)."""
        return interpolate(text, self.env, self.defaults) if "$" in text else text

    # ------------------------------------------------------------------ errors and values

    def fail(self, message: str, src: Src | None, what: PathKey | None = None) -> InputError:
        line = column = None
        file = self.file
        if src is not None:
            line, column = self.where(src)
            file = src.doc.file
        return InputError(
            message,
            file=file,
            line=line,
            column=column,
            field=_dotted(what if what is not None else src.path) if src else None,
        )

    def text(self, val: Val, what: str = "value") -> str | None:
        """The interpolated text of a scalar, or None (noted) when a variable has no value."""
        value = val.value
        if value.__class__ is str and "$" not in value:  # most values: plain text
            return value
        if isinstance(value, Tagged):
            value = value.value
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise self.fail(f"{what} must be text, not {_type(value)}", val.src)
        if not isinstance(value, str):
            return str(value)
        try:
            return self.interpolate(value)
        except _Malformed as exc:
            raise self.fail(str(exc), val.src) from None
        except _Unresolved as exc:
            self.unresolved(val, exc)
            return None

    def unresolved(self, val: Val, exc: _Unresolved) -> None:
        how = "is required (:?) and " if exc.required else ""
        self.builder.notes.append(
            f"{_dotted(val.src.path)}: {val.value!r} left out: ${{{exc.name}}} {how}has no "
            f"value here (give it with --env {exc.name}=... or a .env beside the file)"
        )

    def deep(self, val: Val) -> Any:
        """Interpolate every string inside a value (a long-syntax port); _Unresolved goes to
        the caller."""

        def walk(value: Any) -> Any:
            if isinstance(value, Tagged):
                return walk(value.value)
            if isinstance(value, str):
                return self.interpolate(value)
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v) for v in value]
            return value

        try:
            return walk(val.value)
        except _Malformed as exc:
            raise self.fail(str(exc), val.src) from None

    def flag(self, val: Val, what: str) -> bool | None:
        value = val.value
        if isinstance(value, bool):
            return value
        text = self.text(val, what)
        if text is None:
            return None
        if text.strip().lower() in _TRUE:
            return True
        if text.strip().lower() in _FALSE:
            return False
        raise self.fail(f"{what} must be true or false, not {text!r}", val.src)

    def place(self, setup_path: str, src: Src) -> None:
        """Record where a setup entry comes from (the builder's places are made of these)."""
        self.origins[setup_path] = src

    def places(self) -> Places:
        """The places recorded, each looked up when asked for: by a function that holds the
        anchors, not this loader (a bound method would make builder -> places -> loader ->
        builder a cycle to collect)."""
        return Places.deferred(self.origins, functools.partial(_place, self.anchors))

    def where(self, src: Src) -> tuple[int | None, int | None]:
        """The line and column of a value (see _where)."""
        return _where(self.anchors, src)

    # --------------------------------------------------------------------------- files

    def open(self, doc: Document, path: str | None) -> _File:
        data = doc.data
        if not isinstance(data, dict):
            raise InputError(
                f"a compose file is a mapping (services: ...), not {_type(data)}",
                file=doc.file,
                line=1,
            )
        v1 = "services" not in data and "version" not in data
        if v1:
            services = {str(k): v for k, v in data.items() if not str(k).startswith("x-")}
            return _File(doc, services, (), True, path)
        for key in data:
            if key not in TOP_KEYS and not str(key).startswith("x-"):
                raise self.fail(
                    f"unknown top-level key {key!r} (compose allows {', '.join(sorted(TOP_KEYS))}"
                    " and x-*)",
                    _src((doc, (key,))),
                )
        listed: Any = data.get("services")
        if listed is None:
            listed = {}
        if not isinstance(listed, dict):
            raise self.fail(
                f"services must be a mapping, not {_type(listed)}", _src((doc, ("services",)))
            )
        return _File(doc, {str(k): v for k, v in listed.items()}, ("services",), False, path)

    def sibling(self, name: str, origin: _File, src: Src) -> _File | None:
        """The file an `extends: file:` names, read when allowed; None when not read."""
        directory = origin.directory
        if re.match(r"^[a-z][a-z0-9+.-]*://", name) or directory is None:
            return None
        if not self.options.read_siblings:
            return None
        path = Path(name) if Path(name).is_absolute() else directory / name
        key = str(path.resolve())
        main = self.main
        if main is not None and main.path is not None and key not in self.files:
            self.files[str(Path(main.path).resolve())] = main  # extends into itself
        if key not in self.files:
            if not path.is_file():
                raise self.fail(f"extends names the file {name}, which does not exist", src)
            try:
                text = read_text(path)
            except InputError as exc:
                raise self.fail(
                    f"the extends file {name} is unusable: {exc.message}", src
                ) from None
            self.files[key] = self.open(parse(text, str(path)), str(path))
        return self.files[key]

    # ------------------------------------------------------------------------ services

    def read(self, raw: Any, src: Src, v1: bool) -> dict[str, tuple[Any, str]]:
        """The network settings a service states itself: key -> (value, mode); mode is
        merge, override (`!override`) or reset (`!reset`)."""
        out: dict[str, tuple[Any, str]] = {}
        # The keys it states, in KEYS' order: a service states a few of the thirteen.
        for key in sorted(raw.keys() & _KEY_ORDER.keys(), key=_KEY_ORDER.__getitem__):
            value = raw[key]
            at = _src((src.doc, (*src.path, key)))
            mode = "merge"
            if isinstance(value, Tagged):
                mode = {"reset": "reset", "override": "override"}.get(value.tag, "merge")
                value = value.value
            if value is None and mode != "reset":
                continue  # null states nothing: an extends base keeps its value
            if mode == "reset":
                out[key] = (None, "reset")
                continue
            if key in SCALARS:
                out[key] = (_val((value, at)), mode)
            elif key in LISTS:
                out[key] = (self.listed(key, value, at), mode)
            else:
                out[key] = (self.networks_of(value, at), mode)
        if not v1:
            for key in ("net",):
                if key in out:
                    raise self.fail(
                        "net: is the v1 key; files with services: use network_mode:",
                        _src((src.doc, (*src.path, key))),
                    )
        return out

    def listed(self, key: str, value: Any, at: Src) -> list[Val]:
        if key == "dns" and isinstance(value, (str, int)):
            return [_val((value, at))]
        if key == "extra_hosts" and isinstance(value, dict):
            out = []
            for host, address in value.items():
                where = _src((at.doc, (*at.path, host)))
                for one in address if isinstance(address, list) else [address]:
                    if one is None or isinstance(one, dict | list):
                        raise self.fail(f"extra_hosts {host} needs an address", where)
                    out.append(_val((f"{host}={one}", where)))
            return out
        if not isinstance(value, list):
            raise self.fail(f"{key} must be a list, not {_type(value)}", at)
        return [_val((item, _src((at.doc, (*at.path, i))))) for i, item in enumerate(value)]

    def networks_of(self, value: Any, at: Src) -> dict[str, Val]:
        if isinstance(value, list):
            out: dict[str, Val] = {}
            for i, item in enumerate(value):
                name = self.text(_val((item, _src((at.doc, (*at.path, i))))), "a network name")
                if name is not None:
                    out[name] = _val((None, _src((at.doc, (*at.path, i)))))
            return out
        if isinstance(value, dict):
            for name, cfg in value.items():
                if cfg is not None and not isinstance(cfg, (dict, Tagged)):
                    raise self.fail(
                        f"the settings of network {name} must be a mapping, not {_type(cfg)}",
                        _src((at.doc, (*at.path, name))),
                    )
            return {str(k): _val((v, _src((at.doc, (*at.path, k))))) for k, v in value.items()}
        raise self.fail(f"networks must be a list or a mapping, not {_type(value)}", at)

    def resolve(
        self,
        name: str,
        f: _File,
        stack: tuple[tuple[str, str], ...] = (),
        via: Src | None = None,
    ) -> dict[str, Any]:
        """A service's network settings after `extends` (reached `via` an extends key):
        key -> Val | list[Val] | dict[str, Val] | UNKNOWN."""
        key = (f.doc.file, name)
        if key in self.resolved:
            return self.resolved[key]
        if key in stack:
            chain = " -> ".join(s for _, s in (*stack, key))
            raise self.fail(
                f"extends goes round in a circle: {chain}", via or _src((f.doc, (*f.prefix, name)))
            )
        raw = f.services[name]
        src = _src((f.doc, (*f.prefix, name)))
        if raw is None or not isinstance(raw, dict):
            raise self.fail(
                f"service {name} must be a mapping (image:, ports: ...), not {_type(raw)}", src
            )
        own = self.read(raw, src, f.v1)
        base: dict[str, Any] | None = None
        if "extends" in raw:
            base = self.extended(
                name, raw["extends"], f, _src((f.doc, (*src.path, "extends"))), (*stack, key)
            )
        out = merge(base, own)
        self.resolved[key] = out
        return out

    def extended(
        self, name: str, spec: Any, f: _File, at: Src, stack: tuple[tuple[str, str], ...]
    ) -> dict[str, Any]:
        if isinstance(spec, Tagged):
            spec = spec.value
        file_name: str | None = None
        if isinstance(spec, str):
            ref: Any = spec
        elif isinstance(spec, dict):
            ref = spec.get("service")
            if ref is None:
                raise self.fail("extends needs service:", at)
            if spec.get("file") is not None:
                file_name = self.text(
                    _val((spec["file"], _src((at.doc, (*at.path, "file"))))), "file"
                )
                if file_name is None:
                    return self.unknown_base(name, "its extends file name has a variable", at)
        else:
            raise self.fail(f"extends must be a service name or a mapping, not {_type(spec)}", at)
        service = self.text(_val((ref, _src((at.doc, (*at.path, "service"))))), "extends service")
        if service is None:
            return self.unknown_base(name, "the service it extends has a variable", at)
        target = f
        if file_name is not None:
            other = self.sibling(file_name, f, at)
            if other is None:
                return self.unknown_base(name, f"{file_name} (extends) was not read", at)
            target = other
        if service not in target.services:
            where = f" in {file_name}" if file_name else ""
            raise self.fail(f"service {name} extends {service}, which is not defined{where}", at)
        if f.v1 or target.v1:
            self.v1_extends_rules(service, target, at)
        return self.resolve(service, target, stack, at)

    def v1_extends_rules(self, service: str, target: _File, at: Src) -> None:
        """docker-compose 1.x refused to extend a service tied to others (config.py
        validate_extended_service_dict); Compose v2 no longer does, but reads no v1 file."""
        raw = target.services.get(service)
        if not isinstance(raw, dict):
            return
        net, mode = raw.get("net"), raw.get("network_mode")
        for bad, what in (
            ("links" in raw, "links"),
            ("volumes_from" in raw, "volumes_from"),
            (isinstance(net, str) and net.startswith("container:"), "net: container"),
            (isinstance(mode, str) and mode.startswith("service:"), "network_mode: service"),
        ):
            if bad:
                raise self.fail(
                    f"cannot extend service {service}: docker-compose 1.x, the only tool that "
                    f"reads v1 files, refuses to extend a service with '{what}'",
                    at,
                )

    def unknown_base(self, name: str, why: str, at: Src) -> dict[str, Any]:
        self.partial = True
        self.builder.notes.append(
            f"{_dotted(at.path)}: the settings {name} inherits are unknown: {why}"
        )
        return {key: UNKNOWN for key in KEYS}


def merge(base: dict[str, Any] | None, own: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """Compose's extends merge (compose-go override/merge.go): scalars are replaced; ports,
    expose, dns, extra_hosts, links and profiles are appended; networks merge by name;
    `!override` replaces and `!reset` removes."""
    if base is None:  # no extends: what the service states, as the loop below leaves it
        return {key: value for key, (value, mode) in own.items() if mode != "reset"}
    out: dict[str, Any] = dict(base)
    for key, (value, mode) in own.items():
        if mode == "reset":
            out.pop(key, None)
            continue
        old = out.get(key)
        if mode == "override" or old is None or key in SCALARS:
            out[key] = value
        elif old is UNKNOWN:
            # Appended to settings we cannot see: unknown. Networks stated here are kept: they
            # rule out a network_mode (compose refuses both) and leaving the service without
            # any would say it sits on docker0.
            out[key] = value if key == NETWORKS else UNKNOWN
        elif key in LISTS:
            out[key] = [*old, *value]
        else:
            merged = dict(old)
            for name, cfg in value.items():
                prev = merged.get(name)
                if (
                    prev is not None
                    and isinstance(prev.value, dict)
                    and isinstance(cfg.value, dict)
                ):
                    merged[name] = _val(({**prev.value, **cfg.value}, cfg.src))
                else:
                    merged[name] = cfg
            out[key] = merged
    return out


def _where(anchors: dict[int, dict[int, PathKey]], src: Src) -> tuple[int | None, int | None]:
    """The line of a value; for one a YAML merge key (`<<: *common`) brought in, the line
    where the anchor states it (the document records only the anchor's own lines).
    `anchors` keeps each document's objects by where they first stand, built when needed."""
    doc = src.doc
    hit = doc.lines.get(src.path)
    if hit is not None:
        return hit
    index = anchors.get(id(doc))
    if index is None:
        index = anchors[id(doc)] = _object_paths(doc)
    node: Any = doc.data
    best: tuple[int, int] | None = None
    for cut, part in enumerate(src.path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        canonical = index.get(id(node))
        if canonical is not None and canonical != src.path[: cut + 1]:
            best = doc.lines.get((*canonical, *src.path[cut + 1 :]), best)
    return best if best is not None else doc.where(src.path)


def _place(anchors: dict[int, dict[int, PathKey]], src: Src) -> Location | None:
    """Where a value stands in its file (see _where); None when not known."""
    line, column = _where(anchors, src)
    return None if line is None else Location(file=src.doc.file, line=line, column=column)


def _object_paths(doc: Document) -> dict[int, PathKey]:
    """The first path of every mapping and list of a document: a merge key shares the
    anchor's objects, so this finds where a merged value is written."""
    out: dict[int, PathKey] = {}

    def walk(value: Any, path: PathKey) -> None:
        if isinstance(value, dict | list):
            if id(value) in out:
                return
            out[id(value)] = path
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                walk(item, (*path, key))

    walk(doc.data, ())
    return out


# ---------------------------------------------------------------------------------- loading


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read a compose file into a Setup; see the module docstring."""
    doc = parse(text, file)
    builder = Builder(file, doc)
    # The name is only a label unless siblings may be read: then it must be a real file.
    readable = options.read_siblings and file not in ("<stdin>", "<text>")
    regular = options.regular_file
    if regular is None and readable:
        regular = os.path.isfile(file)
    loader = _Loader(file, options, builder)
    main = loader.open(doc, file if readable and regular else None)
    loader.main = main if main.path is not None else None
    if not main.v1 and "include" in doc.data:
        loader.partial = True
        builder.notes.append(
            "include: the included files are not read; their services and networks are unknown"
        )
    build = _Build(loader, main)
    build.run()
    names = build.names()
    if loader.defaults:
        builder.notes.append(
            "variables without a value here took the file's defaults: "
            + ", ".join(sorted(loader.defaults))
        )
    builder.places = loader.places()
    try:
        loaded = builder.finish(kind)
    except InputError as exc:
        raise _compose_field(exc, loader.origins) from None
    loaded.compose = names
    return loaded


def _compose_field(exc: InputError, origins: dict[str, Src]) -> InputError:
    """Name the compose key (services.web.ports[1]), not the setup path, in an error the
    model raised."""
    if exc.field:
        parts = split_path(exc.field)
        for cut in range(len(parts), 0, -1):
            src = origins.get(field_path(parts[:cut]))
            if src is not None:
                exc.field = _dotted((*src.path, *parts[cut:]))
                break
    return exc


def _environment(directory: Path | None, options: LoadOptions, notes: list[str]) -> dict[str, str]:
    """Variables for interpolation: a `.env` beside the file, then options.env (the shell's
    environment wins over .env, as in compose). The process's own environment is never read:
    it is not the environment compose will run in."""
    env = dict(options.env)
    if directory is not None and options.read_siblings:
        dotenv = directory / ".env"
        if os.path.isfile(dotenv):  # os.path: no Path objects for the files that have none
            try:
                text = read_text(dotenv)
            except InputError as exc:
                notes.append(f"{dotenv}: not read: {exc.message}")
            else:
                env = {**read_dotenv(text, options.env, notes, str(dotenv)), **options.env}
    return env


class _Build:
    """Turn the services and networks of one file into containers and networks."""

    def __init__(self, loader: _Loader, main: _File) -> None:
        self.ld = loader
        self.b = loader.builder
        self.f = main
        self.services = main.services
        self.used: dict[str, Src] = {}  # networks services join -> first place
        self.container_names: dict[str, str] = {}  # container_name -> service
        self.docker_names: dict[str, str] = {}  # network key -> its fixed name in Docker
        # Services without image, build or extends only change a service of another file.
        self.fragments = {
            name
            for name, raw in self.services.items()
            if isinstance(raw, dict) and _DEFINING.isdisjoint(raw)
        }
        self.overlay = bool(self.fragments) or self.refers_outside()
        if self.overlay:
            loader.builder.notes.append(
                "read as an overlay of another compose file (`-f base.yaml -f this.yaml`): "
                + (
                    f"{', '.join(sorted(self.fragments))} ha{'s' if len(self.fragments) == 1 else 've'}"
                    " neither image nor build"
                    if self.fragments
                    else "it refers to services it does not define"
                )
                + "; check both together with --setup"
            )
        self.lenient = loader.partial or self.overlay  # references may point elsewhere

    def refers_outside(self) -> bool:
        """Whether a service names another one this file does not define (in network_mode,
        links or depends_on): the file is used together with another one."""
        for raw in self.services.values():
            if not isinstance(raw, dict) or _REFERRING.isdisjoint(raw):
                continue
            names: list[Any] = []
            mode = raw.get("network_mode")
            if isinstance(mode, str) and mode.startswith("service:"):
                names.append(mode[len("service:") :].strip())
            links = raw.get("links")
            if isinstance(links, list):
                names += [str(x).split(":", 1)[0] for x in links]
            deps = raw.get("depends_on")
            if isinstance(deps, list | dict):
                names += [str(x) for x in deps]
            if any(n not in self.services and "$" not in n for n in names):
                return True
        return False

    def run(self) -> None:
        resolved = {name: self.ld.resolve(name, self.f) for name in self.services}
        for name, fields in resolved.items():
            val = fields.get("container_name")
            if isinstance(val, Val):
                text = self.ld.text(val, "container_name")
                if text is not None:
                    self.container_names.setdefault(text, str(name))
        declared = self.declared_networks()
        for name, fields in resolved.items():
            self.container(name, fields, declared)
        self.networks(declared)

    def names(self) -> ComposeNames:
        """What Docker calls the services' containers and the networks, as far as the file
        says (`--setup` ties a snapshot's entries to the file's by them)."""
        return ComposeNames(
            self.project(),
            {service: name for name, service in self.container_names.items()},
            dict(self.docker_names),
        )

    def project(self) -> str | None:
        """The project's name as compose takes it: COMPOSE_PROJECT_NAME (the shell's: here
        --env; a .env is read only for a value that needs it), else the top-level name:.
        None when neither says: compose then takes the folder's name, or `-p`'s."""
        named = self.ld.options.env.get("COMPOSE_PROJECT_NAME")
        if named:
            return named
        return None if self.f.v1 else self.quiet(self.f.doc.data.get("name"))

    def quiet(self, value: Any) -> str | None:
        """The interpolated text of a name, None when it is no text or a variable has no
        value; no note (what the file says about it is read, and noted, elsewhere)."""
        if isinstance(value, Tagged):
            value = value.value
        if not isinstance(value, str) or not value:
            return None
        try:
            return interpolate(value, self.ld.env, set()) if "$" in value else value
        except (_Unresolved, _Malformed):
            return None

    # ---------------------------------------------------------------------------- networks

    def declared_networks(self) -> dict[str, Any]:
        if self.f.v1:
            return {}
        nets = self.f.doc.data.get("networks")
        if nets is None:
            return {}
        if not isinstance(nets, dict):
            raise self.ld.fail(
                f"networks must be a mapping, not {_type(nets)}", _src((self.f.doc, ("networks",)))
            )
        return {str(k): v for k, v in nets.items()}

    def networks(self, declared: dict[str, Any]) -> None:
        unused = [n for n in declared if n not in self.used]
        if unused:
            self.b.notes.append(
                "networks no service joins (compose does not create them): " + ", ".join(unused)
            )
        for name in self.used:
            at = _src((self.f.doc, ("networks", name)))
            entry: dict[str, Any] = {"name": name}
            cfg = declared.get(name)
            if isinstance(cfg, Tagged):
                cfg = cfg.value
            if name not in declared:
                # The implicit default network (an overlay's base file may configure it).
                where: Src = _src((self.f.doc, ("services",)))
                if name == "default" and not self.lenient:
                    entry.update(driver="bridge", internal=False, external=False)
            else:
                where = at
                if cfg is not None and not isinstance(cfg, dict):
                    raise self.ld.fail(f"network {name} must be a mapping, not {_type(cfg)}", at)
                plugin = self.network(entry, cfg or {}, at)
                fixed = self.docker_name(name, cfg or {}, bool(entry.get("external")))
                if fixed is not None:
                    self.docker_names[name] = fixed
                if not entry.get("external"):
                    # compose creates it: a bridge unless said otherwise, not internal
                    # (https://docs.docker.com/reference/compose-file/networks/)
                    if "driver" not in entry and not plugin:
                        entry["driver"] = "bridge"
                    entry.setdefault("internal", False)
                    entry.setdefault("external", False)
            i = self.b.append("docker.networks", entry)
            self.ld.place(f"docker.networks[{i}]", where)
            for key, src_key in (("subnet", "_subnet_src"), ("gateway", "_gateway_src")):
                src = entry.pop(src_key, None)
                if src is not None:
                    self.ld.place(f"docker.networks[{i}].{key}", src)

    def docker_name(self, key: str, cfg: dict[str, Any], external: bool) -> str | None:
        """The name Docker knows a network by, when the file fixes it: `name:`, or an
        external network's own (v2/v3 `external: {name: x}`, else its key). None: compose
        names it <project>_<key>."""
        outside = cfg.get("external")
        if isinstance(outside, dict) and outside.get("name") is not None:
            return self.quiet(outside["name"])
        if cfg.get("name") is not None:
            return self.quiet(cfg["name"])
        return key if external else None

    def network(self, entry: dict[str, Any], cfg: dict[str, Any], at: Src) -> bool:
        """Fill a network entry from its compose settings; True when its driver is a plugin."""

        def val(key: str) -> Val:
            return _val((cfg[key], _src((at.doc, (*at.path, key)))))

        plugin = False
        if cfg.get("driver") is not None:
            driver = self.ld.text(val("driver"), "driver")
            if driver is not None:
                if driver.lower() in DRIVERS:
                    entry["driver"] = driver.lower()
                else:
                    self.b.notes.append(
                        f"{_dotted(at.path)}: driver {driver!r} is a plugin netwhy does not "
                        "model; its behaviour is unknown"
                    )
                    plugin = True
        for key in ("internal", "external"):
            if cfg.get(key) is None:
                continue
            raw = cfg[key]
            if key == "external" and isinstance(raw, dict):  # v2/v3: external: {name: x}
                entry["external"] = True
                continue
            flag = self.ld.flag(val(key), key)
            if flag is not None:
                entry[key] = flag
        ipam = cfg.get("ipam")
        if ipam is None:
            return plugin
        if not isinstance(ipam, dict):
            raise self.ld.fail(f"ipam must be a mapping, not {_type(ipam)}", val("ipam").src)
        configs = ipam.get("config")
        ipam_at = _src((at.doc, (*at.path, "ipam", "config")))
        if configs is None:
            return plugin
        if not isinstance(configs, list):
            raise self.ld.fail(f"ipam config must be a list, not {_type(configs)}", ipam_at)
        subnets: list[tuple[int, str, dict[str, Any]]] = []
        for i, one in enumerate(configs):
            src = _src((at.doc, (*ipam_at.path, i)))
            if not isinstance(one, dict):
                raise self.ld.fail(f"an ipam config entry must be a mapping, not {_type(one)}", src)
            if one.get("subnet") is None:
                continue
            text = self.ld.text(
                _val((one["subnet"], _src((at.doc, (*src.path, "subnet"))))), "subnet"
            )
            if text is not None:
                subnets.append((i, text, one))
        if not subnets:
            return plugin
        # One subnet per network in the setup: the first IPv4 one (dual-stack networks add an
        # IPv6 subnet that no rule reads).
        pick = next((s for s in subnets if _is_v4(s[1])), subnets[0])
        i, subnet, one = pick
        src = _src((at.doc, (*ipam_at.path, i)))
        entry["subnet"] = subnet
        entry["_subnet_src"] = _src((at.doc, (*src.path, "subnet")))
        if one.get("gateway") is not None:
            gw = self.ld.text(
                _val((one["gateway"], _src((at.doc, (*src.path, "gateway"))))), "gateway"
            )
            if gw is not None:
                entry["gateway"] = gw
                entry["_gateway_src"] = _src((at.doc, (*src.path, "gateway")))
        others = [s for _, s, _ in subnets if s != subnet]
        if others:
            self.b.notes.append(
                f"{_dotted(at.path)}: subnets {', '.join(others)} are not modelled (one subnet "
                f"per network; {subnet} is used)"
            )
        return plugin

    # -------------------------------------------------------------------------- containers

    def container(self, name: str, fields: dict[str, Any], declared: dict[str, Any]) -> None:
        ld, b = self.ld, self.b
        src = _src((self.f.doc, (*self.f.prefix, name)))
        ct: dict[str, Any] = {"name": name}
        i = b.append("docker.containers", ct)
        base = f"docker.containers[{i}]"
        ld.place(base, src)
        for key in ("image", "hostname"):
            val = fields.get(key)
            if isinstance(val, Val):
                text = ld.text(val, key)
                if text is not None:
                    ct[key] = text
                    ld.place(f"{base}.{key}", val.src)
        self.mode(ct, base, name, fields, declared)
        self.replicas(name, src)
        self.ports(ct, base, name, fields)
        for key, out_key in (("expose", "expose"), ("dns", "dns"), ("profiles", "profiles")):
            vals = fields.get(key)
            if vals is UNKNOWN or vals is None:
                continue
            items = []
            for val in vals:
                text = ld.text(val, f"{key} entry")
                if text is not None and text not in items:
                    items.append(text)
                    ld.place(f"{base}.{out_key}[{len(items) - 1}]", val.src)
            ct[out_key] = items
        hosts = fields.get("extra_hosts")
        if isinstance(hosts, list):
            ct["extra_hosts"] = []
            for val in hosts:
                text = ld.text(val, "extra_hosts entry")
                if text is None or text in ct["extra_hosts"]:
                    continue
                if not re.match(r"^[^:=\s]+\s*[:=]\s*\S", text):
                    raise ld.fail(f"extra_hosts entry {text!r} is not HOST:IP or HOST=IP", val.src)
                ct["extra_hosts"].append(text)
                ld.place(f"{base}.extra_hosts[{len(ct['extra_hosts']) - 1}]", val.src)
        self.links(ct, base, name, fields)
        for key in sorted(ct.keys() & _LIST_ORDER.keys(), key=_LIST_ORDER.__getitem__):
            vals = fields.get(key)
            if isinstance(vals, list) and vals:
                # the list itself: where the key of its first entry stands
                src = vals[0].src
                if key in src.path:
                    cut = len(src.path) - src.path[::-1].index(key)
                    src = _src((src.doc, src.path[:cut]))
                ld.place(f"{base}.{key}", src)

    def mode(
        self,
        ct: dict[str, Any],
        base: str,
        name: str,
        fields: dict[str, Any],
        declared: dict[str, Any],
    ) -> None:
        """network_mode (v1: net) and the networks a service joins."""
        ld, f = self.ld, self.f
        if f.v1:
            for key, what in (("network_mode", "network_mode"), (NETWORKS, "networks")):
                if key in self.services[name]:
                    raise ld.fail(
                        f"{what} is not a v1 option (v1 files use net:; add version: and "
                        "services: to use it)",
                        _src((f.doc, (*f.prefix, name, key))),
                    )
        val = fields.get("net" if f.v1 else "network_mode")
        stated = fields.get(NETWORKS)
        if val is UNKNOWN and isinstance(stated, dict) and stated:
            val = None  # it joins networks, so it has no network_mode
        if val is UNKNOWN:
            ld.builder.notes.append(f"{_dotted((*f.prefix, name))}: its network mode is unknown")
            return
        mode: str | None = None
        if isinstance(val, Val):
            mode = ld.text(val, "network_mode")
            if mode is None:
                return
            mode = self.namespace_owner(mode.strip(), val)
            ct["network_mode"] = mode
            ld.place(f"{base}.network_mode", val.src)
        if f.v1:
            return  # every v1 container without net: is on docker0 (bridge mode)
        nets = fields.get(NETWORKS)
        if nets is UNKNOWN:
            if mode is None:
                ld.builder.notes.append(
                    f"{_dotted((*f.prefix, name))}: the networks it joins are unknown"
                )
            return
        if mode is not None:
            if nets:
                first = next(iter(nets.values()))
                raise ld.fail(
                    f"service {name} has both network_mode and networks, which compose refuses "
                    "(they are mutually exclusive)",
                    _src((first.src.doc, first.src.path[:-1])),
                )
            return
        if not nets and name in self.fragments:
            return  # the file it overrides says which networks
        if not nets:
            # https://docs.docker.com/compose/how-tos/networking/: no networks -> default
            nets = {"default": _val((None, _src((f.doc, (*f.prefix, name)))))}
        alias = self.alias_of(fields)
        attachments = []
        for j, (net, cfg) in enumerate(nets.items()):
            if net not in declared and net != "default" and not self.lenient:
                raise ld.fail(f"service {name} joins network {net}, which is not defined", cfg.src)
            self.used.setdefault(net, cfg.src)
            att = self.attachment(net, cfg, alias if alias != name else None)
            attachments.append(att)
            ld.place(f"{base}.networks[{j}]", cfg.src)
            if "ipv4_address" in att:
                ld.place(
                    f"{base}.networks[{j}].ipv4_address",
                    _src((cfg.src.doc, (*cfg.src.path, "ipv4_address"))),
                )
        ct["networks"] = attachments

    def namespace_owner(self, mode: str, val: Val) -> str:
        """`service:X` / `container:X`, naming the owner by its service (our container name)."""
        ld = self.ld
        kind, sep, target = mode.partition(":")
        if not sep or kind not in ("service", "container"):
            return mode
        target = target.strip()
        if kind == "service" or self.f.v1:
            # v1 `net: container:X` names a service first, then a container (compose 1.x).
            if target in self.services:
                return f"{kind}:{target}"
            if target in self.container_names:
                return f"container:{self.container_names[target]}"
            if kind == "service" and not self.lenient:
                raise ld.fail(
                    f"network_mode service:{target} names no service of this file", val.src
                )
            return mode
        if target in self.container_names:
            return f"container:{self.container_names[target]}"
        if target in self.services:
            ld.builder.notes.append(
                f"{_dotted(val.src.path)}: container:{target} names a container, and compose "
                f"names service {target}'s container <project>-{target}-1 (no container_name): "
                f"service:{target} is probably meant; read here as service {target}"
            )
        return mode

    def attachment(self, net: str, cfg: Val, alias: str | None) -> dict[str, Any]:
        """One entry of a service's networks: ipv4_address and aliases."""
        ld = self.ld
        att: dict[str, Any] = {"name": net}
        value = cfg.value.value if isinstance(cfg.value, Tagged) else cfg.value
        aliases: list[str] = []
        if isinstance(value, dict):
            at = cfg.src
            if value.get("ipv4_address") is not None:
                src = _src((at.doc, (*at.path, "ipv4_address")))
                ip = ld.text(_val((value["ipv4_address"], src)), "ipv4_address")
                if ip is not None:
                    att["ipv4_address"] = ip
            names = value.get("aliases")
            if names is not None:
                src = _src((at.doc, (*at.path, "aliases")))
                if not isinstance(names, list):
                    raise ld.fail(f"aliases must be a list, not {_type(names)}", src)
                for k, one in enumerate(names):
                    text = ld.text(_val((one, _src((at.doc, (*src.path, k))))), "alias")
                    if text is not None and text not in aliases:
                        aliases.append(text)
        if alias and alias not in aliases:
            aliases.append(alias)  # Docker's DNS answers for the container name too
        if aliases:
            att["aliases"] = aliases
        return att

    def replicas(self, name: str, src: Src) -> None:
        """scale / deploy.replicas: one container stands for all of them."""
        raw = self.services[name]
        deploy = raw.get("deploy") if isinstance(raw, dict) else None
        count = raw.get("scale") if isinstance(raw, dict) else None
        if count is None and isinstance(deploy, dict):
            count = deploy.get("replicas")
        if isinstance(count, int) and not isinstance(count, bool) and count > 1:
            self.b.notes.append(
                f"{_dotted(src.path)}: {count} replicas; one container stands for them all "
                "(a fixed host port can be published by one replica only)"
            )

    def alias_of(self, fields: dict[str, Any]) -> str | None:
        val = fields.get("container_name")
        if isinstance(val, Val):
            return self.ld.text(val, "container_name")
        return None

    def ports(self, ct: dict[str, Any], base: str, name: str, fields: dict[str, Any]) -> None:
        ld = self.ld
        vals = fields.get("ports")
        if vals is UNKNOWN or (vals is None and name in self.fragments):
            return
        out: list[Any] = []
        keys: list[str] = []
        for val in vals or []:
            item = val.value
            if isinstance(item, Tagged):
                item = item.value
            if isinstance(item, dict):
                try:
                    value: Any = {
                        k: v
                        for k, v in ld.deep(_val((item, val.src))).items()
                        if not str(k).startswith("x-")
                    }
                except _Unresolved as exc:
                    ld.unresolved(val, exc)
                    continue
                key = "{host_ip}:{published}:{target}/{protocol}".format(
                    host_ip=value.get("host_ip", ""),
                    published=value.get("published", ""),
                    target=value.get("target", ""),
                    protocol=value.get("protocol", "tcp"),
                )
            elif isinstance(item, str):
                text = ld.text(_val((item, val.src)), "port")
                if text is None:
                    continue
                value = key = text
            else:
                if isinstance(item, int) and not isinstance(item, bool) and not 0 < item < 65536:
                    raise ld.fail(f"port {item} is not between 1 and 65535", val.src)
                value = item  # an int is a container port; the model refuses the rest
                key = str(item)
            if key in keys:  # compose keeps one of identical entries (override/uncity.go)
                continue
            keys.append(key)
            out.append(value)
            ld.place(f"{base}.ports[{len(out) - 1}]", val.src)
        ct["ports"] = out

    def links(self, ct: dict[str, Any], base: str, name: str, fields: dict[str, Any]) -> None:
        ld = self.ld
        out: list[str] = []
        for key in ("links", "external_links"):
            vals = fields.get(key)
            if vals is UNKNOWN or vals is None:
                continue
            for val in vals:
                text = ld.text(val, "link")
                if text is None:
                    continue
                target = text.split(":", 1)[0].strip()
                if key == "links" and target not in self.services and not self.lenient:
                    raise ld.fail(
                        f"service {name} links to {target}, which is not defined", val.src
                    )
                if text not in out:
                    out.append(text)
                    ld.place(f"{base}.links[{len(out) - 1}]", val.src)
        if out:
            ct["links"] = out


def _is_v4(text: str) -> bool:
    try:
        return ipaddress.ip_network(text.strip(), strict=False).version == 4
    except ValueError:
        return True  # the model reports it
