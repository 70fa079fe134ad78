"""Writes the small plate maps in this folder (run from the project root; seeded, no randomness).

combo_6x6.layout.csv
    One 96-well map used for every plate of a read (no plate column): blanks (medium only) in
    column 1, vehicle wells in row A, row H, column 12 (the plate edge) and B8:G11 (interior),
    and a 6 x 6 letrozole x NVP-AEW541 dose matrix in B2:G7 (nM).
envision_a450.layout.csv
    A map for the real EnVision export PE_Envision_absorbance_A450_example.csv (Benchling
    allotropy test data, MIT): plates given by position (1, 2); blanks A1:A3, vehicle A4:A6,
    treated B4 (letrozole 10 nM) and B5 (NVP-AEW541 100 nM).
"""

from pathlib import Path

import pandas as pd

LETROZOLE = [0, 1, 3, 10, 30, 100]
NVP = [0, 10, 30, 100, 300, 1000]


def combo_layout() -> pd.DataFrame:
    rows = []
    for r in "ABCDEFGH":
        for c in range(1, 13):
            well = f"{r}{c}"
            if c == 1:
                rows.append({"well": well, "role": "blank"})
            elif r in "AH" or c == 12 or (r in "BCDEFG" and 8 <= c <= 11):
                rows.append({"well": well, "role": "vehicle"})
            else:
                i, j = "BCDEFG".index(r), c - 2
                rows.append(
                    {
                        "well": well,
                        "role": "treated",
                        "drug1": "letrozole",
                        "conc1": LETROZOLE[j],
                        "drug2": "NVP-AEW541",
                        "conc2": NVP[i],
                        "unit": "nM",
                    }
                )
    return pd.DataFrame(rows)


def envision_layout() -> pd.DataFrame:
    rows = []
    for plate in ("1", "2"):
        rows += [{"plate": plate, "well": w, "role": "blank"} for w in ("A1", "A2", "A3")]
        rows += [{"plate": plate, "well": w, "role": "vehicle"} for w in ("A4", "A5", "A6")]
        rows.append(
            {
                "plate": plate,
                "well": "B4",
                "role": "treated",
                "drug1": "letrozole",
                "conc1": 10,
                "drug2": "",
                "conc2": 0,
                "unit": "nM",
            }
        )
        rows.append(
            {
                "plate": plate,
                "well": "B5",
                "role": "treated",
                "drug1": "",
                "conc1": 0,
                "drug2": "NVP-AEW541",
                "conc2": 100,
                "unit": "nM",
            }
        )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    from letrolab.instruments.plates import write_layout

    here = Path(__file__).parent
    write_layout(here / "combo_6x6.layout.csv", combo_layout())
    write_layout(here / "envision_a450.layout.csv", envision_layout(), read="absorbance")
