"""Reading 384-well endpoint exports: letrolab (allotropy underneath) against the readers it
replaced and against allotropy's raw ASM conversion.

For each 384-well endpoint file in ../shared/data/plates, best of several runs in one process:

* ``letrolab``: ``read_plate`` (allotropy parse + ASM -> wells mapping), this tree;
* ``allotropy model``: ``allotrope_model_from_file`` (parse only, no serialisation);
* ``allotropy ASM``: ``allotrope_from_file`` (parse + serialise + schema validation, what a
  LIMS gets from allotropy's public API);
* ``before``: ``read_plate`` of the tree given with ``--before SRC`` (an earlier allotropy-based
  letrolab, e.g. main before a change), timed in a subprocess;
* ``previous letrolab``: ``read_plate`` of the tree given with ``--baseline SRC`` (the hand
  written vendor readers allotropy replaced), timed in a subprocess.

And end to end through the CLI (``python -m letrolab plate FILE --json``, a fresh process each
time, so allotropy's import is included), median of 3, for this tree and the other trees; with
the import of the vendor's allotropy parser module alone in a fresh process (median of 3),
which every CLI read of that vendor pays.

The load average (1 min) is recorded before and after: on a shared machine the times are upper
bounds.

Usage: ``python benchmarks/bench_plate_asm.py [--before SRC] [--baseline SRC]``
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


_IMPORT = """
import importlib, warnings
warnings.simplefilter("ignore")
importlib.import_module("allotropy.parsers." + __import__("sys").argv[1])
"""


def import_time(module: str) -> str:
    """Median wall time (s) of importing allotropy's parser module in a fresh process."""
    times = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", _IMPORT, module], check=True)
        times.append(time.perf_counter() - t)
    return f"{statistics.median(times):.2f}"


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


def _ms(x: float | str) -> str:
    return x.replace("|", "/") if isinstance(x, str) else f"{1e3 * x:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, help="src folder of an earlier allotropy letrolab")
    ap.add_argument("--baseline", type=Path, help="src folder of the previous letrolab")
    args = ap.parse_args()
    from allotropy.to_allotrope import allotrope_from_file, allotrope_model_from_file

    load_before = os.getloadavg()[0]
    paths = [DATA / f for f in FILES]
    before = baseline_times(args.before, paths) if args.before else {}
    base = baseline_times(args.baseline, paths) if args.baseline else {}
    rows = []
    for path in paths:
        fmt = detect_format(path)
        vendor, module, _ = ALLOTROPY_PARSERS[fmt]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, _, df = timed(lambda p=path: read_plate(p), REPEAT)
            model, _, _ = timed(lambda p=path, v=vendor: allotrope_model_from_file(str(p), v))
            asm, _, _ = timed(lambda p=path, v=vendor: allotrope_from_file(str(p), v))
        cli = [cli_time(src, path) if src else "–" for src in (SRC, args.before, args.baseline)]
        raw = df[df["kind"] == "raw"]
        ms = [_ms(t.get(str(path), "–")) if t else "–" for t in (before, base)]
        rows.append(
            f"| {path.name} ({fmt}) | {len(raw)} | {1e3 * ours:.0f} | {ms[0]} | "
            f"{1e3 * model:.0f} | {1e3 * asm:.0f} | {ms[1]} | {cli[0]} | {cli[1]} | {cli[2]} | "
            f"{import_time(module)} |"
        )
        print(rows[-1], flush=True)
    load_after = os.getloadavg()[0]
    body = "\n".join(
        [
            "## plate_asm: 384-well endpoint exports, letrolab (allotropy) vs allotropy and the "
            "previous readers",
            "",
            f"In-process columns: best of {REPEAT} reads, ms. `letrolab` is `read_plate` of this "
            "tree; `before` the same of the tree given with `--before` (allotropy's "
            "`to_allotrope` + its whole ASM, as before the read was split into parse and "
            "mapping); `allotropy model` is allotropy's parse alone "
            "(`allotrope_model_from_file`); `allotropy ASM` adds serialisation and schema "
            "validation (allotropy's public `allotrope_from_file`); `previous` is the "
            "hand-written reader of the `--baseline` tree. CLI columns: "
            "`python -m letrolab plate FILE --json` in a fresh process, median of 3, s "
            "(includes Python start-up, pandas and, for the allotropy trees, allotropy's "
            "import); `allotropy import` is the import of the vendor's allotropy parser module "
            "alone in a fresh process (median of 3, s), which every CLI read pays.",
            "",
            f"Load average (1 min) {load_before:.1f} at the start and {load_after:.1f} at the "
            f"end, on {os.cpu_count()} cores: the machine was shared, so the times are upper "
            "bounds.",
            "",
            "| file | raw wells | letrolab ms | before ms | allotropy model ms | "
            "allotropy ASM ms | previous letrolab ms | CLI s | before CLI s | previous CLI s | "
            "allotropy import s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    write_section("plate_asm", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
