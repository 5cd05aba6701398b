"""The `netwhy` command: output formats, exit codes, one-line errors on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from diagnose.cli import app
from diagnose.exitcodes import ExitCode

runner = CliRunner()

BLOCKED = """\
host: {os: linux, docker: engine, interfaces: [{name: eth0, address: 192.168.1.10/24}]}
docker:
  containers:
    - {name: web, ports: ["8080:80"], listens: ["127.0.0.1:80"]}
symptoms:
  - {from: lan, to: container:web, port: 8080, says: connection refused}
"""
FINE = """\
docker:
  containers:
    - {name: web, ports: ["8080:80"], listens: ["0.0.0.0:80"]}
symptoms:
  - {from: lan, to: container:web, port: 8080}
"""


@pytest.fixture
def blocked(tmp_path: Path) -> Path:
    path = tmp_path / "blocked.yaml"
    path.write_text(BLOCKED)
    return path


@pytest.fixture
def fine(tmp_path: Path) -> Path:
    path = tmp_path / "fine.yaml"
    path.write_text(FINE)
    return path


def netwhy(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "diagnose.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_why_text_marks_the_broken_hop(blocked: Path) -> None:
    result = runner.invoke(app, ["why", str(blocked)])
    assert result.exit_code == ExitCode.FINDINGS
    assert "BLOCKED" in result.stdout
    assert "[BLOCKED] the app in web listening on port 80/tcp  <- breaks here (DP001)" in (
        result.stdout
    )
    assert "$ --host 0.0.0.0" in result.stdout


def test_why_json_follows_the_contract(blocked: Path) -> None:
    result = runner.invoke(app, ["why", str(blocked), "--format", "json"])
    report = json.loads(result.stdout)
    assert report["schema_version"] == "1.0"
    verdict = report["verdicts"][0]
    assert verdict["status"] == "blocked"
    assert {"status", "path", "causes", "questions"} <= set(verdict)
    assert all({"status", "rule", "claims"} <= set(hop) for hop in verdict["path"])
    assert verdict["causes"][0]["rule"] == "DP001"
    assert verdict["causes"][0]["fixes"]
    finding = report["findings"][0]
    assert {"rule", "severity", "title", "explanation", "fixes", "claims"} <= set(finding)


def test_why_exit_code_zero_when_reachable(fine: Path) -> None:
    result = runner.invoke(app, ["why", str(fine)])
    assert result.exit_code == ExitCode.OK, result.stdout
    assert "REACHABLE" in result.stdout


def test_why_markdown(blocked: Path) -> None:
    result = runner.invoke(app, ["why", str(blocked), "--format", "markdown"])
    assert result.stdout.startswith("## Answer\n\n- ❌ **s1**")
    assert "\n## Verdicts\n" in result.stdout and "```mermaid" in result.stdout
    assert "| 80 | the app in web listening on port 80/tcp | ❌ blocked | DP001 |" in result.stdout


def test_check_fail_on(blocked: Path) -> None:
    assert runner.invoke(app, ["check", str(blocked)]).exit_code == ExitCode.FINDINGS
    never = runner.invoke(app, ["check", str(blocked), "--fail-on", "never"])
    assert never.exit_code == ExitCode.OK
    assert "error DP001" in never.stdout
    assert f"{blocked}:4:" in never.stdout  # the line of the container's entry


def test_check_reads_stdin() -> None:
    result = runner.invoke(app, ["check", "-", "--format", "json"], input=BLOCKED)
    assert json.loads(result.stdout)["files"][0]["findings"][0]["rule"] == "DP001"


def test_why_without_symptoms_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("docker: {containers: [{name: web}]}\n")
    result = netwhy("why", str(path))
    assert result.returncode == ExitCode.BAD_INPUT
    assert "no symptoms" in result.stderr


def test_explain_topics() -> None:
    for topic, needle in [
        ("docker:host", "M1"),
        ("DP001", "127.0.0.1"),
        ("D7", "DNAT"),
        ("dnat", "DNAT"),
    ]:
        result = runner.invoke(app, ["explain", topic])
        assert result.exit_code == 0, result.stdout
        assert needle in result.stdout


def test_explain_unknown_topic_suggests() -> None:
    result = netwhy("explain", "docker:hots")
    assert result.returncode == ExitCode.BAD_INPUT
    assert "did you mean docker:host" in result.stderr


def test_rules_and_schema() -> None:
    rules = json.loads(runner.invoke(app, ["rules", "--format", "json"]).stdout)
    assert any(r["id"] == "DP001" and r["severity"] == "error" for r in rules)
    schema = json.loads(runner.invoke(app, ["schema"]).stdout)
    assert "docker" in schema["properties"]


BAD_INPUTS = {
    "malformed.yaml": (b"host: [1, 2\n", "malformed YAML"),
    "malformed.json": (b'{"host": }', "malformed JSON"),
    "binary.yaml": (b"\x00\x01\x02ELF", "binary file"),
    "empty.yaml": (b"", "empty file"),
    "wrongtype.yaml": (b"docker:\n  containers: 5\n", "docker.containers"),
    "unknownmode.yaml": (b"vms:\n  - name: u\n    adapters: [{mode: teleport}]\n", "teleport"),
    "latin1.yaml": (b"host: {name: caf\xe9}\n", "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_no_traceback(name: str, tmp_path: Path) -> None:
    content, needle = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(content)
    for command in ("check", "why"):
        result = netwhy(command, str(path))
        assert result.returncode == ExitCode.BAD_INPUT, result.stderr
        if command == "why":
            assert result.stdout == ""
        else:  # check prints its summary: the file counts as unreadable
            assert "1 unreadable or invalid" in result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"netwhy: error: {path}")
        assert needle in lines[0]
        assert "Traceback" not in result.stderr


def test_missing_file_and_bad_rules_dir(tmp_path: Path) -> None:
    result = netwhy("check", str(tmp_path / "nope.yaml"))
    assert result.returncode == ExitCode.BAD_INPUT
    assert "no such file" in result.stderr
    bad = tmp_path / "rules"
    bad.mkdir()
    (bad / "x.yaml").write_text("rules:\n  - {id: nope}\n")
    result = netwhy("check", "-", "--rules", str(bad), stdin=FINE)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "bad rule file" in result.stderr and "x.yaml" in result.stderr


@pytest.mark.parametrize("bad", ["X", "=x", ""])
def test_a_malformed_env_value_is_a_usage_error(bad: str, blocked: Path) -> None:
    result = netwhy("check", str(blocked), "--env", bad)
    assert result.returncode == ExitCode.BAD_INPUT
    assert f"Invalid value for '--env': {bad!r} is not NAME=VALUE" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_env_values_fill_compose_variables(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    ports: ['${PORT}:80']\n")
    good = runner.invoke(app, ["check", str(compose), "--env", "PORT=8080", "-f", "json"])
    assert good.exit_code in (ExitCode.OK, ExitCode.FINDINGS), good.output
    assert not json.loads(good.stdout)["summary"]["input_errors"]
    # The value is everything after the first '='.
    odd = runner.invoke(app, ["check", str(compose), "--env", "PORT=a=b"])
    assert odd.exit_code == ExitCode.BAD_INPUT
    assert "invalid host port 'a=b'" in odd.output


def test_a_rules_path_that_is_no_folder_is_an_error_with_a_warm_cache(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NETWHY_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "diagnose.cli", "check", "-", *args]
        return subprocess.run(command, capture_output=True, text=True, input=FINE, env=env)

    assert run().returncode == ExitCode.OK  # the bundled catalogue is now cached
    assert any((tmp_path / "cache" / "netwhy").iterdir())
    a_file = tmp_path / "extra.yaml"
    a_file.write_text("rules: []\n")
    for rules in (str(tmp_path / "nonexistent"), str(a_file)):
        result = run("--rules", rules)
        assert result.returncode == ExitCode.BAD_INPUT
        assert result.stderr == (
            f"netwhy: error: bad rule file: {rules}: not a directory of rule files\n"
        )


def test_setup_paths_without_a_yaml_suffix_are_files(tmp_path: Path) -> None:
    plain = tmp_path / "setupfile"
    plain.write_text(BLOCKED)
    upper = tmp_path / "S.YAML"
    upper.write_text(BLOCKED)
    for path in (plain, upper):
        result = netwhy("why", str(path))
        assert result.returncode == ExitCode.FINDINGS, result.stderr
    missing = netwhy("why", str(tmp_path / "missing.txt"))
    assert missing.returncode == ExitCode.BAD_INPUT
    assert "no such file" in missing.stderr


def test_unknown_language_is_a_usage_error(blocked: Path) -> None:
    result = netwhy("why", str(blocked), "--lang", "fr")
    assert result.returncode == ExitCode.BAD_INPUT
    assert "'fr' is not one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reported_failure_on_a_passing_path_is_unexplained(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(FINE.replace("port: 8080}", "port: 8080, says: connection timed out}"))
    result = runner.invoke(app, ["why", str(path), "--format", "json"])
    verdict = json.loads(result.stdout)["verdicts"][0]
    assert verdict["status"] != "reachable"
    assert result.exit_code == ExitCode.FINDINGS


def test_everything_is_written_before_the_command_leaves() -> None:
    # main() leaves with os._exit (skipping the interpreter's slow teardown): what the
    # command wrote must all be out by then, and the exit code kept.
    result = netwhy("schema")
    assert result.returncode == 0
    assert "properties" in json.loads(result.stdout)
    assert netwhy("why", "no-such-file.yaml").returncode == ExitCode.BAD_INPUT


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "diagnose.cli", "rules", "--format", "json"],  # > a pipe's buffer
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err


def test_output_lost_on_a_full_disk_is_an_error() -> None:
    # Small outputs reach the file only when main() flushes before leaving.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "diagnose.cli", "explain", "docker:host"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    assert result.returncode == ExitCode.BAD_INPUT
    assert (
        result.stderr.strip() == "netwhy: error: cannot write the output: No space left on device"
    )
