"""A few worker processes that check a list of inputs, and survive a worker that dies.

Why not concurrent.futures: its pool pickles every task and hands each through a feeder
thread in the parent, which then shares the two cores with the workers it feeds (a batch of
small files ran 3-6% slower so), and one worker killed by a signal (a crash in the rule
engine's C code, the out-of-memory killer) breaks the whole pool. Here each worker takes the
next chunk of the list from a shared counter, so tasks are never sent; it sends back one
message per chunk; and the inputs of a worker that dies are checked again one by one, each
in a process of its own, so only the input that kills its process is lost (and reported).
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
from collections.abc import Callable, Generator
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

Result = TypeVar("Result")

# Worker messages: (_CLAIM, start) before a chunk, (_DONE, start, results) after it,
# (_RAISED, exception) when the work raised (it is raised again in the parent), (_END,).
_CLAIM, _DONE, _RAISED, _END = range(4)


def _worker(
    items: list[str],
    work: Callable[[str], Any],
    counter: Any,
    chunk: int,
    conn: Connection,
    start_worker: Callable[[], None] | None,
) -> None:
    if start_worker is not None:
        start_worker()
    try:
        while True:
            with counter.get_lock():
                start = counter.value
                counter.value = start + chunk
            if start >= len(items):
                break
            conn.send_bytes(pickle.dumps((_CLAIM, start)))
            results = [work(item) for item in items[start : start + chunk]]
            conn.send_bytes(pickle.dumps((_DONE, start, results), pickle.HIGHEST_PROTOCOL))
        conn.send_bytes(pickle.dumps((_END,)))
    except BaseException as exc:  # the parent raises it (NETWHY_DEBUG lets bugs through)
        try:
            conn.send_bytes(pickle.dumps((_RAISED, exc)))
        except Exception:  # not picklable: its text is
            conn.send_bytes(pickle.dumps((_RAISED, RuntimeError(repr(exc)))))
    finally:
        conn.close()


class Died(Exception):
    """The process checking an input ended without a result (killed by a signal, exited)."""

    def __init__(self, exitcode: int | None) -> None:
        if exitcode is not None and exitcode < 0:
            try:
                how = f"was killed by {signal.Signals(-exitcode).name}"
            except ValueError:
                how = f"was killed by signal {-exitcode}"
        else:
            how = f"exited with status {exitcode}"
        super().__init__(f"the process checking it {how}")


class _Running:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.claimed: int | None = None  # the start of the chunk it is checking
        self.ended = False
        self.finished = False  # it sent _END: every result is in, and it is exiting


def run(
    items: list[str],
    work: Callable[[str], Result],
    jobs: int,
    chunk: int,
    died: Callable[[str, Died], Result],
    start_worker: Callable[[], None] | None = None,
    *,
    again: bool = True,
) -> Generator[tuple[int, Result], None, None]:
    """Yield (index in `items`, result of `work(item)`) for every item, in the order they
    are done, from `jobs` processes taking `chunk` items at a time. `work` must not raise
    for an input (what it raises stops the run, raised here). The items a dead process had
    taken are checked again, each alone (`again`); an item whose own process dies gets
    `died(item, error)` as its result.
    """
    context = multiprocessing.get_context()
    counter = context.Value("q", 0)
    running: list[_Running] = []
    try:
        for _ in range(min(jobs, -(-len(items) // chunk))):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_worker,
                args=(items, work, counter, chunk, send, start_worker),
                daemon=True,
            )
            process.start()
            send.close()
            running.append(_Running(process, receive))
        lost: list[tuple[int, Died]] = []
        while any(not r.ended for r in running):
            ready = wait([r.conn for r in running if not r.ended])
            for r in running:
                if r.ended or r.conn not in ready:
                    continue
                try:
                    message = pickle.loads(r.conn.recv_bytes())
                except EOFError:  # it died: what it had taken is lost
                    r.ended = True
                    r.process.join()
                    if r.claimed is not None:
                        error = Died(r.process.exitcode)
                        end = min(r.claimed + chunk, len(items))
                        lost.extend((i, error) for i in range(r.claimed, end))
                    continue
                if message[0] == _CLAIM:
                    r.claimed = message[1]
                elif message[0] == _DONE:
                    r.claimed = None
                    yield from enumerate(message[2], start=message[1])
                elif message[0] == _RAISED:
                    raise message[1]
                else:
                    r.ended = r.finished = True
        for index, error in lost:
            if again:
                for _, result in run([items[index]], work, 1, 1, died, start_worker, again=False):
                    yield index, result
            else:
                yield index, died(items[index], error)
    finally:
        for r in running:
            r.conn.close()
            if r.finished:
                # Not waited for: a process's exit (freeing the memory it wrote to) took
                # a few ms, as long as checking a few files; multiprocessing reaps it later.
                continue
            if r.process.is_alive():
                r.process.terminate()
            r.process.join()
