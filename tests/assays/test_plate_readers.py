"""Every real plate-reader export in ../shared/data/plates parses with the right wells and values.

Expected numbers were read by eye from the raw files (a text editor for the text exports,
openpyxl cell dumps for the Excel ones); MANIFEST.tsv and provenance.tsv name their sources.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from letrolab.assays.plates import WELL_COLUMNS, detect_format, read_plate

pytestmark = pytest.mark.shared_data

G5 = "biotek_gen5/"
SFR = "synergy_file_reader_sdist/"

# file, format, raw rows, plates, raw reads, {flag: count} (raw reads)
COUNTS = [
    (
        G5 + "240411_172731_BNCH2345883_abs450_96well_non_numeric_values.txt",
        "gen5",
        96,
        1,
        1,
        {"ok": 83, "saturated": 8, "non_numeric": 5},
    ),
    (G5 + "endpoint_pathlength_correct_singleplate.txt", "gen5", 480, 1, 5, {"ok": 480}),
    (G5 + "endpoint_singleplate.txt", "gen5", 96, 1, 1, {"ok": 96}),
    (G5 + "endpoint_stdcurve_multiplate.txt", "gen5", 288, 3, 1, {"ok": 288}),
    (G5 + "endpoint_stdcurve_singleplate.txt", "gen5", 96, 1, 1, {"ok": 96}),
    (G5 + "endpoint_wavelength_measurement_labels.txt", "gen5", 192, 1, 2, {"ok": 192}),
    (G5 + "multiple_read_modes.txt", "gen5", 288, 1, 3, {"ok": 288}),
    (
        "bmg_mars/16-03-03 16-54-03 472 ABS 384 QC.csv",
        "mars",
        384,
        1,
        1,
        {"ok": 99, "missing": 285},
    ),
    ("bmg_mars/BMG Labtech format.CSV", "mars", 96, 1, 1, {"ok": 96}),
    ("bmg_mars/PHERAstar output file.CSV", "mars", 96, 1, 1, {"ok": 96}),
    (
        "bmg_smart_control/fluorescence_endpoint_example2.xlsx",
        "smart_control",
        96,
        1,
        1,
        {"ok": 96},
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_example01.txt",
        "softmax",
        192,
        2,
        1,
        {"ok": 192},
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_partial_plate_example01.txt",
        "softmax",
        288,
        1,
        3,
        {"ok": 240, "missing": 48},
    ),
    (
        "moldev_softmax_pro/abs_endpoint_plates.txt",
        "softmax",
        288,
        1,
        3,
        {"ok": 287, "non_numeric": 1},  # allotropy reads the decimal commas "0,02" as 0.02
    ),
    (
        "perkinelmer_envision/PE_Envision_absorbance_A450_example.csv",
        "envision",
        192,
        2,
        1,
        {"ok": 192},
    ),
    (
        "perkinelmer_envision/PE_Envision_absorbance_example01.csv",
        "envision",
        768,
        2,
        1,
        {"ok": 768},
    ),
    (
        "perkinelmer_envision/PE_Envision_extra_espaces.csv",
        "envision",
        192,
        1,
        2,
        {"ok": 96, "missing": 96},
    ),
    (
        "revvity_kaleido/absorbance_endpoint_single_plate_example_01.csv",
        "kaleido",
        96,
        1,
        1,
        {"ok": 96},
    ),
    ("tecan_magellan/SLA01P01_ELISA.xlsx", "magellan", 768, 1, 2, {"ok": 768}),
    ("tecan_magellan/SLA01P01_OD.xlsx", "magellan", 96, 1, 1, {"ok": 96}),
    ("tecan_magellan/SLA01P01_assay.xlsx", "magellan", 768, 1, 2, {"ok": 768}),
    ("thermo_skanit/luciferase_assay_example.xlsx", "skanit", 96, 1, 1, {"ok": 96}),
    (SFR + "column.txt", "gen5", 288, 1, 3, {"ok": 288}),
    (SFR + "multiple_with_gain.txt", "gen5", 384, 2, 3, {"ok": 192, "missing": 192}),
    (SFR + "single_measurement_matrix.txt", "gen5", 288, 1, 3, {"ok": 288}),
    (SFR + "spectrum.txt", "gen5", 2496, 1, 2, {"ok": 2304, "saturated": 192}),
]

# file, plate (None = the only one), read, well, expected value (or flag name), wavelength
SPOT = [
    (
        G5 + "240411_172731_BNCH2345883_abs450_96well_non_numeric_values.txt",
        None,
        "absorbance 450",
        "A1",
        2.100,
        450,
    ),
    (
        G5 + "240411_172731_BNCH2345883_abs450_96well_non_numeric_values.txt",
        None,
        "absorbance 450",
        "A8",
        "saturated",
        450,
    ),
    (
        G5 + "240411_172731_BNCH2345883_abs450_96well_non_numeric_values.txt",
        None,
        "absorbance 450",
        "D12",
        "non_numeric",
        450,
    ),
    (
        G5 + "240411_172731_BNCH2345883_abs450_96well_non_numeric_values.txt",
        None,
        "absorbance 450",
        "H12",
        2.500,
        450,
    ),
    (G5 + "endpoint_pathlength_correct_singleplate.txt", None, "absorbance 977", "A1", 0.056, 977),
    (G5 + "endpoint_pathlength_correct_singleplate.txt", None, "absorbance 260", "A1", 0.626, 260),
    (
        G5 + "endpoint_pathlength_correct_singleplate.txt",
        None,
        "calc: Ratio 260/280",
        "A1",
        1.901,
        math.nan,
    ),
    (G5 + "endpoint_singleplate.txt", None, "luminescence", "A1", 8718, math.nan),
    (G5 + "endpoint_singleplate.txt", None, "calc: NormLum", "A1", 99.846, math.nan),
    (G5 + "endpoint_singleplate.txt", None, "luminescence", "A12", 210, math.nan),
    (G5 + "endpoint_stdcurve_multiplate.txt", "Plate 1", "630nmAbsRead:630", "A1", 3.481, 630),
    (G5 + "endpoint_stdcurve_multiplate.txt", "Plate 2", "630nmAbsRead:630", "H4", 0.304, 630),
    (
        G5 + "endpoint_stdcurve_multiplate.txt",
        "Plate 2",
        "[Concentration]",
        "H4",
        175.862,
        math.nan,
    ),
    (G5 + "endpoint_wavelength_measurement_labels.txt", None, "absorbance 280", "A1", 1.8012, 280),
    (G5 + "endpoint_wavelength_measurement_labels.txt", None, "absorbance 325", "A1", 0.9066, 325),
    # row B lists 325 before 280: the per-line label, not the line order, decides
    (G5 + "endpoint_wavelength_measurement_labels.txt", None, "absorbance 325", "B1", 1.6629, 325),
    (G5 + "endpoint_wavelength_measurement_labels.txt", None, "absorbance 280", "B1", 1.0033, 280),
    (G5 + "multiple_read_modes.txt", None, "absorbance 600", "B1", 0.124, 600),
    (G5 + "multiple_read_modes.txt", None, "fluorescence 579/616", "A1", 75, 616),
    (G5 + "multiple_read_modes.txt", None, "fluorescence 479/520", "H10", 852, 520),
    ("bmg_mars/16-03-03 16-54-03 472 ABS 384 QC.csv", None, "absorbance 484", "C1", 2.368, 484),
    ("bmg_mars/16-03-03 16-54-03 472 ABS 384 QC.csv", None, "absorbance 484", "P24", 0.032, 484),
    ("bmg_mars/16-03-03 16-54-03 472 ABS 384 QC.csv", None, "absorbance 484", "J5", "missing", 484),
    ("bmg_mars/BMG Labtech format.CSV", None, "absorbance", "H12", 0.207, math.nan),
    ("bmg_mars/PHERAstar output file.CSV", None, "absorbance 450", "A1", 1.691, 450),
    (
        "bmg_smart_control/fluorescence_endpoint_example2.xlsx",
        None,
        "fluorescence 480/520",
        "A1",
        8168026,
        520,
    ),
    (
        "bmg_smart_control/fluorescence_endpoint_example2.xlsx",
        None,
        "fluorescence 480/520",
        "H3",
        15110,
        520,
    ),
    (
        "bmg_smart_control/fluorescence_endpoint_example2.xlsx",
        None,
        "calc: Blank corrected based on Raw Data (480-14/520-30)",
        "H1",
        -80,
        math.nan,  # calculated reads carry no wavelength of their own
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_example01.txt",
        "Plate01",
        "absorbance 450",
        "A1",
        3.41797666666667,
        450,
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_example01.txt",
        "Plate02",
        "absorbance 450",
        "A1",
        3.43082333333333,
        450,
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_example01.txt",
        "Plate01",
        "absorbance 450",
        "H1",
        7.66666666666667e-05,
        450,
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_partial_plate_example01.txt",
        None,
        "absorbance 260",
        "A2",
        3.084,
        260,
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_partial_plate_example01.txt",
        None,
        "absorbance 280",
        "A2",
        1.616,
        280,
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_partial_plate_example01.txt",
        None,
        "absorbance 340",
        "A2",
        0.663,
        340,
    ),
    (
        "moldev_softmax_pro/MD_SMP_absorbance_endpoint_partial_plate_example01.txt",
        None,
        "absorbance 260",
        "A1",
        "missing",
        260,
    ),
    ("moldev_softmax_pro/abs_endpoint_plates.txt", None, "absorbance 426 #1", "A1", 0.01, 426),
    (
        "moldev_softmax_pro/abs_endpoint_plates.txt",
        None,
        "absorbance 426 #1",
        "A2",
        0.02,  # written "0,02": allotropy reads the decimal comma
        426,
    ),
    (
        "moldev_softmax_pro/abs_endpoint_plates.txt",
        None,
        "absorbance 426 #1",
        "B1",
        "non_numeric",
        426,
    ),
    ("moldev_softmax_pro/abs_endpoint_plates.txt", None, "absorbance 426 #2", "A1", 0.02, 426),
    ("moldev_softmax_pro/abs_endpoint_plates.txt", None, "absorbance 426 #3", "A1", 0.03, 426),
    (
        "perkinelmer_envision/PE_Envision_absorbance_A450_example.csv",
        "Plate 1",
        "absorbance",
        "A1",
        0.15,
        math.nan,  # allotropy's EnVision ASM gives no absorbance wavelength
    ),
    (
        "perkinelmer_envision/PE_Envision_absorbance_A450_example.csv",
        "Plate 2",
        "absorbance",
        "H12",
        0.13,
        math.nan,
    ),
    (
        "perkinelmer_envision/PE_Envision_absorbance_example01.csv",
        "8/22/2023 10:50:28 AM",  # the plate's barcode field, allotropy's plate identifier
        "absorbance",
        "A1",
        2.63,
        math.nan,
    ),
    (
        "perkinelmer_envision/PE_Envision_absorbance_example01.csv",
        "8/22/2023 10:50:28 AM",  # the plate's barcode field, allotropy's plate identifier
        "absorbance",
        "P24",
        2.639,
        math.nan,
    ),
    (
        "revvity_kaleido/absorbance_endpoint_single_plate_example_01.csv",
        None,
        "absorbance 450",
        "A1",
        2.2075694995298862,
        450,
    ),
    (
        "revvity_kaleido/absorbance_endpoint_single_plate_example_01.csv",
        None,
        "absorbance 450",
        "H1",
        0.0422600902144679,
        450,
    ),
    ("tecan_magellan/SLA01P01_ELISA.xlsx", None, "absorbance 485", "A1", 0.0557, 485),
    ("tecan_magellan/SLA01P01_ELISA.xlsx", None, "absorbance 560", "A1", 0.0509, 560),
    ("tecan_magellan/SLA01P01_ELISA.xlsx", None, "absorbance 485", "P24", 0.0356, 485),
    ("tecan_magellan/SLA01P01_OD.xlsx", "96WEL008", "absorbance 595", "B1", 0.2118, 595),
    ("tecan_magellan/SLA01P01_assay.xlsx", None, "absorbance 700", "A1", 0.3741, 700),
    (
        "thermo_skanit/luciferase_assay_example.xlsx",
        "Plate 1",
        "luminescence",
        "B7",
        398100,
        math.nan,
    ),
    (
        "thermo_skanit/luciferase_assay_example.xlsx",
        "Plate 1",
        "luminescence",
        "H12",
        1043,
        math.nan,
    ),
    (SFR + "single_measurement_matrix.txt", None, "Fluo:485,528", "A1", 104, 528),
    (SFR + "multiple_with_gain.txt", "Plate 1", "CFP:360/40,460/40", "A1", 45582, 460),
    (SFR + "multiple_with_gain.txt", "Plate 1", "YFP:485,530", "A7", "missing", 530),
]


@pytest.fixture(scope="module")
def plates(shared_data):
    return shared_data / "plates"


@pytest.mark.parametrize(
    ("name", "fmt", "n", "n_plates", "n_reads", "flags"),
    COUNTS,
    ids=[c[0].split("/")[-1] for c in COUNTS],
)
def test_counts_and_flags(plates, name, fmt, n, n_plates, n_reads, flags):
    path = plates / name
    assert detect_format(path) == fmt
    full = read_plate(path)
    assert list(full.columns) == list(WELL_COLUMNS)
    assert set(full["kind"]) <= {"raw", "calculated"}
    df = full[full["kind"] == "raw"]  # calculated reads: tests/assays/test_plate_asm.py
    assert len(df) == n
    assert df["plate"].nunique() == n_plates
    assert df["read"].nunique() == n_reads
    assert df["flag"].value_counts().to_dict() == flags
    # only ok wells carry a value; no duplicates of (plate, read, time, wavelength, well)
    assert df.loc[df["flag"] == "ok", "value"].notna().all()
    assert df.loc[df["flag"] != "ok", "value"].isna().all()
    assert not full.duplicated(["plate", "read", "time_s", "wavelength", "well"]).any()


@pytest.mark.parametrize(("name", "plate", "read", "well", "expected", "wavelength"), SPOT)
def test_spot_values(plates, name, plate, read, well, expected, wavelength):
    df = read_plate(plates / name)
    sel = df[(df["read"] == read) & (df["well"] == well) & df["time_s"].isna()]
    if plate is not None:
        sel = sel[sel["plate"] == plate]
    assert len(sel) == 1, sel
    row = sel.iloc[0]
    if isinstance(expected, str):
        assert row["flag"] == expected
        assert math.isnan(row["value"])
    else:
        assert row["flag"] == "ok"
        assert row["value"] == pytest.approx(expected, rel=1e-12)
    if math.isnan(wavelength):
        assert math.isnan(row["wavelength"])
    else:
        assert row["wavelength"] == wavelength


def test_column_and_matrix_exports_of_the_same_read_agree(plates):
    """synergy-file-reader ships one Gen5 read exported column-wise and matrix-wise (both
    refused by allotropy, read by letrolab's Gen5 reader)."""
    col = read_plate(plates / SFR / "column.txt")
    mat = read_plate(plates / SFR / "single_measurement_matrix.txt")
    key = ["read", "well"]
    a = col.sort_values(key).reset_index(drop=True)
    b = mat.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        a[[*key, "value", "wavelength"]], b[[*key, "value", "wavelength"]]
    )


def test_gen5_kinetics(plates):
    df = read_plate(plates / SFR / "example_data.txt")
    od = df[df["read"] == "OD:600"]
    assert od["time_s"].nunique() == 145  # "145 Reads" in the procedure
    first = od[od["time_s"] == od["time_s"].min()]
    assert first["time_s"].iloc[0] == 9 * 60 + 35  # 0:09:35
    assert first.set_index("well").loc["A1", "value"] == 0.093
    mm = read_plate(plates / SFR / "matrix_matrix.txt")
    od = mm[mm["read"] == "OD:600"]
    assert od["time_s"].min() == 550  # Time 1 (0:09:10)
    assert od[(od["time_s"] == 550) & (od["well"] == "B4")]["value"].item() == 0.084
    kin = read_plate(plates / G5 / "kinetic_helper_gene_growth_curve.txt")
    r600 = kin[kin["read"] == "absorbance 600"]
    assert r600["time_s"].nunique() == 20 and r600["well"].nunique() == 24
    assert r600[(r600["time_s"] == 22) & (r600["well"] == "A1")]["value"].item() == -0.066


def test_gen5_spectrum(plates):
    df = read_plate(plates / SFR / "spectrum.txt")
    spec = df[df["read"] == "OD_colour:Spectrum"]
    assert sorted(spec["wavelength"].unique())[:3] == [230.0, 262.0, 294.0]
    a1 = spec[spec["well"] == "A1"].set_index("wavelength")
    assert a1.loc[230.0, "flag"] == "saturated" and a1.loc[230.0, "raw"] == "OVRFLW"
    assert a1.loc[294.0, "value"] == 0.900


def test_utf16_and_crlf_decoding(plates):
    df = read_plate(plates / G5 / "endpoint_stdcurve_multiplate.txt")  # UTF-16 LE with BOM
    assert list(pd.unique(df["plate"])) == ["Plate 1", "Plate 2", "Plate 3"]
    assert np.isfinite(df["value"]).all()


def test_gen5_excel_export_matches_the_text_export(plates, tmp_path):
    """Gen5's Excel export holds the text export's cells in one sheet (numbers as numbers)."""
    from openpyxl import Workbook

    text = (plates / G5 / "multiple_read_modes.txt").read_text().replace("\r\n", "\n")
    wb = Workbook()
    ws = wb.active
    for line in text.split("\n"):
        cells = []
        for c in line.split("\t"):
            try:
                cells.append(float(c) if c.strip() else None)
            except ValueError:
                cells.append(c)
        ws.append(cells)
    wb.save(tmp_path / "gen5.xlsx")
    assert detect_format(tmp_path / "gen5.xlsx") == "gen5_xlsx"
    a = read_plate(plates / G5 / "multiple_read_modes.txt")  # allotropy
    b = read_plate(tmp_path / "gen5.xlsx")  # letrolab's Gen5 reader: Gen5's own labels
    assert list(pd.unique(b["read"])) == ["od:600", "fluor:579,616", "fluor:479,520"]
    key = ["wavelength", "row", "col"]
    cols = [*key, "well", "value", "flag"]
    pd.testing.assert_frame_equal(
        a.sort_values(key)[cols].reset_index(drop=True),
        b.sort_values(key)[cols].reset_index(drop=True),
    )


def test_generic_matrix_csv_by_hand(tmp_path):
    """A hand-typed matrix CSV: semicolons, no plate/read lines, a 96- then a 384-well plate."""
    lines = ["# typed by hand", ";" + ";".join(str(c) for c in range(1, 13))]
    lines += [
        f"{r};" + ";".join(f"{i}.{c}" for c in range(1, 13)) for i, r in enumerate("ABCDEFGH")
    ]
    lines[3] = lines[3].replace("1.5;", "OVER;").replace("1.7;", ";")
    lines += ["", ";" + ";".join(str(c) for c in range(1, 25))]
    lines += [f"{r};" + ";".join("7" for _ in range(24)) for r in "ABCDEFGHIJKLMNOP"]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    assert detect_format(tmp_path / "m.csv") == "matrix"
    df = read_plate(tmp_path / "m.csv")
    assert df.groupby("plate").size().to_dict() == {"Plate 1": 96, "Plate 2": 384}
    p1 = df[df["plate"] == "Plate 1"].set_index("well")
    assert p1.loc["C12", "value"] == 2.12 and p1.loc["A1", "value"] == 0.1
    assert p1.loc["B5", "flag"] == "saturated" and p1.loc["B7", "flag"] == "missing"
    assert (df.loc[df["plate"] == "Plate 2", "value"] == 7).all()


def test_truncated_exports_are_refused_not_read_short(plates, tmp_path):
    """Cut copies of real exports: a UTF-16 file cut at an odd byte (was a traceback), and
    EnVision and Gen5 files cut after a plate's header (its values lost), which used to come
    out as valid files with a plate fewer."""
    from letrolab.errors import FormatError

    smp = plates / "moldev_softmax_pro" / "MD_SMP_absorbance_endpoint_example01.txt"
    data = smp.read_bytes()
    (tmp_path / "smp.txt").write_bytes(data[: len(data) // 2 | 1])  # odd length
    with pytest.raises(FormatError, match=r"smp.txt: not valid UTF-16 text .*truncated file\?"):
        read_plate(tmp_path / "smp.txt")
    env = plates / "perkinelmer_envision" / "PE_Envision_absorbance_example01.csv"
    lines = env.read_text().splitlines(keepends=True)
    assert len(read_plate(env)) == 1152
    (tmp_path / "env.csv").write_text("".join(lines[:57]))  # up to the third plate's values
    with pytest.raises(FormatError, match=r"env.csv: allotropy cannot read it: Expected non-null"):
        read_plate(tmp_path / "env.csv")
    # a Gen5 multi-plate export cut inside the third plate's header: was 576 of 864 wells
    gen5 = plates / "biotek_gen5" / "endpoint_stdcurve_multiplate.txt"
    data = gen5.read_bytes()
    assert len(read_plate(gen5)) == 864
    (tmp_path / "g5.txt").write_bytes(data[: int(0.7 * len(data)) // 2 * 2])
    with pytest.raises(FormatError, match=r"'Plate 3' has its header but no values"):
        read_plate(tmp_path / "g5.txt")


def test_envision_matrix_with_row_gaps_is_refused(plates):
    """The luminescence example reads rows A, E, I, M of a 384-well plate (I8 = 120). allotropy
    0.1.150 numbers them A, B, C, D, which would put 120 in C8: refused with the reason."""
    from letrolab.errors import FormatError

    with pytest.raises(FormatError, match=r"holds plate rows A, E, I, M; allotropy would place"):
        read_plate(plates / "perkinelmer_envision" / "PE_Envision_luminescence_example01.csv")
