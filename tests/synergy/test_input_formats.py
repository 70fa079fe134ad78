"""Input formats labs have (issue 17): Excel workbooks, European CSV (';' + decimal commas,
detected and said) and the NCATS matrix format (BlockId/Row/Col/Value + block metadata).

Each format is checked against the same screen read from its tidy CSV: SynergyFinder's O'Neil
example, and the Mathews Griner et al. 2014 screen (an NCATS Matrix screen) re-expressed in
NCATS's matrix layout (positions into the comma-separated RowConcs/ColConcs of each block).
Scores must be identical (atol 0: the same numbers reach the same code).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.synergy import reference_scores
from letrolab.synergy.formats import sniff_csv
from letrolab.synergy.tidy import read_combination, read_table

pytestmark = pytest.mark.shared_data


def _european(df: pd.DataFrame, path):
    df.to_csv(path, sep=";", decimal=",", index=False)
    return path


def _ncats(tidy: pd.DataFrame, tmp_path, *, name="responses.csv", meta_name="metadata.csv"):
    """The tidy Mathews table in NCATS's layout: responses by position, doses in metadata."""
    resp, meta = [], []
    for bid, g in tidy.groupby("block_id", sort=False):
        rows = np.sort(g["conc_r"].unique())[::-1]  # NCATS lists the highest dose first
        cols = np.sort(g["conc_c"].unique())[::-1]
        meta.append(
            {
                "BlockId": bid,
                "RowName": g["drug_row"].iloc[0],
                "ColName": g["drug_col"].iloc[0],
                "RowConcs": ",".join(repr(float(v)) for v in rows),
                "ColConcs": ",".join(repr(float(v)) for v in cols),
                "RowConcUnit": g["conc_r_unit"].iloc[0],
                "ColConcUnit": g["conc_c_unit"].iloc[0],
            }
        )
        for r in g.itertuples():
            resp.append(
                {
                    "BlockId": bid,
                    "Row": int(np.flatnonzero(rows == r.conc_r)[0]) + 1,
                    "Col": int(np.flatnonzero(cols == r.conc_c)[0]) + 1,
                    "Value": r.response,
                }
            )
    pd.DataFrame(resp).to_csv(tmp_path / name, index=False)
    pd.DataFrame(meta).to_csv(tmp_path / meta_name, index=False)
    return tmp_path / name, tmp_path / meta_name


def _same_scores(a, b):
    for col in ("bliss", "hsa", "loewe", "zip"):
        np.testing.assert_array_equal(a.scores[col].to_numpy(), b.scores[col].to_numpy())
    pd.testing.assert_frame_equal(a.blocks, b.blocks)


def test_european_csv_is_detected_said_and_equal(shared_data, tmp_path):
    src = shared_data / "synergy" / "synergyfinder_ONEIL_screening_data.csv"
    eu = _european(pd.read_csv(src), tmp_path / "oneil_eu.csv")
    assert sniff_csv(eu).european and not sniff_csv(src).european
    df = read_table(eu)
    assert any("European CSV" in n for n in df.attrs["notes"])
    _same_scores(reference_scores(eu, models="all"), reference_scores(src, models="all"))


def test_semicolon_csv_with_decimal_points_is_not_european(tmp_path):
    p = tmp_path / "semi.csv"
    p.write_text("block_id;drug1;drug2;conc1;conc2;response\n1;A;B;0.5;0;12.5\n")
    d = sniff_csv(p)
    assert d.sep == ";" and d.decimal == "." and not d.european


def test_xlsx_equal_to_csv(shared_data, tmp_path):
    src = shared_data / "synergy" / "synergyfinder_ONEIL_screening_data.csv"
    xl = tmp_path / "oneil.xlsx"
    pd.read_csv(src).to_excel(xl, index=False, sheet_name="screen")
    _same_scores(reference_scores(xl, models="all"), reference_scores(src, models="all"))


def test_ncats_matrix_equal_to_tidy(shared_data, tmp_path):
    src = shared_data / "synergy" / "synergyfinder_mathews_screening_data.csv"
    tidy = pd.read_csv(src)
    resp, _meta = _ncats(tidy, tmp_path)
    got = read_combination(resp, response="viability")  # metadata.csv found beside it
    want = read_combination(src, response="viability")
    _same_scores(reference_scores(got, models="all"), reference_scores(want, models="all"))


def test_ncats_in_one_workbook_and_explicit_metadata(shared_data, tmp_path):
    tidy = pd.read_csv(shared_data / "synergy" / "synergyfinder_mathews_screening_data.csv")
    resp, meta = _ncats(tidy, tmp_path, name="r.csv", meta_name="blocks.csv")
    with pytest.raises(InputError, match="no metadata was found"):
        read_table(resp)
    a = read_combination(resp, metadata=meta)
    xl = tmp_path / "ncats.xlsx"
    with pd.ExcelWriter(xl) as w:
        pd.read_csv(resp).to_excel(w, sheet_name="responses", index=False)
        pd.read_csv(meta).to_excel(w, sheet_name="metadata", index=False)
    b = read_combination(xl)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_ncats_position_beyond_the_doses_is_refused(shared_data, tmp_path):
    tidy = pd.read_csv(shared_data / "synergy" / "synergyfinder_mathews_screening_data.csv")
    resp, _meta = _ncats(tidy, tmp_path)
    r = pd.read_csv(resp)
    r.loc[0, "Row"] = 99
    r.to_csv(resp, index=False)
    with pytest.raises(InputError, match="position 99 beyond"):
        read_table(resp)


def test_cli_reads_each_format(run_cli, shared_data, tmp_path):
    src = shared_data / "synergy" / "synergyfinder_ONEIL_screening_data.csv"
    eu = _european(pd.read_csv(src), tmp_path / "eu.csv")
    code, out, err = run_cli("synergy", eu, "--model", "zip", "--json")
    assert code == 0 and "note: eu.csv: European CSV" in err
    _code0, out0, _ = run_cli("synergy", src, "--model", "zip", "--json")
    assert json.loads(out) == json.loads(out0)
    tidy = pd.read_csv(shared_data / "synergy" / "synergyfinder_mathews_screening_data.csv")
    resp, meta = _ncats(tidy, tmp_path, name="r.csv", meta_name="m.csv")
    code, out, err = run_cli(
        "synergy", resp, "--metadata", meta, "--model", "bliss", "--response", "viability"
    )
    assert code == 0, err
    assert "NCATS matrix format" in err and "scored 2 block(s)" in out
    code, _out, err = run_cli("synergy", resp, "--model", "bliss")
    assert code == 2 and err.count("\n") == 1 and "--metadata" in err
    code, out, err = run_cli(
        "synergy", eu, "--model", "zip", "--screen", "--out", tmp_path / "s", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["screen"]["n_blocks"] == 2
