"""`letrolab reproduce`: wall time and peak memory of the quick and the full run.

The limits on this machine (issue 12, with the claims evaluated on the ensemble): full run
under 10 minutes, ``--quick`` under 90 s.
Each run is a separate ``letrolab reproduce`` process (cold start: imports, model compilation),
timed from outside; its peak resident memory comes from ``getrusage(RUSAGE_CHILDREN)``.
Per-experiment times are read back from the run's own ``results.duckdb``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section

LIMITS = {"quick": 90.0, "full": 600.0}  # issue 12: with the ensemble evaluation


def run(mode: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "letrolab", "reproduce", "--out", str(out)]
    if mode == "quick":
        cmd.append("--quick")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"reproduce {mode} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    from letrolab.store import read_table

    exps = read_table(out / "results.duckdb", "experiments")
    claims = json.loads((out / "claims.json").read_text())
    return {
        "wall_s": wall,
        "peak_mb": max(peak, before) / 1024.0,
        "experiments": dict(zip(exps["id"], exps["seconds"], strict=True)),
        "holds": sum(c["holds"] for c in claims),
        "claims": len(claims),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="letrolab-bench-") as tmp:
        res = {m: run(m, Path(tmp) / m) for m in ("quick", "full")}
    lines = [
        "## letrolab reproduce (the seed's experiments end to end)",
        "",
        "| run | wall time (s) | limit (s) | peak memory (MB) | claims holding |",
        "|---|---:|---:|---:|---:|",
    ]
    for m, r in res.items():
        lines.append(
            f"| `{'--quick' if m == 'quick' else 'full'}` | {r['wall_s']:.1f} | "
            f"{LIMITS[m]:.0f} | {r['peak_mb']:.0f} | {r['holds']} of {r['claims']} |"
        )
    lines += [
        "",
        "Seconds per experiment (inside the run):",
        "",
        "| experiment | quick | full |",
        "|---|---:|---:|",
    ]
    for exp in res["full"]["experiments"]:
        lines.append(
            f"| {exp} | {res['quick']['experiments'].get(exp, float('nan')):.1f} | "
            f"{res['full']['experiments'][exp]:.1f} |"
        )
    lines += [
        "",
        "Peak memory is the largest resident set of the two runs so far (getrusage "
        "over children), so the full run's figure bounds both.",
    ]
    write_section("reproduce", "\n".join(lines), command="python benchmarks/run.py reproduce")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
