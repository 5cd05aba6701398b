"""--redact: addresses and names become stable placeholders, in every format, and nothing of
the original values survives; what carries meaning (0.0.0.0, loopback, ports, ids) stays."""

from __future__ import annotations

import ipaddress
import json
import re
import string
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

import diagnose
from diagnose.catalogue import default_catalogue
from diagnose.cli import app
from diagnose.loading import load_setup
from diagnose.model import Setup
from diagnose.redact import Redactor, redact_report

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TRICKY = Path(__file__).resolve().parent / "data" / "tricky-names.yaml"
HOSTS_AND_LINKS = TRICKY.with_name("hosts-and-links.yaml")
SETUPS = [*sorted(EXAMPLES.glob("*.yaml")), TRICKY, HOSTS_AND_LINKS]
runner = CliRunner()

IP = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]+")
# Names every setup has (the policy in diagnose/redact.py keeps them, and this test says so).
WELL_KNOWN = {"bridge", "host", "none", "default", "docker0", "VMnet0", "VMnet1", "VMnet8", "br0"}
WELL_KNOWN_LOWER = {n.lower() for n in WELL_KNOWN}


@cache
def knowledge_words() -> frozenset[str]:
    """Words and constants of netwhy's own texts (outside their {placeholders}): they are
    netwhy's, not the user's, and stay when a name happens to be one (a container `app`)."""
    words: set[str] = set()
    for pack in default_catalogue().texts.values():
        texts = [*pack.devices.values(), *pack.report.values(), *pack.claims.values()]
        for t in pack.rules.values():
            texts += [t.title, t.explanation or ""]
            texts += [x or "" for f in t.fixes for x in (f.text, f.command, f.config)]
        for q in pack.questions.values():
            texts += [q.text, q.fills, q.why or "", *q.choices, *q.labels.values()]
        for text in texts:
            literal = "".join(lit for lit, *_ in string.Formatter().parse(text))
            words |= {w.lower() for w in re.findall(r"[\w.:/-]*\w", literal)}
            words |= {w.lower() for w in re.findall(r"\w+", literal)}
            words |= set(re.findall(r"\d+(?:\.\d+){3}", literal))
    return frozenset(words)


def originals(setup: Setup, strict: bool = False) -> tuple[set[str], set[str]]:
    """The names and the addresses a setup holds that must not survive redaction (`strict`:
    even those netwhy's own texts use, such as VirtualBox's 10.0.2.15)."""
    names: set[str | None] = set()
    if setup.host:
        names.add(setup.host.name)
    names |= {n.name for n in setup.vm_networks or []}
    for vm in setup.vms or []:
        names.add(vm.name)
        names |= {a.network for a in vm.adapters or []}
    docker = setup.docker
    names |= {n.name for n in (docker.networks if docker else None) or []}
    for ct in (docker.containers if docker else None) or []:
        names |= {ct.name, ct.image, ct.hostname}
        names |= {re.split(r"[:=]", entry, maxsplit=1)[0] for entry in ct.extra_hosts or []}
        names |= {part for link in ct.links or [] for part in link.split(":")}
        for att in ct.networks or []:
            names |= {att.name, *(att.aliases or [])}
    for sym in setup.symptoms or []:
        if sym.id and not re.fullmatch(r"s\d+", sym.id):
            names.add(sym.id)
        names |= set(re.findall(r"\b[a-z]+(?:\.[a-z]+)+\b", sym.says or ""))
    kept = (frozenset() if strict else knowledge_words()) | WELL_KNOWN_LOWER
    found_names = {n for n in names if n and n.lower() not in kept}
    addresses: set[str] = set()
    dump = json.dumps(setup.model_dump(mode="json", by_alias=True, exclude_none=True))
    for token in IP.findall(dump):
        try:
            ip = ipaddress.ip_address(token.strip(":."))
        except ValueError:
            continue
        if not (ip.is_unspecified or ip.is_loopback) and str(ip) not in kept:
            addresses.add(str(ip))
    return found_names, addresses


def survivors(output: str, setup: Setup, strict: bool = False) -> list[str]:
    names, addresses = originals(setup, strict)
    found = [a for a in addresses if re.search(rf"(?<![\w.:]){re.escape(a)}(?![\w])", output)]
    for name in names:
        flags = re.IGNORECASE if len(name) > 2 else 0
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", output, flags):
            found.append(name)
    return found


def values(data: object, skip: frozenset[str] = frozenset({"name", "rule"})) -> str:
    """The string values of JSON data (not its keys, nor rule ids and rule names)."""
    if isinstance(data, dict):
        return "\n".join(values(v, skip) for k, v in data.items() if k not in skip)
    if isinstance(data, list):
        return "\n".join(values(v, skip) for v in data)
    return str(data)


def redacted_outputs(path: Path) -> dict[str, str]:
    """Every format of `why` and `check` with --redact; JSON as its string values."""
    outputs = {}
    for fmt in ("text", "markdown", "json"):
        outputs[f"why {fmt}"] = runner.invoke(
            app, ["why", str(path), "--format", fmt, "--redact"]
        ).stdout
    for fmt in ("text", "markdown", "json", "sarif", "junit"):
        outputs[f"check {fmt}"] = runner.invoke(
            app, ["check", str(path), "--format", fmt, "--redact"]
        ).stdout
    for fmt in ("json", "sarif"):
        key = f"{'why' if fmt == 'json' else 'check'} {fmt}"
        # A rule's name (`app-on-loopback-...`) is a word of netwhy's, not the user's.
        outputs[key] = values(json.loads(outputs[key]))
    outputs["check json"] = values(json.loads(outputs["check json"]))
    return outputs


@pytest.mark.parametrize("path", SETUPS, ids=lambda p: p.name)
def test_nothing_of_the_setup_survives_in_any_format(path: Path) -> None:
    setup = load_setup(path)
    assert originals(setup) != (set(), set()) or path.name == "docker-incomplete-report.yaml"
    for what, output in redacted_outputs(path).items():
        assert output.strip(), what
        assert survivors(output, setup) == [], what


def test_nothing_survives_strictly() -> None:
    """Names and addresses no text of netwhy's uses: not one survives, whatever the format
    (SARIF's rule metadata is netwhy's catalogue: only its results describe the setup)."""
    setup = load_setup(TRICKY)
    outputs = redacted_outputs(TRICKY)
    sarif = runner.invoke(app, ["check", str(TRICKY), "--format", "sarif", "--redact"]).stdout
    outputs["check sarif"] = values(json.loads(sarif)["runs"][0]["results"])
    names, addresses = originals(setup, strict=True)
    assert len(addresses) >= 10 and len(names) >= 10
    for what, output in outputs.items():
        # the VM called "end" is also an English word, which stays in prose
        assert survivors(output, setup, strict=True) in ([], ["end"]), what


def test_the_test_sees_what_plain_output_shows() -> None:
    setup = load_setup(TRICKY)
    plain = runner.invoke(app, ["why", str(TRICKY), "--format", "markdown"]).stdout
    names, addresses = originals(setup)
    assert {"orders-api", "acme-backend.v2", "Lab Net #2", "laptop-to-orders"} <= names
    assert {"10.20.30.40", "10.99.0.7", "172.16.99.130"} <= addresses
    assert len(survivors(plain, setup)) >= 10


def test_tricky_placeholders_are_stable() -> None:
    report = redact_report(diagnose.why(TRICKY))
    text = report.model_dump_json()
    by_symptom = {v.symptom: v for v in report.verdicts}
    first = by_symptom["symptom-1"]
    assert first.question == "lan -> container:container-1 port 8443/tcp"
    assert "container-1" in first.summary and "container-1" in first.causes[0].title
    # the same container everywhere: in facts too
    names = {f.get("name") for f in report.facts.values() if f["kind"] == "container"}
    assert names == {"container-1", "container-2"}
    # addresses of one subnet share its placeholder; the host offset stays
    host = next(f for f in report.facts.values() if f["kind"] == "host")
    lan = next(f for f in report.facts.values() if f["kind"] == "lan")
    assert (host["address"], lan["subnet"], lan["gateway"]) == ("net1.40", "net1.0/24", "net1.1")
    assert by_symptom["s1"].question == "host -> vm:vm-1 port 3389/tcp"
    assert "vm:vm-2" in by_symptom["s2"].question  # the VM called "end"
    assert "hostname-" in text  # orders.internal, orders.acme.example


def test_kept_values() -> None:
    report = redact_report(diagnose.why(EXAMPLES / "docker-published-port-loopback.yaml"))
    cause = report.verdicts[0].causes[0]
    assert cause.rule == "DP001" and cause.claims == ["D7", "X01"]
    assert (
        cause.title
        == "The app in container-1 listens on 127.0.0.1:3000, so the published port gets no answer"
    )
    labels = [h.label for h in report.verdicts[0].path]
    assert "the bridge of network bridge (docker0)" in labels
    assert "the iptables DNAT rule of -p for host port 8080/tcp" in labels
    fixes = [f.command for f in cause.fixes if f.command]
    assert fixes[0].startswith("--host 0.0.0.0")
    vmware = redact_report(diagnose.why(EXAMPLES / "vmware-nat-from-lan.yaml"))
    assert vmware.verdicts[0].path[2].label == "the NAT device of VMnet8"


def test_addresses_next_to_chinese_text_are_replaced() -> None:
    # Python's \w takes in 址 and 是: an address written right after them was left as it was.
    redactor = Redactor()
    redactor.learn_addresses(["虚拟机地址192.168.1.10/24，网关是192.168.1.1"])
    text = redactor.data("虚拟机地址192.168.1.10，网关是192.168.1.1（fe80::1是IPv6）")
    assert "192.168" not in text and "fe80::1" not in text


def test_prose_words_stay_when_a_name_is_one(tmp_path: Path) -> None:
    setup = tmp_path / "app.yaml"
    setup.write_text(
        "docker:\n  containers:\n    - {name: app, ports: ['8080:3000'], listens: ['127.0.0.1:3000']}\n"
        "symptoms:\n  - {from: lan, to: container:app, port: 8080}\n"
    )
    report = redact_report(diagnose.why(setup))
    title = report.verdicts[0].causes[0].title
    assert title.startswith("The app in container-1 listens on 127.0.0.1:3000")


def test_redaction_is_deterministic_and_leaves_the_report_alone() -> None:
    report = diagnose.why(TRICKY)
    before = report.model_dump_json()
    once = redact_report(report).model_dump_json()
    assert once == redact_report(diagnose.why(TRICKY)).model_dump_json()
    assert report.model_dump_json() == before
    a = runner.invoke(app, ["why", str(TRICKY), "--redact"]).stdout
    assert a == runner.invoke(app, ["why", str(TRICKY), "--redact"]).stdout


def test_fact_ids_are_new_and_consistent() -> None:
    report = diagnose.why(EXAMPLES / "vmware-nat-from-lan.yaml")
    red = redact_report(report)
    assert not set(report.facts) & set(red.facts)
    assert all(re.fullmatch(r"[a-z_]+:[0-9a-f]{16}", fid) for fid in red.facts)
    for t in red.trace:
        assert set(t.matched.values()) <= set(red.facts)
    for f in red.findings:
        assert set(f.facts) <= set(red.facts)
    text = red.model_dump_json()
    assert not any(old in text for old in report.facts)


def test_the_setup_adds_names_the_report_lacks() -> None:
    setup = load_setup(TRICKY)
    report = diagnose.why(setup)
    r = Redactor.for_reports(report, setup=setup)
    assert r.text("build-server.corp.example") == "hostname-1" or "build-server" not in r.text(
        "build-server.corp.example"
    )
    assert "orders.internal" not in r.text("ping orders.internal")


@pytest.mark.parametrize(
    ("learn", "text", "expected"),
    [
        (["192.168.80.0/24"], "192.168.80.128 via 192.168.80.2", "net1.128 via net1.2"),
        (["172.20.0.0/16"], "172.20.0.5/16 and 172.20.0.0/16", "net1.0.5/16 and net1.0.0/16"),
        (["192.168.56.0/21"], "192.168.57.10", "net1.1.10"),
        (["fd00:1::/64"], "fd00:1::5 in fd00:1::/64", "net1::5 in net1::/64"),
        ([], "8.8.8.8 then 203.0.113.7:53", "ip1 then ip2:53"),
        ([], "0.0.0.0:80 127.0.0.1:9000 [::1]:22 :: 255.255.255.0", None),
        ([], "0.0.0.0/0 and ::/0", None),
        ([], "VirtualBox 6.1.28, port 8080:80, 10000-20000/udp", None),
    ],
)
def test_addresses(learn: list[str], text: str, expected: str | None) -> None:
    r = Redactor()
    r.learn_addresses(learn)
    assert r.text(text) == (text if expected is None else expected)


def test_names_in_text() -> None:
    r = Redactor()
    r.add_name("web", "container")
    r.add_name("web-1", "container")
    r.add_name("devbox", "vm")
    r.add_name("appnet", "net")
    r.add_name("bridge", "net")  # a word of the format: kept
    r.add_name("VMnet8", "net")  # well known: kept
    r.add_name("vm-1", "container")  # a name that looks like a placeholder
    got = r.text("web, web-1 and Web on appnet (bridge, VMnet8); devbox; vm-1")
    assert (
        got
        == "container-1, container-2 and container-1 on net-1 (bridge, VMnet8); vm-2; container-3"
    )


def test_learning_after_redacting_is_refused() -> None:
    r = Redactor()
    r.text("x")
    with pytest.raises(RuntimeError):
        r.add_name("web", "container")


def test_check_batch_shares_placeholders_across_files() -> None:
    result = runner.invoke(app, ["check", str(EXAMPLES / "configs"), "--redact"])
    out = result.stdout
    # devbox.vmx names the VM: its file name is redacted (an absolute path keeps only that)
    assert "\nvm-2.vmx:7: error VW011 Adapter 1 of vm-2 is not connected" in out
    for name in ("devbox", "torrent", "proxy ", "192.168.50"):
        assert name not in out
    again = runner.invoke(app, ["check", str(EXAMPLES / "configs"), "--redact"]).stdout
    assert out == again
