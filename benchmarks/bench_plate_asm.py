"""Reading 384-well endpoint exports: letrolab (allotropy underneath) against the readers it
replaced and against allotropy's raw ASM conversion.

For each 384-well endpoint file in ../shared/data/plates, best of several runs in one process:

* ``letrolab``: ``read_plate`` (allotropy parse + ASM -> wells mapping), this tree;
* ``allotropy model``: ``allotrope_model_from_file`` (parse only, no serialisation);
* ``allotropy ASM``: ``allotrope_from_file`` (parse + serialise + schema validation, what a
  LIMS gets from allotropy's public API);
* ``previous letrolab``: ``read_plate`` of the tree given with ``--baseline SRC`` (the hand
  written vendor readers this change replaced), timed in a subprocess.

And end to end through the CLI (``python -m letrolab plate FILE --json``, a fresh process each
time, so allotropy's import is included), median of 3, for this tree and the baseline.

Usage: ``python benchmarks/bench_plate_asm.py [--baseline /path/to/previous/src]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import timed, write_section  # noqa: E402

from letrolab.assays.plates import detect_format, read_plate  # noqa: E402
from letrolab.assays.plates.asm import ALLOTROPY_PARSERS  # noqa: E402

REPEAT = 5
DATA = HERE.parent.parent / "shared" / "data" / "plates"
FILES = [
    "bmg_mars/16-03-03 16-54-03 472 ABS 384 QC.csv",
    "allotropy_expected/revvity_kaleido/fluorescence_endpoint_single_plate_example_01.csv",
    "tecan_magellan/SLA01P01_ELISA.xlsx",
    "perkinelmer_envision/PE_Envision_absorbance_example01.csv",
]
SRC = HERE.parent / "src"

_BASELINE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
from letrolab.assays.plates import read_plate
out = {}
for f in sys.argv[2:]:
    best = float("inf")
    try:
        for _ in range(int(sys.argv[1])):
            t = time.perf_counter(); read_plate(f); best = min(best, time.perf_counter() - t)
        out[f] = best
    except Exception as exc:  # the previous reader refused the file
        out[f] = type(exc).__name__ + ": " + str(exc)[:70]
print(json.dumps(out))
"""


def baseline_times(src: Path, files: list[Path]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-c", _BASELINE, str(REPEAT), *map(str, files)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def cli_time(src: Path, path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    times = []
    for _ in range(3):
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "letrolab", "plate", str(path), "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - t)
        if done.returncode:
            return "exit " + str(done.returncode)
    return f"{statistics.median(times):.2f}"


def _ms(x) -> str:
    return x.replace("|", "/") if isinstance(x, str) else f"{1e3 * x:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path, help="src folder of the previous letrolab")
    args = ap.parse_args()
    from allotropy.to_allotrope import allotrope_from_file, allotrope_model_from_file

    paths = [DATA / f for f in FILES]
    base = baseline_times(args.baseline, paths) if args.baseline else {}
    rows = []
    for path in paths:
        fmt = detect_format(path)
        vendor = ALLOTROPY_PARSERS[fmt][0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, _, df = timed(lambda p=path: read_plate(p), REPEAT)
            model, _, _ = timed(lambda p=path, v=vendor: allotrope_model_from_file(str(p), v))
            asm, _, _ = timed(lambda p=path, v=vendor: allotrope_from_file(str(p), v))
        old = base.get(str(path))
        cli_new = cli_time(SRC, path)
        cli_old = cli_time(args.baseline, path) if args.baseline else "–"
        raw = df[df["kind"] == "raw"]
        rows.append(
            f"| {path.name} ({fmt}) | {len(raw)} | {1e3 * ours:.0f} | {1e3 * model:.0f} | "
            f"{1e3 * asm:.0f} | {'–' if old is None else _ms(old)} | {cli_new} | {cli_old} |"
        )
        print(rows[-1], flush=True)
    body = "\n".join(
        [
            "## plate_asm: 384-well endpoint exports, letrolab (allotropy) vs allotropy and the "
            "previous readers",
            "",
            f"In-process columns: best of {REPEAT} reads, ms. `allotropy model` is the parse "
            "alone; `allotropy ASM` adds serialisation and schema validation (allotropy's "
            "public `allotrope_from_file`); `previous` is the hand-written reader of the "
            "baseline tree. CLI columns: `python -m letrolab plate FILE --json` in a fresh "
            "process, median of 3, s (includes Python start-up, pandas and, for this tree, "
            "allotropy's import).",
            "",
            "| file | raw wells | letrolab ms | allotropy model ms | allotropy ASM ms | "
            "previous letrolab ms | CLI s | previous CLI s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    write_section("plate_asm", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
