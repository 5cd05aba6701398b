"""A private sandbox of network namespaces, built from a lab plan, and bounded probes in it.

Safety (see the project's netns notes): every namespace lives inside one sandbox, a user +
mount + network namespace held open by a `sh` that blocks on its stdin. `ip netns add` inside
it writes to the sandbox's own tmpfs /run, no veth ever has an end outside it, and the
sandbox's own namespace has only `lo`: nothing can reach or change the root namespace's
addresses, routes, firewall or sysctls. When this process ends, even by SIGKILL, the pipe
closes, the holder exits and the kernel frees every namespace; every server and client runs
under a time limit, so none keeps a namespace alive for long.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from types import TracebackType

from diagnose.lab.plan import Plan, Probe

PREFIX = "nw-"
PROBE_TIMEOUT = 1.0  # seconds a connect may take before it counts as timed out
SERVER_LIFE = 60  # seconds a server lives at most

_HOLDER = "mount -t tmpfs tmpfs /run && mkdir -p /run/netns && echo READY && read _; exit 0"

# One process per owner serves every address:port[/udp] the setup says it listens on. It
# answers each connection (or datagram) with who it is and the peer it sees (to check NAT).
_SERVER = r"""
import selectors, socket, sys, time
sel = selectors.DefaultSelector()
status = []
owner = sys.argv[2]
for spec in sys.argv[3:]:
    body, _, proto = spec.partition("/")
    host, port = body.rsplit(":", 1)
    s = socket.socket(type=socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, int(port)))
        if proto != "udp":
            s.listen(64)
    except OSError as e:
        status.append(f"BINDERR {spec} {e.errno} {e.strerror}")
        continue
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, spec)
print(f"READY {len(status)}", *status, sep="\n", flush=True)
# stdin is a pipe from netwhy: when netwhy ends, even killed, it closes and the server goes.
sel.register(sys.stdin, selectors.EVENT_READ, None)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.2):
        if key.data is None:
            if not sys.stdin.readline():
                sys.exit(0)
            continue
        if key.data.endswith("/udp"):
            try:
                _, peer = key.fileobj.recvfrom(512)
                key.fileobj.sendto(f"HELLO {owner} {key.data} peer={peer[0]}\n".encode(), peer)
            except OSError:
                pass
            continue
        try:
            conn, peer = key.fileobj.accept()
        except OSError:
            continue
        try:
            conn.settimeout(0.5)
            conn.sendall(f"HELLO {owner} {key.data} peer={peer[0]}\n".encode())
        except OSError:
            pass
        conn.close()
"""

_CLIENT = r"""
import errno, json, socket, sys, time
host, port, timeout, proto = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
start = time.monotonic()
out = {"ok": False, "errno": None, "error": None, "peer": None, "server": None, "owner": None}
s = socket.socket(type=socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.settimeout(timeout)
try:
    s.connect((host, port))
    if proto == "udp":  # a refusal comes back as ICMP port unreachable on the next recv
        s.send(b"hello")
    else:  # connected: give a busy machine's server time to answer
        s.settimeout(timeout * 3)
    data = s.recv(200).decode(errors="replace").split()
    out["ok"] = True
    if len(data) == 4 and data[0] == "HELLO":
        out["owner"], out["server"] = data[1], data[2]
        out["peer"] = data[3].split("=", 1)[1]
except socket.timeout:
    out["error"] = "timeout"
except OSError as e:
    out["errno"] = e.errno
    out["error"] = errno.errorcode.get(e.errno, str(e.errno))
out["elapsed"] = round(time.monotonic() - start, 3)
print(json.dumps(out))
"""


class LabError(Exception):
    """The sandbox could not be made or a command in it failed."""


@dataclass(frozen=True)
class Outcome:
    """What one probe saw."""

    kind: str  # connected | refused | unreachable | no-route | timeout | other-service | error
    detail: str
    peer: str | None = None
    elapsed: float = 0.0
    owner: str | None = None  # who answered (host, container:web, ...)

    @property
    def connected(self) -> bool:
        return self.kind == "connected"


_KINDS = {
    "ECONNREFUSED": "refused",
    "ENETUNREACH": "unreachable",
    "EHOSTUNREACH": "no-route",
    "timeout": "timeout",
}


def _missing_tools() -> list[str]:
    return [t for t in ("ip", "unshare", "nsenter", "nft", "ping") if shutil.which(t) is None]


@functools.cache
def lab_unavailable_reason() -> str | None:
    """Why a lab cannot be built on this machine, or None when it can (probed once)."""
    if not sys.platform.startswith("linux"):
        return "the lab needs Linux network namespaces"
    if missing := _missing_tools():
        return f"the lab needs {', '.join(missing)} (iproute2, util-linux, nftables, iputils-ping)"
    probe = (
        "mount -t tmpfs tmpfs /run && mkdir -p /run/netns && "
        "ip netns add nw-probe && ip netns del nw-probe"
    )
    try:
        done = subprocess.run(
            ["unshare", "-rnm", "--propagation", "private", "sh", "-c", probe],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot make network namespaces: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"cannot make network namespaces: {last}"
    return None


class Sandbox:
    """One sandbox holding one lab; use as a context manager."""

    def __init__(self) -> None:
        reason = lab_unavailable_reason()
        if reason:
            raise LabError(reason)
        self._holder = subprocess.Popen(
            ["unshare", "-rnm", "--propagation", "private", "sh", "-c", _HOLDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._holder.stdout is not None
        line = self._holder.stdout.readline().strip()
        if line != "READY":
            self.close()
            raise LabError("the sandbox did not start")
        self._servers: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _enter(self) -> list[str]:
        return [
            "nsenter",
            "-t",
            str(self._holder.pid),
            "-U",
            "-m",
            "-n",
            "--preserve-credentials",
            "--",
        ]

    def command(self, node: str | None, argv: list[str]) -> list[str]:
        """The argv that runs `argv` in a node of the sandbox (or in the sandbox itself)."""
        inner = ["ip", "netns", "exec", PREFIX + node, *argv] if node else argv
        return self._enter() + inner

    def run(self, node: str | None, argv: list[str], *, input: str | None = None) -> str:
        done = subprocess.run(
            self.command(node, argv), input=input, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise LabError(f"{' '.join(argv[:3])} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def script(self, text: str) -> str:
        return self.run(None, ["bash", "-euo", "pipefail", "-c", text])

    def close(self) -> None:
        # Closing a server's stdin ends it (it watches for EOF): killing the process we
        # started would only kill `timeout`, not the server it runs.
        for server in self._servers:
            for stream in (server.stdin, server.stdout, server.stderr):
                if stream:
                    stream.close()
        for server in self._servers:
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if self._holder.poll() is None:
            assert self._holder.stdin is not None
            with contextlib.suppress(OSError):
                self._holder.stdin.close()
            try:
                self._holder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._holder.kill()
                self._holder.wait()
        for stream in (self._holder.stdout, self._holder.stderr):
            if stream:
                stream.close()

    # ----------------------------------------------------------------------- building
    def build(self, plan: Plan) -> dict[str, list[str]]:
        """Make the plan's namespaces, links, addresses, routes, sysctls, rules and servers;
        return each listening owner's bind errors."""
        self.script(build_script(plan))
        self._settle(plan)
        errors: dict[str, list[str]] = {}
        failed: set[str] = set()  # containers that could not start
        for node in plan.nodes.values():
            for owner, listens in node.listens.items():
                if owner in failed:
                    errors[owner] = ["not started: a published port is taken"]
                    continue
                errors[owner] = self.serve(node.name, listens, owner)
                if owner in plan.publish_chains and errors[owner]:
                    chain, container = plan.publish_chains[owner]
                    self.run(node.name, ["nft", "flush", "chain", "ip", "lab", chain])
                    failed.add(container)
        return errors

    def _settle(self, plan: Plan) -> None:
        """Wait (at most 3 s) until every bridge port forwards.

        The kernel turns a new port's carrier on asynchronously (linkwatch, up to a second
        later); a probe sent before that loses its ARP and reports "no route to host".
        """
        spaces = " ".join(PREFIX + n.name for n in plan.nodes.values() if n.bridges)
        if not spaces:
            return
        self.script(
            f"for i in $(seq 60); do ready=1; for ns in {spaces}; do "
            "if ip netns exec $ns bridge link show | grep -v 'state forwarding' | grep -q .; "
            "then ready=0; fi; done; [ $ready = 1 ] && exit 0; sleep 0.05; done; "
            "echo 'bridge ports did not come up' >&2; exit 1"
        )

    def serve(self, node: str, listens: list[tuple[str, int, str]], owner: str = "-") -> list[str]:
        """Start one server process in a node; return the bind errors it reported."""
        # A wildcard bind after a specific one of the same port fails (EADDRINUSE), while
        # the other order leaves the wildcard serving both: bind wildcards first.
        ordered = sorted(listens, key=lambda app: app[0] != "0.0.0.0")
        specs = [f"{a}:{p}" + ("/udp" if proto == "udp" else "") for a, p, proto in ordered]
        proc = subprocess.Popen(
            self.command(
                node,
                [
                    "timeout",
                    str(SERVER_LIFE),
                    sys.executable,
                    "-u",
                    "-c",
                    _SERVER,
                    str(SERVER_LIFE),
                    owner,
                    *specs,
                ],
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._servers.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            detail = proc.stderr.read() if proc.stderr else ""
            raise LabError(f"the server in {node} did not start: {detail.strip()[-300:]}")
        # READY n, then one line per address it could not bind.
        errors = [proc.stdout.readline().strip() for _ in range(int(line[1]))]
        return errors

    # ------------------------------------------------------------------------- probing
    def probe_many(self, probes: list[Probe]) -> list[Outcome]:
        """Run every probe at once (a TCP or UDP exchange, or one ping); what each saw.
        With a target, an answer from anyone else (a host service holding the port) is a
        failure, not a success."""
        procs = [
            subprocess.Popen(
                self.command(probe.source, _probe_argv(probe)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for probe in probes
        ]
        outcomes = []
        for probe, proc in zip(probes, procs, strict=True):
            out, err = proc.communicate(timeout=PROBE_TIMEOUT + 20)
            if probe.kind == "ping":
                outcomes.append(_ping_outcome(proc.returncode, out + err))
                continue
            outcome = _outcome(out, err)
            if outcome.connected and probe.target and outcome.owner != probe.target:
                outcome = Outcome("other-service", f"{outcome.owner} answered, not {probe.target}")
            outcomes.append(outcome)
        return outcomes


def _probe_argv(probe: Probe) -> list[str]:
    bound = ["timeout", str(int(PROBE_TIMEOUT) + 5)]
    if probe.kind == "ping":
        return [*bound, "ping", "-n", "-c", "1", "-W", str(int(PROBE_TIMEOUT)), probe.address]
    return [
        *bound,
        sys.executable,
        "-c",
        _CLIENT,
        probe.address,
        str(probe.port),
        str(PROBE_TIMEOUT),
        probe.kind,
    ]


def _ping_outcome(code: int, text: str) -> Outcome:
    if code == 0:
        return Outcome("connected", "echo reply")
    if "Network is unreachable" in text:
        return Outcome("unreachable", "Network is unreachable")
    if "Destination Host Unreachable" in text:
        return Outcome("no-route", "Destination Host Unreachable")
    return Outcome("timeout", "no echo reply")


def _outcome(out: str, err: str) -> Outcome:
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Outcome("error", (err or out).strip()[-200:])
    if data["ok"]:
        return Outcome(
            "connected", f"server {data['server']}", data["peer"], data["elapsed"], data["owner"]
        )
    error = str(data["error"])
    return Outcome(_KINDS.get(error, "error"), error, None, data["elapsed"])


def build_script(plan: Plan) -> str:
    """The shell script that builds a plan inside the sandbox (one process, fast)."""
    q = shlex.quote
    lines: list[str] = []
    for name in plan.nodes:
        ns = PREFIX + name
        lines += [f"ip netns add {ns}", f"ip -n {ns} link set lo up"]
    for node in plan.nodes.values():
        ns = PREFIX + node.name
        for bridge in node.bridges:
            lines.append(f"ip -n {ns} link add {q(bridge)} type bridge")
            lines.append(f"ip -n {ns} link set dev {q(bridge)} up")
    for a, b in plan.links:
        lines.append(
            f"ip link add {q(a.ifname)} netns {PREFIX}{a.node} type veth "
            f"peer name {q(b.ifname)} netns {PREFIX}{b.node}"
        )
        for end in (a, b):
            ns = PREFIX + end.node
            if end.master:
                lines.append(f"ip -n {ns} link set dev {q(end.ifname)} master {q(end.master)}")
            lines += [f"ip -n {ns} addr add {x} dev {q(end.ifname)}" for x in end.addresses]
            lines.append(f"ip -n {ns} link set dev {q(end.ifname)} up")
    # Bridge addresses after the NICs': a bridge (docker0, a VM switch) comes up after the
    # host's own networks, so where their ranges collide the kernel's first route is the NIC's.
    for node in plan.nodes.values():
        ns = PREFIX + node.name
        for bridge, addrs in node.bridges.items():
            lines += [f"ip -n {ns} addr add {a} dev {q(bridge)}" for a in addrs]
    for node in plan.nodes.values():
        ns = PREFIX + node.name
        lines += [f"ip -n {ns} addr add {cidr} dev {q(dev)}" for dev, cidr in node.extra]
        lines += [f"ip -n {ns} route append {r}" for r in node.routes]
        # New namespaces copy the root's IPv4 settings: pin what matters. ARP gives up after
        # 3 tries of 100 ms instead of 1 s, so "no route to host" comes in 0.3 s.
        settings = [f"{k}={v}" for k, v in sorted(node.sysctls.items())]
        lines.append(
            f"ip netns exec {ns} sh -c "
            + q(
                "for f in /proc/sys/net/ipv4/neigh/*/retrans_time_ms; do echo 100 > $f; done"
                + "".join(f"; sysctl -qw {s}" for s in settings)
            )
        )
        if node.nft:
            body = "table ip lab {\n" + "\n".join(node.nft) + "\n}\n"
            lines.append(f"ip netns exec {ns} nft -f - <<'NFT'\n{body}NFT")
    return "\n".join(lines) + "\n"
