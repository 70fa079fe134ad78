"""Gen5 plate-reader text exports: letrolab's reader against synergy-file-reader 1.3.3.

Every BioTek Gen5 text file in ../shared/data/plates (allotropy test data and the
synergy-file-reader examples) is read by ``letrolab.assays.plates.read_plate`` and by
``synergy_file_reader.SynergyFile``, best of several runs in the same process. Where both read a
file, every value they share (same well, read label and, for kinetics, time point) is compared:
the table gives how many agree exactly, so the benchmark is also an outside check of the values.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import timed, write_section  # noqa: E402

from letrolab.assays.plates import detect_format, read_plate  # noqa: E402

REPEAT = 5
DATA = HERE.parent.parent / "shared" / "data" / "plates"


def peer_values(sf) -> dict[tuple, float]:
    """{(plate index, well, read, time index): value} from a SynergyFile."""
    out = {}
    for k, plate in enumerate(sf):
        for key in list(plate.keys()):  # a SynergyPlate is not a dict
            row, col, channel = key
            v = plate[key]
            arr = np.atleast_1d(np.asarray(v, dtype=float))
            for t, x in enumerate(arr):
                out[(k, f"{row}{col}", channel, t if arr.size > 1 else -1)] = float(x)
    return out


def our_values(df) -> dict[tuple, float]:
    out = {}
    plates = {p: k for k, p in enumerate(dict.fromkeys(df["plate"]))}
    for (plate, read), g in df.groupby(["plate", "read"], sort=False):
        times = sorted(g["time_s"].dropna().unique())
        tindex = {t: i for i, t in enumerate(times)}
        for w, t, v in zip(g["well"], g["time_s"], g["value"], strict=True):
            ti = tindex[t] if t == t else -1  # NaN time: endpoint
            out[(plates[plate], w, read, ti)] = float(v)
    return out


def main() -> int:
    try:
        from synergy_file_reader import SynergyFile
    except ImportError:
        print("synergy-file-reader is not installed (benchmarks/peers.txt)")
        return 1
    if not DATA.is_dir():
        print(f"no shared data at {DATA}")
        return 1
    files = sorted(p for p in DATA.glob("*/*.txt") if detect_format(p) == "gen5")
    rows = []
    tot_ours = tot_peer = 0.0
    for path in files:
        best, _, df = timed(lambda path=path: read_plate(path), REPEAT)
        n_ours = int(df["flag"].eq("ok").sum())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pbest, _, sf = timed(lambda path=path: SynergyFile(str(path)), REPEAT)
        except Exception as exc:  # the peer refuses the file
            rows.append(
                f"| {path.name} | {n_ours} | {1e3 * best:.1f} | fails: {type(exc).__name__}: "
                f"{str(exc)[:60]} | – | – |"
            )
            continue
        ours, theirs = our_values(df), peer_values(sf)
        common = [k for k in theirs if k in ours]
        agree = sum(
            1 for k in common if (np.isnan(ours[k]) and np.isnan(theirs[k])) or ours[k] == theirs[k]
        )
        tot_ours += best
        tot_peer += pbest
        rows.append(
            f"| {path.name} | {n_ours} | {1e3 * best:.1f} | {1e3 * pbest:.1f} | "
            f"{agree}/{len(common)} | {len(theirs)} |"
        )
        print(rows[-1], flush=True)
    body = "\n".join(
        [
            "## plates: Gen5 text exports, letrolab vs synergy-file-reader 1.3.3",
            "",
            f"Best of {REPEAT} reads per file. 'agree' counts the values both tools report for the same",
            "plate, well, read label and time point that are identical (NaN = NaN).",
            "",
            "| file | ok wells (letrolab) | letrolab ms | synergy-file-reader ms | agree | peer values |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Total over the files both read: letrolab {1e3 * tot_ours:.0f} ms, "
            f"synergy-file-reader {1e3 * tot_peer:.0f} ms.",
        ]
    )
    write_section("plates", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
