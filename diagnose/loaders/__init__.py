"""Input loaders: each turns one format into the one Setup model (see base.py).

Formats are detected by file name, then by content; `kind=` overrides. Loader modules are
imported only when a file of their kind is read (start-up time matters to CI jobs).
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from diagnose.errors import InputError
from diagnose.loaders.base import Loaded, LoadOptions, Suppression
from diagnose.yamltext import read_file, refuse_surrogates, text_scalars


@dataclass(frozen=True)
class Format:
    """A registered input format."""

    kind: str
    module: str  # diagnose.loaders.<module> with load(text, file) and detect(name, text)
    names: tuple[str, ...] = ()  # file-name patterns (fnmatch-style regexes below)
    description: str = ""


# Order matters: the first format whose name pattern matches wins; then content detectors run
# in this order, so specific formats come before general ones (the setup format is last).
FORMATS: tuple[Format, ...] = (
    Format(
        "compose",
        "compose",
        (
            r"(docker-)?compose([.-][\w.-]+)?\.ya?ml",
            r"[\w.-]*\.compose\.ya?ml",
            # traefik-docker-compose.yml, app_docker-compose.prod.yaml
            r"[\w.-]*[._-]docker-compose([.-][\w.-]+)?\.ya?ml",
        ),
        "Docker Compose files of every version",
    ),
    Format("docker-inspect", "docker_inspect", (), "`docker inspect` / `docker ps` JSON"),
    Format("daemon-json", "host_facts", (r"daemon\.json",), "Docker's daemon.json"),
    Format(
        "docker-run",
        "docker_run",
        (r"[\w.-]*\.(sh|bash)", r"README(\.md)?", r"[\w.-]*\.md"),
        "`docker run` / `docker create` command lines, also inside scripts and READMEs",
    ),
    Format("vmx", "vmware", (r"[\w .()-]*\.vmx",), "VMware .vmx"),
    Format(
        "vmnet-conf",
        "vmware",
        (r"vmnet(nat|dhcp)\.conf", r"nat\.conf", r"dhcpd\.conf"),
        "VMware vmnetnat.conf / vmnetdhcp.conf",
    ),
    Format("vbox", "virtualbox", (r"[\w .()-]*\.vbox",), "VirtualBox .vbox XML"),
    Format("vboxmanage", "virtualbox", (), "`VBoxManage showvminfo --machinereadable` output"),
    Format("libvirt", "libvirt", (), "libvirt domain and network XML"),
    Format(
        "vagrant", "vagrant", (r"([\w.-]*[._-])?Vagrantfile",), "Vagrantfiles (read without Ruby)"
    ),
    Format("ip-json", "host_facts", (), "`ip -j addr` / `ip -j route`"),
    Format("iptables", "host_facts", (), "`iptables-save` output"),
    Format("nft-json", "host_facts", (), "`nft -j list ruleset`"),
    Format("setup", "setup", (), "netwhy's own setup format (YAML or JSON)"),
)
KINDS = tuple(f.kind for f in FORMATS)
# Names too generic to trust alone: the content must agree.
_GENERIC_NAMES = frozenset(
    {r"[\w.-]*\.(sh|bash)", r"README(\.md)?", r"[\w.-]*\.md", r"nat\.conf", r"dhcpd\.conf"}
)


def _format(kind: str) -> Format:
    for fmt in FORMATS:
        if fmt.kind == kind:
            return fmt
    raise InputError(f"unknown kind {kind!r}; one of: {', '.join(KINDS)}", field="kind")


_MODULES: dict[str, ModuleType] = {}  # imported loader modules (import_module runs Python)


def _module(fmt: Format) -> ModuleType:
    module = _MODULES.get(fmt.module)
    if module is None:
        module = _MODULES[fmt.module] = importlib.import_module(f"diagnose.loaders.{fmt.module}")
    return module


def _base_name(name: str) -> str:
    """Path(name).name: the last part, taken from the text when it plainly is one (building
    a Path costs more than detecting a compose file)."""
    base = name.rpartition("/")[2]
    return base if base not in ("", ".") else Path(name).name


@functools.lru_cache(maxsize=1024)  # a batch sees the same few names (compose.yaml...)
def _named(base: str) -> tuple[tuple[Format, bool], ...]:
    """The formats whose file names match, in order, each with whether the name is too
    generic to trust alone."""
    out = []
    for fmt in FORMATS:
        hits = [p for p in fmt.names if re.fullmatch(p, base, re.IGNORECASE)]
        if hits:
            out.append((fmt, any(p in _GENERIC_NAMES for p in hits)))
    return tuple(out)


def detect(name: str, text: str) -> str:
    """The kind of an input, from its file name, else its content."""
    base = _base_name(name)
    for fmt, generic in _named(base):
        # A name is a strong hint, but a script or README must hold a docker command, and a
        # file called nat.conf or dhcpd.conf must be VMware's.
        if not generic or _module(fmt).detect(base, text, fmt.kind):
            return fmt.kind
    for fmt in FORMATS:
        if fmt.kind != "setup" and not fmt.names and _module(fmt).detect(base, text, fmt.kind):
            return fmt.kind
    for fmt in FORMATS:  # name-less content detection for formats with names too
        if fmt.names and _module(fmt).detect(base, text, fmt.kind):
            return fmt.kind
    return "setup"


def load_text(
    text: str, name: str, kind: str | None = None, options: LoadOptions | None = None
) -> Loaded:
    """Load one input from its text."""
    refuse_surrogates(text, name)  # text from a caller, not a file, may hold one
    fmt = _format(kind or detect(name, text))
    loaded: Loaded = _module(fmt).load(text, name, fmt.kind, options or LoadOptions())
    for s in scan_suppressions(text, name, fmt.kind):
        last = loaded.statements.get(s.line + 1) or loaded.statements.get(s.line)
        loaded.suppressions.append(replace(s, until=last) if last and s.scope == "next" else s)
    return loaded


def load_file(
    path: str | Path, kind: str | None = None, options: LoadOptions | None = None
) -> Loaded:
    """Load one input file."""
    text, regular = read_file(path)
    options = (options or LoadOptions()).for_file(regular)
    return load_text(text, str(path), kind, options)


# `# netwhy: ignore[DP001, DM006] the reason` (YAML, scripts, Vagrantfiles, .vmx, conf files)
# or `<!-- netwhy: ignore[...] reason -->` (XML); `ignore-file[...]` covers the whole file.
# The text after the bracket is cut in Python (_tail): `(.*?)\s*(?:-->)?\s*$` retried the
# spaces after every character, and a long line took seconds.
_SUPPRESS = re.compile(r"(?:#|;|<!--|//)\s*netwhy:\s*(ignore|ignore-file)\[([^\]]*)\](.*)")
# A comment that means to be one and is not (`netwhy ignore[..]`, `netwhy: ignore DM006`,
# `NetWhy: Ignore[..]`, an unclosed bracket): reported, since it silently suppresses nothing.
_MEANT = re.compile(
    r"(?:#|;|<!--|//)\s*(netwhy\s*(?::\s*(?:ignore\b|[\w-]*\[)|ignore(?:-file)?\s*\[).*)", re.I
)


def _tail(text: str) -> str:
    """The text of a comment's end without the spaces around it and an XML comment's `-->`."""
    text = text.strip()
    return text[:-3].rstrip() if text.endswith("-->") else text


# Lines numbered as each format's reader numbers them (a finding's line and its suppression's
# must agree): expat and the script reader break lines at \n and \r, the Vagrantfile reader at
# \n only; the others as str.splitlines (libyaml refuses the characters where they differ).
_CR_LF_BREAKS = re.compile("\r\n|[\r\n]")
_LINE_BREAKS = {
    "vbox": _CR_LF_BREAKS,
    "libvirt": _CR_LF_BREAKS,
    "docker-run": _CR_LF_BREAKS,
    "vagrant": re.compile("\n"),
}
_OTHER_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def scan_suppressions(text: str, name: str, kind: str) -> list[Suppression]:
    """Every suppression comment of a text format (JSON has no comments), and every comment
    meant as one that is not (reported: it suppresses nothing)."""
    if kind in ("docker-inspect", "ip-json", "nft-json", "daemon-json") or (
        "netwhy" not in text.lower()
    ):
        return []
    out = []
    scalars = None  # YAML: the quoted and block scalars, read only once a line has a match
    for number, line in enumerate(_LINE_BREAKS.get(kind, _OTHER_BREAKS).split(text), start=1):
        m = _SUPPRESS.search(line)
        ids = tuple(p.strip() for p in m.group(2).split(",") if p.strip()) if m else ()
        meant = None if ids else _MEANT.search(line)  # `ignore[]` names nothing either
        found = m if ids else meant
        if found is None:
            continue
        if kind in ("compose", "setup"):
            if scalars is None:
                scalars = text_scalars(text) or []
            at = (number, found.start())
            if any(start < at < end for start, end in scalars):
                continue  # `command: "echo '# netwhy: ...'"` is text, not a comment
        if meant is not None:
            out.append(Suppression(name, number, (), None, malformed=_tail(meant.group(1))))
        elif m is not None:
            reason = _tail(m.group(3)) or None
            scope = "file" if m.group(1) == "ignore-file" else "next"
            out.append(Suppression(name, number, ids, reason, scope))
    return out
