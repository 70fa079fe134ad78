"""`letrolab blot` on a 2000 x 1500 16-bit scan (issue 14's goal: under 2 s).

The image is rendered by :func:`letrolab.instruments.blot.render_blot` (seeded): 20 touching-ish
lanes (8 px apart) of 8 bands each, dark bands on a light background with a gradient and noise,
saved as a 16-bit TIFF. Timed three ways, best and median of several runs:

- ``analyse_blot`` in one process (the analysis alone, imports done);
- the command end to end, ``python -m letrolab blot IMAGE --json``, a fresh process each time
  (Python start-up, imports, reading the TIFF, the analysis, the JSON);
- the same with ``--out DIR`` (plus bands.csv, the figure of 20 lane profiles, blot.json);

and, for scale, ``python -m letrolab --version`` (the start-up and import floor of any command).
The band areas are compared with the rendered volumes, so the timing is of a correct result.

Peers: ImageJ's Gel Analyzer is interactive (lanes and baselines drawn by hand) and gelquant is
a notebook, not an installable package, so no peer runs here on the same image; the numbers
are absolute.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import cli_times, timed, write_section  # noqa: E402

from letrolab.assays.blot import analyse_blot, read_blot_image  # noqa: E402
from letrolab.instruments.blot import render_blot  # noqa: E402

GOAL_S = 2.0
REPEAT = 5


def make_image(path: Path) -> np.ndarray:
    vol = np.random.default_rng(20261206).uniform(2e6, 8e6, (20, 8))
    blot = render_blot(
        vol,
        height=1500,
        lane_width=90,
        gap=8,
        margin=21,
        band_sigma=8.0,
        noise=20.0,
        gradient=(800.0, 400.0),
        dark_bands=True,
        seed=20261206,
    )
    blot.save(path)
    return vol


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="letrolab-blot-") as tmp:
        img_path = Path(tmp) / "scan.tif"
        vol = make_image(img_path)
        img = read_blot_image(img_path)
        best, med, res = timed(lambda: analyse_blot(img), repeat=REPEAT)
        areas = res.bands.pivot(index="lane", columns="band", values="area").to_numpy()
        err = float(np.abs(areas / vol - 1.0).max()) if areas.shape == vol.shape else float("nan")
        proc = subprocess.run(
            [sys.executable, "-m", "letrolab", "blot", str(img_path), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        n_bands = len(json.loads(proc.stdout)["bands"])
        blot_json = cli_times(["blot", str(img_path), "--json"], REPEAT)
        blot_out = [
            t
            for k in range(3)
            for t in cli_times(["blot", str(img_path), "--out", str(Path(tmp) / f"o{k}")], 1)
        ]
        floor = cli_times(["--version"], REPEAT)
    cpu0 = time.process_time()
    analyse_blot(img)
    cpu_in = time.process_time() - cpu0

    def row(name, runs):
        wall = [w for w, _ in runs]
        cpu = statistics.median([c for _, c in runs])
        return f"| {name} | {min(wall):.2f} | {statistics.median(wall):.2f} | {cpu:.2f} |"

    cli_med = statistics.median([w for w, _ in blot_json])
    lines = [
        "## Western blot densitometry: a 2000 x 1500 16-bit scan",
        "",
        f"1,994 x 1,500 px, uint16, 20 lanes x 8 bands ({n_bands} band measurements), dark "
        "bands on a light background with a gradient and noise (`render_blot`, seeded); "
        "default analysis (lanes and their count found, bands per lane, `baseline`).",
        "",
        "| what | wall, best (s) | wall, median (s) | CPU, median (s) |",
        "|---|---:|---:|---:|",
        f"| `analyse_blot(image)` in process | {best:.2f} | {med:.2f} | {cpu_in:.2f} |",
        row("`letrolab blot scan.tif --json` (fresh process)", blot_json),
        row("`letrolab blot scan.tif --out DIR` (with the figure)", blot_out),
        row("`letrolab --version` (start-up only)", floor),
        "",
        f"Goal: under {GOAL_S:.0f} s for the image, judged on what a user runs: `letrolab "
        f"blot scan.tif --json` took {cli_med:.2f} s median ({min(w for w, _ in blot_json):.2f}"
        f" s best), {statistics.median([c for _, c in blot_json]):.2f} s of CPU: "
        f"{'met' if cli_med < GOAL_S else 'not met'}. Of that, the analysis is "
        f"{cpu_in:.2f} s of CPU; the rest is Python's start-up and imports (numpy, pandas, "
        "scipy.ndimage, typer; `letrolab --version` alone is the floor above). "
        "`scipy.signal` (1.2-1.9 s of CPU to import) is no longer imported: peaks come from "
        "`letrolab.peaks`. "
        f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end of the "
        "run (other jobs share the machine; the CPU column is not inflated by them). Largest "
        f"band-area error against the rendered volumes: {100 * err:.2f} %.",
        "",
        "No peer on the same image: ImageJ's Gel Analyzer is interactive and gelquant is not "
        "an installable package (see the script's docstring).",
    ]
    write_section("blot", "\n".join(lines), command="python benchmarks/run.py blot")
    print("\n".join(lines))
    return 0 if cli_med < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
