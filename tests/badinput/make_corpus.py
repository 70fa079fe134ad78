"""Write the bad-input corpus of tests/badinput (run from this folder; the files are committed).

Every file is a small variant of the bundled example (src/letrolab/data/examples), broken in
one way that issue 16 found to give a silently wrong number, a traceback or several stderr
lines. ``python make_corpus.py`` rewrites them identically.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "src" / "letrolab" / "data" / "examples" / "letrozole_nvp_aew541.csv"


def _png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (grey, 8 bit) with a tiny, short body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    ex = pd.read_csv(EXAMPLE)
    single_r = (ex["conc_r"] > 0) & (ex["conc_c"] == 0)

    def save(name: str, df: pd.DataFrame, **kw) -> None:
        df.to_csv(HERE / name, index=False, **kw)

    df = ex.copy()
    df.loc[df.index[4], "conc_r"] = float("inf")
    save("inf_concentration.csv", df)
    df = ex.copy()
    df.loc[df.index[4], "conc_r"] = 1e308
    save("dose_1e308.csv", df)
    df = ex.copy()
    df.insert(6, "response_again", df["response"])
    save("duplicate_columns.csv", df.rename(columns={"response_again": "response"}))
    df = ex.copy()
    df.insert(6, "Response", df["response"])
    save("duplicate_columns_case.csv", df)
    df = ex.copy()
    df["response"] = df["response"] / 100
    save("fractions.csv", df)
    df = ex.copy()
    df.loc[df.index[:5], "block_id"] = ""
    save("empty_block_id.csv", df)
    df = ex.drop(columns=["conc_r_unit", "conc_c_unit"]).assign(dose_units="nM")
    save("unknown_unit_column.csv", df)
    df = ex.copy()
    df.loc[single_r, "conc_r_unit"] = "furlongs"
    save("unknown_unit.csv", df)
    df = ex.copy()
    df["response"] = df["response"] * 1000 + 5e4
    save("raw_reads.csv", df)
    (HERE / "layout_inf.csv").write_text(
        "well,role,drug1,conc1,drug2,conc2,unit\nA1,vehicle,,,,,\nA2,treated,letrozole,inf,,,nM\n"
    )
    (HERE / "bomb.png").write_bytes(_png(10_000, 10_000))
    from letrolab.instruments.plates import write_plate

    wells = pd.DataFrame({"well": [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)]})
    write_plate(HERE / "plate_96.csv", wells.assign(value=1.0))


if __name__ == "__main__":
    main()
