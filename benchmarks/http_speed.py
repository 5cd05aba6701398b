"""Speed of `netwhy serve`: diagnoses per second and latency under concurrent HTTP clients.

The server runs as users run it (`netwhy serve --port 0`, its own process, access log on);
the clients are asyncio tasks of this process, each sending POST /v1/why with the text of a
bundled example (cycling through them) and waiting for the whole report before sending the
next. Measured: requests completed per second over the run, and each request's latency from
send to last byte. For comparison, the same diagnoses through the Python API in one process.

    python -m benchmarks.http_speed              # prints the section
    python -m benchmarks.http_speed --write      # and puts it into docs/benchmarks.md
    python -m benchmarks.http_speed --quick      # fewer requests (a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## HTTP server (`netwhy serve`)"


@contextmanager
def server() -> Iterator[str]:
    """`netwhy serve --port 0` in a child process; yields its base URL."""
    argv = [sys.executable, "-m", "diagnose.cli", "serve", "--port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        base = None
        deadline = time.monotonic() + 120
        while base is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                raise RuntimeError("netwhy serve stopped before it listened")
            found = re.search(r"serving on (http://\S+)", line)
            base = found.group(1) if found else None
        if base is None:
            raise RuntimeError("netwhy serve did not say where it listens")
        # Keep reading its log, so that a full pipe never stalls it.
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One request on a kept-alive HTTP/1.1 connection; (status, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def load(
    base: str, bodies: list[bytes], total: int, clients: int
) -> tuple[float, list[float]]:
    """`clients` connections send `total` requests between them, after two untimed requests
    each (the connections open, the server warm); returns (seconds, latencies).

    The client is a few lines of asyncio HTTP/1.1, so that it costs little CPU: on a machine
    of 2 cores, a heavier client (httpx: ~1 ms per request) slows the server it measures."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    requests = [
        b"POST /v1/why HTTP/1.1\r\nHost: %s\r\nContent-Type: application/yaml\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (host.encode(), len(body), body)
        for body in bodies
    ]
    latencies: list[float] = []
    sent = 0

    async def client(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        count: int,
        into: list[float],
    ) -> None:
        nonlocal sent
        while sent < count:
            request = requests[sent % len(requests)]
            sent += 1
            start = time.perf_counter()
            status, body = await _post(reader, writer, request)
            into.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"{status}: {body[:200]!r}")

    connections = [await asyncio.open_connection(host, int(port)) for _ in range(clients)]
    try:
        await asyncio.gather(*(client(r, w, 2 * clients, []) for r, w in connections))
        sent = 0
        start = time.perf_counter()
        await asyncio.gather(*(client(r, w, total, latencies) for r, w in connections))
        return time.perf_counter() - start, latencies
    finally:
        for _, writer in connections:
            writer.close()


def in_process(texts: list[str], total: int) -> float:
    """Diagnoses per second through the Python API, one thread (the same bodies)."""
    from diagnose import why
    from diagnose.loading import load_text

    for text in texts:
        why(load_text(text)).model_dump_json()
    start = time.perf_counter()
    for i in range(total):
        why(load_text(texts[i % len(texts)])).model_dump_json()
    return total / (time.perf_counter() - start)


def measure(total: int = 5000) -> list[str]:
    """The Markdown lines of the HTTP benchmark."""
    texts = [p.read_text("utf-8") for p in sorted(EXAMPLES.glob("*.yaml"))]
    bodies = [t.encode() for t in texts]
    rows = []
    sizes = []
    with server() as base:
        for body in bodies:
            sizes.append(len(httpx.post(f"{base}/v1/why", content=body, timeout=60).content))
        for clients, count in ((1, max(total // 10, 50)), (32, total)):
            seconds, latencies = asyncio.run(load(base, bodies, count, clients))
            rows.append((clients, count, count / seconds, _pct(latencies, 0.5), latencies))
    floor = in_process(texts, max(total // 5, 100))
    load_average = os.getloadavg()[0]
    lines = [
        HEADING,
        "",
        "`netwhy serve` in its own process (as started from the command line, access log on); "
        "clients in another (kept-alive HTTP/1.1 connections driven by a few lines of asyncio, "
        "so that they cost the shared CPU little), each posting the text of a bundled example to "
        f"`POST /v1/why` (the {len(texts)} examples in turn) and reading the whole report "
        f"({min(sizes) / 1e3:.0f}–{max(sizes) / 1e3:.0f} kB of JSON) before its next request. "
        "Latency is from send to last byte; the rate is requests completed over the run, "
        "after two untimed requests per client.",
        "",
        "| concurrent clients | requests | diagnoses/s | p50 (ms) | p99 (ms) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for clients, count, rate, p50, latencies in rows:
        lines.append(
            f"| {clients} | {count:,} | {rate:,.0f} | {p50 * 1e3:.1f} | "
            f"{_pct(latencies, 0.99) * 1e3:.1f} |"
        )
    one, busy = rows[0][2], rows[-1][2]
    lines += [
        "",
        f"The same diagnoses through the Python API, in one thread (parse the YAML, diagnose, "
        f"dump the report as JSON): **{floor:,.0f}/s**. Over HTTP one client gets "
        f"{one:,.0f}/s ({one / floor:.0%}: HTTP, FastAPI, the hand-off to a worker thread); "
        f"32 clients get **{busy:,.0f}/s** ({busy / floor:.0%}). One server process "
        "diagnoses one request at a time (the rule engine holds Python's GIL, and so does "
        "most of the rest), so the clients wait in line, served first come first served by "
        "two worker threads: a request's latency is about the number of clients divided by "
        f"the rate (32 / {busy:,.0f} per s = {32 / busy * 1e3:.0f} ms). More throughput needs "
        "more server processes behind a proxy.",
        "",
        f"Load average when the run ended: {load_average:.1f} on {os.cpu_count()} shared cores (other "
        "jobs were running); compare numbers of one run only.",
    ]
    return lines


def write(lines: list[str]) -> None:
    """Put the section into docs/benchmarks.md, replacing an older one, keeping the rest."""
    text = DOC.read_text("utf-8")
    section = "\n".join(lines) + "\n"
    start = text.find(HEADING)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    DOC.write_text(text, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    lines = measure(500 if args.quick else 5000)
    print("\n".join(lines))
    if args.write:
        write(lines)


if __name__ == "__main__":
    main()
