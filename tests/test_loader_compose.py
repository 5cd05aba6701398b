"""The compose loader: every era of compose file into the Setup, with the place of each entry."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from diagnose.errors import InputError
from diagnose.loaders import detect, load_file, load_text
from diagnose.loaders.base import ComposeNames, Loaded, LoadOptions
from diagnose.loaders.compose import _Malformed, _Unresolved, interpolate, read_dotenv
from diagnose.model import Container, DockerNetwork
from tests.loader_helpers import CORPUS as SHARED_CORPUS
from tests.loader_helpers import dump as _dump

FIXTURES = Path(__file__).parent / "fixtures" / "compose"
CORPUS = SHARED_CORPUS / "compose"

DEFAULT_NET = {"name": "default", "driver": "bridge", "internal": False, "external": False}


def _containers(loaded: Loaded) -> list[Container]:
    assert loaded.setup.docker is not None and loaded.setup.docker.containers is not None
    return loaded.setup.docker.containers


def _networks(loaded: Loaded) -> list[DockerNetwork]:
    assert loaded.setup.docker is not None and loaded.setup.docker.networks is not None
    return loaded.setup.docker.networks


def _line(loaded: Loaded, path: str) -> int | None:
    place = loaded.places.get(path)
    return place.line if place else None


def _tcp(published: str | None, target: str, host_ip: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"target": target, "protocol": "tcp"}
    if published is not None:
        out["published"] = published
    if host_ip is not None:
        out["host_ip"] = host_ip
    return out


def _findings(loaded: Loaded) -> Counter[str]:
    from diagnose.diagnosis import diagnose

    return Counter(f.rule for f in diagnose(loaded.setup).findings)


# ------------------------------------------------------------------------------ fixtures


def test_compose_spec_stack() -> None:
    loaded = load_file(FIXTURES / "stack" / "compose.yaml")
    assert loaded.kind == "compose"
    assert _dump(loaded) == {
        "docker": {
            "networks": [
                {"name": "front", "driver": "bridge", "internal": False, "external": False},
                {
                    "name": "back",
                    "driver": "bridge",
                    "subnet": "172.28.0.0/24",
                    "gateway": "172.28.0.1",
                    "internal": True,
                    "external": False,
                },
                DEFAULT_NET,
            ],
            "containers": [
                {
                    "name": "proxy",
                    "image": "traefik:v3.1",
                    # container_name is a DNS name on user-defined networks too
                    "networks": [{"name": "front", "aliases": ["shop-proxy"]}],
                    "ports": [
                        _tcp("80", "80"),
                        _tcp("443", "443"),  # unquoted 443:443 stays text
                        _tcp("8080", "8080", "127.0.0.1"),
                        {
                            "host_ip": "0.0.0.0",
                            "published": "5353",
                            "target": "53",
                            "protocol": "udp",
                        },
                    ],
                    "dns": ["1.1.1.1"],
                    "extra_hosts": ["host.docker.internal:host-gateway"],
                },
                {
                    "name": "web",
                    "networks": [
                        {"name": "front", "aliases": ["shop-web"]},
                        {"name": "back", "ip": "172.28.0.10"},
                    ],
                    "ports": [
                        _tcp(None, "3000"),  # an int is a container port: ephemeral host port
                        _tcp("9000-9001", "9000-9001", "::1"),
                    ],
                    "expose": ["3000", "9229/udp"],
                    "hostname": "web01",
                    "extra_hosts": ["metrics=10.0.0.5"],
                },
                {"name": "db", "image": "postgres:16", "networks": [{"name": "back"}], "ports": []},
                # no networks, no network_mode: the project's default network, not docker0
                {
                    "name": "worker",
                    "image": "shop/worker",
                    "networks": [{"name": "default"}],
                    "ports": [],
                },
                {
                    "name": "vpn",
                    "image": "qmcgaw/gluetun",
                    "networks": [{"name": "default", "aliases": ["gluetun"]}],
                    "ports": [],
                },
                # container:gluetun is the container_name of service vpn
                {
                    "name": "torrent",
                    "image": "linuxserver/qbittorrent",
                    "network_mode": "container:vpn",
                    "ports": [],
                },
                {
                    "name": "monitor",
                    "image": "prom/node-exporter",
                    "network_mode": "host",
                    "ports": [],
                },
            ],
        }
    }
    assert _line(loaded, "docker.containers[0]") == 5
    assert _line(loaded, "docker.containers[0].ports[1]") == 10
    assert _line(loaded, "docker.containers[0].ports[3]") == 12
    assert _line(loaded, "docker.containers[1].networks[1]") == 35
    assert _line(loaded, "docker.containers[1].networks[1].ipv4_address") == 36
    assert _line(loaded, "docker.containers[1].extra_hosts[0]") == 38
    assert _line(loaded, "docker.containers[5].network_mode") == 51
    assert _line(loaded, "docker.networks[1]") == 58
    assert _line(loaded, "docker.networks[1].subnet") == 62
    assert _line(loaded, "docker.networks[2]") == 4  # the implicit default: at services:
    assert loaded.notes == ["networks no service joins (compose does not create them): unused"]


def test_v1_file_uses_docker0_and_net() -> None:
    loaded = load_file(FIXTURES / "v1" / "docker-compose.yml")
    assert _dump(loaded) == {
        "docker": {
            "containers": [
                # no network_mode and no networks: the default bridge docker0 (DM001)
                {
                    "name": "web",
                    "image": "nginx:1.25",
                    "ports": [_tcp("8080", "80"), _tcp("22", "22")],
                    "links": ["db:database"],
                },
                {"name": "db", "image": "postgres:9.6", "ports": [], "expose": ["5432"]},
                {
                    "name": "admin",
                    "image": "postgres:9.6",
                    "ports": [_tcp("5050", "80")],
                    "expose": ["5432"],
                },
                {
                    "name": "sidecar",
                    "image": "busybox",
                    "network_mode": "container:web",
                    "ports": [],
                },
                {"name": "cache", "image": "redis", "network_mode": "host", "ports": []},
            ]
        }
    }
    assert _line(loaded, "docker.containers[0].ports[1]") == 8
    assert _line(loaded, "docker.containers[2].expose[0]") == 12  # inherited: where db says it
    assert _line(loaded, "docker.containers[3].network_mode") == 20


def test_v2_file_with_version_key() -> None:
    loaded = load_file(FIXTURES / "v2" / "docker-compose.yml")
    assert _dump(loaded) == {
        "docker": {
            "networks": [
                {
                    "name": "appnet",
                    "driver": "bridge",
                    "subnet": "10.5.0.0/16",
                    "gateway": "10.5.0.1",
                    "internal": False,
                    "external": False,
                }
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "example/app:2",
                    "networks": [{"name": "appnet", "ip": "10.5.0.20"}],
                    "ports": [_tcp("8000", "8000")],
                },
                {
                    "name": "metrics",
                    "image": "example/metrics",
                    "network_mode": "service:app",
                    "ports": [],
                },
                {
                    "name": "legacy",
                    "image": "example/legacy",
                    "network_mode": "bridge",
                    "ports": [],
                    "links": ["registry_1:registry"],
                },
            ],
        }
    }
    assert loaded.notes == ["networks no service joins (compose does not create them): proxy"]


def test_extends_from_a_sibling_file_and_override() -> None:
    loaded = load_file(FIXTURES / "extends" / "compose.yaml")
    back = {"name": "back", "driver": "bridge", "internal": False, "external": False}
    assert _dump(loaded) == {
        "docker": {
            "networks": [back],
            "containers": [
                {
                    "name": "api",
                    "image": "example/api:1",
                    "networks": [{"name": "back"}],
                    # extends appends ports (compose-go override/merge.go)
                    "ports": [_tcp("8080", "8080"), _tcp("8081", "8080")],
                    "dns": ["9.9.9.9"],
                },
                {
                    "name": "api-dev",
                    "image": "example/api:1",
                    "networks": [{"name": "back"}],
                    "ports": [_tcp("9081", "8080")],  # !override replaces them
                    "dns": ["9.9.9.9"],
                    "profiles": ["dev"],
                },
            ],
        }
    }
    inherited = loaded.places["docker.containers[0].ports[0]"]
    assert Path(inherited.file).name == "common.yaml" and inherited.line == 5
    assert _line(loaded, "docker.containers[0].ports[1]") == 7


def test_extends_without_reading_siblings_leaves_the_base_unknown() -> None:
    path = FIXTURES / "extends" / "compose.yaml"
    loaded = load_file(path, options=LoadOptions(read_siblings=False))
    api, dev = _containers(loaded)
    assert api.image is None and api.ports is None and api.dns is None
    assert [a.name for a in api.networks or []] == ["back"]
    assert [p.published for p in dev.ports or []] == ["9081"]  # !override needs no base
    assert any("common.yaml (extends) was not read" in n for n in loaded.notes)


def test_overlay_file_leaves_unstated_settings_unknown() -> None:
    loaded = load_file(FIXTURES / "overlay" / "compose.override.yaml")
    assert _dump(loaded) == {
        "docker": {
            "networks": [{"name": "shared", "external": True}],
            "containers": [
                {
                    "name": "app",
                    "networks": [{"name": "shared", "ip": "172.19.0.243"}],
                    "ports": [_tcp("9229", "9229", "127.0.0.1")],
                },
                # a complete service; its namespace owner lives in the base file
                {
                    "name": "proxy",
                    "image": "haproxy:alpine",
                    "network_mode": "service:tailscale",
                    "ports": [],
                },
            ],
        }
    }
    assert "overlay" in loaded.notes[0]


def test_override_file_without_networks_adds_no_default_network() -> None:
    text = "services:\n  app:\n    environment: [DEBUG=1]\n"
    loaded = load_text(text, "compose.override.yaml")
    assert _dump(loaded) == {"docker": {"containers": [{"name": "app"}]}}


# ---------------------------------------------------------------------------- interpolation


def test_interpolation_from_dotenv_and_defaults() -> None:
    loaded = load_file(FIXTURES / "interp" / "compose.yaml")
    web = _dump(loaded)["docker"]["containers"][0]
    assert web["image"] == "nginx:1.27"  # .env wins over the default
    assert web["hostname"] == "${HOST}"  # $$ is a literal $
    assert web["ports"] == [
        _tcp("8080", "80"),
        _tcp("8443", "443"),
        _tcp("9000", "9000"),
        _tcp("7000", "7000", "127.0.0.1"),
    ]
    assert _dump(loaded)["docker"]["networks"][0]["subnet"] == "172.30.0.0/16"
    assert _line(loaded, "docker.containers[0].ports[3]") == 9  # the 5th entry of the file
    notes = "\n".join(loaded.notes)
    assert "services.web.ports[3]" in notes and "METRICS_PORT" in notes
    assert "services.web.ports[5]" in notes and "DEBUG_PORT" in notes
    assert "took the file's defaults: ADMIN_PORT, HTTPS_PORT, SUBNET" in notes


def test_env_option_wins_over_dotenv() -> None:
    options = LoadOptions(env={"HTTP_PORT": "81", "DEBUG_PORT": "5005", "METRICS_PORT": "9100"})
    loaded = load_file(FIXTURES / "interp" / "compose.yaml", options=options)
    ports = [p.published for p in _containers(loaded)[0].ports or []]
    assert ports == ["81", "8443", "9000", "9100", "7000", "5005"]


def test_no_dotenv_without_siblings() -> None:
    options = LoadOptions(read_siblings=False)
    loaded = load_file(FIXTURES / "interp" / "compose.yaml", options=options)
    web = _containers(loaded)[0]
    assert web.image == "nginx:1.25"  # the default, since .env was not read
    assert [p.target for p in web.ports or []] == ["443", "9000"]


def test_dotenv_is_read_when_a_value_needs_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"PORT=8080\n\x00\x01binary")
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    ports: ['80:80']\n")
    # No `$` anywhere: the unusable .env changes nothing netwhy reads, and is not reported.
    assert load_file(compose).notes == []
    compose.write_text("services:\n  web:\n    image: nginx\n    ports: ['${PORT:-81}:80']\n")
    loaded = load_file(compose)
    assert [p.published for p in _containers(loaded)[0].ports or []] == ["81"]
    assert any(".env: not read: binary file" in note for note in loaded.notes)


def test_dotenv_notes_come_first_and_a_text_named_after_a_file_reads_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=8080\nnot a line\n")
    text = "include: [other.yaml]\nservices:\n  web:\n    image: nginx\n    ports: ['${PORT}:80']\n"
    (tmp_path / "compose.yaml").write_text(text)
    # Loaded from text under the real file's name, the .env beside it is read all the same.
    loaded = load_text(text, str(tmp_path / "compose.yaml"))
    assert [p.published for p in _containers(loaded)[0].ports or []] == ["8080"]
    assert ".env" in loaded.notes[0] and "include:" in loaded.notes[1]


def test_a_place_not_found_again_keeps_the_one_recorded() -> None:
    from diagnose.loaders.base import Places
    from diagnose.report import Location

    places = Places({"b": Location(file="f", line=3)})
    places.defer("a", "f", lambda at: (at, 1), 7)
    places.defer("b", "f", lambda at: (None, None), ())  # a lookup that finds nothing
    places.defer("c", "f", lambda at: (None, None), ())
    assert list(places) == ["b", "a"]  # in the order recorded; "c" has no place
    assert places["a"] == Location(file="f", line=7, column=1)
    assert places["b"].line == 3 and "c" not in places and places.get("c") is None


def test_places_deferred_together_are_found_each_when_asked_for() -> None:
    from diagnose.loaders.base import Places
    from diagnose.report import Location

    places = Places.deferred(
        {"a": 2, "b": 0, "c": 5}, lambda at: Location(file="f", line=at) if at else None
    )
    places.defer("c", "f", lambda at: (None, None), ())  # replaces "c"'s lookup, finds nothing
    assert list(places) == ["a"] and places["a"] == Location(file="f", line=2)
    assert "b" not in places and "c" not in places


def test_places_are_found_when_asked_for_in_any_order() -> None:
    text = "services:\n  web:\n    image: nginx\n    ports:\n      - '80:80'\n      - '443:443'\n"
    loaded = load_text(text, "compose.yaml")
    assert _line(loaded, "docker.containers[0].ports[1]") == 6
    assert (
        loaded.locate("docker.containers[0].ports[0].published")
        == loaded.places["docker.containers[0].ports[0]"]
    )
    every = dict(loaded.places.items())
    assert every["docker.containers[0]"].line == 2
    assert every["docker.containers[0].image"].line == 3
    assert len(loaded.places) == len(every)
    assert "docker.containers[0].ports[9]" not in loaded.places


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("$A-$B", {"A": "1", "B": "2"}, "1-2"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A-x}", {}, "x"),
        ("${A:-${B:-nested}}", {}, "nested"),
        ("${A:?need A}", {"A": "ok"}, "ok"),
        ("${A:+set}", {"A": "1"}, "set"),
        ("${A:+set}", {"A": ""}, ""),
        ("$$A $${A}", {}, "$A ${A}"),
        ("no vars", {}, "no vars"),
    ],
)
def test_interpolate(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


@pytest.mark.parametrize("text", ["${A}", "$A", "${A:?x}", "${A?x}", "${A+x}", "${A:+x}"])
def test_interpolate_unresolved(text: str) -> None:
    with pytest.raises(_Unresolved):
        interpolate(text, {})


@pytest.mark.parametrize("text", ["${A", "${}", "${1}", "${A:1}", "cost: 5$", "$ {A}"])
def test_interpolate_malformed(text: str) -> None:
    with pytest.raises(_Malformed):
        interpolate(text, {"A": "1"})


def test_read_dotenv() -> None:
    notes: list[str] = []
    text = (
        "# comment\nA=1\nexport B = two words # trailing\nC='${A} literal'\nD=\"x${A}\\n\"\n"
        'E=${MISSING}\nnot a line\nF="open\n'
    )
    assert read_dotenv(text, {}, notes, ".env") == {
        "A": "1",
        "B": "two words",
        "C": "${A} literal",
        "D": "x1\n",
    }
    assert len(notes) == 3


# -------------------------------------------------------------------------------- traps


def test_trap1_reset_clears_merged_ports_of_a_host_mode_service() -> None:
    """Corpus trap 1 (stalwart): `<<: *common` brings ports, `ports: !reset []` clears them."""
    path = FIXTURES / "reset" / "compose.yaml"
    loaded = load_file(path)
    mail, host, alt = _containers(loaded)
    assert [p.published for p in mail.ports or []] == ["25", "443"]
    assert host.network_mode == "host" and host.ports == []
    assert [(p.published, p.target) for p in alt.ports or []] == [("2525", "25")]
    assert _line(loaded, "docker.containers[0].ports[0]") == 5  # where the anchor writes it
    assert not _findings(loaded)["DM006"]
    # Without !reset the merged ports stay, and netwhy rightly says host mode discards them.
    text = path.read_text().replace("    ports: !reset []\n", "")
    assert _findings(load_text(text, "compose.yaml"))["DM006"] == 2


def test_trap2_shared_namespace_sidecars_publish_nothing_themselves() -> None:
    """Corpus trap 2 (gluetun/tailscale): service:/container: modes, ports on the owner."""
    loaded = load_file(FIXTURES / "stack" / "compose.yaml")
    found = _findings(loaded)
    assert not found["DM013"] and not found["DM032"] and not found["DM017"]


def test_trap3_unquoted_host_container_port_is_text() -> None:
    """Corpus trap 3 (forgejo `- 22:22`): YAML 1.1 would read 1342; Docker reads 22:22."""
    loaded = load_text(
        "services:\n  git:\n    image: forgejo\n    ports:\n      - 22:22\n", "x.yml"
    )
    (port,) = _containers(loaded)[0].ports or []
    assert (port.published, port.target) == ("22", "22")


def test_trap4_loopback_bound_port() -> None:
    loaded = load_file(FIXTURES / "stack" / "compose.yaml")
    assert _findings(loaded)["DP005"] == 2  # 127.0.0.1:8080 and [::1]:9000-9001, both info


def test_trap5_same_port_in_different_profiles_is_no_clash() -> None:
    """Corpus trap 5 (open-webui, ferron): variants in profiles never run together."""
    path = FIXTURES / "profiles" / "compose.yaml"
    assert not _findings(load_file(path))["DP013"]
    text = path.read_text().replace("    profiles: [remote]\n", "    profiles: [local]\n")
    assert _findings(load_text(text, "compose.yaml"))["DP013"] == 1


def test_trap6_port_53_udp() -> None:
    text = 'services:\n  dns:\n    image: pihole/pihole\n    ports:\n      - "53:53/udp"\n'
    (port,) = _containers(load_text(text, "compose.yaml"))[0].ports or []
    assert (port.published, port.protocol) == ("53", "udp")


def test_trap7_interpolated_and_dual_stack_subnets() -> None:
    text = (
        "services:\n  web:\n    image: nginx\n    networks: [a]\n"
        "networks:\n  a:\n    ipam:\n      config:\n"
        "        - subnet: fe80::/64\n        - subnet: ${SUBNET-172.99.0.0/16}\n"
    )
    loaded = load_text(text, "compose.yaml")
    assert _networks(loaded)[0].subnet == "172.99.0.0/16"
    assert _line(loaded, "docker.networks[0].subnet") == 10
    assert any("fe80::/64 are not modelled" in n for n in loaded.notes)


def test_ports_with_a_variable_are_left_out_and_noted() -> None:
    """Corpus: the one `${httpPort}:80` entry."""
    text = 'services:\n  web:\n    image: nginx\n    ports:\n      - "${httpPort}:80"\n      - 81\n'
    loaded = load_text(text, "compose.yaml")
    assert [p.target for p in _containers(loaded)[0].ports or []] == ["81"]
    assert _line(loaded, "docker.containers[0].ports[0]") == 6
    assert "services.web.ports[0]" in loaded.notes[0]


def test_external_network_subnet_is_unknown() -> None:
    text = (
        "services:\n  web:\n    image: nginx\n    networks: [proxy]\n"
        "networks:\n  proxy:\n    external: true\n"
    )
    (net,) = _networks(load_text(text, "compose.yaml"))
    assert (net.external, net.subnet, net.driver, net.internal) == (True, None, None, None)


def test_plugin_driver_is_left_unknown() -> None:
    text = (
        "services:\n  web:\n    image: nginx\n    networks: [w]\n"
        "networks:\n  w:\n    driver: weave\n"
    )
    loaded = load_text(text, "compose.yaml")
    assert _networks(loaded)[0].driver is None
    assert "plugin" in loaded.notes[0]


def test_compose_in_json() -> None:
    text = '{"services": {"web": {"image": "nginx", "ports": ["8080:80"]}}}'
    loaded = load_text(text, "stack.json")
    assert loaded.kind == "compose"
    assert [p.published for p in _containers(loaded)[0].ports or []] == ["8080"]


def test_invalid_net_v2_is_accepted_like_compose_v2() -> None:
    """Corpus `extends__invalid-net-v2.yml`: docker-compose 1.x refused to extend a service with
    `network_mode: service:`; Compose v2 (compose-go) accepts it, and `net` is defined."""
    text = (
        'version: "2"\nservices:\n  myweb:\n    build: .\n    extends:\n      service: web\n'
        '  web:\n    build: .\n    network_mode: "service:net"\n  net:\n    build: .\n'
    )
    loaded = load_text(text, "compose.yaml")
    modes = [c.network_mode for c in _containers(loaded)]
    assert modes == ["service:net", "service:net", None]


@pytest.mark.parametrize(
    "service",
    ["    network_mode: service:db\n", "    links: [db]\n", "    depends_on: [db]\n"],
)
def test_a_service_from_another_file_makes_an_overlay(service: str) -> None:
    """Compose refuses such a file alone, but it is meant for `-f base.yaml -f this.yaml`;
    refusing it would also make `--setup base.yaml this.yaml` impossible."""
    loaded = load_text("services:\n  web:\n    image: x\n" + service, "compose.yaml")
    assert "refers to services it does not define" in loaded.notes[0]


def test_network_mode_container_naming_a_service_is_noted() -> None:
    text = (
        "services:\n  vpn:\n    image: gluetun\n  app:\n    image: app\n"
        "    network_mode: container:vpn\n"
    )
    loaded = load_text(text, "compose.yaml")
    assert _containers(loaded)[1].network_mode == "container:vpn"
    assert "service:vpn is probably meant" in loaded.notes[0]


def test_what_docker_calls_the_services_and_networks() -> None:
    # Kept for `--setup` with `docker inspect` output: the setup names a service's container
    # by the service and a network by its key, Docker by container_name, name:, <project>_.
    text = (
        "name: ${PROJECT:-shop}\nservices:\n  web:\n    image: nginx\n"
        "    container_name: shop-front\n    networks: [default, backend, shared, old]\n"
        "  db:\n    image: postgres\n    networks: [backend]\n"
        "networks:\n  default:\n    name: shop_net\n  backend: {}\n"
        "  shared:\n    external: true\n    name: shared_backend\n"
        "  old:\n    external:\n      name: legacy_net\n  plain:\n    external: true\n"
    )
    names = load_text(text, "compose.yaml").compose
    assert names == ComposeNames(
        "shop",
        {"web": "shop-front"},
        {"default": "shop_net", "shared": "shared_backend", "old": "legacy_net"},
    )
    # COMPOSE_PROJECT_NAME wins over name:, as in compose; no project without either
    options = LoadOptions(env={"COMPOSE_PROJECT_NAME": "staging"})
    named = load_text(text, "compose.yaml", options=options).compose
    assert named is not None and named.project == "staging"
    plain = load_text("services:\n  web:\n    image: nginx\n", "compose.yaml").compose
    assert plain == ComposeNames()


# ---------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "name",
    [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.override.yml",
        "compose.prod.yaml",
        "app.compose.yaml",
        "traefik-docker-compose.yml",
        "owner__repo__docker-compose.yaml",
        "app.docker-compose.prod.yml",
    ],
)
def test_detected_by_name(name: str) -> None:
    assert detect(name, "services:\n  web:\n    image: nginx\n") == "compose"


@pytest.mark.parametrize(
    "text",
    [
        "services:\n  web:\n    image: nginx\n",
        "version: '3.8'\nservices:\n\n  # the app\n  web:\n    build: .\n",
        "x-common: &c\n  image: x\nservices:\n  web:\n    <<: *c\n",
        "web:\n  image: nginx\n  links: [db]\ndb:\n  image: postgres\n",
        "notaservice: oops\nweb:\n  image: alpine\n",
        "myweb:\n  extends:\n    file: common.yml\n    service: web\n",
        '{"services": {"web": {"image": "nginx"}}}',
    ],
)
def test_detected_by_content(text: str) -> None:
    assert detect("stack.yml", text) == "compose"


@pytest.mark.parametrize(
    "text",
    [
        "docker:\n  containers:\n    - name: web\n      image: nginx\n",  # the setup format
        "image: node:20\nservices:\n  - postgres:16\ntest:\n  script: [npm test]\n",  # GitLab
        "steps:\n  build:\n    image: golang\nservices:\n  db:\n    image: mysql\n",  # Woodpecker
        "replicaCount: 1\nimage:\n  repository: nginx\n  tag: 1.25\nservice:\n  port: 80\n",
        "nameOverride: ''\nfullnameOverride: db\npostgresql:\n  image: bitnami/postgresql:16\n",
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - image: nginx\n",
        "on: push\njobs:\n  test:\n    services:\n      db:\n        image: postgres\n",
        '[{"Id": "abc", "Image": "nginx", "NetworkSettings": {}}]',
    ],
)
def test_not_detected(text: str) -> None:
    assert detect("stack.yml", text) != "compose"


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("- web\n- db\n", 1, None, "not a list"),
        ("web: oops\n", 1, "web", "must be a mapping"),
        ("services:\n  web:\n    image: x\n    ports: 80\n", 4, "services.web.ports", "list"),
        ('services:\n  web:\n    ports: ["80:80:80:80"]\n', 3, "services.web.ports[0]", "colons"),
        ("services:\n  web:\n    ports: [true]\n", 3, "services.web.ports[0]", "boolean"),
        (
            "services:\n  web:\n    ports:\n      - target: 80\n        bogus: 1\n",
            4,
            "services.web.ports[0].bogus",
            "unknown field",
        ),
        (  # netwhy keeps a -p text beside its fields; an input cannot give one
            "services:\n  web:\n    ports:\n      - {target: 80, published: 8080, text: '9:1'}\n",
            4,
            "services.web.ports[0].text",
            "unknown field",
        ),
        ("services:\n  web:\n    dns: [dns.google]\n", 3, "services.web.dns[0]", "IP address"),
        (
            "services:\n  web:\n    image: x\n    networks: [nope]\n",
            4,
            "services.web.networks[0]",
            "not defined",
        ),
        (
            "services:\n  web:\n    image: x\n    network_mode: host\n    networks: [a]\n"
            "networks:\n  a: {}\n",
            5,
            "services.web.networks",
            "mutually exclusive",
        ),
        (
            'version: "2"\nservices:\n  foo:\n    image: x\n  bar:\n    image: x\n'
            '    net: "container:foo"\n',
            7,
            "services.bar.net",
            "v1 key",
        ),
        (
            "web:\n  image: x\n  network_mode: host\n",
            3,
            "web.network_mode",
            "not a v1 option",
        ),
        ("services:\n  web:\n    image: ${TAG\n", 3, "services.web.image", "never closed"),
        (
            "services:\n  web:\n    image: x\n    networks: [a]\nnetworks:\n  a:\n    ipam:\n"
            "      config:\n        - subnet: 10.0.0.0/33\n",
            None,
            None,
            None,
        ),
        (
            "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
            5,
            "services.b.extends",
            "circle",
        ),
        ("services:\n  a:\n    extends: zz\n", 3, "services.a.extends", "not defined"),
        ("services:\n  a:\n    image: x\nvolume:\n  v: {}\n", 4, "volume", "top-level key"),
        ("services:\n  a:\n    image: x\n    internal: 3\n", None, None, None),
        (
            "services:\n  a:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    internal: maybe\n",
            7,
            "networks.n.internal",
            "true or false",
        ),
        (
            "services:\n  a:\n    image: x\n    extra_hosts: [nohost]\n",
            4,
            "services.a.extra_hosts[0]",
            "HOST:IP",
        ),
        (
            "web:\n  image: x\n  links: [db]\ndb:\n  image: y\nmyweb:\n  extends:\n"
            "    service: web\n",
            7,
            "myweb.extends",
            "docker-compose 1.x",
        ),
        ("services:\n  web:\n    image: x\n    ports: [70000]\n", 4, None, "1 and 65535"),
        (  # an empty target was an internal error (None where a port was expected)
            'services:\n  web:\n    image: x\n    ports:\n      - {published: "8080", target: ""}\n',
            5,
            "services.web.ports[0].target",
            "container port is empty",
        ),
        (
            "services:\n  web:\n    image: x\n    expose: [80, 80-70]\n",
            4,
            "services.web.expose",
            "port",
        ),
        ("", None, None, "empty"),
    ],
)
def test_bad_input(text: str, line: int | None, field: str | None, message: str | None) -> None:
    if message is None:  # a value netwhy does not read must not break the load
        if "10.0.0.0/33" in text:
            with pytest.raises(InputError) as info:
                load_text(text, "compose.yaml", "compose")
            assert info.value.line == 9 and "subnet" in info.value.message
            assert info.value.field == "networks.a.ipam.config[0].subnet"
        else:
            load_text(text, "compose.yaml", "compose")
        return
    with pytest.raises(InputError) as info:
        load_text(text, "compose.yaml", "compose")
    err = info.value
    assert err.file == "compose.yaml"
    assert message in err.message
    if line is not None:
        assert err.line == line
    if field is not None:
        assert err.field == field


def test_extends_file_missing(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  a:\n    extends:\n      file: base.yml\n      service: a\n")
    with pytest.raises(InputError) as info:
        load_file(path)
    assert info.value.line == 3 and "does not exist" in info.value.message


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"services:\x00\x01")
    with pytest.raises(InputError):
        load_file(path)


# ---------------------------------------------------------------------- end to end, corpus


def test_finding_points_to_the_port_line() -> None:
    from diagnose.batch import CheckOptions, check_file

    result = check_file(str(FIXTURES / "stack" / "compose.yaml"), CheckOptions())
    loopback = [f for f in result.findings if f.rule == "DP005"]
    assert [f.location.line for f in loopback if f.location] == [11, 31]


MALFORMED = {
    "docker__compose__tests__fixtures__invalid-composefile__invalid.yml": "notaservice",
    "docker__compose__tests__fixtures__extends__service-with-invalid-schema.yml": "myweb.extends",
    "docker__compose__tests__fixtures__net-container__v2-invalid.yml": "services.bar.net",
    "docker__compose__tests__fixtures__extends__invalid-net.yml": "myweb.extends",
    "docker__compose__tests__fixtures__extends__invalid-links.yml": "myweb.extends",
    "docker__compose__tests__fixtures__extends__invalid-volumes.yml": "myweb.extends",
    "docker__compose__tests__fixtures__networks__missing-network.yml": "services.web.networks[0]",
    "docker__compose__tests__fixtures__networks__bridge.yml": "services.web.networks[0]",
    # its extends file ../pgadmin/compose.yaml is not in the corpus
    "jetsung__awesome-compose__pgadmin-db__compose.yaml": "services.pgadmin4.extends",
}

# Reviewed: every finding below is one we would defend to the file's author.
# DM017: the namespace owner is outside the file (an external container; tailscale overlays).
# DM019: sidecars in another container's namespace (gluetun, tailscale, e2e fixtures).
# DN013: e2e bridge fixture, serviceA publishes 80:8080 but sits only on an internal network.
# DN018: legacy links. DP005: ports published on 127.0.0.1 only (traefik, crowdsec, loki...).
# DP010: an exposed port in a one-service file nothing can reach.
CORPUS_FINDINGS = {"DM017": 3, "DM019": 15, "DN013": 1, "DN018": 7, "DP005": 7, "DP010": 2}


def test_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    from diagnose.batch import CheckOptions, check_file

    files = sorted(CORPUS.iterdir())
    assert len(files) == 184
    refused: dict[str, str | None] = {}
    by_rule: Counter[str] = Counter()
    for path in files:
        assert detect(path.name, path.read_text(encoding="utf-8")) == "compose", path.name
        try:
            load_file(path)
        except InputError as exc:
            refused[path.name] = exc.field
            continue
        result = check_file(str(path), CheckOptions())
        assert not result.input_error
        by_rule.update(f.rule for f in result.findings)
        for finding in result.findings:
            assert finding.location is not None and finding.location.line, (path.name, finding)
    assert refused == MALFORMED
    assert dict(by_rule) == CORPUS_FINDINGS


@pytest.mark.parametrize(
    "name",
    [
        "jetsung__awesome-compose__open-webui__compose.yaml",
        "jetsung__awesome-compose__ferron__compose.yaml",
        "jetsung__awesome-compose__stalwart__compose.yaml",
        "jetsung__awesome-compose__forgejo__compose.yaml",
    ],
)
def test_corpus_traps_stay_silent(name: str) -> None:
    if not (CORPUS / name).is_file():
        pytest.skip("no corpus")
    found = _findings(load_file(CORPUS / name))
    assert not found["DP013"] and not found["DM006"], found


def test_replicas_are_noted() -> None:
    text = "services:\n  a:\n    image: x\n    scale: 3\n    ports: [80]\n"
    assert "3 replicas" in load_text(text, "compose.yaml").notes[0]


def test_include_is_noted_and_makes_references_lenient() -> None:
    text = "include:\n  - db/compose.yaml\nservices:\n  web:\n    image: x\n    networks: [dbnet]\n"
    loaded = load_text(text, "compose.yaml")
    assert [a.name for a in _containers(loaded)[0].networks or []] == ["dbnet"]
    assert "include" in loaded.notes[0]


def test_extends_naming_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  base:\n    image: x\n    ports: ['80:80']\n"
        "  web:\n    extends:\n      file: compose.yaml\n      service: base\n"
    )
    loaded = load_file(path)
    assert [p.published for p in _containers(loaded)[1].ports or []] == ["80"]
    assert _line(loaded, "docker.containers[1].ports[0]") == 4


def test_overlay_checked_with_its_base_file() -> None:
    """`--setup compose.yaml compose.override.yaml`: the owner the overlay names is found."""
    from diagnose.batch import CheckOptions, check_setup

    overlay = FIXTURES / "overlay"
    paths = [str(overlay / "compose.yaml"), str(overlay / "compose.override.yaml")]
    result = check_setup(paths, CheckOptions(one_setup=True))
    assert not result.input_error
    rules = {f.rule for f in result.findings}
    assert "DM017" not in rules and "DM019" in rules
    alone = check_setup(paths[1:], CheckOptions(one_setup=True))
    assert "DM017" in {f.rule for f in alone.findings}


def test_suppression_comment_on_a_port_line(tmp_path: Path) -> None:
    from diagnose.batch import CheckOptions, check_file

    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  grafana:\n    image: grafana/grafana\n    ports:\n"
        "      # netwhy: ignore[DP005] the dashboard stays on this host\n"
        '      - "127.0.0.1:3000:3000"\n'
    )
    result = check_file(str(path), CheckOptions())
    assert not result.findings
    assert [f.rule for f, _ in result.suppressed] == ["DP005"]
