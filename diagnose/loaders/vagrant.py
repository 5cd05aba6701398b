"""Vagrantfiles, read statically: a small Ruby tokenizer, never Ruby itself.

What is read: `Vagrant.configure(...) do |config|` blocks, machines (`config.vm.define NAME do
|m|`, or the one machine "default" when none is defined), the provider (`config.vm.provider
NAME`: the hypervisor), and `config.vm.network` lines: `forwarded_port`, `private_network`,
`public_network`, in string, symbol, `key:` and hash-rocket forms, also inside provider
override blocks (`do |vb, override|`). VirtualBox `customize ["modifyvm", :id, "--natpf1", ...]`
port forwards are read too.

What is never guessed: a value that is not a literal (a variable, `opts[:ip]`, `"#{SUBNET}.10"`,
a constant, a settings file, ENV) is unknown, and so is everything inside a condition, a loop
or a method (`if`, `(1..3).each do |i|`, `def`): machines defined in a loop are not invented.
Each such place is named in the notes. The one exception: the NAME of a machine defined with a
constant (`config.vm.define NAME`) is read when the file assigns that constant a literal
exactly once, at top level (a name, not a network value).

Provider defaults (cited where they are applied):
- VirtualBox: adapter 1 is always NAT; forwarded ports go to it; private_network is host-only
  (`virtualbox__intnet` makes it internal), public_network is bridged; netmask 255.255.255.0;
  the host-only interface gets the subnet's first address (.1).
- libvirt (vagrant-libvirt): adapter 1 is the management network `vagrant-libvirt`
  (192.168.121.0/24, NAT); forwarded ports are ssh tunnels bound to localhost, TCP only;
  private networks are created NATed (`libvirt__forward_mode`), public networks are macvtap.
- VMware: adapter 1 is NAT (VMnet8); private_network is host-only, public_network bridged.
- Hyper-V: Vagrant does not configure networks (the switch is chosen at `vagrant up`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders.base import Builder, Loaded, LoadOptions

# ------------------------------------------------------------------------------------ tokens

# fmt: off
_KEYWORDS = frozenset({
    "if", "unless", "while", "until", "case", "begin", "def", "class", "module", "for", "do",
    "end", "then", "else", "elsif", "when", "in", "rescue", "ensure", "and", "or", "not",
    "return", "yield", "true", "false", "nil", "self", "super", "redo", "retry", "next",
    "break", "undef", "alias",
})
# fmt: on
_OPEN_KW = {
    "if": "cond",
    "unless": "cond",
    "case": "cond",
    "while": "loop",
    "until": "loop",
    "for": "loop",
    "begin": "plain",
    "def": "def",
    "class": "class",
    "module": "class",
}
_MODIFIERS = frozenset({"if", "unless", "while", "until", "rescue"})
# fmt: off
_OPS = sorted([
    "**=", "<=>", "===", "...", "<<=", ">>=", "&&=", "||=", "**", "==", "!=", ">=", "<=", "&&",
    "||", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "=>", "->", "::", "..",
    "=~", "!~", "&.",
], key=len, reverse=True)
# fmt: on
# A statement whose last token is one of these goes on on the next line.
# fmt: off
_CONTINUE = frozenset({
    ",", ".", "&.", "=", "=>", "+", "-", "*", "/", "%", "**", "||", "&&", "==", "!=", "<", ">",
    "<=", ">=", "+=", "-=", "*=", "/=", "||=", "&&=", "<<", "?", ":", "::", "=~", "->", "and",
    "or", "not",
})
# fmt: on
_ASSIGN = frozenset({"=", "||=", "&&=", "+=", "-="})
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9]+)?"
)
_IDENT = re.compile(r"[^\W\d]\w*")  # Ruby names may be any letters: café = 1
_HEREDOC = re.compile(r"<<([-~]?)([\"'`]?)([A-Za-z_]\w*)\2")
_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_OP = re.compile("|".join(re.escape(op) for op in _OPS))  # longest first, as _OPS is sorted
_OP_PREFIXES = frozenset(op[:2] for op in _OPS)
_OP_SECONDS = frozenset(op[1] for op in _OPS)  # the second characters of longer operators
# A quoted string that quoted would read as it is: no escape, new line or (in double quotes)
# `#`, which may begin an interpolation.
_PLAIN_STRING = re.compile(r""""[^"\\#\n]*"|'[^'\\\n]*'""")
_VAR = re.compile(r"[@$]{1,2}[A-Za-z_0-9]\w*|\$.")
_PERCENT = re.compile(r"%([wWiIqQrsx]?)([^\w\s])")
_BLOCK_END = re.compile(r"^=end\b[^\n]*", re.M)
_DATA_END = re.compile(r"__END__[ \t\r]*(\n|$)")
_BLANKS = re.compile(r"[ \t\r\f\v]+")
# A new line, the blank and comment lines after it, and the indent of the next line.
_LINE_BREAK = re.compile(r"\n(?:[ \t\r\f\v]*+(?:#[^\n]*+)?\n)*+[ \t\r\f\v]*+")
# Characters that can only begin an operator: not a quote, digit, letter, `<` (a heredoc),
# `@`/`$` (a variable), `:` (a symbol), `/` (a regex) or `%` (a literal). _Lexer.run
# takes them first: a new kind of token starting with one of them (`?a`, `-1`) must be
# taken out of this set.
_PLAIN_OP_START = frozenset(".,()[]{}|=+-*&!?;>^~")


@dataclass(slots=True)  # a Vagrantfile makes hundreds
class Tok:
    kind: str  # str sym num ident const label kw op var other list
    text: str
    line: int
    start: int
    end: int
    value: Any = None  # the literal value of str/sym/num/list; None when not a literal
    spaced: bool = False  # whitespace before it
    # A new line before it (not a `\` continued one): new lines are not tokens, as a
    # Vagrantfile has thousands and only the statements read where they are.
    newline: bool = False


@dataclass(frozen=True)
class Unknown:
    """A value the file computes (a variable, an expression): never guessed."""

    text: str


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.lru_cache(maxsize=32)
def _string_run(open_: str, close: str) -> re.Pattern[str]:
    """A run of characters inside a string that are neither escapes, interpolation, new
    lines nor its delimiters."""
    return re.compile("[^" + re.escape("\\#\n" + open_ + close) + "]+")


class _Lexer:
    """Ruby tokens, enough for Vagrantfiles: strings (with interpolation), heredocs, symbols,
    `key:` labels, comments and `=begin`/`=end`, regexes and %-literals."""

    def __init__(self, text: str, file: str) -> None:
        self.s = text
        self.file = file
        self.i = 0
        self.line = 1
        self.toks: list[Tok] = []
        self.heredocs: list[tuple[str, bool, int]] = []  # (id, indented end, line)
        self.newline = False  # a new line since the last token (for token and add)

    def fail(self, message: str, line: int) -> InputError:
        return InputError(message, file=self.file, line=line)

    def prev(self) -> Tok | None:
        return self.toks[-1] if self.toks else None

    def value_start(self, spaced: bool) -> bool:
        """Whether a value may start here (so `/` opens a regex, `%w` a literal ...)."""
        p = self.prev()
        if p is None or self.newline or p.kind == "label":
            return True
        if p.kind == "op":
            return p.text not in (")", "]", "}")
        if p.kind == "kw":
            return p.text not in ("end", "self", "true", "false", "nil")
        # `puts /x/` or `split %w[a b]`: a method name, a space, then no space
        nxt = self.s[self.i + 1 : self.i + 2]
        return p.kind == "ident" and spaced and nxt not in (" ", "=", "")

    def add(self, kind: str, start: int, line: int, spaced: bool, value: Any = None) -> Tok:
        tok = Tok(kind, self.s[start : self.i], line, start, self.i, value, spaced, self.newline)
        self.toks.append(tok)
        return tok

    def run(self) -> list[Tok]:
        # The loop keeps the position and line in locals (self.i and self.line are set only
        # around the calls that read them) and reads the characters after a token from `s`,
        # the text with two NULs after it: s[end] where a slice s[end : end + 1] would be
        # needed at the end of the text costs a third as much. A NUL matches no test below.
        text = self.s
        n = len(text)
        s = text + "\0\0"
        toks = self.toks
        i, line = self.i, self.line
        line_start = True
        spaced = False
        newline = False
        while i < n:
            c = s[i]
            if line_start:
                line_start = False
                # Tested on c first: most lines start with neither (a call less on each).
                if (
                    c == "="
                    and text.startswith("=begin", i)
                    and text[i + 6 : i + 7] in ("", " ", "\t", "\n", "\r")
                ):
                    m = _BLOCK_END.search(text, i)
                    if m is None:
                        raise self.fail("`=begin` comment is never closed by `=end`", line)
                    line += text.count("\n", i, m.end())
                    i = m.end()
                    continue
                if c == "_" and text.startswith("__END__", i) and _DATA_END.match(text[i : i + 12]):
                    break
            if c in " \t\r\f\v":
                # Blanks, then what follows them in the same turn (no new turn for each run).
                # Most runs are one blank, passed without a regex match (a match costs as
                # much as a few dozen tests).
                spaced = True
                i += 1
                if s[i] in " \t\r\f\v":
                    i = _BLANKS.match(s, i).end()  # type: ignore[union-attr]
                if i >= n:
                    break
                c = s[i]
            if c in _PLAIN_OP_START:  # none of the cases of token applies
                # An operator of one character unless the next one may continue it (a set
                # test on one character: a slice of two costs more).
                if s[i + 1] in _OP_SECONDS and s[i : i + 2] in _OP_PREFIXES:
                    end = _OP.match(s, i).end()  # type: ignore[union-attr]
                    toks.append(Tok("op", s[i:end], line, i, end, None, spaced, newline))
                    i = end
                else:
                    toks.append(Tok("op", c, line, i, i + 1, None, spaced, newline))
                    i += 1
            elif c.isalpha() or c == "_":
                # A name (an identifier, keyword or constant; `name:` is a label), made here
                # and not in a call of its own: after operators, the commonest token.
                end = _IDENT.match(s, i).end()  # type: ignore[union-attr]
                if s[end] in "?!" and s[end + 1] != "=":
                    end += 1
                word = s[i:end]
                if s[end] == ":" and s[end + 1] != ":":
                    end += 1
                    toks.append(Tok("label", s[i:end], line, i, end, word, spaced, newline))
                elif word in _KEYWORDS and not (
                    toks
                    and not newline
                    and toks[-1].kind == "op"
                    and toks[-1].text in (".", "&.", "::")
                ):
                    toks.append(Tok("kw", word, line, i, end, word, spaced, newline))
                else:
                    kind = "const" if word[0].isupper() else "ident"
                    toks.append(Tok(kind, word, line, i, end, word, spaced, newline))
                i = end
            elif c == "\n":
                newline = True
                if self.heredocs:  # their bodies start right after the new line
                    self.i, self.line = i + 1, line + 1
                    self.skip_heredocs()
                    i, line = self.i, self.line
                    line_start = True
                    spaced = False
                    continue
                # The new line, the blank and comment lines after it and the next line's
                # indent, in one match: most lines are indented, and a Vagrantfile has
                # many comment lines.
                end = _LINE_BREAK.match(text, i).end()  # type: ignore[union-attr]
                line += text.count("\n", i, end)
                i = end
                # at the line's start, unless an indent was passed (`=begin` and
                # `__END__` count only there)
                line_start = text[end - 1] == "\n"
                spaced = not line_start
                continue
            elif c == "#":
                end = s.find("\n", i, n)
                i = n if end < 0 else end
                continue
            elif (c == '"' or c == "'") and (m := _PLAIN_STRING.match(s, i)):
                # A string with nothing to read inside (escapes, interpolation, new lines):
                # made here in one match, not by token, quoted and add.
                end = m.end()
                if s[end] == ":" and s[end + 1] != ":":  # "key": a label
                    toks.append(
                        Tok(
                            "label",
                            s[i : end + 1],
                            line,
                            i,
                            end + 1,
                            s[i + 1 : end - 1],
                            spaced,
                            newline,
                        )
                    )
                    end += 1
                else:
                    toks.append(
                        Tok("str", s[i:end], line, i, end, s[i + 1 : end - 1], spaced, newline)
                    )
                i = end
            elif c == "\\" and s[i + 1] in "\n\r":
                # A line continuation, "\\\n" or "\\\r\n"; a lone "\r" after it is a blank.
                if s[i + 1] == "\n":
                    i += 2
                    line += 1
                elif s[i + 2] == "\n":
                    i += 3
                    line += 1
                else:
                    i += 2
                spaced = True
                continue
            else:
                self.i, self.line, self.newline = i, line, newline
                self.token(c, spaced)
                i, line = self.i, self.line
            spaced = False
            newline = False
        self.i, self.line = i, line
        if self.heredocs:
            name, _, line = self.heredocs[0]
            raise self.fail(f"heredoc <<{name} is never closed", line)
        return self.toks

    def skip_heredocs(self) -> None:
        s = self.s
        for name, indented, line in self.heredocs:
            while True:
                if self.i >= len(s):
                    raise self.fail(f"heredoc <<{name} is never closed", line)
                end = s.find("\n", self.i)
                end = len(s) if end < 0 else end
                body = s[self.i : end].rstrip("\r")
                self.i = min(end + 1, len(s))
                self.line += 1
                if (body.strip() if indented else body) == name:
                    break
        self.heredocs = []

    def token(self, c: str, spaced: bool) -> None:
        """The token starting with `c` (not a plain operator nor a name: run takes those)."""
        s, start, line = self.s, self.i, self.line
        if c in "\"'`":
            value = self.quoted(c, c, interpolate=c != "'")
            if s[self.i : self.i + 1] == ":" and s[self.i + 1 : self.i + 2] != ":":
                self.i += 1
                self.add("label", start, line, spaced, value)
                return
            self.add(
                "str" if c != "`" else "other", start, line, spaced, value if c != "`" else None
            )
            return
        # `<<-EOS` / `<<~EOS` always open a heredoc; a bare `<<EOS` only where a value starts
        # (`x <<EOS` could be a shift).
        if (
            c == "<"
            and (m := _HEREDOC.match(s, self.i))
            and (m.group(1) or (m.group(3).isupper() and self.value_start(spaced)))
        ):
            self.i = m.end()
            self.heredocs.append((m.group(3), bool(m.group(1)), line))
            self.add("other", start, line, spaced)
            return
        if "0" <= c <= "9":  # not str.isdigit(): ² is a digit to it, and no number
            m = _NUMBER.match(s, self.i)
            assert m is not None
            self.i = m.end()
            text = m.group(0).replace("_", "")
            try:
                number = float(text) if (m.group(1) or m.group(2)) else int(text, 0)
            except ValueError:
                if not re.fullmatch(r"0[0-7]+", text):  # Ruby: 024 is octal, 09 an error
                    raise self.fail(f"{text!r} is not a number", line) from None
                number = int(text, 8)
            self.add("num", start, line, spaced, number)
            return
        if c in "@$":
            m = _VAR.match(s, self.i)
            self.i = m.end() if m else self.i + 1
            self.add("var", start, line, spaced)
            return
        if c == ":" and (s[self.i + 1 : self.i + 2].isalpha() or s[self.i + 1 : self.i + 2] == "_"):
            m = _IDENT.match(s, self.i + 1)
            assert m is not None
            self.i = m.end()
            if s[self.i : self.i + 1] in ("?", "!", "=") and s[self.i : self.i + 2] not in (
                "=>",
                "==",
                "=~",
            ):
                self.i += 1
            self.add("sym", start, line, spaced, s[start + 1 : self.i])
            return
        if c == ":" and s[self.i + 1 : self.i + 2] in ('"', "'"):
            self.i += 1
            q = s[self.i]
            value = self.quoted(q, q, interpolate=q == '"')
            self.add("sym", start, line, spaced, value)
            return
        if c == "/" and self.value_start(spaced):
            self.regex()
            self.add("other", start, line, spaced)
            return
        if c == "%" and self.value_start(spaced):
            m = _PERCENT.match(s, self.i)
            if m:
                self.i = m.end()
                close = _PAIRS.get(m.group(2), m.group(2))
                body = self.delimited(m.group(2), close)
                kind = m.group(1)
                if kind in ("w", "i"):
                    self.add("list", start, line, spaced, body.split())
                elif kind == "q":
                    self.add("str", start, line, spaced, body)
                else:
                    self.add("other", start, line, spaced)
                return
        self.operator(start, line, spaced)

    def operator(self, start: int, line: int, spaced: bool) -> None:
        m = _OP.match(self.s, self.i)
        self.i = m.end() if m else self.i + 1
        self.add("op", start, line, spaced)

    def quoted(self, open_: str, close: str, *, interpolate: bool) -> str | None:
        """Scan a quoted string from its opening quote; its value, or None if it interpolates."""
        s, line = self.s, self.line
        self.i += 1
        out: list[str] = []
        dynamic = False
        depth = 1
        plain = _string_run(open_, close)
        while True:
            if self.i >= len(s):
                raise self.fail("string is never closed", line)
            run = plain.match(s, self.i)
            if run:  # characters that mean nothing here, taken at once
                out.append(run.group())
                self.i = run.end()
                continue
            c = s[self.i]
            if c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                if nxt == "\n":
                    self.line += 1
                if interpolate:
                    out.append({"n": "\n", "t": "\t", "s": " ", "0": "\0"}.get(nxt, nxt))
                else:
                    out.append(nxt if nxt in ("\\", close) else "\\" + nxt)
                self.i += 2
                continue
            if interpolate and c == "#" and s[self.i + 1 : self.i + 2] == "{":
                dynamic = True
                self.i += 2
                self.skip_code("}")
                continue
            if interpolate and c == "#" and s[self.i + 1 : self.i + 2] in ("@", "$"):
                dynamic = True
            if c == "\n":
                self.line += 1
            if c == open_ and open_ != close:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return None if dynamic else "".join(out)
            out.append(c)
            self.i += 1

    def delimited(self, open_: str, close: str) -> str:
        start = self.i
        self.i -= 1
        value = self.quoted(open_, close, interpolate=False)
        return value if value is not None else self.s[start : self.i - 1]

    def skip_code(self, close: str) -> None:
        """Skip the Ruby code of an interpolation up to its closing brace."""
        s, depth, line = self.s, 1, self.line
        while self.i < len(s):
            c = s[self.i]
            if c in "\"'":
                self.quoted(c, c, interpolate=c == '"')
                continue
            if c == "\n":
                self.line += 1
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return
            self.i += 1
        raise self.fail("interpolation `#{` is never closed", line)

    def regex(self) -> None:
        s, line = self.s, self.line
        self.i += 1
        in_class = False
        while self.i < len(s):
            c = s[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "\n":
                raise self.fail("regular expression is never closed", line)
            if c == "#" and s[self.i + 1 : self.i + 2] == "{":
                self.i += 2
                self.skip_code("}")
                continue
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == "/" and not in_class:
                self.i += 1
                while self.i < len(s) and s[self.i] in "imxounse":
                    self.i += 1
                return
            self.i += 1
        raise self.fail("regular expression is never closed", line)


# -------------------------------------------------------------------------------- statements


@dataclass
class Stmt:
    toks: list[Tok]
    source: str
    # False when no token is a keyword (`do`, `end`, `if` ...): the walks that look only at
    # keywords pass it by. True when not known.
    keywords: bool = True

    @property
    def line(self) -> int:
        return self.toks[0].line

    @property
    def text(self) -> str:
        return self.source[self.toks[0].start : self.toks[-1].end]


def _statements(toks: list[Tok], source: str) -> list[Stmt]:
    """Group tokens into statements: a new line ends one unless brackets are open, the line
    ends with an operator or a comma, or the next line starts with `.method`."""
    out: list[Stmt] = []
    cur: list[Tok] = []
    depth = 0
    keywords = False  # a token of cur is a keyword
    for t in toks:
        # Each token's kind and text read once: this loop sees every token of the file.
        kind = t.kind
        if t.newline and cur and depth == 0 and not (kind == "op" and t.text in (".", "&.")):
            # the statement goes on when its last token is an operator, a comma, or
            # `and`/`or`/`not` (the keywords of _CONTINUE)
            last = cur[-1]
            if not (last.text in _CONTINUE and last.kind in ("op", "kw")):
                out.append(Stmt(cur, source, keywords))
                cur = []
                keywords = False
        if kind == "op":
            text = t.text
            if text in "([{":
                depth += 1
            elif text in ")]}":
                depth = max(0, depth - 1)
            if text != ";" or depth != 0:
                cur.append(t)
                continue
            # a `;` outside brackets ends a statement
            if cur:
                out.append(Stmt(cur, source, keywords))
            cur = []
            keywords = False
            continue
        if kind == "kw":
            keywords = True
        cur.append(t)
    if cur:
        out.append(Stmt(cur, source, keywords))
    return out


# ------------------------------------------------------------------------------- the model


@dataclass
class _Net:
    kind: Any  # "forwarded_port" | "private_network" | "public_network" | other | Unknown
    opts: dict[str, Any]
    line: int
    text: str


@dataclass
class _Owner:
    """What the root config or one machine says."""

    networks: list[_Net] = field(default_factory=list)
    providers: list[tuple[Any, int]] = field(default_factory=list)  # name (or Unknown), line
    overrides: dict[str, list[_Net]] = field(default_factory=dict)
    settings: dict[str, dict[str, tuple[Any, int]]] = field(default_factory=dict)
    customize: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)


@dataclass
class _Machine(_Owner):
    name: str = "default"
    line: int = 1


@dataclass
class _Frame:
    kind: str  # configure define provider plain cond loop def class v1
    line: int
    header: str
    binds: dict[str, tuple[Any, ...] | None] = field(default_factory=dict)
    # what is not read inside it, by label; a dict, not a Counter: a Counter() costs a few
    # Python calls, and a Vagrantfile opens hundreds of blocks
    tally: dict[str, int] = field(default_factory=dict)

    def count(self, label: str) -> None:
        self.tally[label] = self.tally.get(label, 0) + 1


_UNCERTAIN = frozenset({"cond", "loop", "def", "class"})
_LABELS = {"network": "network line", "define": "machine definition", "provider": "provider block"}
_VBOX_NET_FLAGS = re.compile(r"--(natpf|nic|hostonlyadapter|intnet|bridgeadapter|nat-network)\d")
_HYPERVISORS = {
    "virtualbox": "virtualbox",
    "libvirt": "libvirt",
    "vmware_desktop": "vmware",
    "vmware_fusion": "vmware",
    "vmware_workstation": "vmware",
    "hyperv": "hyperv",
}
_DETECT = re.compile(r"^[ \t]*Vagrant(\s*\.\s*configure\s*[(\s]|::Config\.run\b)", re.M)
_DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".html", ".adoc")


def detect(name: str, text: str, kind: str) -> bool:
    """A `Vagrant.configure(...)` (or Vagrant 1's `Vagrant::Config.run`) at a line start."""
    if Path(name).suffix.lower() in _DOC_SUFFIXES:
        return False  # a README quoting a Vagrantfile is not one
    return _DETECT.search(text[:200_000]) is not None


class _Reader:
    """Walk the statements, keeping a stack of blocks and what each block variable stands for."""

    def __init__(self, source: str, file: str) -> None:
        self.source = source
        self.file = file
        self.stack: list[_Frame] = []
        self.root = _Owner()
        self.machines: dict[str, _Machine] = {}
        self.configure_line: int | None = None
        self.conditional_configure = False
        self.uncertain_defines = 0
        self.constants: dict[str, Any] = {}
        self.notes: list[str] = []
        self.v1_line: int | None = None
        # the names the blocks on the stack bind to something, and the top block they are of
        self.bound_names: list[str] = []
        self.names_top: _Frame | None = None

    # ---- helpers

    def fail(self, message: str, line: int, field: str | None = None) -> InputError:
        return InputError(message, file=self.file, line=line, field=field)

    def lookup(self, var: str) -> tuple[Any, ...] | None:
        for frame in reversed(self.stack):
            if var in frame.binds:
                return frame.binds[var]
            if frame.kind in ("def", "class"):  # a new scope: outer locals are not visible
                return None
        return None

    def uncertain(self) -> _Frame | None:
        """The outermost condition, loop or method around the current statement."""
        return next((f for f in self.stack if f.kind in _UNCERTAIN), None)

    def owner(self, scope: tuple[Any, ...]) -> _Owner:
        if scope[0] == "root":
            return self.root
        return self.machines[scope[1]]

    # ---- the walk

    def read(self, stmts: list[Stmt]) -> None:
        self.collect_constants(stmts)
        for st in stmts:
            toks = st.toks
            # leading `end`s close blocks before the statement is looked at
            while toks and toks[0].kind == "kw" and toks[0].text == "end":
                self.close(toks[0].line)
                toks = toks[1:]
                if toks and toks[0].kind == "op" and toks[0].text == ".":
                    break  # `end.each do ...`: the rest is a call on the block's value
            if not toks:
                continue
            frame = self.interpret(st if toks is st.toks else Stmt(toks, self.source))
            if st.keywords:  # no block opens or closes without one
                self.block_events(toks, frame)
        if self.stack:
            top = self.stack[-1]
            raise self.fail(f"block `{_short(top.header, 50)}` is never closed by `end`", top.line)

    def close(self, line: int) -> None:
        if not self.stack:
            raise self.fail("`end` without a block to close", line)
        frame = self.stack.pop()
        if frame.tally and frame.kind in _UNCERTAIN:
            what = ", ".join(
                f"{n} {_plural(label) if n > 1 else label}"
                for label, n in sorted(frame.tally.items())
            )
            self.notes.append(
                f"lines {frame.line}-{line}: {what} inside `{_short(frame.header)}` not read: "
                "they depend on a condition, a loop or a method call, so they are unknown"
            )

    def block_events(self, toks: list[Tok], frame: _Frame | None) -> None:
        """Push and pop the blocks a statement opens and closes (`do`, `if`, `end` ...)."""
        skip_do = False
        used = False
        for i, t in enumerate(toks):
            if t.kind != "kw":
                continue
            word = t.text
            first = i == 0 or (toks[i - 1].kind == "op" and toks[i - 1].text in _ASSIGN)
            if word in _OPEN_KW and first:
                kind = _OPEN_KW[word]
                skip_do = word in ("while", "until", "for")
                self.stack.append(_Frame(kind, t.line, self.source[t.start : toks[-1].end]))
            elif word == "do":
                if skip_do:
                    skip_do = False
                    continue
                if frame is not None and not used:
                    used = True
                    self.stack.append(frame)
                else:
                    params = _block_params(toks[i + 1 :])
                    self.stack.append(
                        _Frame(
                            "loop",
                            toks[0].line,
                            self.source[toks[0].start : t.end],
                            {p: None for p in params},
                        )
                    )
            elif word == "end":
                self.close(t.line)

    def collect_constants(self, stmts: list[Stmt]) -> None:
        """Top-level constants assigned a literal exactly once (used for machine names)."""
        seen: Counter[str] = Counter()
        values: dict[str, Any] = {}
        depth = 0
        for st in stmts:
            t = st.toks
            if len(t) >= 2 and t[0].kind == "const" and t[1].kind == "op" and t[1].text in _ASSIGN:
                seen[t[0].text] += 1
                if depth == 0 and len(t) == 3 and t[1].text == "=":
                    v = _literal(t[2:])
                    if not isinstance(v, Unknown):
                        values[t[0].text] = v
            if not st.keywords:
                continue
            for i, tok in enumerate(t):
                if tok.kind != "kw":
                    continue
                first = i == 0 or (t[i - 1].kind == "op" and t[i - 1].text in _ASSIGN)
                if (tok.text in _OPEN_KW and first) or tok.text == "do":
                    depth += 1
                elif tok.text == "end":
                    depth -= 1
        self.constants = {k: v for k, v in values.items() if seen[k] == 1}

    def interpret(self, st: Stmt) -> _Frame | None:
        """Read one statement; return the frame its trailing `do` block opens, if any."""
        toks = st.toks
        header = self.source[toks[0].start : toks[-1].end]
        vagrant = toks[0].kind == "const" and toks[0].text == "Vagrant"
        # Vagrant.configure("2") do |config|
        if vagrant and _is(toks, 1, "op", ".") and _is(toks, 2, "ident", "configure"):
            params = _params_after_do(toks)
            unsure = self.uncertain()
            if unsure is not None:  # a configure block that may not run: nothing in it is sure
                unsure.count("Vagrant.configure block")
                self.conditional_configure = True
                return _Frame("loop", st.line, header, {p: None for p in params})
            if self.configure_line is None:
                self.configure_line = st.line
            return _Frame("configure", st.line, header, {p: ("root",) for p in params[:1]})
        if vagrant and _is(toks, 1, "op", "::") and _is(toks, 2, "const", "Config"):
            self.v1_line = self.v1_line or st.line
            return _Frame("v1", st.line, header, {p: None for p in _params_after_do(toks)})
        # Top-level `CONST = ...` is handled by collect_constants.
        call = _vm_call(toks)
        provider_attr = None
        if call is None:
            provider_attr = _attr_call(toks)
        if call is None and provider_attr is None:
            # Most statements name none of these methods: looked for in the text first (a
            # test in C), then token by token.
            hit = []
            if "network" in header or "define" in header or "provider" in header:
                called = {
                    t.text
                    for i, t in enumerate(toks)
                    if t.kind == "ident" and i and toks[i - 1].text in (".", "&.")
                }
                hit = [m for m in ("network", "define", "provider") if m in called]
            if hit:
                self.skip(st, _LABELS[hit[0]])
            elif self.hands_config_away(toks):
                self.skip(st, "method call given the configuration")
            return None
        var = call[0] if call else provider_attr[0]  # type: ignore[index]
        scope = self.lookup(var)
        if scope is None:
            if call is not None:
                self.skip(st, _LABELS[call[1]])
                if call[3]:  # its block's variables stand for nothing known
                    return _Frame("loop", st.line, header, {p: None for p in call[3]})
            return None
        unsure = self.uncertain()
        modifier = _modifier(toks)
        if call is not None:
            _, method, args, params = call
            label = _LABELS[method]
            if unsure is not None or modifier is not None:
                if unsure is not None:
                    unsure.count(label)
                    if method == "define":
                        self.uncertain_defines += 1
                else:
                    self.notes.append(
                        f"line {st.line}: `{_short(header)}` has a trailing `{modifier}`: "
                        "not read (it may not apply)"
                    )
                    if method == "define":
                        self.uncertain_defines += 1
                if params:
                    return _Frame("loop", st.line, header, {p: None for p in params})
                return None
            if method == "define":
                return self.define(st, scope, args, params, header)
            if method == "provider":
                return self.provider(st, scope, args, params, header)
            if method == "network":
                self.network(st, scope, args, header)
            return None
        # provider settings: `vb.customize [...]`, `lv.management_network_name = "x"`
        assert provider_attr is not None
        _, attr, value_toks = provider_attr
        if scope[0] != "provider":
            return None
        if unsure is not None or modifier is not None:
            networking = attr.startswith(("management_network", "mgmt")) or (
                attr == "customize" and _VBOX_NET_FLAGS.search(header) is not None
            )
            if networking:
                if unsure is not None:
                    unsure.count("provider setting")
                else:
                    self.notes.append(
                        f"line {st.line}: `{_short(header)}` is conditional: not read"
                    )
            return None
        pname, owner_key = scope[1], scope[2]
        owner = self.root if owner_key is None else self.machines[owner_key]
        if attr == "customize":
            owner.customize.setdefault(pname, []).append(
                (_literal(_strip_parens(value_toks)), st.line)
            )
        else:
            owner.settings.setdefault(pname, {})[attr] = (_literal(value_toks), st.line)
        return None

    def skip(self, st: Stmt, label: str) -> None:
        unsure = self.uncertain()
        if unsure is not None:
            unsure.count(label)
        elif label == "method call given the configuration":
            self.notes.append(
                f"line {st.line}: `{_short(st.text)}` hands the configuration to a method: "
                "what it sets is not read"
            )
        elif self.stack:
            self.notes.append(f"line {st.line}: `{_short(st.text)}` not read (not a literal call)")

    def hands_config_away(self, toks: list[Tok]) -> bool:
        """`helper(config)`, `update_os(node.vm)`: a method gets the configuration."""
        # Most statements name no block variable after their first token: looked for in the
        # source first (a search in C), then token by token.
        if len(toks) < 2:
            return False
        top = self.stack[-1] if self.stack else None
        # A frame's bindings are all set before it is pushed and never change after, and a
        # frame is pushed once: the names need listing again only when the top changes.
        if top is not self.names_top:
            self.names_top = top
            self.bound_names = [
                name
                for frame in self.stack
                for name, bound in frame.binds.items()
                if bound is not None
            ]
        source, start, end = self.source, toks[1].start, toks[-1].end
        for name in self.bound_names:
            if source.find(name, start, end) >= 0:
                break
        else:
            return False
        for i, t in enumerate(toks):
            if t.kind != "ident" or (i and toks[i - 1].text in (".", "&.")):
                continue
            if self.lookup(t.text) is None or i == 0:
                continue
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is None or nxt.text in (",", ")"):
                return True
            if nxt.text == "." and i + 2 < len(toks) and toks[i + 2].text == "vm":
                after = toks[i + 3] if i + 3 < len(toks) else None
                if after is None or after.text in (",", ")"):
                    return True
        return False

    def define(
        self,
        st: Stmt,
        scope: tuple[Any, ...],
        args: list[list[Tok]],
        params: list[str],
        header: str,
    ) -> _Frame | None:
        if scope[0] != "root":
            self.notes.append(f"line {st.line}: `{_short(header)}` inside a machine: not read")
            return _Frame("loop", st.line, header, {p: None for p in params}) if params else None
        if not args:
            raise self.fail("`vm.define` needs a machine name", st.line, "vm.define")
        name = _literal(args[0])
        if isinstance(name, Unknown) and len(args[0]) == 1 and args[0][0].kind == "const":
            name = self.constants.get(args[0][0].text, name)
        if isinstance(name, Unknown):
            self.notes.append(
                f"line {st.line}: the machine's name `{name.text}` is not a literal; "
                f"called <{name.text}> here"
            )
            name = f"<{name.text}>"
        if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
            raise self.fail(f"machine name {name!r} is not a name", st.line, "vm.define")
        key = str(name)
        self.machines.setdefault(key, _Machine(name=key, line=st.line))
        if params:
            return _Frame("define", st.line, header, {params[0]: ("machine", key)})
        return None

    def provider(
        self,
        st: Stmt,
        scope: tuple[Any, ...],
        args: list[list[Tok]],
        params: list[str],
        header: str,
    ) -> _Frame | None:
        if scope[0] not in ("root", "machine"):
            return None
        if not args:
            raise self.fail("`vm.provider` needs a provider name", st.line, "vm.provider")
        name = _literal(args[0])
        owner = self.owner(scope)
        owner.providers.append((name, st.line))
        if not params:
            return None
        if isinstance(name, Unknown):
            return _Frame("provider", st.line, header, {p: None for p in params})
        owner_key = None if scope[0] == "root" else scope[1]
        binds: dict[str, tuple[Any, ...] | None] = {params[0]: ("provider", str(name), owner_key)}
        if len(params) > 1:
            binds[params[1]] = ("override", str(name), owner_key)
        return _Frame("provider", st.line, header, binds)

    def network(self, st: Stmt, scope: tuple[Any, ...], args: list[list[Tok]], header: str) -> None:
        if not args:
            raise self.fail("`vm.network` needs a network type", st.line, "vm.network")
        kind = _literal(args[0])
        opts: dict[str, Any] = {}
        for arg in args[1:]:
            key, value = _pair(arg)
            if key is None:
                if isinstance(value, dict):
                    opts.update(value)
                continue
            opts[key] = value
        net = _Net(kind, opts, st.line, header)
        if scope[0] == "override":
            owner = self.root if scope[2] is None else self.machines[scope[2]]
            owner.overrides.setdefault(scope[1], []).append(net)
        elif scope[0] in ("root", "machine"):
            # `config.vm.network` inside a provider block runs only with that provider
            inside = self.provider_around()
            if inside is not None:
                self.owner(scope).overrides.setdefault(inside, []).append(net)
            else:
                self.owner(scope).networks.append(net)

    def provider_around(self) -> str | None:
        """The provider whose block the current statement is in, if any."""
        for frame in reversed(self.stack):
            for bound in frame.binds.values():
                if bound is not None and bound[0] == "provider":
                    return str(bound[1])
        return None


def _plural(label: str) -> str:
    """`network line` -> `network lines`, `method call given ...` -> `method calls given ...`"""
    first, _, rest = label.partition(" given ")
    return f"{first}s given {rest}" if rest else f"{label}s"


def _is(toks: list[Tok], i: int, kind: str, text: str) -> bool:
    return i < len(toks) and toks[i].kind == kind and toks[i].text == text


def _modifier(toks: list[Tok]) -> str | None:
    """A trailing `if`/`unless` (statement modifier) at bracket depth 0."""
    depth = 0
    for i, t in enumerate(toks):
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        elif t.kind == "kw" and t.text == "do" and depth == 0:
            return None  # what follows `do` is the block's body
        elif t.kind == "kw" and t.text in _MODIFIERS and depth == 0 and i > 0:
            return t.text
    return None


def _block_params(toks: list[Tok]) -> list[str]:
    """`|a, b|` right after `do` or `{`."""
    if not toks or toks[0].kind != "op" or toks[0].text != "|":
        return []
    out = []
    for t in toks[1:]:
        if t.kind == "op" and t.text == "|":
            break
        if t.kind == "ident":
            out.append(t.text)
    return out


def _params_after_do(toks: list[Tok]) -> list[str]:
    for i, t in enumerate(toks):
        if t.kind == "kw" and t.text == "do":
            return _block_params(toks[i + 1 :])
    return []


def _split_do(toks: list[Tok]) -> tuple[list[Tok], list[str]]:
    """The tokens before a trailing `do |params|` (at depth 0), and the params. A trailing
    one-line `{ |vb| ... }` block after `(args)` is cut off too (its body is not read)."""
    depth = 0
    for i, t in enumerate(toks):
        if t.kind == "op" and t.text in "([{":
            if t.text == "{" and depth == 0 and i and _is(toks, i - 1, "op", ")"):
                return toks[:i], []
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        elif t.kind == "kw" and t.text == "do" and depth == 0:
            return toks[:i], _block_params(toks[i + 1 :])
    return toks, []


def _vm_call(toks: list[Tok]) -> tuple[str, str, list[list[Tok]], list[str]] | None:
    """`VAR.vm.METHOD args [do |params|]` -> (VAR, METHOD, [arg tokens], params)."""
    if len(toks) < 4 or toks[0].kind != "ident":
        return None
    first_dot, vm, second_dot = toks[1], toks[2], toks[3]
    if not (
        first_dot.kind == "op"
        and first_dot.text == "."
        and vm.text == "vm"
        and second_dot.kind == "op"
        and second_dot.text == "."
    ):
        return None
    if len(toks) < 5 or toks[4].kind not in ("ident", "kw"):
        return None
    method = toks[4].text
    if method not in ("network", "define", "provider"):
        return None
    body, params = _split_do(toks[5:])
    body = _strip_modifier(body)
    body = _strip_parens(body)
    return toks[0].text, method, _split_args(body), params


def _attr_call(toks: list[Tok]) -> tuple[str, str, list[Tok]] | None:
    """`VAR.customize [...]` or `VAR.attr = value` (provider settings)."""
    if len(toks) < 4 or toks[0].kind != "ident" or toks[1].kind != "op" or toks[1].text != ".":
        return None
    if toks[2].kind != "ident":
        return None
    attr = toks[2].text
    if attr == "customize":
        return toks[0].text, attr, _strip_modifier(toks[3:])
    if _is(toks, 3, "op", "=") and len(toks) > 4:
        return toks[0].text, attr, _strip_modifier(toks[4:])
    return None


def _strip_modifier(toks: list[Tok]) -> list[Tok]:
    depth = 0
    for i, t in enumerate(toks):
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        elif t.kind == "kw" and t.text in _MODIFIERS and depth == 0:
            return toks[:i]
    return toks


def _strip_parens(toks: list[Tok]) -> list[Tok]:
    """`(a, b)` -> `a, b` when the parentheses wrap the whole argument list."""
    if len(toks) >= 2 and _is(toks, 0, "op", "(") and _is(toks, len(toks) - 1, "op", ")"):
        depth = 0
        for i, t in enumerate(toks):
            if t.kind == "op" and t.text in "([{":
                depth += 1
            elif t.kind == "op" and t.text in ")]}":
                depth -= 1
                if depth == 0 and i < len(toks) - 1:
                    return toks  # `(a) + b`: not one wrapping pair
        return toks[1:-1]
    return toks


def _split_args(toks: list[Tok]) -> list[list[Tok]]:
    out: list[list[Tok]] = []
    cur: list[Tok] = []
    depth = 0
    for t in toks:
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        if t.kind == "op" and t.text == "," and depth == 0:
            out.append(cur)
            cur = []
            continue
        cur.append(t)
    if cur:
        out.append(cur)
    return [a for a in out if a]


def _pair(arg: list[Tok]) -> tuple[str | None, Any]:
    """`key: v`, `:key => v`, `"key" => v`; or a positional value (a `{...}` hash unwrapped)."""
    if arg[0].kind == "label":
        return str(arg[0].value), _literal(arg[1:])
    if (
        len(arg) >= 3
        and arg[1].kind == "op"
        and arg[1].text == "=>"
        and arg[0].kind in ("sym", "str")
    ):
        key = arg[0].value
        return (str(key) if key is not None else None), _literal(arg[2:])
    if _is(arg, 0, "op", "{") and _is(arg, len(arg) - 1, "op", "}"):
        inner: dict[str, Any] = {}
        for sub in _split_args(arg[1:-1]):
            k, v = _pair(sub)
            if k is not None:
                inner[k] = v
        return None, inner
    return None, _literal(arg)


def _literal(toks: list[Tok]) -> Any:
    """The value of a literal (string, symbol, number, true/false, a list of literals);
    anything else is Unknown."""
    text = "".join((" " if t.spaced and i else "") + t.text for i, t in enumerate(toks))
    if not toks:
        return Unknown("")
    if len(toks) == 1:
        t = toks[0]
        if t.kind in ("str", "sym", "num", "list") and t.value is not None:
            return t.value
        if t.kind == "kw" and t.text in ("true", "false"):
            return t.text == "true"
        return Unknown(t.text)
    if len(toks) == 2 and _is(toks, 0, "op", "-") and toks[1].kind == "num":
        return -toks[1].value
    if _is(toks, 0, "op", "[") and _is(toks, len(toks) - 1, "op", "]"):
        items = [_literal(a) for a in _split_args(toks[1:-1])]
        if any(isinstance(i, Unknown) for i in items):
            return Unknown(text)
        return items
    # adjacent string literals ("a" "b") concatenate
    if all(t.kind == "str" and t.value is not None for t in toks):
        return "".join(t.value for t in toks)
    return Unknown(text)


# ---------------------------------------------------------------------------- setup building


def _scoped(opts: dict[str, Any], scope: str) -> dict[str, Any]:
    """Vagrant's scoped_hash_override: `virtualbox__intnet` becomes `intnet` for VirtualBox."""
    out = {k: v for k, v in opts.items() if "__" not in k}
    prefix = f"{scope}__"
    for k, v in opts.items():
        if k.startswith(prefix):
            out[k[len(prefix) :]] = v
    return out


def _prefix(netmask: Any) -> int | None:
    if isinstance(netmask, int) and not isinstance(netmask, bool):
        return netmask
    if isinstance(netmask, str):
        text = netmask.strip().lstrip("/")
        if text.isascii() and text.isdigit():
            return int(text) if len(text) <= 9 else None
        try:
            return ipaddress.IPv4Network(f"0.0.0.0/{text}").prefixlen
        except ValueError:
            return -1
    return None


class _Build:
    """Turn what was read into the setup, provider by provider."""

    def __init__(self, reader: _Reader, builder: Builder) -> None:
        self.r = reader
        self.b = builder
        self.file = reader.file
        self.networks: dict[str, int] = {}  # vm_network name -> index

    def fail(self, message: str, line: int, field: str) -> InputError:
        return InputError(message, file=self.file, line=line, field=field)

    def note(self, text: str) -> None:
        self.b.notes.append(text)

    def machines(self) -> None:
        r = self.r
        machines = list(r.machines.values())
        if not machines and r.configure_line is not None and not r.uncertain_defines:
            machines = [_Machine(name="default", line=r.configure_line)]  # no define: "default"
        for m in machines:
            self.machine(m)

    def machine(self, m: _Machine) -> None:
        order: list[tuple[Any, int]] = []
        for name, line in [*self.r.root.providers, *m.providers]:
            if all(name != seen for seen, _ in order):
                order.append((name, line))
        vm: dict[str, Any] = {"name": m.name}
        i = self.b.append("vms", vm, at=m.line)
        path = f"vms[{i}]"
        if not order:
            # No config.vm.provider: Vagrant's default provider, VirtualBox (Vagrant docs,
            # "Default Provider"; another installed provider or --provider may win).
            provider: Any = "virtualbox"
            line = m.line
        else:
            provider, line = order[0]
            if len(order) > 1:
                others = ", ".join(
                    str(n.text if isinstance(n, Unknown) else n) for n, _ in order[1:]
                )
                self.note(
                    f"machine {m.name}: configures providers {self._pname(provider)}, {others}; "
                    f"read as {self._pname(provider)}, the first (Vagrant takes the first usable "
                    "one unless --provider or VAGRANT_DEFAULT_PROVIDER says otherwise)"
                )
        if isinstance(provider, Unknown):
            self.note(f"machine {m.name}: the provider `{provider.text}` is not a literal: unknown")
            return
        hypervisor = _HYPERVISORS.get(str(provider))
        nets = self.merged_networks(m, str(provider))
        if hypervisor is None:
            self.note(
                f"machine {m.name}: provider {provider!r} is not modelled; "
                "its networks are not read"
            )
            return
        self.b.set(f"{path}.hypervisor", hypervisor, at=line if order else None)
        settings = {
            **self.r.root.settings.get(str(provider), {}),
            **m.settings.get(str(provider), {}),
        }
        customize = [
            *self.r.root.customize.get(str(provider), []),
            *m.customize.get(str(provider), []),
        ]
        if hypervisor == "hyperv":
            if nets:
                self.note(
                    f"machine {m.name}: Vagrant's Hyper-V provider does not configure networks "
                    f"(the virtual switch is chosen at `vagrant up`): {len(nets)} network line(s) "
                    "not read"
                )
            return
        adapters = _Adapters(self, m, path)
        if hypervisor == "virtualbox":
            adapters.virtualbox(nets, customize)
        elif hypervisor == "libvirt":
            adapters.libvirt(nets, settings)
        else:
            adapters.vmware(nets)

    @staticmethod
    def _pname(name: Any) -> str:
        return name.text if isinstance(name, Unknown) else str(name)

    def merged_networks(self, m: _Machine, provider: str) -> list[_Net]:
        """Root networks, then the machine's, then the chosen provider's overrides; a forwarded
        port with the id of an earlier one (by default host_ip + protocol + host port) merges
        into it, the way Vagrant's config merge does."""
        layers = [
            self.r.root.networks,
            m.networks,
            self.r.root.overrides.get(provider, []),
            m.overrides.get(provider, []),
        ]
        out: dict[Any, _Net] = {}
        for layer in layers:
            for n, net in enumerate(layer):
                key: Any = (id(layer), n)
                if net.kind == "forwarded_port":
                    o = net.opts
                    fid = o.get("id")
                    if fid is None:
                        parts = (o.get("host_ip", ""), o.get("protocol", "tcp"), o.get("host"))
                        fid = None if any(isinstance(p, Unknown) for p in parts) else parts
                    if fid is not None and not isinstance(fid, Unknown):
                        key = ("forwarded_port", str(fid))
                elif "id" in net.opts and not isinstance(net.opts["id"], Unknown):
                    key = (str(net.kind), str(net.opts["id"]))
                if key in out:
                    old = out[key]
                    out[key] = _Net(net.kind, {**old.opts, **net.opts}, net.line, net.text)
                else:
                    out[key] = net
        return list(out.values())

    def vm_network(self, entry: dict[str, Any], line: int) -> str:
        name = str(entry["name"])
        if name.lower() not in self.networks:
            self.networks[name.lower()] = self.b.append("vm_networks", entry, at=line)
        return name


class _Adapters:
    """The adapters of one machine."""

    def __init__(self, build: _Build, m: _Machine, path: str) -> None:
        self.build = build
        self.b = build.b
        self.m = m
        self.path = path
        self.count = 0

    def add(self, adapter: dict[str, Any], line: int) -> str:
        i = self.b.append(f"{self.path}.adapters", adapter, at=line)
        self.count += 1
        return f"{self.path}.adapters[{i}]"

    def note(self, net: _Net, why: str) -> None:
        self.build.note(f"line {net.line}: `{_short(net.text)}`: {why}")

    # ---- forwarded ports

    def forward(self, net: _Net, *, default_host_ip: str | None, tcp_only: bool) -> str | None:
        """`tcp:[host_ip:]host:[guest_ip:]guest`, or None (with a note) when not literal."""
        o = net.opts
        if o.get("disabled") is True:
            return None
        for key in ("guest", "host"):
            if key not in o:
                raise self.build.fail(
                    f"forwarded_port needs `{key}:`", net.line, f"forwarded_port.{key}"
                )
        values: dict[str, Any] = {}
        for key in ("guest", "host", "protocol", "host_ip", "guest_ip"):
            v = o.get(key)
            if isinstance(v, Unknown):
                self.note(net, f"{key} `{v.text}` is not a literal: the forward is unknown")
                return None
            values[key] = v
        ports = {}
        for key in ("host", "guest"):
            v = values[key]
            digits = v.strip() if isinstance(v, str) else ""
            if digits.isascii() and digits.isdigit() and len(digits) <= 9:
                v = int(digits)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 65535:
                raise self.build.fail(
                    f"{key} port {values[key]!r} is not a port (1-65535)",
                    net.line,
                    f"forwarded_port.{key}",
                )
            ports[key] = v
        proto = str(values["protocol"] or "tcp").lower()
        if proto not in ("tcp", "udp"):
            raise self.build.fail(
                f"protocol {values['protocol']!r} is not tcp or udp",
                net.line,
                "forwarded_port.protocol",
            )
        if tcp_only and proto != "tcp":
            self.note(net, "vagrant-libvirt forwards TCP only (ssh tunnels): not applied")
            return None
        host_ip = values["host_ip"] if values["host_ip"] is not None else default_host_ip
        if host_ip in ("*", ""):
            host_ip = "0.0.0.0"
        if host_ip == "localhost":
            host_ip = "127.0.0.1"
        text = f"{proto}:"
        for ip, key in ((host_ip, "host_ip"), (values["guest_ip"], "guest_ip")):
            if ip is None:
                continue
            try:
                addr = ipaddress.ip_address(str(ip))
            except ValueError:
                raise self.build.fail(
                    f"{key} {ip!r} is not an IP address", net.line, f"forwarded_port.{key}"
                ) from None
            if addr.version != 4:
                self.note(net, f"{key} {ip} is IPv6: the forward is not modelled")
                return None
            if key == "host_ip":
                text += f"{addr}:"
        text += f"{ports['host']}:"
        if values["guest_ip"] is not None:
            text += f"{values['guest_ip']}:"
        return text + str(ports["guest"])

    def forwards_on(self, adapter_path: str, items: list[tuple[str, int]]) -> None:
        if items:
            self.b.set(f"{adapter_path}.port_forwards", [t for t, _ in items])
            for j, (_, line) in enumerate(items):
                self.b.place(f"{adapter_path}.port_forwards[{j}]", line)

    # ---- addresses

    def address(
        self, net: _Net, o: dict[str, Any], *, default_prefix: int = 24
    ) -> tuple[str | None, Any]:
        """(address with prefix, the network) of a literal `ip:`, else (None, None)."""
        ip = o.get("ip")
        if ip is None:
            return None, None
        if isinstance(ip, Unknown):
            self.note(net, f"ip `{ip.text}` is not a literal: the address is unknown")
            return None, None
        if not isinstance(ip, str):
            raise self.build.fail(f"ip {ip!r} is not an IP address", net.line, f"{net.kind}.ip")
        netmask = o.get("netmask")
        if isinstance(netmask, Unknown):
            self.note(net, f"netmask `{netmask.text}` is not a literal: the prefix is unknown")
            prefix = None
        else:
            prefix = _prefix(netmask)
        try:
            if "/" in ip:
                iface = ipaddress.ip_interface(ip.strip())
            else:
                addr = ipaddress.ip_address(ip.strip())
                if prefix is None and netmask is None:
                    prefix = default_prefix if addr.version == 4 else 64
                if prefix is None:
                    return str(addr), None
                iface = ipaddress.ip_interface(f"{addr}/{prefix}")
        except ValueError:
            raise self.build.fail(
                f"ip {ip!r} (netmask {netmask!r}) is not an IP address with a valid netmask",
                net.line,
                f"{net.kind}.ip",
            ) from None
        if o.get("auto_config") is False:
            self.note(net, "auto_config: false: Vagrant leaves the guest's address to the guest")
            return None, iface.network
        return str(iface), iface.network

    @staticmethod
    def first_host(network: Any) -> str:
        """The subnet's first address with the prefix: where Vagrant and vagrant-libvirt put
        the host's side of a network they create (`adapter_ip`, `libvirt__host_ip` defaults)."""
        return f"{network.network_address + 1}/{network.prefixlen}"

    # ---- VirtualBox

    def virtualbox(self, nets: list[_Net], customize: list[tuple[Any, int]]) -> None:
        # Adapter 1 is always NAT: "Vagrant assumes there is an available NAT device on eth0"
        # (Vagrant docs, Networking: Basic Usage); forwarded ports go to it (adapter: 1).
        nat = self.add({"mode": "nat"}, self.m.line)
        forwards: list[tuple[str, int]] = []
        slot = 1
        for net in nets:
            o = _scoped(net.opts, "virtualbox")
            if net.kind == "forwarded_port":
                if o.get("adapter") not in (None, 1):
                    self.note(net, "a forward on another adapter than the NAT one: not read")
                    continue
                text = self.forward(net, default_host_ip=None, tcp_only=False)
                if text:
                    forwards.append((text, net.line))
                continue
            slot += 1
            self.check_slot(net, o, slot)
            if net.kind == "private_network":
                self.vbox_private(net, o)
            elif net.kind == "public_network":
                self.bridged(net, o)
            else:
                self.unknown_type(net)
        for args, line in customize:
            forwards += self.natpf(args, line)
        self.forwards_on(nat, forwards)

    def check_slot(self, net: _Net, o: dict[str, Any], slot: int) -> None:
        wanted = o.get("adapter")
        if wanted is not None and wanted != slot:
            self.note(net, f"asks for adapter {wanted}; listed here as adapter {slot}")

    def vbox_private(self, net: _Net, o: dict[str, Any]) -> None:
        intnet = o.get("intnet")
        if intnet is not None and intnet is not False:
            # virtualbox__intnet: an internal network, `true` meaning the one named "intnet"
            # (Vagrant docs, VirtualBox Networking).
            name = "intnet" if intnet is True else intnet
            adapter: dict[str, Any] = {"mode": "internal"}
            if isinstance(name, Unknown):
                self.note(net, f"intnet `{name.text}` is not a literal: the network is unknown")
            else:
                adapter["network"] = str(name)
            addr, _ = self.address(net, o)
            if addr:
                adapter.update(address=addr, dhcp=False)
            self.add(adapter, net.line)
            return
        adapter = {"mode": "hostonly"}
        dhcp = str(o.get("type", "static")).lower() == "dhcp"
        addr, network = self.address(net, o)
        if dhcp:
            adapter["dhcp"] = True
        elif addr:
            adapter.update(address=addr, dhcp=False)
        name = o.get("name")
        if isinstance(name, Unknown):
            self.note(net, f"name `{name.text}` is not a literal: the host-only network is unknown")
        elif isinstance(name, str):
            adapter["network"] = name  # an existing host-only interface, used as it is
        elif network is not None and network.version == 4:
            # Vagrant finds the host-only interface holding this subnet or creates one whose
            # address is the subnet's first (`adapter_ip`, VirtualBox provider's network.rb);
            # its name (vboxnetN) is chosen at `vagrant up`.
            host = o.get("adapter_ip")
            label = f"<vboxnet for {network}>"
            entry = {
                "name": label,
                "hypervisor": "virtualbox",
                "mode": "hostonly",
                "subnet": str(network),
                "host_address": f"{host}/{network.prefixlen}"
                if isinstance(host, str)
                else self.first_host(network),
            }
            adapter["network"] = self.build.vm_network(entry, net.line)
        self.add(adapter, net.line)

    def bridged(self, net: _Net, o: dict[str, Any]) -> None:
        adapter: dict[str, Any] = {"mode": "bridged"}
        bridge = o.get("bridge")
        if isinstance(bridge, str):
            adapter["bridged_to"] = bridge
        elif isinstance(bridge, (list, Unknown)):
            self.note(
                net, "bridge is a list or not a literal: the host adapter is chosen at `vagrant up`"
            )
        addr, _ = self.address(net, o)
        if addr:
            adapter.update(address=addr, dhcp=False)
        elif "ip" not in o:
            adapter["dhcp"] = True  # no ip: the guest asks the LAN's DHCP server
        self.add(adapter, net.line)

    def unknown_type(self, net: _Net) -> None:
        what = net.kind.text if isinstance(net.kind, Unknown) else net.kind
        self.note(
            net,
            f"network type `{what}` is not forwarded_port, private_network or "
            "public_network: not read",
        )

    def natpf(self, args: Any, line: int) -> list[tuple[str, int]]:
        """`vb.customize ["modifyvm", :id, "--natpf1", "NAME,PROTO,HOSTIP,HOSTPORT,GUESTIP,
        GUESTPORT"]`: port forwards on adapter 1, the NAT one."""
        if isinstance(args, Unknown) or not isinstance(args, list):
            if isinstance(args, Unknown) and ("natpf" in args.text or "--nic" in args.text):
                self.build.note(f"line {line}: `{_short(args.text)}` is not a literal: not read")
            return []
        if not args or args[0] != "modifyvm":
            return []
        out = []
        items = [str(a) for a in args[2:]]
        for k, item in enumerate(items):
            if re.fullmatch(
                r"--nic\d+|--(hostonlyadapter|intnet|bridgeadapter|nat-network)\d+", item
            ):
                self.build.note(f"line {line}: VBoxManage `{item}` changes an adapter: not read")
            m = re.fullmatch(r"--natpf([0-9]{1,9})", item)
            if not m or k + 1 >= len(items):
                continue
            spec = items[k + 1]
            if m.group(1) != "1" or spec == "delete":
                self.build.note(f"line {line}: `{item} {spec}` not read")
                continue
            parts = spec.split(",")
            if len(parts) != 6:
                raise InputError(
                    f"--natpf1 {spec!r} is not NAME,PROTO,HOSTIP,HOSTPORT,GUESTIP,GUESTPORT",
                    file=self.build.file,
                    line=line,
                    field="customize.natpf1",
                )
            _, proto, host_ip, host, guest_ip, guest = (p.strip() for p in parts)
            text = f"{proto or 'tcp'}:" + (f"{host_ip}:" if host_ip else "") + f"{host}:"
            text += (f"{guest_ip}:" if guest_ip else "") + guest
            out.append((text, line))
        return out

    # ---- libvirt

    def libvirt(self, nets: list[_Net], settings: dict[str, tuple[Any, int]]) -> None:
        def setting(key: str, default: Any) -> tuple[Any, int | None]:
            value, line = settings.get(key, (default, None))
            if isinstance(value, Unknown):
                self.build.note(f"line {line}: {key} `{value.text}` is not a literal: unknown")
                return None, line
            return value, line

        attach, _ = setting("mgmt_attach", True)
        mgmt: str | None = None
        if attach is not False:
            # vagrant-libvirt's management network: `vagrant-libvirt`, 192.168.121.0/24, NAT
            # (vagrant-libvirt docs, Configuration: Management Network); adapter 1.
            name, name_line = setting("management_network_name", "vagrant-libvirt")
            subnet, subnet_line = setting("management_network_address", "192.168.121.0/24")
            mode, _ = setting("management_network_mode", "nat")
            adapter: dict[str, Any] = {"dhcp": True}
            mapped = _LIBVIRT_MODES.get(str(mode)) if mode is not None else None
            if mapped:
                adapter["mode"] = mapped
            if name is not None:
                entry: dict[str, Any] = {"name": str(name), "hypervisor": "libvirt"}
                if mapped:
                    entry["mode"] = mapped
                if subnet is not None:
                    try:
                        network = ipaddress.ip_network(str(subnet), strict=False)
                        entry["subnet"] = str(network)
                        if mapped in ("nat", "routed"):
                            # vagrant-libvirt gives the host the first address; it is the
                            # guests' gateway (DHCP is always on for this network)
                            entry["gateway"] = str(network.network_address + 1)
                        entry["host_address"] = self.first_host(network)
                        entry["dhcp"] = True
                    except ValueError:
                        raise InputError(
                            f"management_network_address {subnet!r} is not a subnet",
                            file=self.build.file,
                            line=subnet_line,
                            field="management_network_address",
                        ) from None
                adapter["network"] = self.build.vm_network(
                    entry, name_line or subnet_line or self.m.line
                )
            mgmt = self.add(adapter, self.m.line)
        forwards: list[tuple[str, int]] = []
        for net in nets:
            o = _scoped(net.opts, "libvirt")
            if net.kind == "forwarded_port":
                # ssh tunnels bound to localhost unless host_ip says otherwise (vagrant-libvirt
                # docs, Forwarded Ports); TCP only.
                text = self.forward(net, default_host_ip="127.0.0.1", tcp_only=True)
                if text and mgmt is None:
                    self.note(net, "mgmt_attach = false: no management interface to forward to")
                elif text:
                    forwards.append((text, net.line))
                continue
            if net.kind == "private_network":
                self.libvirt_private(net, o)
            elif net.kind == "public_network":
                self.libvirt_public(net, o)
            else:
                self.unknown_type(net)
        if mgmt is not None:
            self.forwards_on(mgmt, forwards)

    def libvirt_private(self, net: _Net, o: dict[str, Any]) -> None:
        if o.get("tunnel_type") is not None:
            self.note(net, "a point-to-point tunnel interface: not modelled")
            return
        forward_mode = o.get("forward_mode", "nat")  # "By default, option `nat` is used."
        mode = None if isinstance(forward_mode, Unknown) else _LIBVIRT_MODES.get(str(forward_mode))
        if isinstance(forward_mode, Unknown):
            self.note(
                net, f"forward_mode `{forward_mode.text}` is not a literal: the mode is unknown"
            )
        elif mode is None:
            raise self.build.fail(
                f"libvirt__forward_mode {forward_mode!r} is not one of nat, none, veryisolated, "
                "route, open",
                net.line,
                "private_network.libvirt__forward_mode",
            )
        name = o.get("network_name")
        if isinstance(name, Unknown):
            self.note(net, f"network_name `{name.text}` is not a literal: the network is unknown")
        dhcp_enabled = o.get("dhcp_enabled", True)
        adapter: dict[str, Any] = {}
        entry: dict[str, Any] | None = None
        is_dhcp = str(o.get("type", "static")).lower() == "dhcp" and o.get("ip") is None
        if o.get("ip") is not None:
            addr, network = self.address(net, o)
            if addr:
                adapter.update(address=addr, dhcp=False)
            if network is not None:
                label = str(name) if isinstance(name, str) else f"<libvirt network for {network}>"
                entry = {"name": label, "subnet": str(network)}
                host = o.get("host_ip")
                if forward_mode != "veryisolated":  # a network without any address
                    entry["host_address"] = (
                        f"{host}/{network.prefixlen}"
                        if isinstance(host, str)
                        else self.first_host(network)
                    )
        elif is_dhcp:
            # type: "dhcp": the network `vagrant-private-dhcp`, 172.28.128.0/24 unless
            # libvirt__network_address says otherwise (vagrant-libvirt docs).
            base = o.get("network_address", "172.28.128.0")
            adapter["dhcp"] = True
            if isinstance(base, str):
                try:
                    network = ipaddress.ip_network(f"{base}/24", strict=False)
                except ValueError:
                    raise self.build.fail(
                        f"libvirt__network_address {base!r} is not an address",
                        net.line,
                        "private_network.libvirt__network_address",
                    ) from None
                label = str(name) if isinstance(name, str) else "vagrant-private-dhcp"
                entry = {
                    "name": label,
                    "subnet": str(network),
                    "host_address": self.first_host(network),
                }
        elif isinstance(name, str):
            adapter["network"] = name  # an existing libvirt network, used as it is
        if entry is not None:
            entry["hypervisor"] = "libvirt"
            if mode:
                entry["mode"] = mode
            if mode in ("nat", "routed") and "host_address" in entry:
                entry["gateway"] = entry["host_address"].split("/")[0]  # the guests' router
            if isinstance(dhcp_enabled, bool):
                entry["dhcp"] = dhcp_enabled
            adapter["network"] = self.build.vm_network(entry, net.line)
        if mode and "network" in adapter:
            adapter["mode"] = mode
        self.add(adapter, net.line)

    def libvirt_public(self, net: _Net, o: dict[str, Any]) -> None:
        adapter: dict[str, Any] = {}
        network_name = o.get("network_name")
        dev = o.get("dev", "eth0")  # "Default is 'eth0'" (vagrant-libvirt docs)
        iface_type = o.get("type", "direct")
        if isinstance(network_name, str):
            adapter["network"] = network_name
        elif isinstance(dev, Unknown) or isinstance(iface_type, Unknown):
            self.note(net, "dev or type is not a literal: the host side is unknown")
            adapter["mode"] = "bridged"
        elif str(iface_type) == "bridge":
            adapter.update(mode="bridged", network=str(dev))  # an existing host bridge
        else:
            adapter.update(mode="direct", bridged_to=str(dev))  # macvtap on dev
        addr, _ = self.address(net, o)
        if addr:
            adapter.update(address=addr, dhcp=False)
        self.add(adapter, net.line)

    # ---- VMware

    def vmware(self, nets: list[_Net]) -> None:
        # The first adapter is NAT (VMnet8); forwarded ports go through its NAT device.
        nat = self.add({"mode": "nat", "network": "VMnet8"}, self.m.line)
        forwards: list[tuple[str, int]] = []
        for net in nets:
            o = _scoped(net.opts, "vmware_desktop")
            if net.kind == "forwarded_port":
                text = self.forward(net, default_host_ip=None, tcp_only=False)
                if text:
                    forwards.append((text, net.line))
            elif net.kind == "private_network":
                adapter: dict[str, Any] = {"mode": "hostonly"}
                if str(o.get("type", "static")).lower() == "dhcp":
                    adapter["dhcp"] = True
                else:
                    addr, _ = self.address(net, o)
                    if addr:
                        adapter.update(address=addr, dhcp=False)
                self.add(adapter, net.line)
            elif net.kind == "public_network":
                self.bridged(net, o)
            else:
                self.unknown_type(net)
        self.forwards_on(nat, forwards)


# libvirt__forward_mode (and management_network_mode) -> adapter modes of the setup
_LIBVIRT_MODES = {
    "nat": "nat",
    "none": "isolated",
    "veryisolated": "isolated",
    "route": "routed",
    "open": "routed",
}


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read the machines, providers and networks of a Vagrantfile."""
    if not text.strip():
        raise InputError("empty file", file=file)
    toks = _Lexer(text, file).run()
    stmts = _statements(toks, text)
    reader = _Reader(text, file)
    reader.read(stmts)
    builder = Builder(file)
    if reader.configure_line is None:
        if reader.v1_line is not None:
            builder.notes.append(
                f"line {reader.v1_line}: Vagrant 1 syntax (`Vagrant::Config.run`) is not read"
            )
            return builder.finish(kind)
        if reader.conditional_configure:
            builder.notes.extend(reader.notes)
            return builder.finish(kind)
        raise InputError(
            "no `Vagrant.configure(...) do |config|` block: is this a Vagrantfile?",
            file=file,
            line=1,
        )
    builder.notes.extend(reader.notes)
    _Build(reader, builder).machines()
    builder.notes.sort(key=_note_order)
    return builder.finish(kind)


def _note_order(note: str) -> tuple[int, int]:
    """Notes about a line in line order; notes about a machine after them."""
    m = re.match(r"lines? (\d+)", note)
    return (0, int(m.group(1))) if m else (1, 0)
