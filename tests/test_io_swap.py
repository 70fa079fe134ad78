"""Atomic output folders (issue 16): the target is always the whole old or the whole new output.

The kill tests run the swap in a child process that SIGKILLs itself from the swap's hook, at
each point of the swap, on both paths (the Linux atomic exchange and the two-rename fallback).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from letrolab import _io
from letrolab._io import MARKER, clean_stale, commit_stage, new_stage, staged_dir
from letrolab.errors import InputError

SRC = str(Path(_io.__file__).resolve().parents[1])


def _write(target: Path, files: dict[str, str]) -> None:
    with staged_dir(target) as stage:
        for name, text in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(text)


def _content(target: Path) -> dict[str, str]:
    return {
        str(p.relative_to(target)): p.read_text()
        for p in sorted(target.rglob("*"))
        if p.is_file() and p.name != MARKER
    }


OLD = {"claims.json": "old", "report.html": "old", "raw/a.csv": "old", "extra.csv": "old"}
NEW = {"claims.json": "new", "report.html": "new", "raw/a.csv": "new"}


def test_a_new_run_replaces_the_whole_folder_without_merging(tmp_path):
    target = tmp_path / "out"
    _write(target, OLD)
    _write(target, NEW)
    assert _content(target) == NEW  # extra.csv of the earlier run is gone
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_folder_letrolab_did_not_write_is_never_replaced(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    with pytest.raises(InputError, match="holds files letrolab did not write"):
        _write(mine, NEW)
    assert _content(mine) == {"thesis.docx": "precious"}
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty, NEW)  # an empty folder may be used
    assert _content(empty) == NEW


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("where", ["before-swap", "between-renames", "after-swap"])
def test_an_exception_in_the_swap_leaves_old_or_new_whole(tmp_path, monkeypatch, exchange, where):
    if not exchange:
        monkeypatch.setattr(_io, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    _write(target, OLD)

    def hook(point: str) -> None:
        if point == where:
            raise KeyboardInterrupt(point)

    if where == "between-renames" and exchange:
        _write_with_hook(target, hook)  # the exchange has no such point: it just succeeds
        assert _content(target) == NEW
        return
    with pytest.raises(KeyboardInterrupt, match=where):
        _write_with_hook(target, hook)
    clean_stale(target)  # what the next run does first
    assert _content(target) == (OLD if where != "after-swap" else NEW)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def _write_with_hook(target: Path, hook) -> None:
    with staged_dir(target, hook=hook) as stage:
        for name, text in NEW.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(text)


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from letrolab import _io

    target, where, exchange = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
    if not exchange:
        _io._exchange = lambda a, b: False

    def hook(point):
        if point == where:
            os.kill(os.getpid(), signal.SIGKILL)

    with _io.staged_dir(target, hook=hook) as stage:
        for name in ("claims.json", "report.html", "raw/a.csv"):
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text("new")
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("where", ["before-swap", "between-renames", "after-swap"])
def test_kill_9_during_the_swap(tmp_path, exchange, where):
    """A real kill -9 at each point: the next run finds the whole old or the whole new folder
    and removes what the killed run left beside it."""
    target = tmp_path / "out"
    _write(target, OLD)
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(target), where, "1" if exchange else "0"],
        env=env,
        capture_output=True,
        check=False,
    )
    killed = proc.returncode == -signal.SIGKILL
    # the exchange path has no "between-renames" point, so that child finishes normally
    assert killed == (exchange is False or where != "between-renames"), proc.stderr
    expected = NEW if not killed or where == "after-swap" else OLD
    # the next run cleans up first (new_stage calls clean_stale), then writes as usual
    stage = new_stage(target)
    assert _content(target) == expected
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p != stage)
    assert leftovers == ["out"]
    commit_stage(stage, target)
    assert _content(target) == {}


def test_a_staging_folder_of_a_live_run_is_left_alone(tmp_path):
    target = tmp_path / "out"
    live = tmp_path / f".out.{os.getppid()}.abc.staging"
    live.mkdir()
    dead = tmp_path / ".out.999999999.abc.staging"
    dead.mkdir()
    assert clean_stale(target) == [dead]
    assert live.exists() and not dead.exists()
