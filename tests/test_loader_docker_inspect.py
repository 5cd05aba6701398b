"""`docker inspect` / `docker ps` JSON: containers and networks into the Setup, with places."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from diagnose.batch import CheckOptions, check_file
from diagnose.errors import InputError
from diagnose.loaders import detect, load_file, load_text
from diagnose.loaders.base import ComposeLabel, Loaded
from tests.loader_helpers import CORPUS as SHARED_CORPUS
from tests.loader_helpers import dump as _dump
from tests.loader_helpers import lines as _lines

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "docker-inspect"
CORPUS = SHARED_CORPUS / "docker-inspect"
KIND = "docker-inspect"


def _load(name: str) -> Loaded:
    loaded = load_file(FIXTURES / name)
    assert loaded.kind == KIND
    return loaded


def _error(text: str, name: str = "inspect.json") -> InputError:
    with pytest.raises(InputError) as info:
        load_text(text, name, KIND)
    return info.value


# ------------------------------------------------------------------------------ fixtures


def test_container_inspect() -> None:
    loaded = _load("web-container.json")
    assert _dump(loaded) == {
        "docker": {
            "networks": [
                {
                    "name": "bridge",
                    "driver": "bridge",
                    "subnet": "172.17.0.0/16",
                    "gateway": "172.17.0.1",
                    "external": True,
                }
            ],
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "network_mode": "bridge",
                    "networks": [{"name": "bridge", "ip": "172.17.0.3"}],
                    # running: NetworkSettings.Ports (0.0.0.0 and :: are one -p binding)
                    "ports": [
                        {
                            "host_ip": "0.0.0.0",
                            "published": "8080",
                            "target": "80",
                            "protocol": "tcp",
                        },
                        {
                            "host_ip": "127.0.0.1",
                            "published": "8443",
                            "target": "443",
                            "protocol": "tcp",
                        },
                    ],
                    "expose": ["80", "443"],
                    "dns": ["192.168.1.1"],
                    "hostname": "frontend",
                    "extra_hosts": ["host.docker.internal:host-gateway"],
                    "links": ["db:database"],
                    "running": True,
                }
            ],
        }
    }
    lines = _lines(loaded)
    assert lines["docker.containers[0]"] == 16  # "Name": "/web"
    assert lines["docker.containers[0].network_mode"] == 21
    assert lines["docker.containers[0].ports[0]"] == 39
    assert lines["docker.containers[0].ports[1]"] == 42
    assert lines["docker.containers[0].networks[0]"] == 45
    assert lines["docker.networks[0].subnet"] == 52  # IPPrefixLen of the endpoint
    assert not loaded.notes


def test_container_list_resolves_ids_and_skips_duplicate_ipv6_bindings() -> None:
    loaded = _load("ps-list.json")
    assert _dump(loaded) == {
        "docker": {
            "networks": [
                {
                    "name": "app_backend",
                    "subnet": "172.30.0.0/24",
                    "gateway": "172.30.0.1",
                    "external": True,
                },
                {
                    "name": "bridge",
                    "driver": "bridge",
                    "subnet": "172.17.0.0/16",
                    "gateway": "172.17.0.1",
                    "external": True,
                },
            ],
            "containers": [
                {
                    "name": "db",  # not /web/database: that is a legacy-link name
                    "image": "postgres:16",
                    "network_mode": "app_backend",
                    "networks": [{"name": "app_backend", "ip": "172.30.0.2", "aliases": ["db"]}],
                    "ports": [],
                    "expose": ["5432"],
                    "running": True,
                },
                {
                    "name": "metrics",
                    "image": "prom/postgres-exporter",
                    "network_mode": "container:db",  # a short id of a listed container
                    "ports": [],
                    "expose": ["9187"],
                    "running": False,
                },
                {
                    "name": "proxy",
                    "image": "traefik:v3",
                    "network_mode": "bridge",
                    "networks": [
                        {"name": "bridge", "ip": "172.17.0.2"},
                        {"name": "app_backend", "ip": "172.30.0.3"},
                    ],
                    "ports": [
                        {
                            "host_ip": "0.0.0.0",
                            "published": "80",
                            "target": "80",
                            "protocol": "tcp",
                        },
                        {
                            "host_ip": "127.0.0.1",
                            "published": "8080",
                            "target": "8080",
                            "protocol": "tcp",
                        },
                        {
                            "host_ip": "0.0.0.0",
                            "published": "5353",
                            "target": "53",
                            "protocol": "udp",
                        },
                    ],
                    "expose": ["80", "8080", "53/udp"],
                    "running": True,
                },
                {
                    "name": "node-exporter",
                    "image": "prom/node-exporter",
                    "network_mode": "host",
                    "ports": [],
                    "running": True,
                },
            ],
        }
    }
    lines = _lines(loaded)
    assert lines["docker.containers[1].network_mode"] == 29
    assert lines["docker.containers[2].ports[1]"] == 39
    assert lines["docker.containers[2].ports[2]"] == 40


def test_old_api_without_networks_map() -> None:
    """docker-java's 1.2x samples: NetworkMode bridge/default, IPAddress, no Networks."""
    loaded = _load("old-api.json")
    assert _dump(loaded) == {
        "docker": {
            "networks": [
                {
                    "name": "bridge",
                    "driver": "bridge",
                    "subnet": "172.17.0.0/16",
                    "gateway": "172.17.42.1",
                    "external": True,
                }
            ],
            "containers": [
                {
                    "name": "legacy",
                    "image": "redis:2.8",
                    "network_mode": "bridge",
                    "ip": "172.17.0.5",
                    # stopped: HostConfig.PortBindings; HostPort "" is an ephemeral port
                    "ports": [{"target": "6379", "protocol": "tcp"}],
                    "expose": ["6379"],
                    "running": False,
                }
            ],
        }
    }
    assert _lines(loaded)["docker.containers[0].ports[0]"] == 12


def test_network_inspect() -> None:
    loaded = _load("networks.json")
    assert _dump(loaded) == {
        "docker": {
            # the default bridge's host_binding_ipv4 is the daemon's --ip
            "daemon": {"ip": "127.0.0.1"},
            "networks": [
                {
                    "name": "bridge",
                    "driver": "bridge",
                    "subnet": "172.17.0.0/16",
                    "gateway": "172.17.0.1",
                    "internal": False,
                    "external": True,
                },
                {
                    "name": "backend",
                    "driver": "bridge",
                    "subnet": "10.20.0.0/24",  # the IPv4 entry, not the first (IPv6) one
                    "gateway": "10.20.0.1",
                    "internal": True,
                    "external": True,
                },
                {"name": "none", "driver": "none", "internal": False, "external": True},
                {"name": "weave", "subnet": "10.32.0.0/12", "internal": False, "external": True},
            ],
        }
    }
    lines = _lines(loaded)
    assert lines["docker.networks[1]"] == 22
    assert lines["docker.networks[1].subnet"] == 31
    assert lines["docker.daemon.ip"] == 17
    assert any("weaveworks/net-plugin" in n for n in loaded.notes)
    assert any("2 IPAM subnets" in n for n in loaded.notes)


def test_create_request_body() -> None:
    loaded = _load("create-body.json")
    assert _dump(loaded) == {
        "docker": {
            "networks": [{"name": "bridge", "driver": "bridge", "external": True}],
            "containers": [
                {
                    "name": "create-1",
                    "image": "redis:7",
                    "network_mode": "bridge",
                    "ports": [
                        {
                            "host_ip": "127.0.0.1",
                            "published": "6379",
                            "target": "6379",
                            "protocol": "tcp",
                        }
                    ],
                    "expose": ["6379"],
                    "links": ["cache-seed:seed"],
                }
            ],
        }
    }
    assert any("?name=" in n for n in loaded.notes)


def test_ps_format_json_lines() -> None:
    loaded = _load("ps-format.json")
    assert _dump(loaded) == {
        "docker": {
            "networks": [
                {"name": "bridge", "driver": "bridge", "external": True},
                {"name": "app_backend", "external": True},
            ],
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "network_mode": "bridge",
                    "networks": [{"name": "bridge"}],
                    "ports": [
                        {
                            "host_ip": "0.0.0.0",
                            "published": "8080",
                            "target": "80",
                            "protocol": "tcp",
                        }
                    ],
                    "expose": ["80", "443"],
                    "running": True,
                },
                {
                    "name": "db",
                    "image": "postgres:16",
                    "networks": [{"name": "app_backend"}],
                    "ports": [],
                    "expose": ["5432"],
                    "running": False,
                },
            ],
        }
    }
    assert _lines(loaded)["docker.containers[1]"] == 2


def test_one_ps_format_line_is_one_json_document() -> None:
    line = (FIXTURES / "ps-format.json").read_text().splitlines()[0]
    assert detect("ps.json", line) == KIND
    (container,) = load_text(line, "ps.json", KIND).setup.model_dump(exclude_none=True)["docker"][
        "containers"
    ]
    assert container["name"] == "web"


def test_compose_labels_are_kept_for_setup() -> None:
    # Docker Compose labels what it makes; `--setup` ties them to the compose file by them.
    inspect = (
        '[{"Id": "4b0c4f2e9d1a77", "Name": "/shop-web-2", "HostConfig": {}, "Config": '
        '{"Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "web",'
        ' "com.docker.compose.container-number": "2", "com.docker.compose.oneoff": "False",'
        ' "maintainer": "x"}}},\n'
        ' {"Name": "shop_default", "Driver": "bridge", "IPAM": {"Config": []}, "Labels": '
        '{"com.docker.compose.network": "default", "com.docker.compose.project": "shop"}},\n'
        ' {"Id": "9e1f0c2d3b4a55", "Name": "/other", "HostConfig": {}, "Config": {"Labels": null}}]'
    )
    loaded = load_text(inspect, "inspect.json", KIND)
    assert loaded.compose_labels == {
        "docker.containers[0]": ComposeLabel("shop", "web", 2),
        "docker.networks[0]": ComposeLabel("shop", "default"),
    }
    # `docker ps --format json`: the labels as one text, a value may hold commas
    ps = (
        '{"ID":"4b0c4f2e9d1a","Image":"nginx","Labels":"com.docker.compose.oneoff=True,'
        "com.docker.compose.project.config_files=/srv/a.yaml,/srv/b.yaml,"
        'com.docker.compose.project=shop,com.docker.compose.service=web","Names":'
        '"shop-web-run-5f1c","Networks":"shop_default","Ports":"","State":"running"}'
    )
    labels = load_text(ps, "ps.json", KIND).compose_labels
    assert labels == {"docker.containers[0]": ComposeLabel("shop", "web", None, oneoff=True)}


# --------------------------------------------------------------------- corpus traps


def test_trap_8_namespace_owner_missing() -> None:
    """Corpus trap 8: NetworkMode container:badc1d… names a container not in the input; the id
    stays (no guessed name) and DM017 reports it at the container."""
    loaded = _load("missing-owner.json")
    container = _dump(loaded)["docker"]["containers"][0]
    assert container["network_mode"] == "container:" + "badc0ffee" * 7
    result = check_file(str(FIXTURES / "missing-owner.json"), CheckOptions())
    dm017 = [f for f in result.findings if f.rule == "DM017"]
    assert dm017 and dm017[0].location is not None
    assert dm017[0].location.line == 3  # the container's Name


def test_trap_8_windows_nat_network() -> None:
    """Corpus trap 8: a Windows (LCOW sample) container on `nat`: NetworkMode "default" is the
    daemon's default network, nat on Windows; the nat driver is Windows' own."""
    loaded = _load("windows-nat.json")
    assert _dump(loaded) == {
        "host": {"os": "windows"},
        "docker": {
            "networks": [
                {
                    "name": "nat",
                    "driver": "nat",
                    "subnet": "172.25.96.0/20",
                    "gateway": "172.25.96.1",
                    "external": True,
                }
            ],
            "containers": [
                {
                    "name": "iis",
                    "image": "mcr.microsoft.com/windows/servercore/iis",
                    "network_mode": "nat",
                    "networks": [{"name": "nat", "ip": "172.25.103.40"}],
                    "ports": [
                        {
                            "host_ip": "0.0.0.0",
                            "published": "8000",
                            "target": "80",
                            "protocol": "tcp",
                        }
                    ],
                    "expose": ["80"],
                    "running": True,
                }
            ],
        },
    }


def test_trap_8_host_mode_mixed_with_multi_network() -> None:
    """Corpus trap 8 (prometheus dockerprom): a host-mode container beside multi-network ones;
    host mode takes no attachment, the others keep every network."""
    containers = _dump(_load("ps-list.json"))["docker"]["containers"]
    host = next(c for c in containers if c["name"] == "node-exporter")
    assert host["network_mode"] == "host" and "networks" not in host
    proxy = next(c for c in containers if c["name"] == "proxy")
    assert [n["name"] for n in proxy["networks"]] == ["bridge", "app_backend"]


def test_trap_8_old_network_mode_default_with_port_bindings() -> None:
    """Corpus trap 8: older samples have NetworkMode default/bridge, PortBindings and no
    Networks map: mode bridge, the ports from PortBindings, the address from IPAddress."""
    text = (FIXTURES / "old-api.json").read_text().replace('"bridge",\n', '"default",\n', 1)
    container = load_text(text, "old.json", KIND).setup.model_dump(exclude_none=True)
    assert container["docker"]["containers"][0]["network_mode"] == "bridge"
    assert container["docker"]["containers"][0]["ip"] == "172.17.0.5"


def test_a_network_of_an_inspected_container_is_external() -> None:
    """A snapshot shows some containers of a daemon: DP010 (no other container on the
    network) must not conclude anything from the containers it does not show."""
    result = check_file(str(FIXTURES / "old-api.json"), CheckOptions())
    assert "DP010" not in {f.rule for f in result.findings}


# ------------------------------------------------------------------------------ detection


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_detected_by_content(name: str) -> None:
    assert detect(name, (FIXTURES / name).read_text()) == KIND


@pytest.mark.parametrize(
    "text",
    [
        '{"docker": {"containers": [{"name": "web", "ports": ["8080:80"]}]}}',
        '[{"ifindex": 1, "ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1"}]}]',
        '{"dns": ["1.1.1.1"], "bip": "172.26.0.1/16"}',
        '{"nftables": [{"metainfo": {"version": "1.0.6"}}]}',
        "docker:\n  containers:\n    - name: web\n",
    ],
)
def test_other_formats_are_not_claimed(text: str) -> None:
    from diagnose.loaders import docker_inspect

    assert not docker_inspect.detect("x.json", text, KIND)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ('[{"Id": "ab", "Name": "/x", "HostConfig": {', 1, None, "malformed JSON"),
        ("", None, None, "empty"),
        (
            '{"Id": "ab12", "Name": "/x",\n "HostConfig": ["bridge"]}',
            2,
            "HostConfig",
            "JSON object",
        ),
        ('[\n  {"Id": "ab12", "Name": "/x", "Config": {}},\n  42\n]', 3, None, "not a number"),
        (
            '[\n {"Id": "a1", "Names": ["/web"], "Ports": []},\n'
            ' {"Id": "b2", "Names": ["/web"], "Ports": []}\n]',
            3,
            "Name",
            "appears twice",
        ),
        (
            '{"Id": "ab12", "Name": "/x", "State": {"Running": true},\n "HostConfig": {\n'
            '  "PortBindings": {"http/tcp": [{"HostIp": "", "HostPort": "80"}]}}}',
            3,
            "docker.containers[0].ports[0]",
            "container port",
        ),
        (
            '{"Id": "ab12", "Name": "/x", "HostConfig": {"NetworkMode": "n"},\n'
            ' "NetworkSettings": {"Networks": {\n  "n": {"IPAddress": "10.0.0.300"}}}}',
            3,
            "docker.containers[0].networks[0].ipv4_address",
            "not an IP address",
        ),
        ('{"Name": "n", "Driver": "bridge", "IPAM": {"Config": {"Subnet": 1}}}', 1, None, "list"),
        ('[{"Id": "ab", "Name": "/x", "Config": {}}, "text"]', 1, None, "not text"),
    ],
)
def test_bad_input_is_one_input_error(
    text: str, line: int | None, field: str | None, message: str
) -> None:
    err = _error(text)
    assert err.file == "inspect.json"
    assert message in err.message
    assert err.line == line
    if field is not None:
        assert err.field == field


# ------------------------------------------------------------------------------ corpus


def test_corpus_loads_or_refuses_cleanly() -> None:
    """Every corpus file loads or raises InputError; the findings are the reviewed ones."""
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not here")
    loaded = refused = 0
    rules: Counter[str] = Counter()
    for path in sorted(CORPUS.iterdir()):
        try:
            load_file(path, KIND)
        except InputError:
            refused += 1
        else:
            loaded += 1
        result = check_file(str(path), CheckOptions(kind=KIND))
        rules.update(f.rule for f in result.findings)
    # watchtower's containers.json lists two containers named portainer (different ids):
    # impossible on one host, so it is refused with the line of the second name.
    assert (loaded, refused) == (23, 1)
    assert rules == Counter(
        {
            "DM017": 2,  # container:<id> of a container not inspected (net_consumer, trap 8)
            "DM019": 3,  # the namespace is lost when its owner is recreated (true, info)
            "DN018": 1,  # the create sample's legacy --link
            "IN002": 1,  # the duplicate name above
        }
    )
