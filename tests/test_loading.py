"""Bad input of every kind: one clear error naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.errors import InputError
from diagnose.loading import load_path, load_setup, load_text
from diagnose.model import Setup


def _error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_text(text, "setup.yaml")
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            'docker:\n  containers:\n    - name: web\n      ports: ["8080:80:80:80"]\n',
            4,
            "docker.containers[0].ports[0]",
            "too many colons",
        ),
        (
            "vms:\n  - name: u\n    adapters:\n      - mode: wireless\n",
            4,
            "vms[0].adapters[0].mode",
            "unknown value 'wireless'",
        ),
        ("host:\n  os: linux\n  dockr: engine\n", 3, "host.dockr", "unknown field"),
        ("lan:\n  subnet: 192.168.1.0/33\n", 2, "lan.subnet", "not a subnet"),
        ("symptoms:\n  - from: lan\n    to: moon\n", 3, "symptoms[0].to", "not an endpoint"),
        ("symptoms:\n  - {from: lan, to: host, port: 70000}\n", 2, "symptoms[0].port", "65535"),
        ("symptoms:\n  - to: host\n", 2, "symptoms[0].from", "required"),
        (
            "docker:\n  containers:\n    - {name: a, network_mode: 'container:'}\n",
            3,
            "docker.containers[0].network_mode",
            "names no container",
        ),
        (
            "docker:\n  containers:\n    - name: a\n      ports: 8080\n",
            4,
            "docker.containers[0].ports",
            "list",
        ),
        ("host:\n  ip_forward: maybe\n", 2, "host.ip_forward", "boolean"),
        (
            "vms:\n  - name: u\n    adapters:\n      - {mode: nat, port_forwards: ['22']}\n",
            4,
            "vms[0].adapters[0].port_forwards",
            "HOSTPORT:GUESTPORT",
        ),
    ],
)
def test_invalid_values_name_line_and_field(text: str, line: int, field: str, message: str) -> None:
    err = _error(text)
    assert err.file == "setup.yaml"
    assert err.line == line
    assert err.field == field
    assert message in err.message


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("host: [1, 2\n", "malformed YAML", 2),
        ('{"host": {"os": "linux",}}', "malformed JSON", 1),
        ("", "empty file", None),
        ("- a\n- b\n", "a setup is a mapping", 1),
        ("host:\n  os: linux\nhost:\n  os: mac\n", "duplicate key 'host'", 3),
        ("a: !!python/object:os.system x\n", "malformed YAML", 1),
        ("a: &x [*x]\n", "", None),
    ],
)
def test_malformed_text(text: str, message: str, line: int | None) -> None:
    err = _error(text)
    assert message in err.message
    if line is not None:
        assert err.line == line


def test_files_that_are_not_setups(tmp_path: Path) -> None:
    binary = tmp_path / "a.yaml"
    binary.write_bytes(b"\x7fELF\x00\x00\x01")
    latin = tmp_path / "b.yaml"
    latin.write_bytes(b"host:\n  name: caf\xe9\n")
    huge = tmp_path / "c.yaml"
    huge.write_bytes(b"#" * (6 * 1024 * 1024))
    cases = {
        binary: "binary file",
        latin: "not UTF-8",
        huge: "the limit is",
        tmp_path: "is a directory",
        tmp_path / "missing.yaml": "no such file",
    }
    for path, message in cases.items():
        with pytest.raises(InputError) as info:
            load_path(path)
        assert message in info.value.message
        assert info.value.file == str(path)


def test_yaml_1_1_traps_are_read_as_docker_reads_them() -> None:
    setup = load_text(
        "docker:\n  containers:\n    - name: git\n      ports:\n        - 22:22\n"
        "        - 8080:80\n",
        "compose.yaml",
    )
    ports = setup.docker.containers[0].ports  # type: ignore[union-attr,index]
    assert [(p.published, p.target) for p in ports] == [("22", "22"), ("8080", "80")]


def test_unknown_is_a_value() -> None:
    setup = load_text("host:\n  os: unknown\n  docker: '?'\n  ip_forward: unknown\n", "s.yaml")
    assert setup.host is not None
    assert (setup.host.os, setup.host.docker, setup.host.ip_forward) == (None, None, None)


def test_aliases_people_use() -> None:
    setup = load_setup(
        {
            "host": {"os": "macOS", "docker": "Docker Desktop"},
            "vms": [
                {
                    "name": "u",
                    "hypervisor": "VMware Workstation",
                    "adapters": [{"mode": "Host-Only"}, {"mode": "bridge"}],
                }
            ],
        }
    )
    assert setup.host is not None and setup.vms is not None
    assert (setup.host.os, setup.host.docker) == ("mac", "desktop")
    assert [a.mode for a in setup.vms[0].adapters or []] == ["hostonly", "bridged"]


def test_compose_long_port_syntax_and_symptom_ids() -> None:
    setup = load_setup(
        {
            "docker": {
                "containers": [
                    {
                        "name": "w",
                        "ports": [
                            {
                                "target": 80,
                                "published": 8080,
                                "host_ip": "127.0.0.1",
                                "protocol": "tcp",
                                "mode": "host",
                            }
                        ],
                    }
                ]
            },
            "symptoms": [
                {"from": "lan", "to": "container:w", "port": 8080},
                {"id": "mine", "from": "host", "to": "internet"},
            ],
        }
    )
    port = setup.docker.containers[0].ports[0]  # type: ignore[union-attr,index]
    assert (port.host_ip, port.published, port.target) == ("127.0.0.1", "8080", "80")
    assert [s.id for s in setup.symptoms or []] == ["s1", "mine"]


def test_schema_is_published() -> None:
    schema = Setup.model_json_schema(by_alias=True)
    assert set(schema["properties"]) == {"host", "lan", "vm_networks", "vms", "docker", "symptoms"}


def test_generated_symptom_ids_skip_the_ones_given() -> None:
    setup = load_setup(
        {
            "symptoms": [
                {"id": "s2", "from": "lan", "to": "host"},
                {"from": "lan", "to": "host"},
                {"from": "lan", "to": "internet"},
            ]
        }
    )
    assert [s.id for s in setup.symptoms or []] == ["s2", "s1", "s3"]


def test_yaml_no_for_docker_means_none_and_expose_protocols_are_normal() -> None:
    setup = load_text(
        "host: {docker: no}\ndocker:\n  containers:\n    - {name: a, expose: ['80/UDP', 81]}\n",
        "s.yaml",
    )
    assert setup.host is not None and setup.host.docker == "none"
    assert setup.docker.containers[0].expose == ["80/udp", "81"]  # type: ignore[union-attr,index]


def test_json_with_tabs_is_json() -> None:
    setup = load_text('{\n\t"host": {\n\t\t"os": "linux"\n\t}\n}\n', "s.json")
    assert setup.host is not None and setup.host.os == "linux"


def test_yaml_alias_bombs_are_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        ref = ", ".join([f"*{chr(96 + i)}"] * 9)
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{ref}]")
    err = _error("\n".join(lines) + "\n")
    assert "expands to more than" in err.message


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "docker:\n  containers:\n    - {name: web}\n    - {name: web}\n",
            "docker.containers",
            "repeats the container name 'web'",
        ),
        ("vms:\n  - {name: u}\n  - {name: u}\n", "vms", "repeats the VM name"),
        (
            "vm_networks:\n  - {name: VMnet8}\n  - {name: vmnet8}\n",
            "vm_networks",
            "repeats the network name",
        ),
        (
            "symptoms:\n  - {id: a, from: lan, to: host}\n  - {id: a, from: lan, to: host}\n",
            "symptoms",
            "repeats the symptom id",
        ),
        ("symptoms:\n  - {from: lan, to: host, port: true}\n", "symptoms[0].port", "integer"),
        (
            "docker:\n  containers:\n    - {name: a, expose: ['81/bogus']}\n",
            "docker.containers[0].expose",
            "invalid protocol",
        ),
        (
            "docker:\n  daemon:\n    default_address_pools: [{base: 10.0.0.0/16, size: 8}]\n",
            "docker.daemon.default_address_pools[0]",
            "between the base's prefix",
        ),
        (
            "docker:\n  containers:\n    - name: a\n      ports: [{target: '80-81', published: "
            "'8080-8085'}]\n",
            "docker.containers[0].ports[0]",
            "differ in length",
        ),
    ],
)
def test_what_would_silently_merge_or_mislead_is_refused(
    text: str, field: str, message: str
) -> None:
    err = _error(text)
    assert err.field == field
    assert message in err.message
    assert err.line is not None


def test_a_pattern_at_line_start_finds_what_the_multiline_anchor_finds() -> None:
    # Content detection searches whole texts for keys at the start of a line; AtLineStart
    # must find the same first match as `(?m)^pattern` (only faster).
    import re

    from diagnose.loaders.base import AtLineStart

    patterns = [r'name="', r"services[ \t]*:[ \t]*(?:#.*)?$", r"\*(filter|nat)\s*$"]
    texts = [
        'name="vm"\nUUID="1"',
        'x\nname="vm"',
        'xname="vm"\n  name="a"',
        "services:\n  web: {}\n",
        "version: 3\nservices: # here\n",
        "  services:\nservices:x\n",
        "*filter\n:INPUT ACCEPT [0:0]\n",
        "# *filter\n*nat \n",
        "",
        "\n\n",
    ]
    for pattern in patterns:
        ours = AtLineStart(pattern)
        for text in texts:
            expected = re.search("(?m)^" + pattern, text)
            found = ours.search(text)
            assert (found is None) == (expected is None), (pattern, text)
            if found is not None and expected is not None:
                assert found.end() == expected.end(), (pattern, text)
