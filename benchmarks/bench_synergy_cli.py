"""``letrolab synergy`` end to end against the library and against the `synergy` package (issue 17).

Part 1 — the CLI on 20,000 seeded 6×6 blocks (720,000 rows, tidy CSV), ``--model zip --out DIR
--figures 0`` (read the CSV, score, write the --out tables; no figures), against
``score_screen`` on the same file writing the same two tables, each in a fresh process, wall
time and peak resident memory (``/proc`` sampled every 0.1 s). Goal: CLI ≤ 1.5× the library.

Part 2 — ZIP per block through the CLI (``--model zip --json`` on N blocks, total wall time / N,
process start and import included) against the `synergy` package (djwooten; PyPI) scoring one
block per ``ZIP().fit`` call in-process. Goal: ≥ 1000×.

Part 3 — ``--model all`` on 4×4 blocks through the CLI as a screen (``--screen --out DIR
--tables parquet --figures 0``) from a tidy Parquet file; time and peak memory. The goal is
stated for 1,000,000 blocks (< 10 min, < 4 GB); ``LETROLAB_BENCH_ALL_BLOCKS`` sets the size run
here (default 1,000,000) and the time is extrapolated linearly when it is smaller (memory is
bounded by the chunk size, not the screen).

Run: ``python benchmarks/bench_synergy_cli.py`` with `synergy` importable (benchmarks/run.py
uses benchmarks/.env); sizes: ``LETROLAB_BENCH_CLI_BLOCKS``, ``LETROLAB_BENCH_PEER_BLOCKS``,
``LETROLAB_BENCH_ALL_BLOCKS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import tree_rss, write_section

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261206
CLI_BLOCKS = int(os.environ.get("LETROLAB_BENCH_CLI_BLOCKS", "20000"))
PEER_BLOCKS = int(os.environ.get("LETROLAB_BENCH_PEER_BLOCKS", "8"))
ALL_BLOCKS = int(os.environ.get("LETROLAB_BENCH_ALL_BLOCKS", "1000000"))
#: Which parts to run ("1,2,3"); part 3 alone writes its own section.
PARTS = os.environ.get("LETROLAB_BENCH_PARTS", "1,2,3").split(",")


def make_screen(n: int, size: int, seed: int = SEED) -> pd.DataFrame:
    """n seeded size×size blocks in the tidy layout (log-logistic single agents, Bliss-
    independent combination + N(0, 3) noise, % inhibition)."""
    rng = np.random.default_rng(seed)
    d = np.r_[0.0, 10 ** np.linspace(0, 2, size - 1)]
    e1, e2 = (10 ** rng.uniform(0, 2, (n, 1, 1)) for _ in range(2))
    h1, h2 = (rng.uniform(0.6, 2.5, (n, 1, 1)) for _ in range(2))
    with np.errstate(divide="ignore"):
        y1 = 100 / (1 + (e1 / d[None, :, None]) ** h1)
        y2 = 100 / (1 + (e2 / d[None, None, :]) ** h2)
    y = 100 - (100 - y1) * (100 - y2) / 100 + rng.normal(0, 3, (n, size, size))
    c1, c2 = np.meshgrid(d, d, indexing="ij")
    return pd.DataFrame(
        {
            "block_id": np.repeat(np.arange(n), size * size),
            "drug1": "A",
            "drug2": "B",
            "conc1": np.tile(c1.ravel(), n),
            "conc2": np.tile(c2.ravel(), n),
            "response": y.ravel(),
            "conc_unit": "nM",
        }
    )


def run_measured(args: list[str]) -> tuple[float, int, str]:
    """Run a command; (wall seconds, peak summed RSS bytes, stdout)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[:4]} failed: {err.read().decode()[-2000:]}")
        return wall, peak, out.read().decode()


LIB = """
import sys
from letrolab.synergy import score_screen
score_screen(sys.argv[1], models="zip", scores_out=sys.argv[2] + "/reference_scores.csv",
             blocks_out=sys.argv[2] + "/reference_blocks.csv", progress=False)
"""


def part1(tmp: Path) -> str:
    src = tmp / "screen6x6.csv"
    make_screen(CLI_BLOCKS, 6).to_csv(src, index=False)
    cli = [sys.executable, "-m", "letrolab", "synergy", str(src), "--model", "zip"]
    t_cli, m_cli, _ = run_measured([*cli, "--out", str(tmp / "cli_out"), "--figures", "0"])
    (tmp / "lib_out").mkdir()
    t_lib, m_lib, _ = run_measured([sys.executable, "-c", LIB, str(src), str(tmp / "lib_out")])
    t_txt, m_txt, _ = run_measured(cli)
    return (
        f"### CLI vs library: {CLI_BLOCKS:,} 6×6 blocks, `--model zip`\n\n"
        "| run | wall time | per block | peak memory |\n|---|---|---|---|\n"
        f"| `letrolab synergy --model zip --out DIR --figures 0` | {t_cli:.1f} s | "
        f"{1e3 * t_cli / CLI_BLOCKS:.2f} ms | {m_cli / 2**30:.2f} GiB |\n"
        f"| `letrolab synergy --model zip` (text) | {t_txt:.1f} s | "
        f"{1e3 * t_txt / CLI_BLOCKS:.2f} ms | {m_txt / 2**30:.2f} GiB |\n"
        f"| `score_screen(..., scores_out, blocks_out)` (own process) | {t_lib:.1f} s | "
        f"{1e3 * t_lib / CLI_BLOCKS:.2f} ms | {m_lib / 2**30:.2f} GiB |\n\n"
        f"CLI / library: **{t_cli / t_lib:.2f}×** (goal ≤ 1.5×). Both include interpreter start, "
        "imports, reading the CSV and writing the tables.\n"
    )


def peer_zip_per_block(df: pd.DataFrame, n: int) -> tuple[float, int]:
    import synergy.combination as sc

    failed = 0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, g in list(df.groupby("block_id", sort=False))[:n]:
            e = 1 - g["response"].to_numpy() / 100
            try:
                sc.ZIP().fit(g["conc1"].to_numpy(), g["conc2"].to_numpy(), e)
            except (RuntimeError, ValueError):
                failed += 1
    return (time.perf_counter() - t0) / n, failed


def part2(tmp: Path) -> str:
    import importlib.metadata as md

    try:
        version = md.version("synergy")
    except md.PackageNotFoundError:
        return (
            "### ZIP per block vs the `synergy` package\n\nNot run: `synergy` is not installed.\n"
        )
    df = make_screen(CLI_BLOCKS, 6, seed=SEED + 1)
    src = tmp / "zip6x6.csv"
    df.to_csv(src, index=False)
    cli = [sys.executable, "-m", "letrolab", "synergy", str(src), "--model", "zip"]
    t_json, _m, out = run_measured([*cli, "--json"])
    assert len(json.loads(out)["blocks"]) == CLI_BLOCKS
    t_txt, _m, _out = run_measured(cli)
    per_json, per_txt = t_json / CLI_BLOCKS, t_txt / CLI_BLOCKS
    per_peer, failed = peer_zip_per_block(df, PEER_BLOCKS)
    return (
        f"### ZIP per block: CLI vs `synergy` {version}\n\n"
        "| tool | blocks | per block | synergy / letrolab |\n|---|---|---|---|\n"
        f"| `letrolab synergy --model zip` (text report; end to end, one process) | "
        f"{CLI_BLOCKS:,} | {1e3 * per_txt:.3f} ms | **{per_peer / per_txt:,.0f}×** |\n"
        f"| `letrolab synergy --model zip --json` (per-cell JSON of every block) | "
        f"{CLI_BLOCKS:,} | {1e3 * per_json:.3f} ms | **{per_peer / per_json:,.0f}×** |\n"
        f"| `synergy.combination.ZIP().fit` (in-process, one block per call) | {PEER_BLOCKS} | "
        f"{1e3 * per_peer:.1f} ms | 1 |\n\n"
        f"Goal ≥ 1000×; synergy raised on {failed} of "
        f"{PEER_BLOCKS} blocks. The two ZIPs are not the same computation (synergy fits its own "
        "Hill models on 1 - y/100; letrolab follows SynergyFinder 3): this is throughput only.\n"
    )


def part3(tmp: Path) -> str:
    n = ALL_BLOCKS
    src = tmp / "screen4x4.parquet"
    make_screen(n, 4, seed=SEED + 2).to_parquet(src, index=False)
    t, peak, _ = run_measured(
        [
            sys.executable,
            "-m",
            "letrolab",
            "synergy",
            str(src),
            "--model",
            "all",
            "--screen",
            "--out",
            str(tmp / "all_out"),
            "--tables",
            "parquet",
            "--figures",
            "0",
        ]
    )
    extra = ""
    if n < 1_000_000:
        extra = (
            f" Run at {n:,} blocks (the machine is shared with other jobs); linear "
            f"extrapolation to 1,000,000 blocks: **{t * 1_000_000 / n / 60:.1f} min** (memory "
            "is bounded by the chunk size, so the peak should not grow with the screen)."
        )
    return (
        f"### `--model all` on 4×4 blocks through the CLI (`--screen`)\n\n"
        "| blocks | wall time | blocks / s | peak memory |\n|---|---|---|---|\n"
        f"| {n:,} | {t:.1f} s | {n / t:,.0f} | {peak / 2**30:.2f} GiB |\n\n"
        f"Goal: 1,000,000 blocks in < 10 min and < 4 GB.{extra}\n"
    )


def _command() -> str:
    env = " ".join(
        f"{k}={os.environ[k]}"
        for k in (
            "LETROLAB_BENCH_CLI_BLOCKS",
            "LETROLAB_BENCH_PEER_BLOCKS",
            "LETROLAB_BENCH_ALL_BLOCKS",
            "LETROLAB_BENCH_PARTS",
        )
        if k in os.environ
    )
    return (env + " " if env else "") + "python benchmarks/bench_synergy_cli.py"


def main() -> int:
    note = (
        "\nThe machine runs other jobs at the same time (2 cores shared); numbers are from "
        "one run each. `synergy` 1.0.0 installed from PyPI into a separate environment.\n"
    )
    with tempfile.TemporaryDirectory(prefix="letrolab-bench-cli-") as tmp:
        parts = []
        if "1" in PARTS:
            parts.append(part1(Path(tmp)))
        if "2" in PARTS:
            parts.append(part2(Path(tmp)))
        if PARTS == ["3"]:
            body = "## synergy CLI `--model all` screen (issue 17)\n\n" + part3(Path(tmp)) + note
            write_section("synergy_cli_all", body, command=_command())
            print(body)
            return 0
        if "3" in PARTS and ALL_BLOCKS:
            parts.append(part3(Path(tmp)))
    body = "## synergy CLI end to end (issue 17)\n\n" + "\n".join(parts) + note
    write_section("synergy_cli", body, command=_command())
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
