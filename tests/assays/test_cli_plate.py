"""``letrolab plate`` and ``letrolab blot`` on the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from letrolab._io import MARKER  # the marker of a letrolab output folder
from letrolab.instruments.plates import write_plate

NON_NUMERIC = "biotek_gen5/240411_172731_BNCH2345883_abs450_96well_non_numeric_values.txt"


def test_plate_json_without_layout(run_cli, shared_data):
    code, out, err = run_cli("plate", shared_data / "plates" / NON_NUMERIC, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["format"] == "gen5"
    wells = doc["wells"]
    assert len(wells) == 96
    assert set(wells[0]) == {
        "plate",
        "well",
        "row",
        "col",
        "read",
        "wavelength",
        "value",
        "flag",
        "kind",
    }
    assert doc["parser"].startswith("allotropy ") and doc["parser"].endswith(" AGILENT_GEN5")
    by = {w["well"]: w for w in wells}
    assert by["A1"]["value"] == 2.1 and by["A1"]["flag"] == "ok" and by["A1"]["col"] == 1
    assert by["A8"]["flag"] == "saturated" and by["A8"]["value"] is None
    assert by["D12"]["flag"] == "non_numeric"


def test_plate_with_layout_json_and_out(run_cli, shared_data, test_data, tmp_path):
    read = (
        shared_data / "plates" / "perkinelmer_envision" / "PE_Envision_absorbance_A450_example.csv"
    )
    layout = test_data / "plates" / "envision_a450.layout.csv"
    code, out, err = run_cli("plate", read, "--layout", layout, "--json", "--out", tmp_path / "o")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["read"] == "absorbance"
    assert [q["plate"] for q in doc["qc"]] == ["Plate 1", "Plate 2"]
    assert {"z_prime", "cv_vehicle", "cv_blank", "edge_ratio", "warnings"} <= set(doc["qc"][0])
    comb = pd.DataFrame(doc["combination"])
    b4 = comb[(comb["plate"] == "Plate 1") & (comb["well"] == "B4")]
    blank, veh = np.mean([0.15, 0.085, 0.10]), np.mean([1.85, 1.80, 1.75])
    assert b4["response"].item() == pytest.approx(100 * (1.0 - blank) / (veh - blank))
    files = sorted(p.name for p in (tmp_path / "o").iterdir() if p.name != MARKER)
    assert files == ["combination.csv", "plates.png", "qc.json", "viability.csv", "wells.csv"]
    qc = json.loads((tmp_path / "o" / "qc.json").read_text())
    assert qc[0]["plate"] == "Plate 1"


def test_plate_text_output_and_kinetics(run_cli, shared_data):
    code, out, _ = run_cli(
        "plate", shared_data / "plates" / "synergy_file_reader_sdist" / "example_data.txt"
    )
    assert code == 0 and "format gen5" in out
    code, out, _ = run_cli(
        "plate",
        shared_data / "plates" / "biotek_gen5" / "kinetic_helper_gene_growth_curve.txt",
        "--json",
    )
    assert code == 0
    assert "time_s" in json.loads(out)["wells"][0]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("plate", "missing.csv"), "does not exist"),
        (("plate", "{notes}"), "not a plate-reader export letrolab knows"),
        (
            ("plate", "{read}", "--layout", "{bad_layout}"),
            "layout and read disagree: layout well P24",
        ),
        (("blot", "{notes}"), "blot images must be TIFF or PNG"),
        (("blot", "nope.png"), "does not exist"),
        (("plate", "{folder}"), "is a folder; give a plate-reader export"),
        (("blot", "{folder}"), "is a folder; give a TIFF or PNG file"),
        (("plate", "{read}", "--read", "A999"), "has no read 'A999'; its reads are"),
        (("plate", "{read}", "--layout", "{folder}"), "is a folder; give a CSV plate map"),
        (("synergy", "--plate", "{folder}", "--layout", "{bad_layout}"), "is a folder; give a"),
        (("plate", "{read}", "--out", "{read}"), "is an existing file; give a folder path"),
        (("blot", "{notes}", "--out", "{read}"), "is an existing file; give a folder path"),
    ],
)
def test_cli_errors_are_one_line(run_cli, tmp_path, args, match):
    (tmp_path / "notes.txt").write_text("not a plate\n")
    wells = pd.DataFrame(
        {"well": [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)], "value": 1.0}
    )
    write_plate(tmp_path / "read.csv", wells)
    (tmp_path / "bad.csv").write_text("well,role\nA1,blank\nP24,vehicle\n")
    (tmp_path / "folder.png").mkdir()
    names = {
        "folder": tmp_path / "folder.png",
        "notes": tmp_path / "notes.txt",
        "read": tmp_path / "read.csv",
        "bad_layout": tmp_path / "bad.csv",
    }
    code, out, err = run_cli(*(a.format(**names) for a in args))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err


def test_plate_read_without_layout_selects_the_read(run_cli, tmp_path):
    wells = pd.DataFrame(
        {
            "well": [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)] * 2,
            "read": ["A490"] * 96 + ["A650"] * 96,
            "value": 1.0,
        }
    )
    write_plate(tmp_path / "two.csv", wells)
    code, out, err = run_cli("plate", tmp_path / "two.csv", "--json")
    assert code == 0, err
    assert {w["read"] for w in json.loads(out)["wells"]} == {"A490", "A650"}
    code, out, err = run_cli("plate", tmp_path / "two.csv", "--read", "A650", "--json")
    assert code == 0, err
    got = json.loads(out)["wells"]
    assert len(got) == 96 and {w["read"] for w in got} == {"A650"}
