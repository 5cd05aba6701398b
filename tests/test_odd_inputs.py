"""Inputs a fuzzer found crashing netwhy: each is now one clear error, or read with a note."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from diagnose import api
from diagnose.batch import CheckOptions, check_text
from diagnose.conversation import ask
from diagnose.errors import InputError
from diagnose.yamltext import parse


def test_a_lone_surrogate_escape_in_json_is_refused_with_its_line() -> None:
    # json.loads makes "\ud800" a str no encoding can write: facts and output failed on it.
    with pytest.raises(InputError) as caught:
        parse('{"Id":\n"\\ud800","HostConfig":{}}', "c.json")
    assert caught.value.line == 2 and "surrogate" in caught.value.message
    assert parse('{"a": "\\ud83d\\ude00 \\u003c"}', "c.json").data == {"a": "\U0001f600 <"}
    result = check_text('[{"Id":"\\udc00","HostConfig":{}}]', "inspect.json", CheckOptions())
    assert [f.rule for f in result.findings] == ["IN002"]


def test_the_api_refuses_a_lone_surrogate_and_an_unknown_language() -> None:
    with pytest.raises(InputError, match="surrogate"):
        api.check("\ud800")
    for call in (api.check, api.why):
        with pytest.raises(InputError, match="unknown language 'fr'") as caught:
            call({}, lang="fr")
        assert caught.value.field == "lang"


def test_an_ip_route_whose_nexthops_hold_no_hop_is_left_out_with_a_note() -> None:
    text = (
        '[{"dst":"0.0.0.0/1","nexthops":[]},'
        '{"dst":"128.0.0.0/1","dev":"tun0","gateway":"10.8.0.1"},'
        '{"dst":"10.0.0.0/8","nexthops":[1,2]}]'
    )
    result = check_text(text, "route.json", CheckOptions(kind="ip-json"))
    assert not result.input_error
    assert "route 0.0.0.0/1: nexthops holds no hop: left out" in result.notes
    assert "route 10.0.0.0/8: nexthops holds no hop: left out" in result.notes


@pytest.mark.parametrize("network", ["255.255.255.255", "10.0.2.0", "10.0.2.0/31"])
def test_a_nat_network_without_room_for_guests_is_refused(network: str) -> None:
    # 255.255.255.255 crashed (its gateway, the next address, does not exist); a bare
    # 10.0.2.0 was read as 10.0.2.0/32 with a gateway outside it.
    text = (
        '<VirtualBox xmlns="http://www.virtualbox.org/" version="1.12-linux">\n'
        "  <Global>\n    <NetserviceRegistry>\n      <NATNetworks>\n"
        f'        <NATNetwork networkName="NatNetwork" enabled="1" network="{network}"'
        ' needDhcp="1"/>\n'
        "      </NATNetworks>\n    </NetserviceRegistry>\n  </Global>\n</VirtualBox>\n"
    )
    result = check_text(text, "VirtualBox.xml", CheckOptions())
    (finding,) = result.findings
    assert finding.rule == "IN002" and finding.location is not None
    assert finding.location.line == 5 and "room for guests" in finding.title


def test_a_fact_nested_thousands_deep_does_not_fit() -> None:
    deep = "{name: " + "[" * 3000 + "]" * 3000 + "}"
    with pytest.raises(InputError, match="nested too deeply") as caught:
        ask("why can't my VM reach the LAN?", facts={"vms[vm]": deep})
    assert caught.value.field == "vms[vm]"
    assert len(caught.value.message) < 200  # the value is quoted by its start


def test_an_answers_file_with_a_huge_number_is_refused(tmp_path: Path) -> None:
    from diagnose.dialogue import load_answers

    path = tmp_path / "answers.yaml"
    path.write_text("vms[vm].adapters[0].port: " + "9" * 4400 + "\n")
    with pytest.raises(InputError, match="thousands of digits"):
        load_answers(str(path))


@pytest.mark.parametrize(
    ("name", "text", "field"),
    [
        (
            "inspect.json",
            '[{"Id":"0123456789abcdef0123","Name":"/web","HostConfig":'
            '{"NetworkMode":"container:db\\u0001x"},"Config":{"Image":"nginx"}}]',
            "network_mode",
        ),
        ("compose.yaml", 'services:\n  web:\n    image: "ngi\\x1bnx"\n', "services.web.image"),
        (
            "compose.yaml",
            'services:\n  web:\n    image: nginx\n    links: ["db\\nx"]\n',
            "services.web.links",
        ),
    ],
)
def test_control_characters_in_values_netwhy_repeats_are_refused(
    name: str, text: str, field: str
) -> None:
    # They reached terminals, JUnit XML and the fix commands unseen (names were refused so
    # already; modes, images, links, hosts and profiles were not).
    result = check_text(text, name, CheckOptions())
    (finding,) = result.findings
    assert finding.rule == "IN002" and "control characters" in finding.title
    assert field in finding.title


def test_a_lone_surrogate_in_text_of_any_kind_or_in_an_answer_is_refused() -> None:
    # Text sent to the server or the API (not read from a file) can hold one in any format.
    result = check_text("docker run -p 80:80 --name w\ud800 nginx\n", "run.sh", CheckOptions())
    (finding,) = result.findings
    assert finding.rule == "IN002" and "surrogate" in finding.title
    with pytest.raises(InputError, match="surrogate") as caught:
        ask("why can't I reach my container?", facts={"docker.containers[web].image": "n\ud800"})
    assert caught.value.field == "docker.containers[web].image"


def test_the_line_of_a_lone_surrogate_is_its_own_not_a_pairs_before_it() -> None:
    with pytest.raises(InputError) as caught:
        parse('{"a": "\\ud83d\\ude00",\n"b": "\\ud800"}', "c.json")
    assert caught.value.line == 2


def test_a_bad_date_is_not_blamed_on_a_long_number() -> None:
    with pytest.raises(InputError) as caught:
        parse("a: 2024-13-45\nb: " + "9" * 4200 + "\n", "c.yaml")
    assert caught.value.message == "malformed YAML: month must be in 1..12"


@pytest.mark.parametrize(
    ("name", "text", "rules"),
    [
        # a suppression, and a comment meant as one, followed by a long run of spaces
        ("compose.yaml", "services:\n  a:\n    image: x # netwhy: ignore[DM006] {pad}x\n", []),
        (
            "compose.yaml",
            "services:\n  a:\n    image: x # netwhy: ignore DM006 {pad}x\n",
            ["SP003"],
        ),
        ("vm.vmx", 'displayName = "{pad}x"\n', []),
        ("vm.vmx", "displayName = a{pad}x # a comment\n", []),
        ("run.sh", "docker run --network n{word} nginx\n", []),
        ("vmnetnat.conf", "[host]\ndevice = vmnet8{pad}x\n", ["IN002"]),
        # many blank lines: content detection's `^\s*` ran on from every line start
        ("notes.txt", "{lines}x = 1\n", ["IN002"]),
        ("nat.conf", "{lines}[host]\n", ["IN002"]),
        ("x.yaml", "a{pad}b: 1\n", ["IN002"]),  # the top-level keys a YAML file has
        # blank lines before a `.method` line: each was looked past from every one of them
        ("Vagrantfile", 'Vagrant{lines}.configure("2") do |config|\nend\n', []),
    ],
)
def test_long_runs_of_spaces_in_a_line_are_read_in_linear_time(
    name: str, text: str, rules: list[str]
) -> None:
    # Patterns of the shape `(.*?)\s*$` retried the spaces after every character: a line
    # like these, 400,000 characters long, took minutes to hours. Read in a child with a
    # generous timeout.
    code = (
        "import sys\n"
        "from diagnose.batch import CheckOptions, check_text\n"
        "r = check_text(sys.stdin.read(), sys.argv[1], CheckOptions())\n"
        "print(' '.join(sorted({f.rule for f in r.findings})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, name],
        input=text.replace("{pad}", " " * 400_000)
        .replace("{word}", "a" * 400_000)
        .replace("{lines}", "  \n" * 200_000),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.split() == rules


def test_many_json_values_in_one_file_are_read_in_linear_time() -> None:
    # `ip -j` output may hold several JSON values; each one's line and column were counted
    # from the start of the file again: 300,000 values after 2,000,000 characters took
    # minutes (the first that is not an array is then refused).
    code = (
        "import sys\n"
        "from diagnose.batch import CheckOptions, check_text\n"
        "r = check_text(sys.stdin.read(), 'route.json', CheckOptions())\n"
        "print(*[(f.rule, f.title) for f in r.findings])\n"
    )
    text = '[{"dst": "default", "dev": "eth0"}' + " " * 2_000_000 + "]" + "0" * 300_000
    done = subprocess.run(
        [sys.executable, "-c", code], input=text, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.strip() == "('IN002', '`ip -j` prints a JSON array, not a number')"


def test_a_long_question_is_read_in_linear_time() -> None:
    # Spaces after a docker run command: the pattern cutting the prose after it retried every
    # space of the run (19,000 of them, under the 20,000-character limit of a question, took
    # 2.3 s; the 200,000 read here, hours). The reading of pasted commands, in a child.
    code = (
        "from diagnose.intake import _pasted\n"
        "setup, spans = _pasted('docker run -p 8080:80 nginx' + ' ' * 200_000 + 'x, then')\n"
        "print(setup['docker']['containers'][0]['image'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.strip() == "nginx"
