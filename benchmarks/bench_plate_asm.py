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

Usage: ``python benchmarks/bench_plate_asm.py [--before SRC] [--baseline SRC]``; SRC is a
``src`` folder or a git revision of this repository (its ``src`` is exported to a temporary
folder), e.g. ``--before main --baseline 64840e4^`` (the last tree with the hand-written
readers).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import run_letrolab, timed, write_section  # noqa: E402

from letrolab.assays.plates import decode_text, detect_format, read_plate  # noqa: E402
from letrolab.assays.plates.asm import ALLOTROPY_PARSERS, parse  # noqa: E402

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


def _child_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def import_time(module: str) -> str:
    """``wall (CPU)`` medians (s) of importing allotropy's parser module in a fresh process."""
    walls, cpus = [], []
    for _ in range(3):
        c, t = _child_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-c", _IMPORT, module], check=True)
        walls.append(time.perf_counter() - t)
        cpus.append(_child_cpu() - c)
    return f"{statistics.median(walls):.2f} ({statistics.median(cpus):.2f})"


def source_tree(arg: str | None, tmp: Path) -> Path | None:
    """The ``src`` folder ``arg`` names: a folder, or a git revision exported into ``tmp``."""
    if arg is None or Path(arg).is_dir():
        return None if arg is None else Path(arg)
    out = tmp / arg.replace("/", "_").replace("^", "_parent")
    out.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", arg, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out / "src"


def describe(arg: str) -> str:
    """The commit a git revision names (``arg`` itself for a folder)."""
    if Path(arg).is_dir():
        return arg
    done = subprocess.run(
        ["git", "-C", str(HERE.parent), "log", "-1", "--format=%h (%cs)", arg],
        capture_output=True,
        text=True,
        check=True,
    )
    return "commit " + done.stdout.strip()


def baseline_times(src: Path, files: list[Path]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-c", _BASELINE, str(REPEAT), *map(str, files)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def cli_time(src: Path, path: Path) -> str:
    """``wall (CPU)``: medians of 3 fresh ``letrolab plate FILE --json`` processes, s
    (:func:`run_letrolab`)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    runs = []
    for _ in range(3):
        run = run_letrolab(["plate", str(path), "--json"], env=env)
        if run.returncode:
            return "exit " + str(run.returncode)
        runs.append(run)
    wall = statistics.median(r.wall for r in runs)
    return f"{wall:.2f} ({statistics.median(r.cpu for r in runs):.2f})"


def read_times(path: Path) -> tuple[float, float, object]:
    """Best wall and best CPU (this process's) time of ``REPEAT`` reads, s, and the wells."""
    walls, cpus, df = [], [], None
    for _ in range(REPEAT):
        gc.collect()
        c, t = time.process_time(), time.perf_counter()
        df = read_plate(path)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), df


def _ms(x: float | str) -> str:
    return x.replace("|", "/") if isinstance(x, str) else f"{1e3 * x:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="src folder or git revision: an earlier allotropy tree")
    ap.add_argument("--baseline", help="src folder or git revision: the hand-written readers")
    args = ap.parse_args()
    args.trees = ", ".join(
        f"`--{name} {rev}` = {describe(rev)}"
        for name, rev in (("before", args.before), ("baseline", args.baseline))
        if rev is not None
    )
    with tempfile.TemporaryDirectory() as tmp:
        args.before = source_tree(args.before, Path(tmp))
        args.baseline = source_tree(args.baseline, Path(tmp))
        return run(args)


def run(args: argparse.Namespace) -> int:
    """Time the reads and write the section."""
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
            ours, ours_cpu, df = read_times(path)
            data = path.read_bytes()
            if not data.startswith(b"PK"):  # text: given to allotropy as UTF-8, as read_plate does
                data = decode_text(data, path.name).encode("utf-8")
            alone, _, _ = timed(lambda d=data, f=fmt, n=path.name: parse(d, fmt=f, source=n))
            model, _, _ = timed(lambda p=path, v=vendor: allotrope_model_from_file(str(p), v))
            asm, _, _ = timed(lambda p=path, v=vendor: allotrope_from_file(str(p), v))
        cli = [cli_time(src, path) if src else "–" for src in (SRC, args.before, args.baseline)]
        raw = df[df["kind"] == "raw"]
        ms = [_ms(t.get(str(path), "–")) if t else "–" for t in (before, base)]
        rows.append(
            f"| {path.name} ({fmt}) | {len(raw)} | {1e3 * ours:.0f} ({1e3 * ours_cpu:.0f}) | "
            f"{1e3 * alone:.0f} | "
            f"{ms[0]} | "
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
            "tree, as wall (CPU); `of which parse` is allotropy's parse in it (the vendor parser's "
            "`create_data`), the rest being allotropy's ASM mapper and letrolab's mapping into "
            "wells; `before` the same of the tree given with `--before` (allotropy's "
            "`to_allotrope` + its whole ASM, as before the read was split into parse and "
            "mapping); `allotropy model` is allotropy's parse alone "
            "(`allotrope_model_from_file`); `allotropy ASM` adds serialisation and schema "
            "validation (allotropy's public `allotrope_from_file`); `previous` is the "
            "hand-written reader of the `--baseline` tree. CLI columns: "
            "`python -m letrolab plate FILE --json` in a fresh process, median of 3, s, as "
            "wall (CPU: the process's user + system time, which other jobs on the machine do "
            "not inflate) (includes Python start-up, pandas and, for the allotropy trees, allotropy's "
            "import); `allotropy import` is the import of the vendor's allotropy parser module "
            "alone in a fresh process (median of 3, s, wall (CPU)), which every CLI read pays.",
            "",
            f"Trees: {args.trees or 'this one only'}.",
            "",
            f"Load average (1 min) {load_before:.1f} at the start and {load_after:.1f} at the "
            f"end, on {os.cpu_count()} cores: the machine was shared, so the times are upper "
            "bounds.",
            "",
            "| file | raw wells | letrolab ms | of which parse ms | before ms | "
            "allotropy model ms | allotropy ASM ms | previous letrolab ms | CLI s | "
            "before CLI s | previous CLI s | allotropy import s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Where the time goes (cProfile and `python -X importtime`, allotropy 0.1.150):",
            "",
            "* CLI: importing allotropy is most of a command-line read, and it is allotropy's "
            "own module-level work: `allotropy.allotrope.models.shared.definitions."
            "quantity_values` defines several hundred dataclasses, and "
            "`allotropy.parsers.utils.timestamp_parser` builds a table of every time zone in "
            "dateutil's database when imported. Python start-up with pandas and numpy is most "
            "of the rest. No public allotropy call avoids these imports, so a command-line read "
            "stays above 0.5 s; the library read (in-process columns) is what meets it.",
            "* allotropy's ASM mapper builds every `custom information document` as a new "
            "dataclass type (`dataclasses.make_dataclass` in `allotropy.allotrope.converter."
            "structure_custom_information_document`, two to three per well for EnVision and "
            "Kaleido), and converts the same measurement time with dateutil once per well. "
            "letrolab maps its wells from a document built without those documents, with the "
            "time conversion memoised; `--asm` still gets the whole document from the same "
            "parse.",
            "* allotropy's EnVision parser calls `gc.collect()` once per filter and label block "
            "(`allotropy.parsers.utils.warnings_tools.suppress_unused_keys_warning`); a full "
            "collection's cost grows with every object the process holds (pandas, allotropy's "
            "models, the caller's data). letrolab freezes the older objects during the parse "
            "(`gc.freeze`), so those collections only scan the parse's own.",
            "* Magellan's parse is openpyxl reading the workbook and allotropy's reader "
            "applying a pandas function to each well's row; that stays as it is.",
        ]
    )
    write_section("plate_asm", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
