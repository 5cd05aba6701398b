"""`netwhy ask`: the intake reads English and Chinese, the conversation asks what splits the
causes, answers come back as setup fields, and the diagnosis at the end names the cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from diagnose.cli import app
from diagnose.conversation import AskResult, ask, how, set_field
from diagnose.dialogue import converse, finish
from diagnose.errors import InputError
from diagnose.intake import read

runner = CliRunner()


def _symptom(text: str) -> dict[str, Any]:
    return dict(read(text).setup["symptoms"][0])


# ----------------------------------------------------------------------------- the intake


@pytest.mark.parametrize(
    ("text", "source", "target"),
    [
        ("why can't my VM reach the LAN?", "vm:vm", "lan"),
        ("虚拟机桥接模式无法访问局域网", "vm:vm", "lan"),
        ("容器做了端口映射外部还是访问不了", "lan", "container:container"),
        ("宿主机ping不通NAT模式的虚拟机", "host", "vm:vm"),
        ("my container can't reach the internet", "container:container", "internet"),
        (
            "Cannot access my container from another machine on port 8080",
            "lan",
            "container:container",
        ),
        ("容器app里连 mysql服务 报 Connection refused", "container:app", "container:mysql"),
        ("VirtualBox host-only VM has no internet", "vm:vm", "internet"),
    ],
)
def test_intake_reads_who_cannot_reach_whom(text: str, source: str, target: str) -> None:
    symptom = _symptom(text)
    assert (symptom["from"], symptom["to"]) == (source, target)


def test_a_failing_clause_borrows_its_object_from_the_one_that_works() -> None:
    symptom = _symptom("宿主机上能ping通容器IP 172.17.0.5，局域网里其他机器ping不通")
    assert symptom == {
        "id": "s1",
        "from": "lan",
        "to": "container:container",
        "dial": "172.17.0.5",
    }


def test_intake_reads_modes_hypervisor_port_and_error() -> None:
    reading = read(
        "My VMware VM is on NAT and nobody on the LAN can ssh into it, connection timed out"
    )
    vm = reading.setup["vms"][0]
    assert vm["hypervisor"] == "vmware"
    assert vm["adapters"] == [{"mode": "nat"}]
    assert reading.setup["symptoms"][0] == {
        "id": "s1",
        "from": "lan",
        "to": "vm:vm",
        "port": 22,
        "says": "connection timed out",
    }
    kinds = {r.kind for r in reading.recognised}
    assert {"technology", "hypervisor", "vm_mode", "direction", "says"} <= kinds


def test_a_pasted_docker_run_line_is_read_by_the_loader() -> None:
    reading = read("docker run -d -p 8080:80 --name web nginx, then curl localhost:8080 is refused")
    web = reading.setup["docker"]["containers"][0]
    assert web["name"] == "web"
    assert web["ports"] == [{"published": "8080", "target": "80", "protocol": "tcp"}]
    assert reading.setup["symptoms"][0]["to"] == "container:web"
    assert reading.setup["symptoms"][0]["port"] == 8080


def test_a_pasted_network_keeps_only_its_valid_values() -> None:
    """A value the setup format refuses is left out, as the loaders leave out what they
    cannot read; the question is still asked (it used to fail on a `<setup>` field)."""
    text = (
        "docker network create --subnet 10.0.0.0/8 -d foo appnet\n"
        "docker network create --subnet bogus appnet\n"
        "my container can't reach the internet"
    )
    assert read(text).setup["docker"]["networks"] == [{"name": "appnet", "subnet": "10.0.0.0/8"}]
    assert ask(text).status == "question"


def test_a_container_named_only_in_prose_has_an_unknown_mode() -> None:
    """Left out, the mode would mean bridge: the intake does not know that."""
    container = read("my container can't reach the internet").setup["docker"]["containers"][0]
    assert container["network_mode_unknown"] is True


def test_a_container_that_does_not_start_is_a_start_symptom() -> None:
    text = "docker run -p 80:80 --name web nginx fails: Bind for 0.0.0.0:80 failed: port is already allocated"
    assert _symptom(text) == {
        "id": "s1",
        "says": "port is already allocated",
        "from": "container:web",
        "type": "start",
    }


@pytest.mark.parametrize(
    "text",
    [
        "my vm can't reach 10.0.0.256",
        "虚拟机 bridged 192.168.1.256 无法访问局域网",
        "from the lan, curl 172.17.0.256:80 to the container fails",
        "host 192.168.1.256 docker container port 80 fails from the lan",
        "my vm can't reach the lan subnet 192.168.1.0/40",
        "vm bridged 10.0.0.5/40 can't reach lan",
    ],
)
def test_a_mistyped_address_is_no_address(text: str) -> None:
    """A dotted quad past 255 or a prefix past /32 is left out, not a crash."""
    reading = read(text)
    assert ".256" not in json.dumps(reading.setup) and "/40" not in json.dumps(reading.setup)
    ask(text)  # and the turn goes on


def test_a_port_out_of_range_is_no_port() -> None:
    text = "docker run -p 8080:80 --name web nginx; from the lan port 0 fails"
    assert 0 not in [sy.get("port") for sy in read(text).setup["symptoms"]]
    ask(text)  # it used to fail on symptoms[0].port, a field the person never wrote


def test_an_empty_or_huge_question_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        read("   ")
    with pytest.raises(InputError, match="longer"):
        read("x" * 20_001)


# ----------------------------------------------------------------------------- answers


def test_answers_fill_the_field_their_key_names() -> None:
    setup: dict[str, Any] = {"vms": [{"name": "vm"}]}
    set_field(setup, "vms[vm].hypervisor", "vmware")
    set_field(setup, "vms[vm].adapters", "nat")
    set_field(setup, "vm_networks[VMnet8].nat_service", "running")
    set_field(setup, "host.ip_forward", "false")
    set_field(setup, "symptoms[s1].port", "22")
    assert setup == {
        "vms": [{"name": "vm", "hypervisor": "vmware", "adapters": [{"mode": "nat"}]}],
        "vm_networks": [{"name": "VMnet8", "nat_service": "running"}],
        "host": {"ip_forward": False},
        "symptoms": [{"id": "s1", "port": 22}],
    }


def test_a_list_index_may_pass_the_end_a_little_but_not_by_millions() -> None:
    # adapters[1] before adapters[0] is a VM's second adapter told of first; an index of
    # millions made as many empty entries (a 94-byte request took 1.5 GB of the server).
    setup: dict[str, Any] = {"vms": [{"name": "vm"}]}
    set_field(setup, "vms[vm].adapters[1].mode", "nat")
    assert setup["vms"][0]["adapters"] == [{}, {"mode": "nat"}]
    for index in ("1000000", "9" * 30, "9" * 5000):
        with pytest.raises(ValueError, match="far past the end of a list of 2 entries"):
            set_field(setup, f"vms[vm].adapters[{index}].mode", "nat")
    with pytest.raises(InputError) as caught:
        ask("why can't my VM reach the LAN?", facts={"vms[vm].adapters[1000000].mode": "nat"})
    assert caught.value.field == "vms[vm].adapters[1000000].mode"


def test_a_description_replaces_the_intakes_made_up_entries() -> None:
    setup: dict[str, Any] = {
        "docker": {"containers": [{"name": "container", "network_mode_unknown": True}]}
    }
    set_field(setup, "docker", {"containers": [{"name": "container", "ports": ["8080:80"]}]})
    assert setup["docker"]["containers"] == [{"name": "container", "ports": ["8080:80"]}]


def test_an_answer_that_does_not_fit_names_its_key() -> None:
    with pytest.raises(InputError) as caught:
        ask("why can't my VM reach the LAN?", answers={"vms[vm].hypervisor": "vmwar"})
    assert caught.value.field == "vms[vm].hypervisor"
    assert "vmwar" in str(caught.value)
    # A key both known up front and answered takes the answer: the error names the answers.
    with pytest.raises(InputError) as caught:
        ask(
            "why can't my VM reach the LAN?",
            facts={"vms[vm].hypervisor": "vmware"},
            answers={"vms[vm].hypervisor": "vmwar"},
        )
    assert caught.value.file == "<answers>"
    with pytest.raises(InputError) as caught:
        ask("why can't my VM reach the LAN?", facts={"vms[vm].hypervisor": "vmwar"})
    assert caught.value.file == "<facts>"


@pytest.mark.parametrize("direction", [5, ["lan", "vm:vm"], {"from": "lan"}])
def test_a_direction_that_is_not_text_names_its_key(direction: object) -> None:
    """JSON answers (HTTP, MCP) may hold any type: the wrong one is bad input, not a bug."""
    with pytest.raises(InputError) as caught:
        ask("why can't my VM reach the LAN?", answers={"intake.direction": direction})
    assert caught.value.field == "intake.direction"


# ----------------------------------------------------------------------------- the conversation


def test_the_first_question_is_the_one_that_splits_the_outcomes() -> None:
    result = ask("why can't my VM reach the LAN?")
    assert result.status == "question"
    q = result.questions[0]
    assert q.key == "vms[vm].hypervisor"
    assert q.choices == ["vmware", "virtualbox", "libvirt", "hyperv"]
    assert q.outcomes >= 2
    assert "hypervisor" in q.why  # WHY: the reason it is asked


def test_a_conversation_ends_with_the_cause_and_its_fix() -> None:
    text = "VMware VM on NAT: nobody on the LAN can ssh into it, connection timed out"
    answers: dict[str, Any] = {}
    result = ask(text)
    for _ in range(6):
        if result.status == "answer":
            break
        answers[result.questions[0].key] = "unknown"
        result = ask(text, answers=answers)
    assert result.status == "answer"
    verdict = result.report.verdicts[0]
    assert verdict.status == "blocked"
    assert verdict.causes[0].rule == "VW008"
    assert "VW008" in result.answer and "NAT" in result.answer


def test_an_unknown_answer_is_not_asked_again() -> None:
    first = ask("why can't my VM reach the LAN?")
    key = first.questions[0].key
    again = ask("why can't my VM reach the LAN?", answers={key: "unknown"})
    assert key not in [q.key for q in again.questions]
    assert again.asked == [key]


def test_facts_pre_answer_questions() -> None:
    result = ask(
        "why can't my VM reach the LAN?",
        facts={"vms[vm].hypervisor": "vmware", "vms[vm].adapters": "hostonly"},
    )
    assert result.report.verdicts[0].status == "blocked"
    assert result.report.verdicts[0].causes[0].rule == "VW010"  # host-only: VMnet1 only


def test_the_same_turn_gives_the_same_result() -> None:
    args: dict[str, Any] = {"answers": {"vms[vm].hypervisor": "virtualbox"}}
    one = ask("why can't my VM reach the LAN?", **args).model_dump_json()
    two = ask("why can't my VM reach the LAN?", **args).model_dump_json()
    assert one == two


def test_chinese_questions_get_chinese_texts() -> None:
    result = ask("虚拟机桥接模式无法访问局域网")
    assert result.lang == "zh"
    assert "虚拟化" in result.questions[0].text or "虚拟机" in result.questions[0].text
    english = ask("虚拟机桥接模式无法访问局域网", lang="en")
    assert english.questions[0].key == result.questions[0].key
    assert english.questions[0].text != result.questions[0].text


def test_without_a_technology_it_asks_which_one() -> None:
    result = ask("it can't reach the LAN")
    assert result.questions[0].key == "intake.technology"
    assert result.questions[0].choices == ["vm", "docker"]
    after = ask("it can't reach the LAN", answers={"intake.technology": "vm"})
    assert after.setup["symptoms"][0] == {"id": "s1", "from": "vm:vm", "to": "lan"}


def test_how_traces_a_conclusion_back_to_the_setup() -> None:
    result = ask(
        "My VMware VM is on NAT and nobody on the LAN can ssh into it",
        facts={"vms[vm].listens": "0.0.0.0:22"},
    )
    steps = how(result.report)
    assert steps[0].rule == result.report.verdicts[0].causes[0].rule
    assert steps[0].depth == 0
    assert any("symptoms[0]" in fact for step in steps for fact in step.facts)
    assert max(step.depth for step in steps) >= 2  # through derived facts, not only inputs


# ----------------------------------------------------------------------------- at the terminal


def _script(replies: list[str]) -> tuple[Any, list[str]]:
    said: list[str] = []
    pending = iter(replies)

    def read_reply(prompt: str) -> str:
        said.append(prompt)
        return next(pending)

    return read_reply, said


def _prompt(replies: list[str]) -> tuple[AskResult, dict[str, Any], list[str]]:
    """Hold the terminal conversation for "why can't my VM reach the LAN?" with these replies."""
    read_reply, said = _script(replies)
    answers: dict[str, Any] = {}
    result = converse(
        "why can't my VM reach the LAN?",
        facts={},
        answers=answers,
        lang=None,
        read=read_reply,
        say=said.append,
    )
    return result, answers, said


def test_the_prompt_answers_why_and_how_and_takes_a_choice_by_number() -> None:
    result, answers, said = _prompt(["why", "how", "1", "", "", "", "", "", "", ""])
    text = "\n".join(said)
    assert "Which hypervisor runs vm?" in text
    assert "The same mode name means different networks" in text  # why
    assert "nothing concluded yet" in text  # how, before any conclusion
    assert answers["vms[vm].hypervisor"] == "vmware"  # choice 1
    # The skips that follow are answers too: "unknown", never asked again.
    assert set(result.asked) == set(answers) and "unknown" in answers.values()


def test_a_bad_answer_at_the_prompt_is_asked_again() -> None:
    _, answers, said = _prompt(["vmwar", "quit"])
    assert answers == {}
    assert any("does not fit" in line for line in said)


def test_digits_that_are_no_numbers_are_taken_as_text() -> None:
    # str.isdigit() says yes to "²" and int() no: each of these was an internal error.
    _, answers, said = _prompt(["²", "quit"])  # a reply at the prompt: not choice 2
    assert answers == {}
    assert any("does not fit" in line for line in said)
    text = "my container web cannot be reached on port 8080"
    named = ask(text, facts={"docker.containers[²].name": "web"})  # a name, not an index
    assert {"name": "web"} in named.setup["docker"]["containers"]
    with pytest.raises(InputError) as info:
        ask(text, facts={"symptoms[0].port": "²"})
    assert "symptoms[0].port" in str(info.value)


def test_addresses_and_ports_are_read_in_ascii_digits_next_to_chinese() -> None:
    # "IP是192.168.1.10" holds an address (Python's \w took 是 for part of a word); "٨٠٨٠:٨٠"
    # is no port mapping a setup can hold (it was copied in, then refused as invalid).
    read_setup = read("虚拟机IP是192.168.1.10，桥接模式，无法访问局域网").setup
    assert read_setup["vms"][0]["adapters"][0]["address"].startswith("192.168.1.10")
    ascii_turn = ask("container web published 8080:80 but curl to the host port fails")
    assert ascii_turn.setup["docker"]["containers"][0]["ports"] == ["8080:80"]
    turn = ask("container web published ٨٠٨٠:٨٠ but curl to the host port fails")
    assert "ports" not in turn.setup["docker"]["containers"][0]


def test_the_end_of_input_at_the_prompt_ends_the_conversation() -> None:
    """Ctrl-D at the prompt is "quit", not a bug (it was "internal error (EOFError)")."""
    said: list[str] = []

    def closed(prompt: str) -> str:
        raise EOFError

    result = converse(
        "why can't my VM reach the LAN?",
        facts={},
        answers={},
        lang=None,
        read=closed,
        say=said.append,
    )
    assert result.status == "question"
    finish(result, read=closed, say=said.append)


def test_cli_without_input_prints_the_turn_as_json() -> None:
    out = runner.invoke(app, ["ask", "why can't my VM reach the LAN?", "--no-input"])
    assert out.exit_code == 1, out.output
    turn = json.loads(out.output)
    assert turn["status"] == "question"
    assert turn["questions"][0]["key"] == "vms[vm].hypervisor"


def test_cli_replays_answers_from_a_file(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("vms[vm].hypervisor: vmware\nvms[vm].adapters: hostonly\n")
    out = runner.invoke(
        app,
        ["ask", "my VM can't reach the internet", "--answers", str(answers), "-f", "text"],
    )
    assert out.exit_code == 1, out.output
    assert "BLOCKED" in out.output


def test_cli_bad_fact_is_one_line_and_exit_2() -> None:
    out = runner.invoke(app, ["ask", "my VM can't reach the LAN", "--fact", "novalue"])
    assert out.exit_code == 2
    assert "KEY=VALUE" in out.output
    assert "Traceback" not in out.output


def test_cli_unknown_language_is_a_usage_error() -> None:
    out = runner.invoke(app, ["ask", "my VM can't reach the LAN", "--lang", "fr", "--no-input"])
    assert out.exit_code == 2
    assert "'fr' is not one of: en, zh" in out.output
    assert "internal error" not in out.output


def test_cli_bad_answers_file_names_the_file_and_line(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("a: [1\n")
    out = runner.invoke(app, ["ask", "my VM can't reach the LAN", "--answers", str(answers)])
    assert out.exit_code == 2
    assert "answers.yaml" in out.output


def test_a_redacted_turn_keeps_no_address_or_name() -> None:
    from diagnose.redact import redact_turn

    text = "容器shop17做了端口映射 8123:80，局域网里 192.168.1.50 访问 192.168.1.10:8123 一直超时"
    turn = ask(text)
    assert "shop17" in turn.model_dump_json()
    shared = redact_turn(turn).model_dump_json()
    for secret in ("shop17", "192.168.1.50", "192.168.1.10"):
        assert secret not in shared
    assert "8123" in shared  # ports stay: they are what the answer is about


def test_cli_redact_and_markdown() -> None:
    out = runner.invoke(
        app,
        [
            "ask",
            "my container `shop17` on 10.7.0.5 can't reach the internet",
            "--redact",
            "--format",
            "markdown",
        ],
    )
    assert out.exit_code == 1, out.output
    assert out.output.startswith("## Answer")
    assert "shop17" not in out.output and "10.7.0.5" not in out.output


def test_cli_record_writes_the_answers_to_replay(tmp_path: Path) -> None:
    given = tmp_path / "given.yaml"
    given.write_text("vms[vm].hypervisor: vmware\n")
    record = tmp_path / "record.yaml"
    out = runner.invoke(
        app,
        ["ask", "my VM can't reach the LAN", "--answers", str(given), "--record", str(record)],
    )
    assert out.exit_code == 1, out.output
    assert record.read_text() == "vms[vm].hypervisor: vmware\n"


def test_a_described_entry_takes_over_the_made_up_one_in_the_symptom() -> None:
    """The question said "my container"; the person then describes theirs, named web."""
    described = {"docker": {"containers": [{"name": "web", "network_mode": "none"}]}}
    turn = ask("my container can't reach the internet", answers=described)
    assert turn.setup["symptoms"][0]["from"] == "container:web"
    assert turn.report.verdicts[0].causes[0].rule == "DN019"


def test_a_service_a_vm_runs_is_not_the_vms_name() -> None:
    vm = read("hyper-v 虚拟机里跑了个web服务，局域网访问不了").setup["vms"][0]
    assert vm["name"] == "vm"


def test_a_description_of_the_wrong_shape_is_bad_input() -> None:
    with pytest.raises(InputError) as caught:
        ask("my container can't reach the internet", answers={"docker": "8080:80"})
    assert caught.value.field == "docker"
