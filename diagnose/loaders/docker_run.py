"""`docker run` / `docker create` command lines: in a file of commands, a shell script, a README.

Each command is one container. The text is read the way a POSIX shell splits it (quotes,
backslash continuations, comments, `$(...)`, redirections, here-documents) and the options the
way the docker CLI parses them (spf13/pflag, interspersed off: options stop at the image). The
flag table and the value checks follow docker/cli `cli/command/container/opts.go` and `run.go`.

Where the commands come from:
- shell scripts (`*.sh`, `*.bash`, a shell `#!`): the whole file is one script, run together;
  `#` starts a comment (a commented-out `docker run` is noted, not read);
- Markdown (`*.md`, README): the lines of fenced code blocks and indented code blocks; each
  block is one group of commands run together, and different blocks are alternatives;
- any other file of commands: each paragraph (lines not parted by a blank or comment line)
  is one group run together, and different paragraphs are alternatives.
In Markdown and command files a prompt (`$ `, `# `, `user@host:~$ `, `PS C:\\> `, `> `) is
dropped. Commands of different groups never compete for a host port: each group becomes a
compose-style profile of the containers that publish ports (only when there are several).

Values the text cannot give (`$VAR`, `${VAR}`, `$(...)`, `<placeholder>`) are unknown, unless
`--env NAME=VALUE` gives them; what is left out is said in a note. A command docker's parser
would refuse as a whole (no image, an unknown flag, a flag without its value, an invalid image
reference or container name) is skipped with a note: READMEs are full of such fragments. A
networking value docker refuses (`-p 53:53:udp`, `--ip 300.1.1.1`) is an input error naming
the line and the flag.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders.base import AtLineStart, Builder, Loaded, LoadOptions
from diagnose.ports import PortSyntaxError, parse_port_range, parse_publish, split_proto

UNKNOWN = "\ufffc"  # stands in a word for a part whose value the text does not give
_ONE, _SPLIT, _MANY = 0, 1, 2  # an expansion: one word; split if unquoted; "$@": any number

# ------------------------------------------------------------------------------- detection

_DOCKER = r"(?:[\w./-]*/)?docker(?:\.exe)?"
_GLOBALS = r"(?:[ \t]+-{1,2}[\w-]+(?:[= ][^\s-]\S*)?){0,4}"
_VERB = r"[ \t]+(?:container[ \t]+)?(?:run|create)(?=[ \t]|$)"
_ANYWHERE = re.compile(
    rf"(?m)(?:^|[\s;&|(`])(?:sudo[ \t]+(?:-\S+[ \t]+)*)?{_DOCKER}{_GLOBALS}{_VERB}"
)
_PROMPT = r"(?:(?:[\w.-]+@[\w.-]+(?::\S*)?[ \t]*)?[$#%]|PS [^>\n]*>|[A-Za-z]:\\[^>\n]*>|>)[ \t]+"
_AT_LINE_START = AtLineStart(
    rf"[ \t]*(?:{_PROMPT})?(?:sudo[ \t]+(?:-\S+[ \t]+)*)?(?:[A-Za-z_]\w*=\S*[ \t]+)*"
    rf"{_DOCKER}{_GLOBALS}{_VERB}[ \t]+\S"
)
_YAML_KEY = AtLineStart(r"[A-Za-z_][\w.-]*:(?:[ \t]|$)")


def detect(name: str, text: str, kind: str) -> bool:
    """A README or script (by name) holding a `docker run`/`docker create` command; any other
    text whose lines start such commands and that is not JSON, YAML or XML."""
    base = PurePath(name).name
    # Every pattern below needs the word `docker`: a text without it is not searched.
    if re.fullmatch(r"(?i)[\w.-]*\.(sh|bash|md|markdown)|README(\.\w+)?", base):
        return "docker" in text and bool(_ANYWHERE.search(text))
    head = text.lstrip()[:5]
    if head.startswith(("{", "[", "<?xml", "<")):
        return False
    if "docker" not in text or _AT_LINE_START.search(text) is None:
        return False
    return _YAML_KEY.search(text) is None


# ------------------------------------------------------------------------------- the shell


@dataclass(slots=True)
class Word:
    """One shell word after quote removal; unknown parts stand as UNKNOWN."""

    text: str
    line: int
    multi: bool = False  # may expand to several words: unquoted $X / $(...), "$@", "${a[@]}"
    blank_escape: bool = False  # only backslash-escaped blanks (`\ `)
    raw: str = ""  # the source text, quotes and all

    @property
    def known(self) -> bool:
        return UNKNOWN not in self.text

    def part(self, text: str) -> Word:
        """A piece of this word (the value of `--flag=value`, `-pVALUE`)."""
        if UNKNOWN in text and self.raw:
            # the source of the piece: the raw word after the flag (best effort for notes)
            raw = self.raw.split("=", 1)[-1] if "=" in self.raw else self.raw
        else:
            raw = text
        return Word(text, self.line, self.multi, raw=raw)

    def show(self) -> str:
        """The word as written (for notes)."""
        return self.raw or self.text


@dataclass
class Command:
    """A simple command: its words, up to an operator or an unescaped newline."""

    words: list[Word]
    line: int
    comment_after_escape: bool = False  # `... \ # comment`: the backslash escaped a blank
    unterminated: bool = False


_REDIRECT = re.compile(r"\d*(?:&>>?|<<<|<<-?|<>|>>|>&|<&|>\||[<>])")
_PLACEHOLDER = re.compile(r"<[A-Za-z][\w .:/@-]*>")
# Patterns used per line or per word, compiled once.
_INDENTED_CODE = re.compile(r"( {4,}|\t)\S")
_CONTINUED_PROMPT = re.compile(r"^([ \t]*)>[ \t]")
_LINE_PROMPT = re.compile(rf"^[ \t]*(?:{_PROMPT})")
_DOCKER_COMMAND = re.compile(rf"(?:sudo[ \t]+)?{_DOCKER}[ \t]")
_DOCKER_WORD = re.compile(_DOCKER)
_CMD_CONTINUATIONS = (" `", "\t`", " ^", "\t^")  # PowerShell's and cmd's, at a line's end
_ESCAPED_BLANK_COMMENT = re.compile(r"\\[ \t]+#")
_OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")")  # the two-character ones first
# What a redirection or an operator can start with: the lexer tests the character before
# trying either (most words start with neither).
_REDIRECT_FIRST = frozenset("0123456789&<>")
_OPERATOR_FIRST = frozenset("&|;()")
# Runs of characters with no meaning to the shell, taken at once (scripts and READMEs are
# read character by character otherwise); U+FFFC is UNKNOWN's own character.
_PLAIN = re.compile(r"[^ \t\r\n;&|()<>\\'\"`$\ufffc]+")
_PLAIN_QUOTED = re.compile(r'[^"\\$`\ufffc]+')
# Plain words (no quote, expansion, escape or <placeholder>) on one line, each up to blanks,
# an operator or the end (a `\` or `<` after one would make it part of a longer word), with
# the blanks after them: str.split() parts them (other whitespace is not plain here). A word
# does not start a comment (`#`), and one starting with a digit must not be a redirection's
# descriptor (`2>&1`, `2&>`).
_PLAIN_CHAR = r"[^\s;&|()<>\\'\"`$\ufffc]"
_PLAIN_WORDS = re.compile(
    rf"(?:[^\s;&|()<>\\'\"`$\ufffc#0-9]{_PLAIN_CHAR}*(?:[ \t\r]+|(?=[\n;&|()>])|\Z)"
    rf"|[0-9]{_PLAIN_CHAR}*(?:[ \t\r]+|(?=[\n;|()])|\Z))+"
)
_WORD_END = frozenset(" \t\r\n;&|()>")  # what ends a word (`<` may open a <placeholder>)


class _Lexer:
    """Split text into simple commands as a POSIX shell does (no expansion is run)."""

    def __init__(
        self,
        text: str,
        line_of: Callable[[int], int],
        env: dict[str, str],
        quotes_span_lines: bool,
    ) -> None:
        self.s = text
        self.line_of = line_of
        self.env = env
        self.span = quotes_span_lines
        self.commands: list[Command] = []
        self.nested: list[tuple[int, int]] = []  # (start, end) of $(...) and `...` bodies
        self.unclosed: int | None = None  # offset of a quote or $( never closed

    # ------------------------------------------------------------------ top level
    def run(self, start: int, end: int) -> list[Command]:
        s, i = self.s, start
        words: list[Word] = []
        cmd = Command(words, 0)
        heredocs: list[tuple[str, bool]] = []

        def finish() -> None:
            nonlocal words, cmd
            if words:
                cmd.line = words[0].line
                self.commands.append(cmd)
            elif not cmd.unterminated:
                return  # nothing read since the last one (a blank or comment line): reused
            words = []
            cmd = Command(words, 0)

        while i < end:
            c = s[i]
            if c in " \t\r":
                i += 1
            elif c == "\\" and s.startswith("\n", i + 1):
                i += 2
            elif c == "\n":
                finish()
                i += 1
                for delim, strip_tabs in heredocs:
                    i = self.skip_heredoc(i, end, delim, strip_tabs)
                heredocs = []
            elif c == "#":
                if words and words[-1].blank_escape:
                    cmd.comment_after_escape = True
                nl = s.find("\n", i, end)
                i = end if nl < 0 else nl
            elif (plain := _PLAIN_WORDS.match(s, i, end)) is not None:
                # Most words are plain: a run of them on one line is taken at once.
                line = self.line_of(i)
                for text in plain.group().split():
                    words.append(Word(text, line, False, False, text))
                i = plain.end()
            elif (
                c in _REDIRECT_FIRST
                and (m := _REDIRECT.match(s, i, end))
                and not (c == "<" and _PLACEHOLDER.match(s, i, end))
            ):
                op = m.group(0).lstrip("0123456789")
                i = m.end()
                while i < end and s[i] in " \t":
                    i += 1
                if i < end and s[i] not in "\n;&|()":
                    target: list[Word] = []
                    i = self.word_into(target, i, end, cmd)
                    if op in ("<<", "<<-") and target:
                        heredocs.append((target[0].text.replace(UNKNOWN, ""), op == "<<-"))
            elif c in _OPERATOR_FIRST:
                finish()
                i += 2 if s.startswith(_OPERATORS[:4], i) and i + 1 < end else 1
            else:
                i = self.word_into(words, i, end, cmd)
        finish()
        return self.commands

    def skip_heredoc(self, i: int, end: int, delim: str, strip_tabs: bool) -> int:
        while i < end:
            nl = self.s.find("\n", i, end)
            line_end = end if nl < 0 else nl
            line = self.s[i:line_end]
            i = line_end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delim:
                break
        return min(i, end)

    # ------------------------------------------------------------------ words
    def word_into(self, out: list[Word], i: int, end: int, cmd: Command) -> int:
        s = self.s
        # Most words are one plain run up to a blank or an operator: taken at once.
        plain = _PLAIN.match(s, i, end)
        if plain is not None:
            stop = plain.end()
            if stop == end or s[stop] in _WORD_END:
                value = s[i:stop]
                out.append(Word(value, self.line_of(i), False, False, value))  # positional: faster
                return stop
        start = i
        text: list[str] = []
        split = _ONE  # the most words an expansion in it may become
        literal = False  # it has text of its own beside expansions
        quoted = False  # "" or '' make an (empty) word even when nothing else does
        blanks_only = True
        while i < end:
            c = s[i]
            if c in " \t\r\n;&|()":
                break
            if c in "<>":
                ph = _PLACEHOLDER.match(s, i, end) if c == "<" else None
                if ph is None:
                    break
                text.append(UNKNOWN)
                blanks_only = False
                i = ph.end()
                continue
            if c == "\\":
                nxt = s[i + 1 : i + 2]
                if nxt == "\n":
                    i += 2
                    continue
                text.append(nxt)
                literal = True
                blanks_only = blanks_only and nxt in " \t"
                i += 2
                continue
            blanks_only = False
            if c == "'":
                quoted = True
                close = s.find("'", i + 1, end)
                stop = self.line_end(i, end) if not self.span else end
                if close < 0 or close > stop:
                    self.unclosed = i if self.unclosed is None else self.unclosed
                    cmd.unterminated = True
                    text.append(s[i + 1 : stop])
                    i = stop
                    break
                text.append(s[i + 1 : close])
                literal = literal or close > i + 1
                i = close + 1
            elif c == '"':
                quoted = True
                before = len(text)
                i, part = self.double_quoted(text, i + 1, end, cmd)
                split = max(split, part)
                literal = literal or any(t != UNKNOWN for t in text[before:])
            elif c == "`":
                i, part = self.backquote(text, i, end, cmd, quoted=False)
                split = max(split, part)
            elif c == "$":
                i, part = self.dollar(text, i, end, cmd, quoted=False)
                split = max(split, part)
            else:
                plain = _PLAIN.match(s, i, end)
                stop = plain.end() if plain else i + 1
                text.append(s[i:stop])
                literal = True
                i = stop
        if i > start and (text or quoted):  # `#optional` alone expands to no word at all
            # An unquoted expansion splits into words; beside text of its own (`$(pwd):/data`,
            # `app:$TAG`) it is taken as one word, alone (`$OPTS`) as any number of words.
            multi = split == _MANY or (split == _SPLIT and not literal)
            word = Word("".join(text), self.line_of(start), multi, raw=s[start:i])
            word.blank_escape = blanks_only and bool(word.text) and not word.text.strip()
            out.append(word)
        return i

    def line_end(self, i: int, end: int) -> int:
        nl = self.s.find("\n", i, end)
        return end if nl < 0 else nl

    def double_quoted(self, text: list[str], i: int, end: int, cmd: Command) -> tuple[int, int]:
        """The body of "...": returns the end and _MANY if it holds "$@" / "${a[@]}"."""
        s = self.s
        stop = end if self.span else self.line_end(i, end)
        multi = _ONE
        while i < stop:
            c = s[i]
            if c == '"':
                return i + 1, multi
            if c == "\\" and i + 1 < end and s[i + 1] in '$`"\\\n':
                if s[i + 1] != "\n":
                    text.append(s[i + 1])
                i += 2
            elif c == "$":
                i, part = self.dollar(text, i, end, cmd, quoted=True)
                multi = max(multi, part)
            elif c == "`":
                i, _ = self.backquote(text, i, end, cmd, quoted=True)
            else:
                plain = _PLAIN_QUOTED.match(s, i, stop)
                nxt = plain.end() if plain else i + 1
                text.append(s[i:nxt])
                i = nxt
        self.unclosed = i if self.unclosed is None else self.unclosed
        cmd.unterminated = True
        return stop, multi

    def backquote(
        self, text: list[str], i: int, end: int, cmd: Command, quoted: bool
    ) -> tuple[int, int]:
        j = i + 1
        while j < end and self.s[j] != "`":
            j += 2 if self.s[j] == "\\" else 1
        if j >= end:
            self.unclosed = i if self.unclosed is None else self.unclosed
            cmd.unterminated = True
            text.append(UNKNOWN)
            return end, _ONE if quoted else _SPLIT
        body = self.s[i + 1 : j]
        if body.strip().startswith("#") and "\n" not in body:
            # `#optional` (linuxserver's READMEs): a command that is only a comment prints
            # nothing, so the substitution is empty (unquoted: no word at all).
            return j + 1, _ONE
        self.nested.append((i + 1, j))
        text.append(UNKNOWN)
        return j + 1, _ONE if quoted else _SPLIT

    def dollar(
        self, text: list[str], i: int, end: int, cmd: Command, quoted: bool
    ) -> tuple[int, int]:
        """An expansion: returns its end and how many words it may become."""
        s = self.s
        maybe = _ONE if quoted else _SPLIT
        nxt = s[i + 1 : i + 2]
        if nxt == "(":
            close = self.closing(i + 2, end, "(", ")")
            if close is None:
                self.unclosed = i if self.unclosed is None else self.unclosed
                cmd.unterminated = True
                text.append(UNKNOWN)
                return end, maybe
            if not s.startswith("((", i + 1):  # $((...)) is arithmetic, not a command
                self.nested.append((i + 2, close))
            text.append(UNKNOWN)
            return close + 1, maybe
        if nxt == "{":
            close = self.closing(i + 2, end, "{", "}")
            if close is None:
                self.unclosed = i if self.unclosed is None else self.unclosed
                cmd.unterminated = True
                text.append(UNKNOWN)
                return end, maybe
            inner = s[i + 2 : close]
            m = re.fullmatch(r"([A-Za-z_]\w*)(?::?[-=?+].*)?", inner, re.S)
            if m and m.group(1) in self.env and inner == m.group(1):
                text.append(self.env[m.group(1)])
                return close + 1, _ONE
            if m and m.group(1) in self.env and re.match(r"\w+:?[-=]", inner):
                text.append(self.env[m.group(1)])  # ${VAR:-default} with VAR given
                return close + 1, _ONE
            text.append(UNKNOWN)
            return close + 1, _MANY if ("[@]" in inner or inner == "@") else maybe
        m = re.compile(r"[A-Za-z_]\w*").match(s, i + 1, end)
        if m:
            if m.group(0) in self.env:
                text.append(self.env[m.group(0)])
                return m.end(), _ONE
            text.append(UNKNOWN)
            return m.end(), maybe
        if nxt and nxt in "@*#?$!-0123456789":
            text.append(UNKNOWN)
            return i + 2, _MANY if nxt == "@" else maybe
        text.append("$")
        return i + 1, _ONE

    def closing(self, i: int, end: int, opening: str, close: str) -> int | None:
        """The index of the bracket closing one opened just before i (quotes respected)."""
        s, depth = self.s, 1
        while i < end:
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == "'":
                j = s.find("'", i + 1, end)
                if j < 0:
                    return None
                i = j + 1
                continue
            if c == '"':
                j = i + 1
                while j < end and s[j] != '"':
                    j += 2 if s[j] == "\\" else 1
                i = j + 1
                continue
            if c == opening:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        return None


# ----------------------------------------------------------------------- docker's options


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _flag_table(values: str, switches: str) -> dict[str, bool]:
    """flag -> takes a value (True) or is a boolean switch (False, pflag NoOptDefVal)."""
    return {**dict.fromkeys(values.split(), True), **dict.fromkeys(switches.split(), False)}


# docker run/create flags (docker/cli cli/command/container/opts.go addFlags, run.go, create.go)
_RUN_FLAGS = _flag_table(
    "add-host annotation attach blkio-weight blkio-weight-device cap-add cap-drop "
    "cgroup-parent cgroupns cidfile cpu-count cpu-percent cpu-period cpu-quota "
    "cpu-rt-period cpu-rt-runtime cpu-shares cpus cpuset-cpus cpuset-mems "
    "device device-cgroup-rule device-read-bps device-read-iops device-write-bps "
    "device-write-iops dns dns-opt dns-option dns-search domainname entrypoint env "
    "env-file expose gpus group-add health-cmd health-interval health-retries "
    "health-start-interval health-start-period health-timeout hostname io-maxbandwidth "
    "io-maxiops ip ip6 ipc isolation kernel-memory label label-file link "
    "link-local-ip log-driver log-opt mac-address memory memory-reservation "
    "memory-swap memory-swappiness mount name net net-alias network network-alias "
    "oom-score-adj pid pids-limit platform publish pull restart runtime security-opt "
    "shm-size stop-signal stop-timeout storage-opt sysctl tmpfs ulimit user userns uts "
    "volume volume-driver volumes-from workdir detach-keys",
    "detach interactive tty publish-all quiet rm read-only privileged init "
    "no-healthcheck oom-kill-disable sig-proxy disable-content-trust help use-api-socket",
)
_RUN_ONLY = _names("detach sig-proxy detach-keys")
_RUN_SHORT = {
    "a": "attach",
    "c": "cpu-shares",
    "d": "detach",
    "e": "env",
    "h": "hostname",
    "i": "interactive",
    "l": "label",
    "m": "memory",
    "p": "publish",
    "P": "publish-all",
    "q": "quiet",
    "t": "tty",
    "u": "user",
    "v": "volume",
    "w": "workdir",
}
_CREATE_FLAGS = {k: v for k, v in _RUN_FLAGS.items() if k not in _RUN_ONLY}
_CREATE_SHORT = {k: v for k, v in _RUN_SHORT.items() if v not in _RUN_ONLY}
# docker network create (cli/command/network/create.go)
_NET_FLAGS = _flag_table(
    "driver opt label scope config-from subnet ip-range gateway aux-address ipam-driver ipam-opt",
    "internal ipv4 ipv6 attachable ingress config-only help",
)
_NET_SHORT = {"d": "driver", "o": "opt"}
# docker network connect (cli/command/network/connect.go)
_CONNECT_FLAGS = _flag_table("alias ip ip6 link link-local-ip driver-opt gw-priority", "help")
# docker's global options before the subcommand (cli/flags/options.go)
_GLOBAL_VALUE = _names(
    "-H --host -c --context --config -l --log-level --tlscacert --tlscert --tlskey"
)
_WRAPPERS = _names(
    "if then else elif do while until ! { time exec nohup command builtin winpty doas eval"
)
_SUDO_VALUE = _names("-u -g -h -p -C -U -r -t -D -R -T")
_ASSIGN = re.compile(r"[A-Za-z_]\w*=")
_BOOL_WORDS = {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}
_NAME = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_REFERENCE = re.compile(
    rf"(?:(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*(?::\w[\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
    r"|(?:sha256:)?[0-9a-f]{12,64}"
)
# `--network` long syntax (docker/cli opts/network.go NetworkOpt.Set)
# The long syntax holds a key=value (searched for: `\w+=\w+` retried every start of a long word).
_NET_LONG = re.compile(r"\w=\w")
_NET_KEYS = _names("name alias ip ip6 driver-opt mac-address link-local-ip gw-priority")
_DRIVERS = {"bridge", "overlay", "macvlan", "ipvlan", "host", "nat", "none"}
_NOT_USER_NETWORKS = ("default", "bridge", "host", "none")


@dataclass
class _NetSpec:
    """One --network: its target, and the endpoint settings given with it."""

    target: Word
    word: Word | None  # the --network value (None: no --network, the default network)
    aliases: list[Word] = field(default_factory=list)
    ip: Word | None = None


class _Skip(Exception):
    """The command is not one docker would run; say why in a note."""


class _Options:
    """Parsed `docker run` options: flag name -> the value words, in order."""

    def __init__(self) -> None:
        self.values: dict[str, list[Word]] = {}
        self.bools: dict[str, bool] = {}
        self.image: Word | None = None
        self.after_unknown = False  # an unknown word may have held more options
        self.unknown_words: list[Word] = []


# Hidden spellings docker keeps (--net for --network, ...): read as the flag they stand for.
_SAME_FLAG = {"net": "network", "net-alias": "network-alias", "dns-opt": "dns-option"}


def _parse_options(
    words: list[Word], flags: dict[str, bool], short: dict[str, str], positional: int
) -> tuple[_Options, list[Word]]:
    """pflag parsing; with positional == 1 the first non-option word (the image) ends the
    options (docker run sets interspersed off), otherwise options and positionals mix."""
    opts = _Options()
    rest: list[Word] = []
    j = 0
    while j < len(words):
        w = words[j]
        t = w.text
        if w.multi and not t.startswith("-"):
            # `$OPTS`, `$(...)`, "$@": zero or more words, options or the image.
            opts.after_unknown = True
            opts.unknown_words.append(w)
            j += 1
            continue
        if t == "--":
            rest.extend(words[j + 1 :])
            break
        if t.startswith("--") and len(t) > 2:
            name, eq, value = t[2:].partition("=")
            takes = flags.get(name)
            if takes is None:
                raise _Skip(f"docker has no flag --{name}")
            name = _SAME_FLAG.get(name, name)
            if takes:
                if eq:
                    opts.values.setdefault(name, []).append(w.part(value))
                elif j + 1 < len(words):
                    j += 1
                    opts.values.setdefault(name, []).append(words[j])
                else:
                    raise _Skip(f"--{name} needs a value")
            else:
                opts.bools[name] = _bool(value, f"--{name}") if eq else True
            j += 1
            continue
        if t.startswith("-") and len(t) > 1:
            cluster, pos = t[1:], 0
            while pos < len(cluster):
                ch = cluster[pos]
                name = short.get(ch, "")
                if not name:
                    raise _Skip(f"docker has no flag -{ch} (in {t})")
                if not flags[name]:
                    if cluster[pos + 1 : pos + 2] == "=":
                        opts.bools[name] = _bool(cluster[pos + 2 :], f"-{ch}")
                        break
                    opts.bools[name] = True
                    pos += 1
                    continue
                if cluster[pos + 1 : pos + 2] == "=":
                    value_word = w.part(cluster[pos + 2 :])
                elif pos + 1 < len(cluster):
                    value_word = w.part(cluster[pos + 1 :])
                elif j + 1 < len(words):
                    j += 1
                    value_word = words[j]
                else:
                    raise _Skip(f"-{ch} needs a value")
                opts.values.setdefault(name, []).append(value_word)
                break
            j += 1
            continue
        if positional == 1:  # the image: the words after it are its command
            rest.extend(words[j:])
            break
        rest.append(w)
        j += 1
    return opts, rest


def _bool(text: str, flag: str) -> bool:
    value = _BOOL_WORDS.get(text.lower())
    if value is None:
        raise _Skip(f"{flag}={text} is not true or false")
    return value


# ----------------------------------------------------------------------------- the reader


@dataclass
class _Container:
    entry: dict[str, Any]
    line: int
    group: str
    places: dict[str, int] = field(default_factory=dict)
    list_places: dict[str, list[int]] = field(default_factory=dict)
    created: bool = False  # docker create, not started (yet)
    default_bridge: bool = False  # no --network: the daemon's default (bridge on Linux)


@dataclass
class _Network:
    entry: dict[str, Any]
    line: int
    group: str
    places: dict[str, int] = field(default_factory=dict)


_SKIP_INFO = _names(
    "yaml yml json jsonc json5 toml xml html ini python py go golang javascript js "
    "typescript ts java ruby rb rust c cpp csharp cs hcl terraform diff dockerfile "
    "properties conf nginx"
)
_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})(.*)$")


class _Reader:
    def __init__(self, text: str, file: str, options: LoadOptions) -> None:
        self.text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.file = file
        self.env = dict(options.env)
        self.b = Builder(file)
        self.containers: list[_Container] = []
        # How many of them have each name (a name is not changed once in the list): a file of
        # hundreds of commands made each new one look through all the others.
        self.names: Counter[str] = Counter()
        self.networks: list[_Network] = []
        self.commands = 0
        base = PurePath(file).name
        first = self.text.split("\n", 1)[0]
        if re.fullmatch(r"(?i)[\w.-]*\.(sh|bash)", base) or re.match(
            r"#!.*\b(ba|da|k|z)?sh\b", first
        ):
            self.mode = "script"
        elif re.fullmatch(r"(?i)[\w.-]*\.(md|markdown)|README(\.\w+)?", base):
            self.mode = "markdown"
        else:
            self.mode = "commands"

    def note(self, line: int, text: str) -> None:
        self.b.notes.append(f"line {line}: {text}")

    # ------------------------------------------------------------------ regions
    def read(self) -> Loaded:
        lines = self.text.split("\n")
        if self.mode == "markdown":
            for label, block in self.markdown_blocks(lines):
                self.region(block, label)
        elif self.mode == "script":
            self.region(list(enumerate(lines, start=1)), "script")
        else:
            self.region(list(enumerate(lines, start=1)), None)
        if self.commands == 0:
            raise InputError(
                "no `docker run` or `docker create` command found"
                + (" in a code block" if self.mode == "markdown" else ""),
                file=self.file,
            )
        return self.assemble()

    def markdown_blocks(self, lines: list[str]) -> list[tuple[str, list[tuple[int, str]]]]:
        """Fenced code blocks (not those of a non-shell language) and indented code blocks."""
        blocks: list[tuple[str, list[tuple[int, str]]]] = []
        fence: tuple[str, int, int] | None = None
        skip = False
        current: list[tuple[int, str]] = []
        start = 0
        indented: list[tuple[int, str]] = []
        prev_blank = True
        for n, line in enumerate(lines, start=1):
            m = _FENCE.match(line)
            if fence is None:
                if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
                    if indented:
                        blocks.append((f"block-{indented[0][0]}", indented))
                        indented = []
                    fence = (m.group(2)[0], len(m.group(2)), len(m.group(1)))
                    info = m.group(3).strip().split()[0].lower() if m.group(3).strip() else ""
                    skip = info.strip("{}.") in _SKIP_INFO
                    current, start = [], n
                    prev_blank = False
                    continue
                if _INDENTED_CODE.match(line) and (prev_blank or indented):
                    indented.append((n, line.lstrip(" \t")))
                elif indented and line.strip():
                    blocks.append((f"block-{indented[0][0]}", indented))
                    indented = []
                prev_blank = not line.strip()
                continue
            if (
                m
                and m.group(2)[0] == fence[0]
                and len(m.group(2)) >= fence[1]
                and not m.group(3).strip()
            ):
                if not skip:
                    blocks.append((f"block-{start}", current))
                fence, prev_blank = None, False
                continue
            current.append((n, re.sub(rf"^ {{0,{fence[2]}}}", "", line)))
        if fence is not None and not skip:
            blocks.append((f"block-{start}", current))
        if indented:
            blocks.append((f"block-{indented[0][0]}", indented))
        return blocks

    def region(self, lines: list[tuple[int, str]], group: str | None) -> None:
        """Lex a run of lines and read every docker command in it."""
        if not lines:
            return
        texts = [self.unprompt(lines, k) for k in range(len(lines))]
        text = "\n".join(texts)
        # The line of every offset (its newline included, and one past the end): the lexer
        # asks for the line of every word, and a list lookup is the cheapest answer.
        line_at: list[int] = []
        for (n, _), t in zip(lines, texts, strict=True):
            line_at += [n] * (len(t) + 1)
        line_of = line_at.__getitem__
        lexer = _Lexer(text, line_of, self.env, quotes_span_lines=self.mode == "script")
        lexer.run(0, len(text))
        done = 0
        while done < len(lexer.nested):  # $(...) and `...` bodies hold commands too
            start, end = lexer.nested[done]
            done += 1
            lexer.run(start, end)
        if lexer.unclosed is not None and self.mode == "script":
            self.note(
                line_of(lexer.unclosed),
                "a quote or $( opened here is never closed: the shell reads the rest of the "
                "file as one word, so no command after it is read",
            )
        paragraph: dict[int, str] = {}  # command files: line -> its paragraph
        first: int | None = None
        for (n, _), t in zip(lines, texts, strict=True):
            if not t.strip() or t.lstrip().startswith("#"):
                first = None  # a blank or comment line ends a paragraph
                continue
            first = n if first is None else first
            paragraph[n] = f"paragraph-{first}"
        for cmd in sorted(lexer.commands, key=lambda c: c.line):
            label = group if group is not None else paragraph.get(cmd.line, f"line-{cmd.line}")
            self.command(cmd, label)
        if self.mode == "script":
            for n, line in lines:
                body = line.lstrip()
                if body.startswith("#") and _ANYWHERE.search(body[1:]):
                    self.note(n, "a commented-out docker command is not read")

    def unprompt(self, lines: list[tuple[int, str]], k: int) -> str:
        """Drop a shell prompt (Markdown and command files) and turn PowerShell's ` and
        cmd's ^ line continuations into the shell's backslash."""
        line = lines[k][1]
        if self.mode == "script":
            return line
        continued = k > 0 and lines[k - 1][1].rstrip().endswith(("\\", " `", " ^"))
        if continued:
            m = _CONTINUED_PROMPT.match(line)
            if m:
                line = f"{m.group(1)}  {line[m.end() :]}"
        else:
            m = _LINE_PROMPT.match(line)
            if m:
                prompt = m.group(0)
                after = line[m.end() :]
                # `# text` is a comment unless a docker command follows (a root prompt).
                if prompt.strip()[-1:] != "#" or _DOCKER_COMMAND.match(after):
                    line = " " * len(prompt) + after
        if line.endswith(_CMD_CONTINUATIONS):
            line = line[:-1] + "\\"
        return line

    # ------------------------------------------------------------------ commands
    def command(self, cmd: Command, group: str) -> None:
        words = cmd.words
        k = 0
        while k < len(words):
            t = words[k].text
            if t in _WRAPPERS:
                k += 1
            elif t == "sudo":
                k += 1
                while k < len(words) and words[k].text.startswith("-"):
                    k += 2 if words[k].text in _SUDO_VALUE else 1
            elif t == "env":
                k += 1
                while k < len(words) and (
                    words[k].text.startswith("-") or _ASSIGN.match(words[k].text)
                ):
                    k += 2 if words[k].text in ("-u", "--unset", "-C", "--chdir") else 1
            elif _ASSIGN.match(t):
                k += 1
            else:
                break
        if k >= len(words) or not _DOCKER_WORD.fullmatch(words[k].text):
            return
        k += 1
        remote = False
        while k < len(words) and words[k].text.startswith("-"):
            flag = words[k].text
            if flag.split("=", 1)[0] in ("-H", "--host", "-c", "--context"):
                remote = True
            k += 2 if flag in _GLOBAL_VALUE else 1
        if k >= len(words):
            return
        verb = words[k].text
        if verb == "container" and k + 1 < len(words):
            k += 1
            verb = words[k].text
            if verb not in ("run", "create", "start"):
                return
        elif verb == "network" and k + 1 < len(words):
            k += 1
            verb = "network " + words[k].text
        args = words[k + 1 :]
        if verb not in ("run", "create", "start", "network create", "network connect"):
            return
        if remote:
            self.note(cmd.line, "the command names another daemon (-H/--context)")
        for w in words:
            # jessfraz/dockerfiles: `--net host \ # may as well YOLO`
            if (w.raw.startswith("\\") and _ESCAPED_BLANK_COMMENT.match(w.raw)) or (
                w.blank_escape and cmd.comment_after_escape
            ):
                self.note(
                    w.line,
                    "the backslash before `#` escapes the blank after it, not the end of the "
                    "line: the shell ends the command on this line and reads the `#` and what "
                    "follows as words (the lines below are not part of this command)",
                )
                break
        if cmd.unterminated:
            self.commands += verb in ("run", "create")
            self.note(cmd.line, f"`docker {verb}` has a quote or $( that is never closed; skipped")
            return
        try:
            if verb in ("run", "create"):
                self.commands += 1
                self.run(cmd, verb, args, group)
            elif verb == "start":
                self.start(args, group)
            elif verb == "network create":
                self.network_create(cmd, args, group)
            else:
                self.network_connect(cmd, args, group)
        except _Skip as why:
            shown = " ".join(w.show() for w in words[: min(len(words), 6)])
            more = " …" if len(words) > 6 else ""
            self.note(cmd.line, f"`{shown}{more}` is not a command docker accepts ({why}); skipped")

    def fail(self, message: str, word: Word, flag: str) -> None:
        raise InputError(message, file=self.file, line=word.line, field=flag)

    def run(self, cmd: Command, verb: str, args: list[Word], group: str) -> None:
        if verb == "run":
            opts, rest = _parse_options(args, _RUN_FLAGS, _RUN_SHORT, 1)
        else:
            opts, rest = _parse_options(args, _CREATE_FLAGS, _CREATE_SHORT, 1)
        image = rest[0] if rest else None
        if image is None and not opts.after_unknown:
            raise _Skip("no image")
        entry: dict[str, Any] = {}
        c = _Container(entry, cmd.line, group, created=verb == "create")
        if cmd.words[-1].line > cmd.line:
            self.b.statements[cmd.line] = cmd.words[-1].line
        # ---- name
        name = self.last(opts, "name")
        if name is not None:
            if not name.known:
                self.note(name.line, f"the container name {name.show()} is unknown")
            elif not _NAME.fullmatch(name.text):
                raise _Skip(f"docker refuses the container name {name.text!r}")
            else:
                entry["name"] = name.text.lstrip("/")
        if "name" not in entry:
            anonymous, k = f"{verb}-{cmd.line}", 1
            while self.names[anonymous]:  # several commands on one line (a pipeline)
                k += 1
                anonymous = f"{verb}-{cmd.line}-{k}"
            entry["name"] = anonymous
        # ---- image
        uncertain = opts.after_unknown
        if uncertain:
            # the unknown word may be the image, and the word taken for it a command argument
            shown = ", ".join(f"`{w.show()}`" for w in opts.unknown_words)
            self.note(
                cmd.line,
                f"{shown} may stand for several options or for the image: the options after "
                "it are read as written; the image, and any option it holds, are unknown",
            )
        elif image is not None and image.known:
            if not _REFERENCE.fullmatch(image.text):
                raise _Skip(f"{image.text!r} is not an image reference")
            entry["image"] = image.text
        elif image is not None:
            self.note(image.line, f"the image {image.show()} is unknown")
        # ---- networks
        self.run_networks(opts, c, uncertain)
        # ---- ports
        self.run_ports(opts, c, uncertain)
        # ---- names and resolution
        hostname = self.last(opts, "hostname")
        if hostname is not None:
            if hostname.known:
                entry["hostname"] = hostname.text
                c.places["hostname"] = hostname.line
            else:
                self.note(hostname.line, f"the hostname {hostname.show()} is unknown")
        for flag, key, check in (
            ("dns", "dns", self.check_ip),
            ("add-host", "extra_hosts", self.check_host),
            ("link", "links", self.check_link),
        ):
            for w in opts.values.get(flag, []):
                if not w.known:
                    self.note(w.line, f"--{flag} {w.show()} is unknown; left out")
                    continue
                check(w, f"--{flag}")
                entry.setdefault(key, []).append(w.text)
                c.list_places.setdefault(key, []).append(w.line)
        self.add(c)

    @staticmethod
    def last(opts: _Options, flag: str) -> Word | None:
        values = opts.values.get(flag)
        return values[-1] if values else None  # pflag: a repeated string flag keeps the last

    # ------------------------------------------------------------------ networking flags
    def run_networks(self, opts: _Options, c: _Container, uncertain: bool) -> None:
        entry = c.entry
        values = opts.values
        if "network" not in values and "network-alias" not in values and "ip" not in values:
            # Most commands: the default network, nothing to check.
            if uncertain:
                entry["network_mode_unknown"] = True  # an unknown word may hold --network
            else:
                c.default_bridge = True
            return
        nets = [self.network_value(w) for w in opts.values.get("network", [])]
        # --network-alias, --ip apply to the first network (docker/cli applyContainerOptions)
        first = nets[0] if nets else _NetSpec(Word("default", c.line), None)
        aliases = opts.values.get("network-alias", [])
        if aliases:
            if first.aliases:
                self.fail(
                    "conflicting options: cannot specify both --network-alias and "
                    "per-network alias",
                    aliases[0],
                    "--network-alias",
                )
            first.aliases = list(aliases)
        ip = self.last(opts, "ip")
        if ip is not None:
            if first.ip is not None:
                self.fail(
                    "conflicting options: cannot specify both --ip and per-network IPv4 address",
                    ip,
                    "--ip",
                )
            first.ip = ip
        seen: set[str] = set()
        for n in nets:
            if n.target.known and n.target.text in seen:
                self.fail(
                    f"network {n.target.text!r} is specified multiple times",
                    n.target,
                    "--network",
                )
            seen.add(n.target.text)
        if len({self.user_defined(n.target.text) for n in nets if n.target.known}) > 1:
            self.fail(
                "conflicting options: cannot attach both user-defined and non-user-defined "
                "network-modes",
                nets[1].target,
                "--network",
            )
        for n in [first, *nets[1:]]:
            if n.aliases and n.target.known and not self.user_defined(n.target.text):
                self.fail(
                    "network-scoped aliases are only supported for user-defined networks",
                    n.aliases[0],
                    "--network-alias",
                )
        # the mode is the first network (HostConfig.NetworkMode); none given: the default
        t = first.target
        if first.word is not None:
            if not t.known:
                shared = t.text.startswith("container:")
                self.note(
                    t.line,
                    f"the network {t.show()} is unknown"
                    + (" (the container joins another's namespace)" if shared else "")
                    + "; the network mode is left unknown",
                )
                entry["network_mode_unknown"] = True
            elif t.text != "default":
                entry["network_mode"] = t.text
                c.places["network_mode"] = t.line
            else:
                c.default_bridge = True
        elif uncertain:
            entry["network_mode_unknown"] = True  # an unknown word may hold --network
        else:
            c.default_bridge = True
        if first.ip is not None:
            if not first.ip.known:
                self.note(first.ip.line, f"--ip {first.ip.show()} is unknown; left out")
            else:
                self.check_ip(first.ip, "--ip")
                if not (t.known and self.user_defined(t.text)):
                    self.note(
                        first.ip.line,
                        f"--ip {first.ip.text} on a network that is not user-defined: Docker "
                        'refuses to start it ("user specified IP address is supported on '
                        'user defined networks only")',
                    )
        attachments: list[tuple[dict[str, Any], int]] = []
        for n in [first, *nets[1:]]:
            if not n.target.known or not self.user_defined(n.target.text):
                continue
            att: dict[str, Any] = {"name": n.target.text}
            if n.ip is not None and n.ip.known:
                self.check_ip(n.ip, "--ip")
                att["ipv4_address"] = n.ip.text
            names = [a.text for a in n.aliases if a.known]
            if names:
                att["aliases"] = names
            attachments.append((att, (n.word or n.target).line))
        if len(attachments) > 1 or any(len(a) > 1 for a, _ in attachments):
            entry["networks"] = [a for a, _ in attachments]
            c.list_places["networks"] = [line for _, line in attachments]

    def network_value(self, w: Word) -> _NetSpec:
        """One --network value: a name, or the long syntax name=...,alias=...,ip=..."""
        if not w.known or not _NET_LONG.search(w.text):
            return _NetSpec(w, w)
        try:
            fields = next(csv.reader([w.text]))
        except (csv.Error, StopIteration):
            self.fail(f"invalid --network value {w.text!r}", w, "--network")
            raise AssertionError from None
        spec = _NetSpec(w.part(""), w)
        for f in fields:
            key, eq, value = f.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not key:
                self.fail(f"invalid field {f!r} in --network", w, "--network")
            if key not in _NET_KEYS:
                self.fail(f"invalid field key {key!r} in --network", w, "--network")
            if key == "name":
                spec.target = w.part(value)
            elif key == "alias":
                spec.aliases.append(w.part(value))
            elif key == "ip":
                spec.ip = w.part(value)
        if not spec.target.text:
            self.fail("network name/id is not specified in --network", w, "--network")
        return spec

    @staticmethod
    def user_defined(target: str) -> bool:
        """docker's NetworkMode.IsUserDefined: not default/bridge/host/none/container:."""
        return target not in _NOT_USER_NETWORKS and not target.startswith("container:")

    def run_ports(self, opts: _Options, c: _Container, uncertain: bool) -> None:
        entry = c.entry
        ports: list[str] = []
        lines: list[int] = []
        missing = False
        for w in opts.values.get("publish", []):
            if not w.known:
                self.note(w.line, f"-p {w.show()} is unknown; left out")
                missing = True
                continue
            text = self.publish_text(w)
            ports.append(text)
            lines.append(w.line)
        expose: list[str] = []
        expose_lines: list[int] = []
        for w in opts.values.get("expose", []):
            if not w.known:
                self.note(w.line, f"--expose {w.show()} is unknown; left out")
                continue
            try:
                body, _ = split_proto(w.text)
                parse_port_range(body, "exposed port")
            except PortSyntaxError as exc:
                self.fail(f"invalid range format for --expose: {exc}", w, "--expose")
            expose.append(w.text)
            expose_lines.append(w.line)
        if opts.bools.get("publish-all"):
            # -P publishes every EXPOSEd port (the image's and --expose's) on an ephemeral
            # host port; the image's EXPOSE is not in the command.
            for text, line in zip(expose, expose_lines, strict=True):
                ports.append(text)
                lines.append(line)
            self.note(
                c.line,
                "-P also publishes the ports the image EXPOSEs, which the command does not "
                "show: those are left out",
            )
            missing = True
        if ports or not (missing or uncertain):
            entry["ports"] = ports  # no -p, no -P: nothing is published
            c.list_places["ports"] = lines
        if expose:
            entry["expose"] = expose
            c.list_places["expose"] = expose_lines

    def publish_text(self, w: Word) -> str:
        text = w.text
        if "=" in text:
            # --publish published=8080,target=80[,protocol=udp][,mode=host]
            # (docker/cli convertToStandardNotation: other keys are ignored)
            params = {"protocol": "tcp"}
            for param in text.split(","):
                k, eq, v = param.partition("=")
                if not eq or not k:
                    self.fail(
                        f"invalid publish opts format (should be name=value but got {param!r})",
                        w,
                        "--publish",
                    )
                params[k] = v
            text = f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"
            if text.startswith(":"):
                text = text[1:]
        try:
            parse_publish(text)
        except PortSyntaxError as exc:
            self.fail(str(exc), w, "--publish")
        return text

    # ------------------------------------------------------------------ value checks
    def check_ip(self, w: Word, flag: str) -> None:
        try:
            ipaddress.ip_address(w.text.strip())
        except ValueError:
            self.fail(f"{w.text!r} is not an IP address", w, flag)

    def check_host(self, w: Word, flag: str) -> None:
        """docker/cli opts.ValidateExtraHost: name=ip or name:ip; ip may be host-gateway."""
        name, eq, ip = w.text.partition("=")
        if not eq:
            name, eq, ip = w.text.partition(":")
        if not eq or not name:
            self.fail(f"bad format for add-host: {w.text!r} (write name:ip)", w, flag)
        if ip != "host-gateway":
            try:
                ipaddress.ip_address(ip.strip("[]"))
            except ValueError:
                self.fail(f"invalid IP address in add-host: {ip!r}", w, flag)

    def check_link(self, w: Word, flag: str) -> None:
        """docker/cli opts.ValidateLink: name or name:alias."""
        parts = w.text.split(":")
        if len(parts) > 2 or not parts[0] or (len(parts) == 2 and not parts[1]):
            self.fail(f"bad format for links: {w.text!r} (write name:alias)", w, flag)

    # ------------------------------------------------------------------ other commands
    def start(self, args: list[Word], group: str) -> None:
        names = {w.text for w in args if w.known and not w.text.startswith("-")}
        for c in self.containers:
            if c.group == group and c.entry["name"] in names:
                c.created = False

    def network_create(self, cmd: Command, args: list[Word], group: str) -> None:
        opts, rest = _parse_options(args, _NET_FLAGS, _NET_SHORT, 2)
        if len(rest) != 1:
            raise _Skip("docker network create takes one network name")
        name = rest[0]
        if not name.known:
            self.note(name.line, f"the network name {name.show()} is unknown; not read")
            return
        entry: dict[str, Any] = {"name": name.text}
        n = _Network(entry, cmd.line, group)
        driver = self.last(opts, "driver")
        if driver is not None and driver.known:
            if driver.text in _DRIVERS:
                entry["driver"] = driver.text
            else:
                self.note(
                    driver.line, f"the network driver {driver.text!r} is not one netwhy models"
                )
        elif driver is None:
            entry["driver"] = "bridge"  # `docker network create` default (--driver bridge)
        subnets = [w for w in opts.values.get("subnet", []) if w.known]
        gateways = [w for w in opts.values.get("gateway", []) if w.known]
        v4 = [w for w in subnets if ":" not in w.text] or subnets
        if v4:
            k = subnets.index(v4[0])
            entry["subnet"] = v4[0].text
            n.places["subnet"] = v4[0].line
            if k < len(gateways):
                entry["gateway"] = gateways[k].text
                n.places["gateway"] = gateways[k].line
            if len(subnets) > 1:
                self.note(
                    cmd.line,
                    f"network {name.text} has {len(subnets)} subnets; only {v4[0].text} is kept",
                )
        if opts.bools.get("internal"):
            entry["internal"] = True
            n.places["internal"] = cmd.line
        for old in self.networks:
            if old.entry["name"] == name.text:
                self.note(
                    cmd.line,
                    f"network {name.text} is created again (line {old.line}); the first is kept",
                )
                return
        self.networks.append(n)

    def network_connect(self, cmd: Command, args: list[Word], group: str) -> None:
        opts, rest = _parse_options(args, _CONNECT_FLAGS, {}, 2)
        if len(rest) != 2:
            raise _Skip("docker network connect takes a network and a container")
        net, who = rest
        if not (net.known and who.known):
            self.note(cmd.line, "the network or container of `docker network connect` is unknown")
            return
        target = next(
            (
                c
                for c in reversed(self.containers)
                if c.group == group and c.entry["name"] == who.text
            ),
            None,
        )
        if target is None:
            self.note(
                cmd.line, f"`docker network connect` names {who.text}, which no command here runs"
            )
            return
        att: dict[str, Any] = {"name": net.text}
        ip = self.last(opts, "ip")
        if ip is not None and ip.known:
            self.check_ip(ip, "--ip")
            att["ipv4_address"] = ip.text
        aliases = [a.text for a in opts.values.get("alias", []) if a.known]
        if aliases:
            att["aliases"] = aliases
        entry = target.entry
        nets = entry.setdefault("networks", [])
        places = target.list_places.setdefault("networks", [])
        mode = entry.get("network_mode")
        if not nets and mode and self.user_defined(mode):
            nets.append({"name": mode})
            places.append(target.places.get("network_mode", target.line))
        elif not nets and mode in (None, "bridge"):
            entry["network_mode"] = "bridge"
            nets.append({"name": "bridge"})
            places.append(target.line)
        nets.append(att)
        places.append(cmd.line)

    # ------------------------------------------------------------------ building
    def add(self, c: _Container) -> None:
        name = c.entry["name"]
        # Only a name in use needs the others looked through.
        for k, old in enumerate(self.containers if self.names[name] else ()):
            if old.entry["name"] != name:
                continue
            if old.group == c.group:
                self.note(
                    c.line,
                    f"a container named {name} is run again (line {old.line}): Docker refuses "
                    "the name while the first exists, so the first must have been removed; "
                    "the later one is read",
                )
                del self.containers[k]
                self.names[name] -= 1
            else:
                new = f"{name}@{c.line}"
                self.note(
                    c.line,
                    f"{name} is also run on line {old.line} (another example): this one is "
                    f"called {new}",
                )
                c.entry["name"] = new
            break
        self.containers.append(c)
        self.names[c.entry["name"]] += 1

    def assemble(self) -> Loaded:
        b = self.b
        created = {n.entry["name"] for n in self.networks}
        for n in self.networks:
            i = b.append("docker.networks", n.entry, n.line)
            for key, line in n.places.items():
                b.place(f"docker.networks[{i}].{key}", line)
        # Networks the commands use but do not create exist outside this file (compose's
        # `external`): the default bridge, and every `docker network create`d elsewhere.
        for c in self.containers:
            mode = c.entry.get("network_mode")
            used = [a["name"] for a in c.entry.get("networks", [])]
            if c.default_bridge or mode == "bridge":
                used.append("bridge")
            elif mode is not None and self.user_defined(mode):
                used.append(mode)
            for net in used:
                if net not in created:
                    created.add(net)
                    entry: dict[str, Any] = {"name": net, "external": True}
                    if net == "bridge":
                        entry["driver"] = "bridge"
                    b.append("docker.networks", entry, c.line)
        # Groups never started together: a profile each, for containers publishing ports.
        publishing = [c for c in self.containers if c.entry.get("ports")]
        if len({c.group for c in publishing}) > 1:
            for c in publishing:
                c.entry["profiles"] = [c.group]
            kind = {
                "markdown": "code block",
                "commands": "paragraph",
                "script": "script",
            }[self.mode]
            b.notes.append(
                f"each {kind} is read as a separate example: containers of different "
                f"{kind}s are not compared for host ports (each has its own profile)"
            )
        for c in self.containers:
            if c.created:
                c.entry["running"] = False  # docker create does not start it
            i = b.append("docker.containers", c.entry, c.line)
            base = f"docker.containers[{i}]"
            for key, line in c.places.items():
                b.place(f"{base}.{key}", line)
            for key, lines in c.list_places.items():
                for j, line in enumerate(lines):
                    b.place(f"{base}.{key}[{j}]", line)
        return b.finish("docker-run")


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read every docker run/create command of a script, README or command file."""
    return _Reader(text, file, options).read()
