"""diagnose.yamltext reads data and positions in one walk; it must give what PyYAML's own
constructor gives, with every value located where people wrote it."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from diagnose import yamltext
from diagnose.errors import InputError
from diagnose.yamltext import MAX_BYTES, _Loader, parse, read_text

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

TRICKY = [
    "a: &x [1, 2]\nb: *x\nc: *x\n",
    "a: &x {p: 1}\nb:\n  <<: *x\n  q: 2\n",
    "a: &x {p: 1}\nb:\n  <<: [*x, {r: 3}]\n  p: 5\n",
    "a: &m {x: 1}\nb: {<<: *m, x: 2}\nc: *m\n",
    "- &s {a: 1}\n- {<<: *s}\n- *s\n",
    "a: &x {p: &y [1]}\nb: {<<: *x}\nc: *y\n",
    "a: &v val\nb: *v\nc: {<<: {k: *v}}\n",
    "x: !reset []\ny: !override {a: 1}\nz: !reset null\n",
    "80: http\ntrue: yes\n1.5: x\n",
    "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\nbin: !!binary aGVsbG8=\nt: 2001-12-14\n",
    "p: 22:22\nq: 0o17\nr: 017\nn: ~\nf: .inf\ng: 1_000\nh: '8080'\n",
    "'<<': 3\nk: !custom 5\n",
    "services:\n  web:\n    ports: ['80:80', {target: 443, published: 8443}]\n",
]


def _stock(text: str) -> Any:
    """What PyYAML's constructor makes of the text, with netwhy's resolvers and tags."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader


@pytest.mark.parametrize("text", TRICKY)
def test_data_is_what_pyyaml_constructs(text: str) -> None:
    assert repr(parse(text, "f.yaml").data) == repr(_stock(text))


def test_every_corpus_yaml_file_reads_as_pyyaml_reads_it() -> None:
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not beside the project")
    checked = 0
    for path in sorted(CORPUS.rglob("*.y*ml")):
        text = path.read_text("utf-8", errors="replace")
        try:
            expected = _stock(text)
        except yaml.YAMLError:
            continue
        if expected is None or text.lstrip().startswith(("{", "[")):
            continue
        try:
            got = parse(text, str(path)).data
        except InputError as exc:  # duplicate keys: PyYAML keeps the last one silently
            assert "duplicate key" in exc.message, (path, exc)
            continue
        assert repr(got) == repr(expected), path
        checked += 1
    assert checked > 100


def test_values_are_located_where_they_are_written() -> None:
    text = "services:\n  web:\n    image: nginx\n    ports:\n      - '80:80'\n"
    lines = parse(text, "c.yaml").lines
    assert lines[("services", "web")] == (2, 3)
    assert lines[("services", "web", "ports")] == (4, 5)
    assert lines[("services", "web", "ports", 0)] == (5, 9)


def test_merged_keys_stand_where_their_anchor_states_them() -> None:
    text = (
        "x-ui: &ui\n"  # 1
        "  image: app\n"  # 2
        "  ports:\n"  # 3
        "    - 8080:8080\n"  # 4
        "services:\n"  # 5
        "  one:\n"  # 6
        "    <<: *ui\n"  # 7
        "    image: own\n"  # 8
    )
    doc = parse(text, "c.yaml")
    assert doc.data["services"]["one"] == {"image": "own", "ports": ["8080:8080"]}
    assert doc.lines[("services", "one", "ports")] == (3, 3)  # from the anchor
    assert doc.lines[("services", "one", "image")] == (8, 5)  # its own key wins


def test_aliases_are_located_at_their_anchor_only() -> None:
    doc = parse("a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert doc.lines[("a", 0)] == (1, 8)
    assert ("b", 0) not in doc.lines
    assert doc.lines[("b",)] == (2, 1)


def test_recursive_aliases_load() -> None:
    data = parse("a: &a {self: *a}\n", "f.yaml").data
    assert data["a"]["self"] is data["a"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: 2\na: 3\n", 3),
        ("l:\n  - {a: 1, a: 2}\n", 2),
        ("b:\n  <<: {p: 1, p: 2}\n", 2),  # inside a merged mapping too
    ],
)
def test_duplicate_keys_are_refused_with_their_line(text: str, line: int) -> None:
    with pytest.raises(InputError, match="duplicate key") as info:
        parse(text, "f.yaml")
    assert info.value.line == line


@pytest.mark.parametrize(
    ("text", "line", "column", "field", "words"),
    [
        ("? [a, b]\n: 1\n", 1, 3, None, "not a list or a mapping"),
        ("a: 1\n!reset [x]: 2\n", 2, 1, None, "not a list or a mapping"),
        (
            "lan: {subnet: 10.0.0.0/24, !reset dns: [10.0.0.1]}\n",
            1,
            28,
            "dns",
            "key 'dns' is tagged !reset: a tag goes on the value (dns: !reset ...)",
        ),
        ("host: {os: linux}\n!override lan: {}\n", 2, 1, "lan", "tagged !override"),
    ],
)
def test_keys_that_are_not_plain_names_are_refused(
    text: str, line: int, column: int, field: str | None, words: str
) -> None:
    # A tagged list as a key made PyYAML hash a list: an internal error.
    with pytest.raises(InputError) as info:
        parse(text, "f.yaml")
    err = info.value
    assert (err.line, err.column, err.field) == (line, column, field)
    assert words in err.message


def test_alias_bombs_are_counted_expanded() -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(InputError, match="expands to more than"):
        parse("\n".join(rows) + "\n", "bomb.yaml")


def test_many_merges_of_one_anchor_stay_small() -> None:
    text = "m: &m {k: [1, 2, 3]}\n" + "".join(f"s{i}: {{<<: *m}}\n" for i in range(50))
    assert parse(text, "f.yaml").data["s49"] == {"k": [1, 2, 3]}


def test_read_text_refuses_what_is_not_a_readable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        read_text(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_text(tmp_path / "missing.yaml")
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(InputError, match="the limit is"):
        read_text(big)


def test_a_file_that_grew_after_its_size_was_taken_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A regular file's first read is sized by fstat; a file written to meanwhile holds more
    # than that, and the rest is read too: only an empty read ends a file.
    grown = tmp_path / "grown.yaml"
    grown.write_text("a: 1\n" * 1000)
    real_fstat = os.fstat

    def stale_fstat(fd: int) -> os.stat_result:
        info = real_fstat(fd)
        return os.stat_result((*info[:6], 10, *info[7:]))  # st_size as it was earlier

    monkeypatch.setattr(os, "fstat", stale_fstat)
    assert read_text(grown) == "a: 1\n" * 1000


def test_read_text_stops_at_the_limit_on_endless_files(tmp_path: Path) -> None:
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the writer: more than the limit, then gone
        try:
            with open(fifo, "wb") as out:
                chunk = b"a: 1\n" * 65536
                for _ in range(MAX_BYTES // len(chunk) + 2):
                    out.write(chunk)
        finally:
            os._exit(0)
    try:
        with pytest.raises(InputError, match="larger than the limit"):
            read_text(fifo)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_merged_values_are_the_anchors_own_objects() -> None:
    # As in PyYAML; the compose loader finds where a merged value was written by its identity.
    data = parse("x: &x {ports: [1]}\ns: {<<: *x, image: a}\n", "f.yaml").data
    assert data["s"]["ports"] is data["x"]["ports"]
    stock = _stock("x: &x {ports: [1]}\ns: {<<: *x, image: a}\n")
    assert stock["s"]["ports"] is stock["x"]["ports"]


def test_anchors_that_merge_other_anchors_load() -> None:
    # A common compose pattern; PyYAML rewrites a mapping with merge keys as it builds it, so
    # duplicate keys must be looked for before anything is built.
    text = (
        "x-base: &base {restart: always}\n"
        "x-web: &web\n"
        "  <<: *base\n"
        "  restart: unless-stopped\n"
        "services:\n"
        "  web: {<<: *web, image: nginx}\n"
    )
    doc = parse(text, "c.yaml")
    assert doc.data["services"]["web"] == {"restart": "unless-stopped", "image": "nginx"}
    assert repr(doc.data) == repr(_stock(text))
    assert doc.lines[("services", "web", "restart")] == (4, 3)


def test_merge_bombs_are_counted_before_anything_is_built() -> None:
    anchor = "a: &a {" + ", ".join(f"k{i}: {i}" for i in range(1000)) + "}\n"
    text = anchor + "l:\n" + "  - {<<: *a}\n" * 1000  # 21 kB, a million values once merged
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="expands to more than"):
            parse(text, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000  # refused from the nodes, not after building every copy


def test_recursive_merges_and_deep_nesting_load_as_before() -> None:
    data = parse("a: &a {x: 1, self: *a, <<: {y: 2}}\n", "f.yaml").data
    assert data["a"]["self"] is data["a"] and data["a"]["y"] == 2
    deep = parse("a: " + "[" * 600 + "]" * 600 + "\n", "f.yaml").data
    depth = 0
    node = deep["a"]
    while node:
        node, depth = node[0], depth + 1
    assert depth == 599


def test_remembered_tags_follow_quoting(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tag of a plain scalar is remembered across documents; a quoted one is text always.
    monkeypatch.setattr(yamltext, "_PLAIN_TAGS", {})
    text = "a: 8080\nb: '8080'\nc: 8080\nd: \"yes\"\ne: yes\nf: 22:22\ng: 1.5\nh: null\n"
    want = {"a": 8080, "b": "8080", "c": 8080, "d": "yes", "e": True, "f": "22:22", "g": 1.5}
    want["h"] = None
    for _ in range(2):
        assert parse(text, "t.yaml").data == want
    assert yamltext._PLAIN_TAGS["8080"] == "tag:yaml.org,2002:int"


def test_remembered_tags_are_short_texts_and_keep_coming(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long texts are not kept (a server would hold its users' text); when the memory is full
    # it starts again, so that values met late in a batch are remembered too.
    monkeypatch.setattr(yamltext, "_PLAIN_TAGS", {})
    long = "x" * 65
    assert parse(f"a: {long}\n", "t.yaml").data == {"a": long}
    assert long not in yamltext._PLAIN_TAGS and "a" in yamltext._PLAIN_TAGS
    monkeypatch.setattr(yamltext, "_PLAIN_TAGS_AT_MOST", 3)
    assert parse("p: 1\nq: 2\nr: 3\ns: 4\n", "t.yaml").data == {"p": 1, "q": 2, "r": 3, "s": 4}
    assert "4" in yamltext._PLAIN_TAGS and len(yamltext._PLAIN_TAGS) <= 3


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_byte_that_is_not_utf8_is_reported_on_its_line(bom: bytes) -> None:
    # The line counts in the text after the BOM, which is what was decoded.
    with pytest.raises(InputError) as caught:
        yamltext.decode(bom + b"a: 1\nb: 2\n\xe9: 3\n", "x.yaml")
    assert (caught.value.message, caught.value.line) == ("not UTF-8 text", 3)
