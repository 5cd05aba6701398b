"""Property tests: random valid setups never crash, never leak into each other, and repeat."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose import check, why

NAMES = ["web", "db", "api", "cache", "wéb-2", "名前"]
NETS = ["appnet", "backend"]
VM_NAMES = ["ubuntu", "win"]


def _port() -> st.SearchStrategy[int]:
    return st.sampled_from([22, 53, 80, 443, 3000, 5432, 8080, 9000])


@st.composite
def publish(draw: st.DrawFn) -> str:
    host = draw(_port())
    cont = draw(_port())
    ip = draw(st.sampled_from(["", "127.0.0.1:", "0.0.0.0:", "192.168.1.10:", "[::1]:"]))
    proto = draw(st.sampled_from(["", "/udp"]))
    if draw(st.integers(0, 9)) == 0:  # now and then a range, sometimes a huge one
        size = draw(st.sampled_from([3, 3000]))
        return f"{ip}{host}-{host + size - 1}:{cont}-{cont + size - 1}{proto}"
    return f"{ip}{host}:{cont}{proto}"


@st.composite
def container(draw: st.DrawFn, name: str, others: list[str]) -> dict[str, Any]:
    mode = draw(
        st.sampled_from(
            [None, "bridge", "host", "none", "appnet", *(f"container:{o}" for o in others)]
        )
    )
    out: dict[str, Any] = {"name": name}
    if mode is not None:
        out["network_mode"] = mode
    elif draw(st.booleans()):
        out["networks"] = draw(st.lists(st.sampled_from(NETS), max_size=2, unique=True))
    if draw(st.booleans()):
        out["ports"] = draw(st.lists(publish(), max_size=3))
    if draw(st.booleans()):
        out["listens"] = draw(
            st.lists(
                st.builds(
                    lambda a, p: f"{a}:{p}", st.sampled_from(["0.0.0.0", "127.0.0.1"]), _port()
                ),
                max_size=2,
            )
        )
    if draw(st.booleans()):
        out["expose"] = [str(draw(_port()))]
    return out


@st.composite
def vm(draw: st.DrawFn, name: str) -> dict[str, Any]:
    hypervisor = draw(st.sampled_from(["vmware", "virtualbox", "libvirt", "hyperv"]))
    mode = draw(
        st.sampled_from(
            [
                "bridged",
                "nat",
                "hostonly",
                "internal",
                "natnetwork",
                "default",
                "external",
                "private",
            ]
        )
    )
    adapter: dict[str, Any] = {"mode": mode}
    if draw(st.booleans()):
        adapter["address"] = draw(
            st.sampled_from(
                ["192.168.1.50/24", "192.168.80.128/24", "10.0.2.15/24", "192.168.56.101/24"]
            )
        )
    if draw(st.booleans()):
        adapter["gateway"] = draw(st.sampled_from(["192.168.1.1", "192.168.80.2", "10.0.2.2"]))
    if draw(st.booleans()):
        adapter["port_forwards"] = [f"{draw(_port())}:{draw(_port())}"]
    return {"name": name, "hypervisor": hypervisor, "adapters": [adapter]}


@st.composite
def setups(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=4, unique=True))
    vms = draw(st.lists(st.sampled_from(VM_NAMES), max_size=2, unique=True))
    setup: dict[str, Any] = {
        "host": {
            "os": draw(st.sampled_from(["linux", "windows", "mac"])),
            "docker": draw(st.sampled_from(["engine", "desktop", "wsl2"])),
            "interfaces": [
                {"name": "eth0", "address": "192.168.1.10/24", "gateway": "192.168.1.1"}
            ],
        },
        "docker": {
            "networks": [
                {"name": n, "subnet": s}
                for n, s in zip(
                    NETS,
                    draw(
                        st.sampled_from(
                            [["172.20.0.0/16", "172.21.0.0/16"], ["192.168.1.0/24", "10.0.0.0/8"]]
                        )
                    ),
                    strict=True,
                )
            ],
            "containers": [draw(container(n, [o for o in names if o != n])) for n in names],
        },
        "vms": [draw(vm(n)) for n in vms],
    }
    ends = [
        "lan",
        "host",
        "internet",
        *(f"container:{n}" for n in names),
        *(f"vm:{n}" for n in vms),
        "172.17.0.2",
        "192.168.1.77",
    ]
    setup["symptoms"] = draw(
        st.lists(
            st.builds(
                lambda a, b, p: {"from": a, "to": b, "port": p},
                st.sampled_from(ends),
                st.sampled_from(ends),
                _port(),
            ),
            min_size=1,
            max_size=3,
        )
    )
    return setup


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_random_setups_never_crash_and_repeat(setup: dict[str, Any]) -> None:
    first = why(setup).model_dump_json()
    assert why(setup).model_dump_json() == first
    check(setup)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups(), setups())
def test_interleaved_diagnoses_do_not_leak(a: dict[str, Any], b: dict[str, Any]) -> None:
    alone = why(a).model_dump_json()
    why(b)
    assert why(a).model_dump_json() == alone


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(setups(), min_size=3, max_size=5))
def test_threads_do_not_leak_into_each_other(batch: list[dict[str, Any]]) -> None:
    import threading

    alone = [why(s).model_dump_json() for s in batch]
    got: dict[int, str] = {}

    def work(i: int) -> None:
        for _ in range(3):
            got[i] = why(batch[i]).model_dump_json()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batch))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(batch))] == alone
