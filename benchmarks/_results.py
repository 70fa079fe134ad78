"""Write one benchmark's section of benchmarks/RESULTS.md, leaving the other sections alone.

Each benchmark owns the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``; the file
is rewritten atomically. A section records the command that produced it, the machine and the date.
"""

from __future__ import annotations

import datetime as _dt
import gc
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Each section is written by the benchmark named in it, with the command that produced it.\n"
    "Ratios compare letrolab with peer tools measured in the same run on the same inputs.\n"
)


def timed(fn, repeat: int = 5) -> tuple[float, float, object]:
    """Best and median wall time in seconds of ``repeat`` calls of ``fn``, and its last result."""
    times, out = [], None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def machine() -> str:
    """One line describing the machine and interpreter."""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    )


def write_section(name: str, body: str, *, command: str | None = None) -> Path:
    """Replace (or append) the section ``name`` of RESULTS.md with ``body``."""
    command = command or "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    block = (
        f"<!-- {name}:start -->\n{body.rstrip()}\n\n"
        f"Command: `{command}`  \nMachine: {machine()}\n<!-- {name}:end -->\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(
        rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->\n?", re.S
    )
    text = (
        pattern.sub(lambda _m: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block
    )
    tmp = RESULTS.with_suffix(".md.part")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)
    return RESULTS


def tree_rss(pid: int) -> int:
    """Summed resident memory (bytes) of pid and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(p.name))
    total, stack = 0, [pid]
    while stack:
        q = stack.pop()
        stack.extend(children.get(q, []))
        try:
            for line in Path(f"/proc/{q}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


@dataclass(frozen=True)
class CliRun:
    """One fresh ``letrolab`` process: wall and CPU seconds (user + system time of the child,
    from getrusage, which other jobs on a shared machine do not inflate) and what it printed."""

    wall: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str


def run_letrolab(args: list[str], *, env: dict[str, str] | None = None) -> CliRun:
    """Run ``python -m letrolab ARGS`` in a fresh process, as a user runs the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "letrolab", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return CliRun(wall, cpu, proc.returncode, proc.stdout, proc.stderr)


def cli_times(args: list[str], repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of ``repeat`` fresh ``letrolab ARGS`` processes
    (:func:`run_letrolab`); a failing command stops the benchmark."""
    out = []
    for _ in range(repeat):
        run = run_letrolab(args)
        if run.returncode != 0:
            raise SystemExit(f"letrolab {' '.join(args)} failed: {run.stderr[-500:]}")
        out.append((run.wall, run.cpu))
    return out
