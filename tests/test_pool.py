"""The worker processes of `check --jobs N`: every input once, and a dead worker loses only
the input that killed it."""

from __future__ import annotations

import faulthandler
import os
import signal
from pathlib import Path

import pytest

from diagnose import batch, pool
from diagnose.batch import CheckOptions, FileResult, check_many


def _shout(item: str) -> str:
    return item.upper()


def _died(item: str, error: pool.Died) -> str:
    return f"died: {error}"


def _segfault() -> None:
    faulthandler.disable()  # pytest's would print the worker's stack: expected here
    os.kill(os.getpid(), signal.SIGSEGV)


def _crash_on_c(item: str) -> str:
    if item == "c":
        _segfault()
    return item.upper()


def _exit_on_b(item: str) -> str:
    if item == "b":
        os._exit(3)
    return item.upper()


def _raise_on_b(item: str) -> str:
    if item == "b":
        raise KeyError("b")
    return item


@pytest.mark.parametrize(("jobs", "chunk"), [(1, 1), (2, 1), (2, 3), (3, 64)])
def test_every_item_is_done_once(jobs: int, chunk: int) -> None:
    items = [f"i{n}" for n in range(50)]
    done = list(pool.run(items, _shout, jobs=jobs, chunk=chunk, died=_died))
    assert sorted(index for index, _ in done) == list(range(50))
    assert all(result == items[index].upper() for index, result in done)


def test_an_item_that_kills_its_process_is_the_only_one_lost() -> None:
    items = list("abcdefgh")
    # c shares its chunk with b and d: they are checked again, alone, and come through.
    done = dict(pool.run(items, _crash_on_c, jobs=2, chunk=3, died=_died))
    assert done.pop(2) == "died: the process checking it was killed by SIGSEGV"
    assert done == {i: item.upper() for i, item in enumerate(items) if item != "c"}


def test_a_process_that_exits_is_reported_with_its_status() -> None:
    done = dict(pool.run(["a", "b"], _exit_on_b, jobs=1, chunk=2, died=_died))
    assert done == {0: "A", 1: "died: the process checking it exited with status 3"}


def test_what_the_work_raises_is_raised_in_the_caller() -> None:
    with pytest.raises(KeyError, match="b"):
        list(pool.run(["a", "b", "c"], _raise_on_b, jobs=2, chunk=1, died=_died))


def _crash_on_bad(path: str, options: CheckOptions) -> FileResult:
    if path.endswith("bad.yaml"):
        _segfault()
    return batch.check_file(path, options)


def test_a_file_that_kills_its_worker_is_an_input_error_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crash in C code (the rule engine's) must not take the other files of a batch along.
    monkeypatch.setattr(batch, "_batch_check", _crash_on_bad)  # workers are forked: they see it
    files = []
    for name in ("a.yaml", "bad.yaml", "c.yaml", "d.yaml"):
        path = tmp_path / name
        path.write_text("docker:\n  containers:\n    - {name: web, ports: ['127.0.0.1:8080:80']}\n")
        files.append(str(path))
    results = check_many(files, CheckOptions(jobs=2))
    assert [r.file for r in results] == files
    bad = results[1]
    assert bad.input_error
    assert [f.rule for f in bad.findings] == ["IN002"]
    assert "killed by SIGSEGV" in bad.findings[0].title
    for good in (results[0], results[2], results[3]):
        assert not good.input_error and [f.rule for f in good.findings] == ["DP005"]
